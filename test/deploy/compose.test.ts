import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { parseDuration } from '../../src/config/duration.js';
import { loadConfig } from '../../src/config/env.js';
import { Metrics } from '../../src/observability/metrics.js';
import { startProbeServer } from '../../src/observability/probe-server.js';
import { startSandbox, type Sandbox } from '../../src/sandbox/index.js';
import { processNames, readRepoFile, repoPath, sourceOfBuiltFile } from './support.js';

interface ComposeService {
  image?: string;
  build?: { context: string; target?: string };
  command?: string[];
  env_file?: Array<{ path: string; required?: boolean }>;
  depends_on?: Record<string, { condition: string }>;
  healthcheck?: { test: string[] };
  environment?: Record<string, string>;
  stop_grace_period?: string;
  volumes?: string[];
}

// Compose files use YAML merge keys (`<<: *node`), which the yaml package resolves only when asked.
const compose = parse(readRepoFile('docker-compose.yml'), { merge: true }) as { services: Record<string, ComposeService> };
const services = compose.services;
const nodeServices = Object.entries(services).filter(([name]) => name !== 'redis');
const workerServices = nodeServices.filter(([name]) => name !== 'api' && name !== 'sandbox');
/** Worker services share one health check (a YAML anchor): run each distinct one once. */
const distinctWorkerChecks = [...new Map(workerServices.map(([name, s]) => [JSON.stringify(s.healthcheck), [name, s] as const])).values()];

/**
 * Runs a compose health check (`CMD node -e ...`) here, with the given env; resolves to its exit code.
 * Asynchronous on purpose: the servers it calls live in this process's event loop.
 */
function runHealthcheck(service: ComposeService, env: Record<string, string>, portSwap?: [string, string]): Promise<number | null> {
  const [kind, bin, flag, script] = service.healthcheck!.test;
  expect([kind, bin, flag]).toEqual(['CMD', 'node', '-e']);
  const code = portSwap ? script!.replace(portSwap[0], portSwap[1]) : script!;
  const child = spawn(process.execPath, ['-e', code], { env: { ...process.env, ...env }, stdio: 'ignore', timeout: 10_000 });
  return new Promise((resolve, reject) => {
    child.once('error', reject);
    child.once('exit', (status) => resolve(status));
  });
}

describe('docker-compose.yml', () => {
  it('runs Redis, the sandbox and one service per process', () => {
    expect(Object.keys(services).sort()).toEqual(['redis', 'sandbox', ...processNames()].sort());
  });

  it('runs Redis 7 with AOF (fsync every second), noeviction and a volume for /data', () => {
    const redis = services.redis!;
    expect(redis.image).toMatch(/^redis:7/);
    const cmd = redis.command!.join(' ');
    expect(cmd).toContain('--appendonly yes');
    expect(cmd).toContain('--appendfsync everysec');
    expect(cmd).toContain('--maxmemory-policy noeviction');
    expect(redis.volumes?.some((v) => v.endsWith(':/data'))).toBe(true);
    expect(redis.healthcheck?.test.join(' ')).toContain('redis-cli ping');
  });

  it('protects Redis with REDIS_PASSWORD (required) and gives every Node service a REDIS_URL carrying it', () => {
    const redis = services.redis!;
    const required = /^\$\{REDIS_PASSWORD:\?[^}]+\}$/;
    const cmd = redis.command!;
    expect(cmd[cmd.indexOf('--requirepass') + 1]).toMatch(required);
    expect(redis.environment?.REDISCLI_AUTH).toMatch(required);
    expect((redis as { ports?: unknown }).ports).toBeUndefined(); // reachable only inside the compose network
    for (const [name, s] of nodeServices) {
      expect(s.environment?.REDIS_URL, name).toMatch(/^redis:\/\/:\$\{REDIS_PASSWORD:\?[^}]+\}@redis:6379$/);
    }
    expect(readRepoFile('docker-compose.yml')).toMatch(/printf .*REDIS_PASSWORD=%s/);
  });

  it('starts only files the build produces (dist/... of an existing source file)', () => {
    const problems = nodeServices.flatMap(([name, s]) => {
      const entry = s.command?.[0] ?? '';
      const source = sourceOfBuiltFile(entry);
      if (!source) return [`${name}: command "${entry}" is not a dist/ file of the build`];
      return existsSync(repoPath(source)) ? [] : [`${name}: ${entry} needs ${source}, which does not exist yet`];
    });
    expect(problems).toEqual([]);
  });

  it('runs every worker entry named after its service', () => {
    for (const [name, s] of [...workerServices, ['api', services.api!] as const]) {
      expect(s.command, name).toEqual([`dist/workers/${name}.js`]);
    }
  });

  it('builds one image from the Dockerfile runtime stage, configured by .env.example then an optional .env', () => {
    for (const [name, s] of nodeServices) {
      expect(s.image, name).toBe('order-notify:local');
      expect(s.build, name).toEqual({ context: '.', target: 'runtime' });
      expect(s.env_file, name).toEqual([{ path: '.env.example' }, { path: '.env', required: false }]);
    }
    expect(readRepoFile('Dockerfile')).toMatch(/^FROM \S+ AS runtime$/m);
  });

  it('waits for a healthy Redis and stops more slowly than SHUTDOWN_TIMEOUT and the 10 s hard deadline after it', () => {
    const shutdownMs = loadConfig({}).shutdownTimeoutMs + 10_000;
    for (const [name, s] of nodeServices) {
      expect(parseDuration(s.stop_grace_period ?? '10s'), name).toBeGreaterThan(shutdownMs);
      if (name !== 'sandbox') expect(s.depends_on?.redis, name).toEqual({ condition: 'service_healthy' });
    }
  });

  describe('health checks (node one-liners, run here against real servers)', () => {
    let ready = true;
    let probes: Awaited<ReturnType<typeof startProbeServer>>;
    let sandbox: Sandbox;
    beforeAll(async () => {
      probes = await startProbeServer({
        port: 0, host: '127.0.0.1', metrics: new Metrics(),
        ready: async () => { if (!ready) throw new Error('redis down'); },
      });
      sandbox = await startSandbox({ port: 0 });
    });
    afterAll(async () => {
      await probes?.close();
      await sandbox?.close();
    });

    it('every worker check passes when /readyz is ready and fails when it is not or nothing listens', async () => {
      expect(workerServices.every(([, s]) => s.healthcheck?.test.join(' ').includes('process.env.METRICS_PORT'))).toBe(true);
      const env = { METRICS_PORT: String(probes.port) };
      for (const [name, s] of distinctWorkerChecks) {
        ready = true;
        expect(await runHealthcheck(s, env), name).toBe(0);
        ready = false;
        expect(await runHealthcheck(s, env), name).toBe(1);
      }
      expect(await runHealthcheck(workerServices[0]![1], { METRICS_PORT: '1' })).toBe(1);
    });

    it('the API check reads HTTP_PORT and the sandbox check answers from the sandbox control API', async () => {
      ready = true;
      // The API's probe routes are assumed to match the workers' (/healthz, /readyz); here only the port wiring is run.
      expect(await runHealthcheck(services.api!, { HTTP_PORT: String(probes.port) })).toBe(0);
      const sandboxPort = new URL(sandbox.url).port;
      expect(await runHealthcheck(services.sandbox!, {}, ['127.0.0.1:4010', `127.0.0.1:${sandboxPort}`])).toBe(0);
    });
  });
});
