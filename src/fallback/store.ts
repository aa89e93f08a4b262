import type { DeliveryJobData } from '../delivery/types.js';
import type { ChainPosition } from '../orders/record.js';
import type { RedisConnection } from '../queues/connection.js';
import { encodeIdPart } from '../queues/job-ids.js';

/**
 * The state of every fallback chain of one order, in one Redis hash (so one script sees a chain whole):
 *   m|<deliveryId>      membership of a link: head, step, rule, vendor, reports, afterMs, and what happened to it
 *   <head>|n            how many links can be sent      <head>|current   the step in play
 *   <head>|step|<i>     delivery id of step i          <head>|job|<i>   the job of step i, planned at fan-out
 *   <head>|winner       the step that reached the customer              <head>|ended     set when exhausted
 *   <head>|enqueued|<i> step i's job was added; <head>|firing|<i> when the decision was taken. A report arriving
 *                       after FIRE_LEASE_MS with the job still not added finishes the work of a process that died.
 * Every decision is one script, so "fire the next link" happens exactly once however many processes report.
 */
export interface Membership extends ChainPosition {
  step: number;
  rule: string;
  vendor: string;
  deliveryId: string;
  reports: boolean;
  afterMs?: number;
  fallbackTo?: string;
  reachedCustomer?: boolean;
  lateDelivery?: boolean;
}

export interface StoredStep {
  job: DeliveryJobData;
  delayMs: number;
}

export type ChainEvent = 'look' | 'sent' | 'delivered' | 'failed' | 'deadline';

export type ChainVerdict =
  | { action: 'none' | 'arm' | 'reached' | 'late' | 'late_reached' | 'exhausted'; member: Membership }
  | { action: 'fire'; member: Membership; next: Membership; nextStep: StoredStep };

const INIT = `
if redis.call('HEXISTS', KEYS[1], ARGV[2] .. '|n') == 1 then return 0 end
for i = 3, #ARGV, 2 do redis.call('HSET', KEYS[1], ARGV[i], ARGV[i + 1]) end
redis.call('PEXPIRE', KEYS[1], ARGV[1])
return 1
`;

/** How long a decision to fire may take to add its job before another report takes the work over. */
export const FIRE_LEASE_MS = 30_000;

/**
 * KEYS[1] chains hash, KEYS[2] the pending-fires set; ARGV: deliveryId, event, reason for a fired next link, fire
 * lease ms, pending-fires member. A decision to fire is also written to the pending-fires set (score: when the lease
 * ends) in the same script, so it survives the death of the process that took it: the sweep finishes it.
 */
const EVENT = `
local raw = redis.call('HGET', KEYS[1], 'm|' .. ARGV[1])
if not raw then return false end
local m = cjson.decode(raw)
local head = m.head
local step = tonumber(m.step)
local function get(f) return redis.call('HGET', KEYS[1], head .. '|' .. f) end
local function save(id, mm) redis.call('HSET', KEYS[1], 'm|' .. id, cjson.encode(mm)) end
local current = tonumber(get('current'))
local n = tonumber(get('n'))
local winner = get('winner')
local ended = get('ended')
local ev = ARGV[2]
local action = 'none'
local t = redis.call('TIME')
local nowMs = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
if ev == 'delivered' or (ev == 'sent' and not m.reports) then
  if winner then
    if tonumber(winner) ~= step and not m.lateDelivery then m.lateDelivery = true; save(ARGV[1], m); action = 'late' end
  else
    redis.call('HSET', KEYS[1], head .. '|winner', step)
    m.reachedCustomer = true
    if step < current then m.lateDelivery = true; action = 'late_reached' else action = 'reached' end
    save(ARGV[1], m)
  end
elseif ev == 'sent' then
  if m.afterMs and not winner and not ended and current == step and step + 1 < n then action = 'arm' end
elseif ev == 'failed' or ev == 'deadline' then
  if not winner and not ended then
    if current == step then
      if step + 1 < n then
        redis.call('HSET', KEYS[1], head .. '|current', step + 1)
        local nextId = get('step|' .. (step + 1))
        local nm = cjson.decode(redis.call('HGET', KEYS[1], 'm|' .. nextId))
        nm.firedBecause = ARGV[3]
        save(nextId, nm)
        m.fallbackTo = nm.rule
        save(ARGV[1], m)
        redis.call('HSET', KEYS[1], head .. '|firing|' .. (step + 1), nowMs)
        redis.call('ZADD', KEYS[2], nowMs + tonumber(ARGV[4]), ARGV[5])
        action = 'fire'
      elseif ev == 'failed' then
        redis.call('HSET', KEYS[1], head .. '|ended', 'exhausted')
        action = 'exhausted'
      end
    elseif current == step + 1 and not get('enqueued|' .. current) and nowMs - tonumber(get('firing|' .. current) or 0) > tonumber(ARGV[4]) then
      -- The process that decided to fire died before adding the job: finish its work (the job id is the same).
      redis.call('HSET', KEYS[1], head .. '|firing|' .. current, nowMs)
      redis.call('ZADD', KEYS[2], nowMs + tonumber(ARGV[4]), ARGV[5])
      action = 'fire'
    end
  end
end
local out = { action, cjson.encode(m) }
if action == 'fire' then
  out[3] = redis.call('HGET', KEYS[1], 'm|' .. get('step|' .. (step + 1)))
  out[4] = get('job|' .. (step + 1))
end
return out
`;

/** KEYS[1]; ARGV[1] deliveryId → the rule that already reached the customer (send nothing), or false. */
const REACHED_BY_ANOTHER = `
local raw = redis.call('HGET', KEYS[1], 'm|' .. ARGV[1])
if not raw then return false end
local m = cjson.decode(raw)
local winner = redis.call('HGET', KEYS[1], m.head .. '|winner')
if not winner or tonumber(winner) == tonumber(m.step) then return false end
local wm = cjson.decode(redis.call('HGET', KEYS[1], 'm|' .. redis.call('HGET', KEYS[1], m.head .. '|step|' .. winner)))
return wm.rule
`;

function pendingMember(orderId: string, deliveryId: string): string {
  return JSON.stringify([orderId, deliveryId]);
}

type ScriptedRedis = RedisConnection & {
  orderNotifyChainInit(key: string, ...args: string[]): Promise<number>;
  orderNotifyChainEvent(key: string, pendingKey: string, ...args: string[]): Promise<[string, string, string?, string?] | null>;
  orderNotifyChainReachedBy(key: string, deliveryId: string): Promise<string | null>;
};

export class ChainStore {
  constructor(
    private readonly redis: RedisConnection, private readonly prefix: string, private readonly retentionMs: number,
    private readonly fireLeaseMs = FIRE_LEASE_MS,
  ) {
    if (!('orderNotifyChainInit' in redis)) redis.defineCommand('orderNotifyChainInit', { numberOfKeys: 1, lua: INIT });
    if (!('orderNotifyChainEvent' in redis)) redis.defineCommand('orderNotifyChainEvent', { numberOfKeys: 2, lua: EVENT });
    if (!('orderNotifyChainReachedBy' in redis)) redis.defineCommand('orderNotifyChainReachedBy', { numberOfKeys: 1, lua: REACHED_BY_ANOTHER });
  }

  key(orderId: string): string {
    return `${this.prefix}:chains:${encodeIdPart(orderId)}`;
  }

  private get scripted(): ScriptedRedis {
    return this.redis as ScriptedRedis;
  }

  /** Writes a chain once; a retried fan-out finds it and changes nothing (the chain may have moved on). */
  async init(orderId: string, head: string, members: Membership[], steps: StoredStep[]): Promise<boolean> {
    const fields: string[] = [`${head}|n`, String(members.length), `${head}|current`, '0', `${head}|enqueued|0`, '1'];
    members.forEach((m, i) => {
      fields.push(`m|${m.deliveryId}`, JSON.stringify(m), `${head}|step|${i}`, m.deliveryId);
      if (i > 0) fields.push(`${head}|job|${i}`, JSON.stringify(steps[i]));
    });
    return (await this.scripted.orderNotifyChainInit(this.key(orderId), String(this.retentionMs), head, ...fields)) === 1;
  }

  /** What a change of one delivery means for its chain (undefined: not a chain member). */
  async event(orderId: string, deliveryId: string, event: ChainEvent, reason = ''): Promise<ChainVerdict | undefined> {
    const out = await this.scripted.orderNotifyChainEvent(this.key(orderId), this.pendingKey, deliveryId, event, reason,
      String(this.fireLeaseMs), pendingMember(orderId, deliveryId));
    if (!out) return undefined;
    const [action, member, next, nextStep] = out;
    const m = JSON.parse(member) as Membership;
    if (action === 'fire') return { action, member: m, next: JSON.parse(next!) as Membership, nextStep: JSON.parse(nextStep!) as StoredStep };
    return { action: action as Exclude<ChainVerdict['action'], 'fire'>, member: m };
  }

  /** `from` is the link whose end fired this step. */
  async markEnqueued(orderId: string, head: string, step: number, from: string): Promise<void> {
    await this.redis.multi()
      .hset(this.key(orderId), `${head}|enqueued|${step}`, '1')
      .zrem(this.pendingKey, pendingMember(orderId, from))
      .exec();
  }

  /** Where decisions to fire wait until their job is added. */
  get pendingKey(): string {
    return `${this.prefix}:chains:pending-fires`;
  }

  /** Decisions whose lease ran out with the job still not added: the process that took them died. */
  async overdueFires(limit = 100): Promise<Array<{ orderId: string; deliveryId: string }>> {
    const [[, time]] = (await this.redis.multi().time().exec()) as [[Error | null, [string, string]]];
    const nowMs = Number(time[0]) * 1000 + Math.floor(Number(time[1]) / 1000);
    const members = await this.redis.zrangebyscore(this.pendingKey, 0, nowMs, 'LIMIT', 0, limit);
    return members.map((m) => {
      const [orderId, deliveryId] = JSON.parse(m) as [string, string];
      return { orderId, deliveryId };
    });
  }

  async dropPending(orderId: string, deliveryId: string): Promise<void> {
    await this.redis.zrem(this.pendingKey, pendingMember(orderId, deliveryId));
  }

  /** The rule of an earlier link that already reached the customer, if any: then this link must not be sent. */
  async reachedByAnother(orderId: string, deliveryId: string): Promise<string | undefined> {
    return (await this.scripted.orderNotifyChainReachedBy(this.key(orderId), deliveryId)) ?? undefined;
  }
}
