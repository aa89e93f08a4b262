/**
 * The one script every record change goes through: record fields, status rank, history entry and hand-back outbox
 * in a single call (they live under one key prefix, so one slot on a cluster). Before it, a status change cost a
 * record script, a history pipeline, a fallback-chain script and one or two BullMQ jobs.
 *
 * KEYS: per order i (1-based block b = 3i-2): record hash b, history list b+1, hand-back outbox list b+2.
 * ARGV[1]: JSON { t: retention ms, m: history max entries, l: ledger ttl ms }; ARGV[2]: JSON array of changes:
 *   { k: block index, i: 1 = first write (set missing fields only), f: [field, value, ...] (values are JSON text),
 *     sf: status field, s: status JSON (absent: no status), r: rank, of/ov: order-id field/value,
 *     cf: chain field, hf / lf: last history / last notified event field, e: event id, h: history entry JSON,
 *     n: notification JSON, lk: index in KEYS of a ledger entry (the attempt marker at lk + 1), lv: its JSON }
 * A change with `lk` is an acknowledgement: its ledger entry is written and its attempt marker dropped first, in the
 * same call as the record (they live beside the same queue), so a delivery is finished in one script.
 * Returns per change { applied, chainMember, queued }: applied = the status was taken (not outranked; for a first
 * write, not already set). A change is written to the history and the outbox once per event id, so a re-run (a
 * retried job, a stalled one) adds no second entry and no second notification. A chain member's notification is left
 * to the caller, which needs the chain's decision first (then appendNotification below, deduplicated the same way).
 */
export function recordScript(ranks: Readonly<Record<string, number>>): string {
  return `
local opts = cjson.decode(ARGV[1])
local changes = cjson.decode(ARGV[2])
local ranks = { ${Object.entries(ranks).map(([s, r]) => `['"${s}"']=${r}`).join(', ')} }
local out = {}
for idx, c in ipairs(changes) do
  local rec, hist, outbox = KEYS[c.k], KEYS[c.k + 1], KEYS[c.k + 2]
  if c.lk then
    redis.call('SET', KEYS[c.lk], c.lv, 'PX', opts.l)
    redis.call('DEL', KEYS[c.lk + 1])
  end
  local applied = 0
  if c.i == 1 then
    for j = 1, #c.f, 2 do
      local set = redis.call('HSETNX', rec, c.f[j], c.f[j + 1])
      if c.f[j] == c.sf and set == 1 then applied = 1 end
    end
  else
    if c.s then
      applied = 1
      local current = redis.call('HGET', rec, c.sf)
      if current and ranks[current] and ranks[current] > c.r then applied = 0 end
      if applied == 1 then redis.call('HSET', rec, c.sf, c.s) end
    end
    if #c.f > 0 then redis.call('HSET', rec, unpack(c.f)) end
  end
  redis.call('HSETNX', rec, c.of, c.ov)
  redis.call('PEXPIRE', rec, opts.t)
  local member = redis.call('HEXISTS', rec, c.cf)
  local queued = 0
  if applied == 1 and c.s then
    if c.h and redis.call('HGET', rec, c.hf) ~= c.e then
      redis.call('HSET', rec, c.hf, c.e)
      redis.call('RPUSH', hist, c.h)
      redis.call('LTRIM', hist, -opts.m, -1)
      redis.call('PEXPIRE', hist, opts.t)
    end
    if c.n and member == 0 and redis.call('HGET', rec, c.lf) ~= c.e then
      redis.call('HSET', rec, c.lf, c.e)
      redis.call('RPUSH', outbox, c.n)
      queued = 1
    end
  end
  out[idx] = { applied, member, queued }
end
return out
`;
}

/** KEYS[1] record hash, KEYS[2] outbox; ARGV: last-notified field, event id, notification JSON. 1 = appended. */
export const APPEND_NOTIFICATION = `
if redis.call('HGET', KEYS[1], ARGV[1]) == ARGV[2] then return 0 end
redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
redis.call('RPUSH', KEYS[2], ARGV[3])
return 1
`;
