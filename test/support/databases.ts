import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { chownSync, existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from './ports.js';
import { sleep } from './wait.js';

/**
 * Private PostgreSQL and MariaDB servers for the outbox tests: each on a free loopback port with its data in a
 * temp dir, never the packaged system service. Debian's `postgresql` and `mariadb-server` packages provide them.
 */
export type DatabaseKind = 'postgres' | 'mariadb';

export interface TestDatabase {
  kind: DatabaseKind;
  /** postgres://… or mysql://… for OUTBOX_DATABASE_URL. */
  url: string;
  port: number;
  /** Stops the server; with keepData its files stay so restart() can bring the same database back. */
  stop(opts?: { keepData?: boolean }): Promise<void>;
  /** Starts it again on the same port and data (after stop({ keepData: true })). */
  restart(): Promise<void>;
}

const PG_ROOT = '/usr/lib/postgresql';

function postgresBin(): string | undefined {
  if (!existsSync(PG_ROOT)) return undefined;
  const versions = readdirSync(PG_ROOT).filter((v) => existsSync(join(PG_ROOT, v, 'bin', 'postgres'))).sort((a, b) => Number(b) - Number(a));
  return versions[0] ? join(PG_ROOT, versions[0], 'bin') : undefined;
}

const mariadbd = () => ['/usr/sbin/mariadbd', '/usr/sbin/mysqld'].find((p) => existsSync(p));
const installDb = () => ['/usr/bin/mariadb-install-db', '/usr/bin/mysql_install_db'].find((p) => existsSync(p));

/** Why a kind cannot run here (binaries missing), or undefined when it can. */
export function missingDatabase(kind: DatabaseKind): string | undefined {
  if (kind === 'postgres') return postgresBin() ? undefined : `no PostgreSQL server under ${PG_ROOT} (Debian: apt-get install postgresql)`;
  return mariadbd() && installDb() ? undefined : 'no mariadbd / mariadb-install-db (Debian: apt-get install mariadb-server)';
}

export async function startDatabase(kind: DatabaseKind): Promise<TestDatabase> {
  return kind === 'postgres' ? startPostgres() : startMariadb();
}

/** PostgreSQL refuses to run as root: as root, the data dir belongs to the `postgres` user and the server runs as it. */
export async function startPostgres(): Promise<TestDatabase> {
  const bin = postgresBin();
  if (!bin) throw new Error(missingDatabase('postgres'));
  const dir = mkdtempSync(join(tmpdir(), 'order-notify-pg-'));
  const ids = process.getuid?.() === 0 ? postgresIds() : {};
  if (ids.uid !== undefined) chownSync(dir, ids.uid, ids.gid!);
  const data = join(dir, 'data');
  const init = spawnSync(join(bin, 'initdb'), ['-D', data, '-U', 'postgres', '--auth=trust', '-E', 'UTF8', '--no-sync'], { ...ids, encoding: 'utf8' });
  if (init.status !== 0) throw new Error(`initdb failed: ${init.stderr || init.error?.message}`);
  const port = await freePort();
  const url = `postgres://postgres@127.0.0.1:${port}/postgres`;
  // fsync off: a test server loses nothing it needs on a crash of the machine; the relay's guarantees do not rest on it.
  const server = await serve(`postgres on ${port}`, dir, 'SIGINT', () => spawn(join(bin, 'postgres'), ['-D', data, '-p', String(port), '-k', dir,
    '-c', 'listen_addresses=127.0.0.1', '-c', 'fsync=off', '-c', 'full_page_writes=off', '-c', 'max_connections=200', '-c', 'shared_buffers=32MB'],
  { ...ids, stdio: 'ignore' }), async () => {
    const { default: pg } = await import('pg');
    const c = new pg.Client({ connectionString: url });
    try {
      await c.connect();
      await c.query('SELECT 1');
    } finally {
      await c.end().catch(() => undefined);
    }
  });
  return { kind: 'postgres', url, port, ...server };
}

export async function startMariadb(): Promise<TestDatabase> {
  const server = mariadbd();
  const install = installDb();
  if (!server || !install) throw new Error(missingDatabase('mariadb'));
  const dir = mkdtempSync(join(tmpdir(), 'order-notify-mariadb-'));
  const data = join(dir, 'data');
  const user = process.getuid?.() === 0 ? ['--user=root'] : [];
  const init = spawnSync(install, ['--no-defaults', `--datadir=${data}`, ...user, '--auth-root-authentication-method=normal', '--skip-test-db', '--skip-name-resolve'], { encoding: 'utf8' });
  if (init.status !== 0) throw new Error(`mariadb-install-db failed: ${init.stderr || init.error?.message}`);
  const port = await freePort();
  const url = `mysql://root@127.0.0.1:${port}/mysql`;
  const running = await serve(`mariadb on ${port}`, dir, 'SIGTERM', () => spawn(server, ['--no-defaults', `--datadir=${data}`, ...user,
    `--port=${port}`, '--bind-address=127.0.0.1', `--socket=${join(dir, 'mysqld.sock')}`, `--pid-file=${join(dir, 'mysqld.pid')}`,
    '--skip-name-resolve', '--skip-log-bin', '--innodb-buffer-pool-size=64M', '--innodb-flush-log-at-trx-commit=2', '--max-connections=300'],
  { stdio: 'ignore' }), async () => {
    const { default: mysql } = await import('mysql2/promise');
    const c = await mysql.createConnection({ uri: url });
    try {
      await c.query('CREATE DATABASE IF NOT EXISTS shop');
    } finally {
      await c.end().catch(() => undefined);
    }
  });
  return { kind: 'mariadb', url: `mysql://root@127.0.0.1:${port}/shop`, port, ...running };
}

function postgresIds(): { uid?: number; gid?: number } {
  const id = (flag: string) => Number(spawnSync('id', [flag, 'postgres'], { encoding: 'utf8' }).stdout.trim());
  const uid = id('-u');
  const gid = id('-g');
  if (!Number.isInteger(uid) || !Number.isInteger(gid)) throw new Error('running as root, but there is no `postgres` user to run PostgreSQL as');
  return { uid, gid };
}

/** Runs a server process until stopped; restart() launches it again on the same files. */
async function serve(what: string, dir: string, signal: NodeJS.Signals, launch: () => ChildProcess, check: () => Promise<void>) {
  let proc: ChildProcess;
  const halt = async () => {
    if (proc.exitCode === null && proc.signalCode === null) {
      const exited = new Promise((r) => proc.once('exit', r));
      proc.kill(signal);
      const timer = setTimeout(() => proc.kill('SIGKILL'), 10_000);
      await exited;
      clearTimeout(timer);
    }
  };
  const up = async () => {
    proc = launch();
    try {
      await waitUntil(what, proc, check);
    } catch (e) {
      await halt();
      rmSync(dir, { recursive: true, force: true });
      throw e;
    }
  };
  await up();
  return {
    async stop(opts?: { keepData?: boolean }) {
      await halt();
      if (!opts?.keepData) rmSync(dir, { recursive: true, force: true });
    },
    restart: up,
  };
}

async function waitUntil(what: string, proc: ChildProcess, check: () => Promise<void>, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (proc.exitCode !== null) throw new Error(`${what} exited with code ${proc.exitCode} before answering`);
    try {
      await check();
      return;
    } catch (e) {
      if (Date.now() > deadline) throw new Error(`${what} did not answer within ${timeoutMs} ms: ${e instanceof Error ? e.message : String(e)}`);
      await sleep(100);
    }
  }
}
