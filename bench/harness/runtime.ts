import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';

/**
 * How child processes run: `js` (default) compiles src/, workers/ and the baseline worker with tsc first and runs
 * plain JS, as the Docker image does (no loader thread, production-like memory); `tsx` runs the TypeScript sources
 * directly (no build step, a little more memory and start-up time).
 */
export interface Runtime {
  kind: 'js' | 'tsx';
  /** node arguments that run this project file (e.g. workers/fanout.ts). */
  args(entry: string): string[];
}

const BUILD_DIR = 'node_modules/.cache/order-notify-bench';

export function prepareRuntime(kind: string | undefined, log: (m: string) => void): Runtime {
  if (kind === 'tsx') return { kind: 'tsx', args: (entry) => ['--import', 'tsx', entry] };
  if (kind !== undefined && kind !== 'js') throw new Error(`--runtime must be js or tsx, got "${kind}"`);
  log(`compiling with bench/tsconfig.build.json into ${BUILD_DIR} (use --runtime tsx to skip)`);
  const tsc = spawnSync(process.execPath, ['node_modules/typescript/bin/tsc', '-p', 'bench/tsconfig.build.json'], { encoding: 'utf8' });
  // Type errors elsewhere in the tree still emit JS; they are shown, and a missing output stops the bench.
  if (tsc.status !== 0) log(`tsc reported problems (JS was still emitted):\n${(tsc.stdout + tsc.stderr).trim().slice(0, 2_000)}`);
  return {
    kind: 'js',
    args(entry) {
      const compiled = join(BUILD_DIR, entry.replace(/\.ts$/, '.js'));
      if (!existsSync(compiled)) throw new Error(`${compiled} was not built (see the tsc output above)`);
      return [compiled];
    },
  };
}
