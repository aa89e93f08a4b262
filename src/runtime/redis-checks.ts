import { Cluster } from 'ioredis';
import type { RedisConnection } from '../queues/connection.js';
import { EXIT, StartupError } from './exit-codes.js';
import type { Logger } from './logger.js';

/**
 * Start-up checks of the Redis we were given. Two settings decide whether jobs can be lost without anyone noticing:
 * - a version below 6.2 lacks commands BullMQ's scripts rely on, so we refuse to start (exit code 2: fix, do not
 *   restart-loop);
 * - any `maxmemory-policy` but `noeviction` lets Redis delete queued jobs, delivery records and the double-send
 *   ledger under memory pressure, so we warn loudly (some managed Redis plans cannot change it; refusing would
 *   lock those users out).
 */
export const MIN_REDIS_VERSION = '6.2.0';

/** The one command the checks need; a Redis or Cluster connection has it, and so does a test stub. */
export interface RedisInfoSource {
  info(section: string): Promise<string>;
}

export interface RedisNodeReport {
  /** host:port for a cluster node, "redis" for a single server. */
  node: string;
  version?: string;
  maxmemoryPolicy?: string;
}

export interface RedisCheckReport {
  nodes: RedisNodeReport[];
  /** Everything logged as a warning, in order (empty when all is well). */
  warnings: string[];
}

/** Parses `key:value` lines of an INFO reply (sections and comments skipped). */
export function parseInfo(reply: string): Record<string, string> {
  const fields: Record<string, string> = {};
  for (const line of reply.split(/\r?\n/)) {
    if (!line || line.startsWith('#')) continue;
    const colon = line.indexOf(':');
    if (colon > 0) fields[line.slice(0, colon)] = line.slice(colon + 1).trim();
  }
  return fields;
}

/** -1, 0 or 1 for dotted numeric versions ("7.0.15" vs "6.2.0"); missing parts count as 0. */
export function compareVersions(a: string, b: string): number {
  const pa = a.split('.').map((p) => Number.parseInt(p, 10) || 0);
  const pb = b.split('.').map((p) => Number.parseInt(p, 10) || 0);
  for (let i = 0; i < Math.max(pa.length, pb.length); i++) {
    const d = (pa[i] ?? 0) - (pb[i] ?? 0);
    if (d !== 0) return d < 0 ? -1 : 1;
  }
  return 0;
}

/** Each master of a cluster is its own server with its own settings; a single connection is one node. */
function sources(connection: RedisConnection | RedisInfoSource): Array<{ node: string; source: RedisInfoSource }> {
  if (connection instanceof Cluster) {
    return connection.nodes('master').map((n) => ({ node: `${n.options.host}:${n.options.port}`, source: n }));
  }
  return [{ node: 'redis', source: connection }];
}

/**
 * Checks every node behind `connection` (call it once the connection is ready). Throws StartupError (exit code 2)
 * for a Redis older than 6.2; logs a warning for an evicting maxmemory-policy or when INFO cannot be read.
 */
export async function checkRedis(connection: RedisConnection | RedisInfoSource, logger: Logger): Promise<RedisCheckReport> {
  const report: RedisCheckReport = { nodes: [], warnings: [] };
  const warn = (fields: Record<string, unknown>, message: string) => {
    report.warnings.push(message);
    logger.warn(fields, message);
  };
  for (const { node, source } of sources(connection)) {
    let info: Record<string, string>;
    try {
      // Two small sections rather than the whole INFO; some managed services restrict the rest.
      info = { ...parseInfo(await source.info('server')), ...parseInfo(await source.info('memory')) };
    } catch (e) {
      warn({ node, err: e instanceof Error ? e.message : String(e) },
        `could not read INFO from Redis ${node}, so its version and maxmemory-policy were not checked`);
      report.nodes.push({ node });
      continue;
    }
    const version = info.redis_version;
    const maxmemoryPolicy = info.maxmemory_policy;
    report.nodes.push({ node, version, maxmemoryPolicy });
    if (version !== undefined && compareVersions(version, MIN_REDIS_VERSION) < 0) {
      throw new StartupError(
        `Redis ${node} is version ${version}; order-notify needs Redis ${MIN_REDIS_VERSION} or newer (BullMQ's scripts use ` +
        'commands older servers do not have). Upgrade Redis, or point REDIS_URL / REDIS_CLUSTER_NODES at a newer one.',
        EXIT.config,
      );
    }
    if (version === undefined) warn({ node }, `Redis ${node} did not report redis_version in INFO; its version was not checked`);
    if (maxmemoryPolicy !== undefined && maxmemoryPolicy !== 'noeviction') {
      warn({ node, maxmemoryPolicy },
        `DATA LOSS RISK: Redis ${node} has maxmemory-policy "${maxmemoryPolicy}". When memory runs out it will silently ` +
        'delete queued jobs, delivery records and the double-send ledger. Set maxmemory-policy to "noeviction" ' +
        '(redis.conf, or CONFIG SET maxmemory-policy noeviction), so a full Redis refuses writes loudly instead.');
    }
  }
  return report;
}
