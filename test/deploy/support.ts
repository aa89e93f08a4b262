import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseAllDocuments } from 'yaml';
import { ConfigMap } from 'kubernetes-models/v1/ConfigMap';
import { Namespace } from 'kubernetes-models/v1/Namespace';
import { Secret } from 'kubernetes-models/v1/Secret';
import { Service } from 'kubernetes-models/v1/Service';
import { ServiceAccount } from 'kubernetes-models/v1/ServiceAccount';
import { Deployment } from 'kubernetes-models/apps/v1/Deployment';
import { StatefulSet } from 'kubernetes-models/apps/v1/StatefulSet';
import { PodDisruptionBudget } from 'kubernetes-models/policy/v1/PodDisruptionBudget';
import { NetworkPolicy } from 'kubernetes-models/networking.k8s.io/v1/NetworkPolicy';
import { crdSchemas } from './crd-schemas.js';
import { envVariableNames } from '../../src/config/env.js';

/** Static checks of the packaging files (no Docker engine or cluster needed). Paths are from the repo root. */
export const ROOT = fileURLToPath(new URL('../..', import.meta.url));
export const repoPath = (...parts: string[]): string => join(ROOT, ...parts);
export const readRepoFile = (...parts: string[]): string => readFileSync(repoPath(...parts), 'utf8');

export interface K8sObject {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; labels?: Record<string, string>; annotations?: Record<string, string> };
  [key: string]: unknown;
}

/** The absolute path of kubectl on PATH, or undefined (the k8s tests are then skipped with a printed reason). */
export function findKubectl(): string | undefined {
  for (const dir of (process.env.PATH ?? '').split(':')) {
    const candidate = join(dir, 'kubectl');
    if (dir && existsSync(candidate)) return candidate;
  }
  return undefined;
}

export function kustomize(kubectl: string, dir: string): K8sObject[] {
  const out = execFileSync(kubectl, ['kustomize', repoPath(dir)], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  return parseYamlDocs(out, dir);
}

/** Every document of a multi-document YAML text; a syntax error fails with the source name. */
export function parseYamlDocs(text: string, source: string): K8sObject[] {
  return parseAllDocuments(text).flatMap((doc) => {
    if (doc.errors.length) throw new Error(`${source}: ${doc.errors.map((e) => e.message).join('; ')}`);
    const value = doc.toJS() as K8sObject | null;
    return value ? [value] : [];
  });
}

type ModelClass = new (data: never) => { validate(): void };
/** kubernetes-models class per apiVersion/kind; CRDs it does not know are checked with zod (crd-schemas.ts). */
const MODELS: Record<string, ModelClass> = {
  'v1/ConfigMap': ConfigMap as unknown as ModelClass,
  'v1/Namespace': Namespace as unknown as ModelClass,
  'v1/Secret': Secret as unknown as ModelClass,
  'v1/Service': Service as unknown as ModelClass,
  'v1/ServiceAccount': ServiceAccount as unknown as ModelClass,
  'apps/v1/Deployment': Deployment as unknown as ModelClass,
  'apps/v1/StatefulSet': StatefulSet as unknown as ModelClass,
  'policy/v1/PodDisruptionBudget': PodDisruptionBudget as unknown as ModelClass,
  'networking.k8s.io/v1/NetworkPolicy': NetworkPolicy as unknown as ModelClass,
};

/** Validates one object against its schema; returns the problems (empty when valid). */
export function schemaProblems(obj: K8sObject): string[] {
  const type = `${obj.apiVersion}/${obj.kind}`;
  const where = `${type} ${obj.metadata?.name ?? '(no name)'}`;
  const Model = MODELS[type];
  if (Model) {
    try {
      new Model(obj as never).validate();
      return [];
    } catch (e) {
      return [`${where}: ${e instanceof Error ? e.message : String(e)}`];
    }
  }
  const schema = crdSchemas[type];
  if (!schema) return [`${where}: no schema known for this kind (add it to test/deploy/support.ts)`];
  const parsed = schema.safeParse(obj);
  return parsed.success ? [] : parsed.error.issues.map((i) => `${where}: ${i.path.join('.')}: ${i.message}`);
}

export const byKind = <T = K8sObject>(objs: K8sObject[], kind: string): T[] => objs.filter((o) => o.kind === kind) as T[];

/**
 * The processes a deployment runs: one per workers/<name>.ts except `all` (everything in one process, for a
 * laptop), plus `api` and `twin24-correlator`, listed even before their entries exist (a missing one then fails
 * the "starts only files the build produces" tests by name).
 */
export function processNames(): string[] {
  const fromFolder = readdirSync(repoPath('workers'))
    .filter((f) => f.endsWith('.ts') && !f.endsWith('.d.ts'))
    .map((f) => f.replace(/\.ts$/, ''))
    .filter((n) => n !== 'all' && n !== 'api');
  return [...new Set([...fromFolder, 'twin24-correlator']), 'api'].sort();
}

/** `dist/workers/x.js` → `workers/x.ts`, `dist/src/a/b.js` → `src/a/b.ts`: the source the build compiles it from. */
export function sourceOfBuiltFile(distPath: string): string | undefined {
  const m = /^dist\/((?:src|workers)\/.+)\.js$/.exec(distPath);
  return m ? `${m[1]}.ts` : undefined;
}

/** Every variable the config reads: the core schema plus each vendor's slice (src/vendors/<name>/config.ts). */
export function envSchemaKeys(): string[] {
  const keys = envVariableNames();
  if (keys.length < 10) throw new Error(`src/config/env.ts: found only ${keys.length} variables`);
  return keys;
}

/** The source declaring the variables: src/config/env.ts and every vendor's config slice. */
export function envSourceText(): string {
  const vendors = readdirSync(repoPath('src', 'vendors'), { withFileTypes: true })
    .filter((d) => d.isDirectory() && existsSync(repoPath('src', 'vendors', d.name, 'config.ts')))
    .map((d) => readRepoFile('src', 'vendors', d.name, 'config.ts'));
  return [readRepoFile('src', 'config', 'env.ts'), ...vendors].join('\n');
}

/** `NAME=value` lines of an env file; `commented` also reads `# NAME=value` (the documented defaults). */
export function envFileEntries(text: string): Array<{ name: string; value: string; commented: boolean }> {
  return text.split('\n').flatMap((line) => {
    const m = /^(#\s*)?([A-Z][A-Z0-9_]*)=(.*)$/.exec(line.trim());
    return m ? [{ name: m[2]!, value: m[3]!.trim(), commented: Boolean(m[1]) }] : [];
  });
}
