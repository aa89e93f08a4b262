import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { envSchemaKeys } from './deploy/support.js';

/**
 * Nothing in the repository may cite a file that is not there. README.md and docs/**.md: every relative markdown
 * link (and its #anchor, when it points into a markdown file) and every backticked repo path resolve. Everywhere
 * else (code comments, scripts, manifests): every `*.md` a file names exists.
 */
const ROOT = fileURLToPath(new URL('..', import.meta.url));
const SKIP_DIRS = new Set(['node_modules', 'dist', '.git', 'coverage', 'profiles']);
/** Top-level folders whose backticked paths are citations of repo files. */
const REPO_DIRS = ['src', 'test', 'docs', 'workers', 'bench', 'deploy', 'config', 'examples', '.ci'];
/** Generated at build or bench time, so absent from a checkout: `dist/...`, `bench/profiles/...`. */
const GENERATED = [/^dist\//, /^bench\/profiles\//];

function walk(dir: string, keep: (path: string) => boolean, out: string[] = []): string[] {
  for (const name of readdirSync(dir)) {
    if (SKIP_DIRS.has(name)) continue;
    const path = join(dir, name);
    if (statSync(path).isDirectory()) walk(path, keep, out);
    else if (keep(path)) out.push(path);
  }
  return out;
}

/** The lines of a markdown file outside fenced code blocks (those hold examples, not citations). */
function proseLines(text: string): { line: string; n: number }[] {
  let fenced = false;
  const out: { line: string; n: number }[] = [];
  text.split('\n').forEach((line, i) => {
    if (/^\s*(```|~~~)/.test(line)) fenced = !fenced;
    else if (!fenced) out.push({ line, n: i + 1 });
  });
  return out;
}

/** GitHub's heading anchors: lower case, punctuation dropped, spaces to hyphens, repeats numbered. */
function anchors(markdown: string): Set<string> {
  const seen = new Map<string, number>();
  const out = new Set<string>();
  for (const { line } of proseLines(markdown)) {
    const h = /^#{1,6}\s+(.*?)\s*#*\s*$/.exec(line);
    if (!h) continue;
    const slug = h[1]!.toLowerCase().replace(/<[^>]+>/g, '').replace(/[^\p{L}\p{N}\s_-]/gu, '').replace(/\s/g, '-');
    const count = seen.get(slug) ?? 0;
    seen.set(slug, count + 1);
    out.add(count ? `${slug}-${count}` : slug);
  }
  return out;
}

const markdownFiles = [join(ROOT, 'README.md'), ...walk(join(ROOT, 'docs'), (p) => p.endsWith('.md'))];
const rel = (p: string): string => relative(ROOT, p).split('\\').join('/');

/** Every citation that does not resolve, as "file:line: what" (empty when all is well). */
function brokenInMarkdown(file: string): string[] {
  const text = readFileSync(file, 'utf8');
  const broken: string[] = [];
  for (const { line, n } of proseLines(text)) {
    const where = `${rel(file)}:${n}`;
    // Inline code first, so a link-like text inside backticks is not read as a link.
    const spans = [...line.matchAll(/`([^`]+)`/g)].map((m) => m[1]!);
    const outside = line.replace(/`[^`]*`/g, '``');
    for (const m of outside.matchAll(/\[[^\]]*\]\(([^)\s]+)(?:\s+"[^"]*")?\)/g)) {
      const target = m[1]!;
      if (/^[a-z][a-z0-9+.-]*:/i.test(target)) continue; // http:, https:, mailto:
      const [path, fragment] = target.split('#') as [string, string | undefined];
      const resolved = path === '' ? file : resolve(dirname(file), decodeURI(path));
      if (!existsSync(resolved)) { broken.push(`${where}: link to ${target}: no such file`); continue; }
      if (fragment && resolved.endsWith('.md') && !anchors(readFileSync(resolved, 'utf8')).has(fragment.toLowerCase()))
        broken.push(`${where}: link to ${target}: no heading #${fragment} in ${rel(resolved)}`);
    }
    for (const span of spans) {
      const path = span.replace(/[.,:;]$/, '').replace(/:\d+(-\d+)?$/, '').replace(/#.*$/, '');
      const looksLikeRepoPath = REPO_DIRS.some((d) => path.startsWith(`${d}/`)) || /^[\w.-]+\.md$/.test(path);
      // Placeholders (`workers/<vendor>.ts`, `examples/order-paid-{line,…}.json`, `bench/profiles/<run>/*`) are
      // patterns, not citations; commands (`npx tsx src/cli.ts`) are not paths.
      if (!looksLikeRepoPath || /[\s<>{}*…|$]/.test(path) || GENERATED.some((g) => g.test(path))) continue;
      if (!existsSync(join(ROOT, path))) broken.push(`${where}: \`${span}\`: no such file in the repository`);
    }
  }
  return broken;
}

/** In code and scripts: a `something.md` name must exist at the root, in docs/, beside the file or in a folder above it. */
function brokenMdMentions(file: string): string[] {
  const broken: string[] = [];
  readFileSync(file, 'utf8').split('\n').forEach((line, i) => {
    for (const m of line.matchAll(/(?<![\w/.-])((?:[\w.-]+\/)*[\w-]+\.md)\b/g)) {
      const cited = m[1]!;
      let dir = dirname(file);
      let found = existsSync(join(ROOT, cited)) || existsSync(join(ROOT, 'docs', cited));
      while (!found && dir.startsWith(ROOT)) {
        found = existsSync(join(dir, cited));
        dir = dirname(dir);
      }
      if (!found) broken.push(`${rel(file)}:${i + 1}: cites ${cited}, which is not in the repository`);
    }
  });
  return broken;
}

describe('documentation citations', () => {
  it('finds the documents it checks', () => {
    expect(markdownFiles.map(rel)).toEqual(expect.arrayContaining(['README.md', 'docs/configuration.md', 'docs/vendors/twin24.md']));
  });

  it('README.md and docs/**/*.md: every relative link, anchor and backticked repo path resolves', () => {
    expect(markdownFiles.flatMap(brokenInMarkdown)).toEqual([]);
  });

  it('docs/configuration.md names every variable of src/config/env.ts', () => {
    const page = readFileSync(join(ROOT, 'docs', 'configuration.md'), 'utf8');
    const keys = envSchemaKeys();
    expect(keys.length).toBeGreaterThan(50);
    expect(keys.filter((k) => !page.includes(`\`${k}\``))).toEqual([]);
  });

  it('code, tests, scripts and manifests cite only markdown files that exist', () => {
    const code = ['src', 'test', 'workers', 'bench', 'deploy', '.ci']
      .filter((d) => existsSync(join(ROOT, d)))
      .flatMap((d) => walk(join(ROOT, d), (p) => !/\/test\/fixtures\//.test(p) && !p.endsWith('docs-links.test.ts') && /\.(ts|js|mjs|ya?ml|sh|json)$|\/run$/.test(p)));
    code.push(...['docker-compose.yml', 'Dockerfile', 'package.json'].map((f) => join(ROOT, f)).filter(existsSync));
    expect(code.length).toBeGreaterThan(50);
    expect(code.flatMap(brokenMdMentions)).toEqual([]);
  });

  it('the checker itself catches a missing file, a missing anchor, a bad backticked path and a bare VENDORS.md', () => {
    expect(anchors('# A `b` c\n## Why: it, is\n## Why: it, is')).toEqual(new Set(['a-b-c', 'why-it-is', 'why-it-is-1']));
    const dir = mkdtempSync(join(tmpdir(), 'docs-links-'));
    try {
      const md = join(dir, 'probe.md');
      writeFileSync(md, '# Probe\n[ok](#probe) [gone](nope.md) [bad anchor](#nope)\n`src/nope.ts` `workers/<vendor>.ts`\n'
        + '```\n[in a code block](nope.md)\n```\n');
      expect(brokenInMarkdown(md).map((b) => b.replace(/^.*?:\d+: /, ''))).toEqual([
        'link to nope.md: no such file', 'link to #nope: no heading #nope in ' + rel(md), '`src/nope.ts`: no such file in the repository']);
      const ts = join(dir, 'probe.ts');
      writeFileSync(ts, '// as VENDORS.md says; see README.md\n');
      expect(brokenMdMentions(ts).map((b) => b.replace(/^.*?: /, ''))).toEqual(['cites VENDORS.md, which is not in the repository']);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
