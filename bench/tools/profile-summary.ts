/**
 * Where a worker spent its CPU: `npx tsx bench/tools/profile-summary.ts bench/profiles/<run>/*.cpuprofile`.
 * Prints self time by package/file and the top functions (V8 .cpuprofile from `npm run bench -- --profile`).
 */
import { readFileSync } from 'node:fs';

interface ProfileNode { id: number; callFrame: { functionName: string; url: string; lineNumber: number }; children?: number[] }
interface Profile { nodes: ProfileNode[]; samples: number[]; timeDeltas: number[] }

/** A project file's path from the repository root (compiled bench builds included), else undefined. */
function projectPath(url: string): string | undefined {
  const path = url.replace('file://', '');
  const root = `${process.cwd()}/`;
  if (!path.startsWith(root)) return undefined;
  const inRepo = path.slice(root.length).replace(/^(node_modules\/\.cache\/order-notify-bench|\.bench-build)\//, '');
  return inRepo.startsWith('node_modules/') ? undefined : inRepo;
}

function area(url: string): string {
  if (!url) return '(native / idle / gc)';
  if (url.startsWith('node:')) return url;
  const own = projectPath(url);
  if (own) return own;
  const nm = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(url);
  return nm ? `npm:${nm[1]}` : url;
}

/** Path inside the package or project, for function listings. */
function where(url: string): string {
  const own = projectPath(url);
  if (own) return own;
  const nm = /node_modules\/(.*)$/.exec(url);
  return nm ? nm[1]! : url || '(native)';
}

function summarise(file: string, top: number): void {
  const profile = JSON.parse(readFileSync(file, 'utf8')) as Profile;
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const self = new Map<number, number>();
  profile.samples.forEach((id, i) => self.set(id, (self.get(id) ?? 0) + (profile.timeDeltas[i] ?? 0)));
  const total = [...self.values()].reduce((a, b) => a + b, 0);
  const idle = [...self].filter(([id]) => ['(idle)', '(program)'].includes(byId.get(id)!.callFrame.functionName)).reduce((a, [, t]) => a + t, 0);
  const busy = total - idle;
  const byArea = new Map<string, number>();
  const byFn = new Map<string, number>();
  for (const [id, t] of self) {
    const { functionName, url, lineNumber } = byId.get(id)!.callFrame;
    if (['(idle)', '(program)'].includes(functionName)) continue;
    const a = functionName === '(garbage collector)' ? '(gc)' : area(url);
    byArea.set(a, (byArea.get(a) ?? 0) + t);
    const fn = `${functionName || '(anonymous)'} ${where(url)}:${lineNumber + 1}`;
    byFn.set(fn, (byFn.get(fn) ?? 0) + t);
  }
  const pct = (t: number) => `${((100 * t) / busy).toFixed(1).padStart(5)} %`;
  console.log(`\n${file}: ${(total / 1e6).toFixed(1)} s profiled, ${(busy / 1e6).toFixed(1)} s on CPU`);
  console.log('  self time by area:');
  for (const [a, t] of [...byArea].sort((x, y) => y[1] - x[1]).slice(0, top)) console.log(`    ${pct(t)}  ${a}`);
  console.log('  top functions (self):');
  for (const [f, t] of [...byFn].sort((x, y) => y[1] - x[1]).slice(0, top)) console.log(`    ${pct(t)}  ${f}`);

  // Inclusive time of the project's own functions (src/, workers/): which of our calls cost the most, callees included.
  const parent = new Map<number, number>();
  for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  const inclusive = new Map<string, number>();
  for (const [id, t] of self) {
    if (['(idle)', '(program)'].includes(byId.get(id)!.callFrame.functionName)) continue;
    const seen = new Set<string>();
    for (let cur: number | undefined = id; cur !== undefined; cur = parent.get(cur)) {
      const { functionName, url, lineNumber } = byId.get(cur)!.callFrame;
      if (!/^(src|workers)\//.test(projectPath(url) ?? '')) continue;
      const key = `${functionName || '(anonymous)'} ${where(url)}:${lineNumber + 1}`;
      if (seen.has(key)) continue;
      seen.add(key);
      inclusive.set(key, (inclusive.get(key) ?? 0) + t);
    }
  }
  console.log('  project functions (inclusive):');
  for (const [f, t] of [...inclusive].sort((x, y) => y[1] - x[1]).slice(0, top)) console.log(`    ${pct(t)}  ${f}`);
}

const files = process.argv.slice(2).filter((a) => !a.startsWith('--'));
const top = Number(process.argv.find((a) => a.startsWith('--top='))?.slice(6) ?? 20);
if (!files.length) {
  console.error('usage: tsx bench/tools/profile-summary.ts <file.cpuprofile>... [--top=20]');
  process.exit(2);
}
for (const f of files) summarise(f, top);
