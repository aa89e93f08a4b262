import type { Redis } from 'ioredis';
import { startRedis } from '../../test/support/redis.js';

/**
 * A private redis-server for one bench run: the test helper's server (free port, temp dir, AOF everysec,
 * noeviction — the docker-compose settings) plus what benchmarks read from it.
 */
export interface BenchRedis {
  url: string;
  version: string;
  /** redis-server's pid (for its CPU time). */
  pid: number;
  /** A plain client owned by the harness (INFO, FLUSHALL, reads). */
  client: Redis;
  /** INFO <section> as a map. */
  info(section: string): Promise<Record<string, string>>;
  /** used_memory in bytes. */
  usedMemory(): Promise<number>;
  /** Empties every key, so each run starts from the same state. */
  flush(): Promise<void>;
  stop(): Promise<void>;
}

export async function startBenchRedis(): Promise<BenchRedis> {
  const server = await startRedis();
  const client = server.client();
  const info = async (section: string) => parseInfo(await client.info(section));
  const serverInfo = await info('server');
  return {
    url: server.url,
    version: serverInfo.redis_version ?? 'unknown',
    pid: Number(serverInfo.process_id),
    client,
    info,
    usedMemory: async () => Number((await info('memory')).used_memory),
    flush: async () => { await client.flushall(); },
    stop: () => server.stop(),
  };
}

export function parseInfo(text: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const line of text.split('\r\n')) {
    const cut = line.indexOf(':');
    if (cut > 0 && !line.startsWith('#')) out[line.slice(0, cut)] = line.slice(cut + 1);
  }
  return out;
}
