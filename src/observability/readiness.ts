import type { RedisConnection } from '../queues/connection.js';

/** A probe that hangs is as bad as one that fails: Kubernetes would wait for its own timeout. */
const READY_TIMEOUT_MS = 2_000;

/** Runs a readiness check with a deadline; shared by the worker probe server and the API. */
export async function checkReady(ready: () => Promise<void>, timeoutMs = READY_TIMEOUT_MS): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  try {
    await Promise.race([
      ready(),
      new Promise<never>((_, reject) => { timer = setTimeout(() => reject(new Error(`readiness check took over ${timeoutMs} ms`)), timeoutMs); }),
    ]);
  } finally {
    clearTimeout(timer);
  }
}

/** Ready = the connection is up and Redis answers a PING. */
export async function redisReady(connection: RedisConnection): Promise<void> {
  if (connection.status !== 'ready') throw new Error(`redis ${connection.status}`);
  await connection.ping();
}
