import { spawnSync } from 'node:child_process';
import { chmodSync, copyFileSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { repoPath } from '../deploy/support.js';

/**
 * The `order-notify` binary: `npx order-notify` in this checkout (no build), and the launcher's choice between the
 * sources (tsx present) and dist/ (a production install or the image: no tsx, or no sources).
 */
const dirs: string[] = [];
afterEach(() => { for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true }); });

const run = (cmd: string, args: string[], cwd: string) => spawnSync(cmd, args, { cwd, encoding: 'utf8', timeout: 60_000, env: { PATH: process.env.PATH, HOME: process.env.HOME } });

/** A package laid out like ours: the real launcher, plus whichever of src/, dist/ and node_modules/ is asked for. */
function layout(parts: { sources?: boolean; built?: boolean; tsx?: boolean }): string {
  const dir = mkdtempSync(join(tmpdir(), 'order-notify-bin-'));
  dirs.push(dir);
  writeFileSync(join(dir, 'package.json'), JSON.stringify({ name: 'order-notify', type: 'module', bin: { 'order-notify': 'bin/order-notify.js' } }));
  mkdirSync(join(dir, 'bin'));
  copyFileSync(repoPath('bin/order-notify.js'), join(dir, 'bin/order-notify.js'));
  chmodSync(join(dir, 'bin/order-notify.js'), 0o755);
  if (parts.sources) {
    mkdirSync(join(dir, 'src'));
    writeFileSync(join(dir, 'src/cli.ts'), "const from: string = 'sources';\nconsole.log(from, process.argv.slice(2).join(' '));\n");
  }
  if (parts.built) {
    mkdirSync(join(dir, 'dist/src'), { recursive: true });
    writeFileSync(join(dir, 'dist/src/cli.js'), "console.log('dist', process.argv.slice(2).join(' '));\n");
  }
  if (parts.tsx) symlinkSync(repoPath('node_modules'), join(dir, 'node_modules'));
  return dir;
}

describe('the order-notify binary', () => {
  it('npx order-notify runs in this checkout without a build', () => {
    const r = run('npx', ['--no-install', 'order-notify', '--help'], repoPath());
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toContain('Usage: order-notify');
    expect(r.stdout).toMatch(/enqueue .*<file>/);
    const bad = run('npx', ['--no-install', 'order-notify', 'no-such-command'], repoPath());
    expect(bad.status).not.toBe(0);
    expect(bad.stderr).toContain("unknown command 'no-such-command'");
  });

  it('runs the sources when they and tsx are there, even beside an old build', () => {
    const r = run(process.execPath, ['bin/order-notify.js', 'order', 'A-1'], layout({ sources: true, built: true, tsx: true }));
    expect(r.stderr).toBe('');
    expect(r.stdout.trim()).toBe('sources order A-1');
  });

  it('runs dist/ where tsx is not installed (npm ci --omit=dev) or there are no sources (the image)', () => {
    for (const parts of [{ sources: true, built: true }, { built: true, tsx: true }]) {
      const r = run(process.execPath, ['bin/order-notify.js', 'failed', '--json'], layout(parts));
      expect(r.status, JSON.stringify(parts) + r.stderr).toBe(0);
      expect(r.stdout.trim()).toBe('dist failed --json');
    }
  });

  it('says what to do when there is neither a build nor tsx', () => {
    const r = run(process.execPath, ['bin/order-notify.js', '--help'], layout({ sources: true }));
    expect(r.status).toBe(1);
    expect(r.stderr).toContain('npm run build');
  });
});
