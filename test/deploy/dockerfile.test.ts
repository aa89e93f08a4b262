import { existsSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { readRepoFile, repoPath, sourceOfBuiltFile } from './support.js';

/** Static checks of the Dockerfile (no Docker engine on this machine): the instructions, stage by stage. */
const dockerfile = readRepoFile('Dockerfile');
const instructions = dockerfile
  .replace(/\\\n/g, ' ')
  .split('\n')
  .map((l) => l.trim())
  .filter((l) => l && !l.startsWith('#'));
const stages = instructions.reduce<Array<{ from: string; lines: string[] }>>((acc, line) => {
  if (/^FROM /i.test(line)) acc.push({ from: line, lines: [] });
  else acc.at(-1)?.lines.push(line);
  return acc;
}, []);
const stage = (name: string) => stages.find((s) => new RegExp(`\\sAS ${name}$`, 'i').test(s.from));
const jsonArgs = (keyword: string, lines: string[]): string[] => {
  const line = lines.filter((l) => l.startsWith(`${keyword} `)).at(-1);
  return line ? (JSON.parse(line.slice(keyword.length + 1)) as string[]) : [];
};

describe('Dockerfile', () => {
  it('builds with dev dependencies: npm ci, then npm run build', () => {
    const build = stage('build')!.lines.join('\n');
    expect(build).toMatch(/npm ci(?! --omit)/);
    expect(build).toContain('npm run build');
    expect(build.indexOf('npm ci')).toBeLessThan(build.indexOf('npm run build'));
  });

  it('runs on node 24 slim with production dependencies only, the build output and the example routes', () => {
    const runtime = stage('runtime')!;
    expect(stages.at(-1)).toBe(runtime);
    expect(dockerfile).toMatch(/^ARG NODE_IMAGE=node:24-bookworm-slim$/m);
    expect(runtime.from).toMatch(/^FROM \$\{NODE_IMAGE\} AS runtime$/);
    const body = runtime.lines.join('\n');
    expect(body).toContain('npm ci --omit=dev');
    expect(body).toMatch(/COPY --from=build \/app\/dist \.\/dist/);
    expect(body).toContain('COPY config/routes.example.yaml ./config/routes.example.yaml');
    // The order-notify command's launcher; it runs dist/ there (no sources, no tsx).
    expect(body).toContain('COPY bin ./bin');
    expect(body).not.toMatch(/COPY src\b/);
  });

  it('runs as a numeric non-root user under tini so SIGTERM reaches node', () => {
    const runtime = stage('runtime')!.lines;
    const user = runtime.filter((l) => l.startsWith('USER ')).at(-1);
    expect(user).toMatch(/^USER [1-9]\d*(:\d+)?$/);
    expect(runtime.join('\n')).toMatch(/apt-get install -y --no-install-recommends tini/);
    expect(jsonArgs('ENTRYPOINT', runtime)).toEqual(['/usr/bin/tini', '--', 'node']);
  });

  it('has a default command the build produces', () => {
    const [entry] = jsonArgs('CMD', stage('runtime')!.lines);
    const source = sourceOfBuiltFile(entry ?? '');
    expect(source, `CMD ${entry}`).toBeDefined();
    expect(existsSync(repoPath(source!)), `${entry} needs ${source}`).toBe(true);
  });
});

describe('.dockerignore', () => {
  const ignored = readRepoFile('.dockerignore').split('\n').map((l) => l.trim()).filter((l) => l && !l.startsWith('#'));

  it('keeps local secrets, dependencies and build output out of the build context', () => {
    for (const p of ['.env', 'node_modules', 'dist', '.git']) expect(ignored).toContain(p);
  });

  it('keeps everything the build copies', () => {
    const copied = [...dockerfile.matchAll(/^COPY (?!--from)(.+) \S+$/gm)].flatMap((m) => m[1]!.split(/\s+/));
    expect(copied.length).toBeGreaterThan(3);
    for (const path of copied) {
      expect(ignored.some((p) => path === p || path.startsWith(`${p}/`)), `${path} is excluded by .dockerignore`).toBe(false);
      expect(existsSync(repoPath(path)), path).toBe(true);
    }
  });
});
