import { existsSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

/**
 * What a monolith loads with `import 'order-notify'` (src/index.ts): its static import graph, read from the sources
 * (type-only imports and dynamic import() load nothing up front). The database drivers are the relay's alone.
 */
const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const STATIC_IMPORT = /^\s*(?:import|export)\s+(?!type\b)(?:[^'";]*?\sfrom\s+)?['"]([^'"]+)['"]/gm;

function staticPackages(entry: string): { files: string[]; packages: Set<string> } {
  const files: string[] = [];
  const packages = new Set<string>();
  const visit = (file: string) => {
    if (files.includes(file)) return;
    files.push(file);
    for (const [, spec] of readFileSync(file, 'utf8').matchAll(STATIC_IMPORT)) {
      if (spec!.startsWith('.')) {
        const target = resolve(dirname(file), spec!).replace(/\.js$/, '.ts');
        if (existsSync(target)) visit(target);
      } else {
        packages.add(spec!.startsWith('@') ? spec!.split('/').slice(0, 2).join('/') : spec!.split('/')[0]!);
      }
    }
  };
  visit(join(ROOT, entry));
  return { files, packages };
}

describe('what src/index.ts loads', () => {
  it('leaves out the outbox relay and its database drivers', () => {
    const { files, packages } = staticPackages('src/index.ts');
    expect(files.length).toBeGreaterThan(3);
    expect(packages).toContain('bullmq'); // the walk does see packages
    for (const driver of ['pg', 'mysql2']) expect(packages, driver).not.toContain(driver);
    expect(files.filter((f) => f.includes('/src/outbox/'))).toEqual([]);
  });

  it('loads no vendor, no HTTP client or server, no assembly (the layer rule a monolith relies on)', () => {
    const { files, packages } = staticPackages('src/index.ts');
    for (const pkg of ['axios', 'fastify', '@fastify/helmet', '@bull-board/api', 'pino']) expect(packages, pkg).not.toContain(pkg);
    expect(files.map((f) => f.slice(ROOT.length)).filter((f) => /^src\/(vendors|delivery|http-client|fanout|app|http|cli|quickstart|sandbox)\//.test(f))).toEqual([]);
  });

  it('the relay component loads the drivers only when it starts (dynamic import)', () => {
    const { packages } = staticPackages('src/app/worker-process.ts');
    expect(packages).not.toContain('pg');
    expect(packages).not.toContain('mysql2');
  });
});
