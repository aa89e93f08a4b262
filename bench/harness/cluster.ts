import { Cluster, Redis } from 'ioredis';
import { startRedisCluster } from '../../test/support/redis-cluster.js';
import { procCpuMs } from './processes.js';
import { parseInfo } from './redis.js';
import { redisWorkMeter, type RedisWork } from './redis-work.js';

/** One master of the bench cluster, with what the per-master meters read from it. */
export interface BenchMaster {
  /** host:port, as CLUSTER SLOTS names it. */
  node: string;
  port: number;
  pid: number;
  client: Redis;
  info(section: string): Promise<Record<string, string>>;
}

/**
 * A private Redis Cluster for one bench scenario: N masters without replicas (the test helper's cluster), AOF
 * everysec like the single bench Redis so CPU per delivery compares, a plain client per master for INFO.
 */
export interface BenchCluster {
  /** redis://host:port of every master, as REDIS_CLUSTER_NODES takes them. */
  nodes: string[];
  masters: BenchMaster[];
  version: string;
  /** A cluster client owned by the harness (queues it watches, key scans). */
  connection: Cluster;
  /** The master (index into masters) that holds a key's slot. */
  masterOf(key: string): Promise<number>;
  flush(): Promise<void>;
  stop(): Promise<void>;
}

/** `slots`: slots given to a chosen master at creation (see startRedisCluster), e.g. to spread the queues. */
export async function startBenchCluster(masters = 3, slots: Array<[slot: number, master: number]> = []): Promise<BenchCluster> {
  const cluster = await startRedisCluster(masters, { args: ['--appendonly', 'yes', '--appendfsync', 'everysec'], slots });
  const list: BenchMaster[] = [];
  const connection = new Cluster(cluster.ports.map((port) => ({ host: '127.0.0.1', port })), { redisOptions: { maxRetriesPerRequest: null } });
  try {
    for (const port of cluster.ports) {
      const client = new Redis(port, '127.0.0.1', { maxRetriesPerRequest: 1 });
      const info = async (section: string) => parseInfo(await client.info(section));
      list.push({ node: `127.0.0.1:${port}`, port, pid: Number((await info('server')).process_id), client, info });
    }
    await connection.ping();
  } catch (e) {
    for (const m of list) m.client.disconnect();
    connection.disconnect();
    await cluster.stop();
    throw e;
  }
  const version = (await list[0]!.info('server')).redis_version ?? 'unknown';
  return {
    nodes: cluster.nodes,
    masters: list,
    version,
    connection,
    async masterOf(key) {
      const slot = Number(await list[0]!.client.call('CLUSTER', 'KEYSLOT', key));
      const ranges = (await list[0]!.client.call('CLUSTER', 'SLOTS')) as Array<[number, number, [string, number, ...unknown[]]]>;
      const owner = ranges.find(([from, to]) => slot >= from && slot <= to);
      return owner ? list.findIndex((m) => m.port === Number(owner[2][1])) : -1;
    },
    async flush() {
      await Promise.all(list.map((m) => m.client.flushall()));
    },
    async stop() {
      connection.disconnect();
      for (const m of list) m.client.disconnect();
      await cluster.stop();
    },
  };
}

/** What one master did over a run: INFO cpu / commandstats differences and its process CPU from /proc. */
export interface MasterWork extends RedisWork {
  node: string;
  /** user + sys CPU of the redis-server process (all threads) from /proc. */
  procCpuMs: number;
}

/**
 * Per-master Redis work over a run. The share that matters is the main thread's (the one running commands: a
 * master's single-core ceiling); INFO cpu's used_cpu_*_main_thread (Redis ≥ 7) is used, the whole process otherwise.
 */
export function clusterWorkMeter(masters: Array<Pick<BenchMaster, 'node' | 'pid' | 'info'>>) {
  const meters = masters.map((m) => ({ m, meter: redisWorkMeter(m), proc: procCpuMs(m.pid) ?? 0 }));
  return {
    ready: Promise.all(meters.map((x) => x.meter.ready)).then(() => undefined),
    async stop(): Promise<MasterWork[]> {
      return Promise.all(meters.map(async ({ m, meter, proc }) => ({
        ...(await meter.stop()), node: m.node, procCpuMs: (procCpuMs(m.pid) ?? proc) - proc,
      })));
    },
  };
}

/** The command-running CPU of one master (main thread when reported, whole process otherwise). */
export const commandCpuMs = (w: RedisWork) => w.mainThreadCpuMs ?? w.cpuMs;

/** Each master's share of the run's Redis CPU, in % (sums to 100; all 0 when nothing ran). */
export function masterShares(work: RedisWork[]): number[] {
  const total = work.reduce((a, w) => a + commandCpuMs(w), 0);
  return work.map((w) => (total > 0 ? (commandCpuMs(w) / total) * 100 : 0));
}

/** Commandstats of all masters added up (what the run asked of the cluster as a whole). */
export function sumCommands(work: RedisWork[]): RedisWork['commands'] {
  const out: RedisWork['commands'] = {};
  for (const w of work) {
    for (const [name, c] of Object.entries(w.commands)) {
      const acc = (out[name] ??= { calls: 0, usec: 0 });
      acc.calls += c.calls;
      acc.usec += c.usec;
    }
  }
  return out;
}

/**
 * Where the keys of a run live, by shape: per master, the distinct `a:b` heads of up to `limit` keys (a quick
 * picture when a run stalls, e.g. queues that never got their hash tag).
 */
export async function keyHeads(cluster: Pick<BenchCluster, 'masters'>, limit = 500): Promise<string[]> {
  const out: string[] = [];
  for (const m of cluster.masters) {
    const heads = new Map<string, number>();
    let cursor = '0';
    let seen = 0;
    do {
      const [next, keys] = await m.client.scan(cursor, 'COUNT', 200);
      cursor = next;
      for (const k of keys) {
        const head = k.split(':').slice(0, 3).join(':').replace(/\d+$/, '#');
        heads.set(head, (heads.get(head) ?? 0) + 1);
      }
      seen += keys.length;
    } while (cursor !== '0' && seen < limit);
    out.push(`${m.node}: ${[...heads].sort((a, b) => b[1] - a[1]).slice(0, 8).map(([h, c]) => `${h} (${c})`).join(', ') || 'no keys'}`);
  }
  return out;
}

/** CRC16 (XMODEM) as Redis Cluster uses it: keySlot = crc16(hash tag or key) mod 16384. */
function crc16(text: string): number {
  let crc = 0;
  for (const byte of Buffer.from(text)) {
    crc ^= byte << 8;
    for (let i = 0; i < 8; i++) crc = crc & 0x8000 ? ((crc << 1) ^ 0x1021) & 0xffff : (crc << 1) & 0xffff;
  }
  return crc;
}

/** The slot of a key: of its hash tag (the first non-empty `{…}`) when it has one, of the whole key otherwise. */
export function keySlot(key: string): number {
  const open = key.indexOf('{');
  const close = open >= 0 ? key.indexOf('}', open + 1) : -1;
  return crc16(close > open + 1 ? key.slice(open + 1, close) : key) % 16_384;
}
