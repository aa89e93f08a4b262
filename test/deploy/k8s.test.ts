import { vendorSecretVariables } from '../../src/config/env.js';
import { existsSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import type { Deployment } from 'kubernetes-models/apps/v1/Deployment';
import type { IContainer } from 'kubernetes-models/v1/Container';
import type { PodDisruptionBudget } from 'kubernetes-models/policy/v1/PodDisruptionBudget';
import { parseDuration } from '../../src/config/duration.js';
import { loadConfig } from '../../src/config/env.js';
import { deliveryQueueName, QUEUES } from '../../src/queues/names.js';
import { VENDORS } from '../../src/vendors/registry.js';
import { autoscalingQuery, capInputs, cpuCores, vendorReplicaCap } from './autoscaling-cap.js';
import type { PrometheusTrigger, RedisTrigger, ScaledObject } from './crd-schemas.js';
import {
  byKind, envSchemaKeys, findKubectl, kustomize, parseYamlDocs, processNames, readRepoFile, repoPath, schemaProblems,
  sourceOfBuiltFile, type K8sObject,
} from './support.js';

const kubectl = findKubectl();
if (!kubectl) console.warn('test/deploy/k8s.test.ts: SKIPPED, kubectl is not on PATH (needed for `kubectl kustomize`)');

/** Read by KEDA from the pods' env, not by order-notify itself. */
const KEDA_ONLY_VARS = ['REDIS_ADDRESS', 'REDIS_PASSWORD'];
const DEFAULT_PREFIX = loadConfig({}).queuePrefix;
const DEFAULT_SHUTDOWN_MS = loadConfig({}).shutdownTimeoutMs;
/** runProcess exits by itself this long after SHUTDOWN_TIMEOUT if closing hangs (src/app/worker-process.ts). */
const HARD_DEADLINE_EXTRA_MS = 10_000;

const deploymentName = (process: string) => `order-notify-${process}`;
const appContainer = (d: Deployment): IContainer => {
  const c = d.spec?.template.spec?.containers[0];
  if (!c) throw new Error(`${d.metadata?.name}: no container`);
  return c;
};
const portNumber = (c: IContainer, port: string | number | undefined): number | undefined =>
  typeof port === 'number' ? port : c.ports?.find((p) => p.name === port)?.containerPort;
const matches = (selector: Record<string, string> | undefined, labels: Record<string, string> | undefined) =>
  Boolean(selector && labels && Object.entries(selector).every(([k, v]) => labels[k] === v));

describe.skipIf(!kubectl).each([
  ['the base', 'deploy/k8s'],
  ['the example overlay', 'deploy/k8s/overlays/example'],
])('Kubernetes manifests: %s (%s)', (_label, dir) => {
  const objs = kubectl ? kustomize(kubectl, dir) : [];
  const deployments = byKind<Deployment>(objs, 'Deployment');
  const scaledObjects = byKind<ScaledObject>(objs, 'ScaledObject');
  const configMaps = byKind<K8sObject & { data?: Record<string, string> }>(objs, 'ConfigMap');
  const envConfigMap = configMaps.find((c) => c.metadata.name.startsWith('order-notify-env'));
  const env = envConfigMap?.data ?? {};
  const deployment = (process: string) => deployments.find((d) => d.metadata?.name === deploymentName(process));

  it('every object is valid against its Kubernetes (or CRD) schema', () => {
    expect(objs.length).toBeGreaterThan(10);
    expect(objs.flatMap(schemaProblems)).toEqual([]);
  });

  it('has one Deployment per process, running that process', () => {
    for (const process of processNames()) {
      const d = deployment(process);
      expect(d, `Deployment ${deploymentName(process)}`).toBeDefined();
      expect(appContainer(d!).args?.[0]).toBe(process === 'api' ? 'dist/workers/api.js' : `dist/workers/${process}.js`);
    }
  });

  it('starts only entry files the build produces (workers/<name>.ts exists)', () => {
    const missing = deployments
      .map((d) => String(appContainer(d).args?.[0]))
      .filter((file) => !existsSync(repoPath(sourceOfBuiltFile(file) ?? file)));
    expect(missing, 'entries not written yet (another helper may still be on them)').toEqual([]);
  });

  it('non-secret env holds only known variables and is a valid configuration', () => {
    expect(envConfigMap, 'ConfigMap order-notify-env-*').toBeDefined();
    const known = new Set([...envSchemaKeys(), ...KEDA_ONLY_VARS]);
    expect(Object.keys(env).filter((k) => !known.has(k))).toEqual([]);
    expect(() => loadConfig(env)).not.toThrow();
  });

  it('every pod loads that ConfigMap and the Secret, runs non-root, read-only, without capabilities', () => {
    for (const d of deployments) {
      const pod = d.spec!.template.spec!;
      const c = appContainer(d);
      const where = d.metadata!.name;
      expect(c.envFrom?.map((e) => e.configMapRef?.name ?? e.secretRef?.name), where).toEqual([envConfigMap!.metadata.name, 'order-notify-secrets']);
      expect(pod.securityContext?.runAsNonRoot, where).toBe(true);
      expect(pod.automountServiceAccountToken, where).toBe(false);
      expect(c.securityContext?.readOnlyRootFilesystem, where).toBe(true);
      expect(c.securityContext?.allowPrivilegeEscalation, where).toBe(false);
      expect(c.securityContext?.capabilities?.drop, where).toContain('ALL');
      for (const kind of ['requests', 'limits'] as const) {
        expect(c.resources?.[kind]?.cpu, `${where} ${kind}.cpu`).toBeDefined();
        expect(c.resources?.[kind]?.memory, `${where} ${kind}.memory`).toBeDefined();
      }
    }
  });

  it('gives every pod longer to stop than SHUTDOWN_TIMEOUT (+ preStop sleep + the hard deadline)', () => {
    const shutdownMs = env.SHUTDOWN_TIMEOUT ? parseDuration(env.SHUTDOWN_TIMEOUT)! : DEFAULT_SHUTDOWN_MS;
    for (const d of deployments) {
      const grace = d.spec!.template.spec!.terminationGracePeriodSeconds ?? 30;
      const preStop = appContainer(d).lifecycle?.preStop?.exec?.command;
      const preStopMs = preStop?.[0] === 'sleep' ? Number(preStop[1]) * 1000 : 0;
      expect(grace, d.metadata!.name).toBeGreaterThan(25);
      expect(grace * 1000, d.metadata!.name).toBeGreaterThan(preStopMs + shutdownMs + HARD_DEADLINE_EXTRA_MS);
    }
  });

  it('probes the workers on METRICS_PORT and the API on HTTP_PORT; every pod is scraped on METRICS_PORT', () => {
    const metricsPort = Number(env.METRICS_PORT ?? 9464);
    const httpPort = Number(env.HTTP_PORT ?? 3000);
    for (const d of deployments) {
      const c = appContainer(d);
      const isApi = d.metadata!.name === deploymentName('api');
      const port = isApi ? httpPort : metricsPort;
      const where = d.metadata!.name;
      expect(portNumber(c, c.livenessProbe?.httpGet?.port), `${where} liveness`).toBe(port);
      expect(c.livenessProbe?.httpGet?.path, where).toBe('/healthz');
      expect(portNumber(c, c.readinessProbe?.httpGet?.port), `${where} readiness`).toBe(port);
      expect(c.readinessProbe?.httpGet?.path, where).toBe('/readyz');
      const annotations = d.spec!.template.metadata?.annotations ?? {};
      expect(annotations['prometheus.io/scrape'], where).toBe('true');
      // /metrics is never on the public API port (nor behind its Service).
      expect(Number(annotations['prometheus.io/port']), where).toBe(metricsPort);
      expect(portNumber(c, 'metrics'), where).toBe(metricsPort);
    }
  });

  it('has a PodDisruptionBudget for every Deployment', () => {
    const pdbs = byKind<PodDisruptionBudget>(objs, 'PodDisruptionBudget');
    for (const d of deployments) {
      const labels = d.spec!.template.metadata?.labels;
      expect(pdbs.some((p) => matches(p.spec?.selector?.matchLabels, labels)), d.metadata!.name).toBe(true);
    }
  });

  it('runs the Twin24 correlator at exactly one replica, not autoscaled', () => {
    expect(deployment('twin24-correlator')?.spec?.replicas).toBe(1);
    expect(scaledObjects.filter((s) => s.spec.scaleTargetRef.name === deploymentName('twin24-correlator'))).toEqual([]);
  });

  it('scales the fan-out, each delivery worker and the webhook on its due jobs and its wait list with KEDA (min >= 1, capped max)', () => {
    expect(env.QUEUE_PREFIX ?? DEFAULT_PREFIX, 'the listNames below assume the default prefix').toBe(DEFAULT_PREFIX);
    const expected = [
      { process: 'fanout', queue: QUEUES.orders },
      ...VENDORS.map((v) => ({ process: v, queue: deliveryQueueName(v) })),
      { process: 'webhook', queue: QUEUES.webhook },
    ];
    for (const { process, queue } of expected) {
      const so = scaledObjects.find((s) => s.spec.scaleTargetRef.name === deploymentName(process));
      expect(so, `ScaledObject for ${deploymentName(process)}`).toBeDefined();
      // Due jobs (waiting + prioritized + delayed due soon) from Prometheus: the delayed set counts too.
      const prom = so!.spec.triggers.find((t): t is PrometheusTrigger => t.type === 'prometheus');
      // A delivery worker's query sums its vendor's partitions (QUEUE_PARTITIONS); max() per queue since every pod reports every queue.
      expect(prom?.metadata.query, `${process} prometheus trigger`).toBe(queue.startsWith('deliver-')
        ? autoscalingQuery(queue) : `max(order_notify_queue_jobs_due{queue="${queue}"})`);
      // The wait list straight from Redis: scaling keeps working while Prometheus is unreachable.
      const list = so!.spec.triggers.find((t): t is RedisTrigger => t.type === 'redis');
      expect(list?.metadata.listName, `${process} redis trigger`).toBe(`${DEFAULT_PREFIX}:${queue}:wait`);
      expect(prom?.metadata.ignoreNullValues).toBe('true');
      expect(so!.spec.minReplicaCount).toBeGreaterThanOrEqual(1);
      expect(so!.spec.maxReplicaCount).toBeGreaterThanOrEqual(so!.spec.minReplicaCount!);
      expect(so!.spec.maxReplicaCount).toBeLessThanOrEqual(10);
      // KEDA resolves addressFromEnv in the target's container env: the variable must be there.
      expect(env[list!.metadata.addressFromEnv!], list!.metadata.addressFromEnv).toMatch(/^[^:/]+:\d+$/);
      // A replicas field would be reset by every `kubectl apply`, fighting the autoscaler.
      expect(deployment(process)?.spec?.replicas, `${deploymentName(process)} must leave replicas to KEDA`).toBeUndefined();
    }
    expect(scaledObjects).toHaveLength(expected.length);
  });

  it('caps each delivery worker at the pods its vendor rate limit can keep busy, + 1 (docs/autoscaling.md)', () => {
    for (const vendor of VENDORS) {
      const so = scaledObjects.find((s) => s.spec.scaleTargetRef.name === deploymentName(vendor))!;
      const cpuLimit = cpuCores(appContainer(deployment(vendor)!).resources?.limits?.cpu);
      expect(so.spec.maxReplicaCount, `${vendor}: ${JSON.stringify(capInputs(vendor, env))}`).toBe(vendorReplicaCap(capInputs(vendor, env), cpuLimit));
    }
  });

  it('exposes the API through a Service on its http port only (not metrics)', () => {
    const svc = byKind<K8sObject & { spec: { selector: Record<string, string>; ports: Array<{ targetPort: string }> } }>(objs, 'Service')
      .find((s) => s.metadata.name === deploymentName('api'));
    const api = deployment('api')!;
    expect(matches(svc?.spec.selector, api.spec!.template.metadata?.labels)).toBe(true);
    expect(svc?.spec.ports.map((p) => portNumber(appContainer(api), p.targetPort))).toEqual([Number(env.HTTP_PORT ?? 3000)]);
  });

  it('lets only order-notify pods (and the KEDA operator) reach Redis on 6379', () => {
    type Peer = { podSelector?: { matchLabels?: Record<string, string> }; namespaceSelector?: { matchLabels?: Record<string, string> } };
    type Policy = K8sObject & { spec: { podSelector: { matchLabels: Record<string, string> }; policyTypes: string[]; ingress: Array<{ from: Peer[]; ports: Array<{ port: number; protocol: string }> }> } };
    const policies = byKind<Policy>(objs, 'NetworkPolicy').filter((p) => p.spec.podSelector.matchLabels['app.kubernetes.io/name'] === 'redis');
    expect(policies).toHaveLength(1);
    const policy = policies[0]!;
    expect(policy.spec.policyTypes).toEqual(['Ingress']);
    expect(policy.spec.ingress).toHaveLength(1);
    expect(policy.spec.ingress[0]!.ports).toEqual([{ protocol: 'TCP', port: 6379 }]);
    const sameNamespace = policy.spec.ingress[0]!.from.filter((f) => !f.namespaceSelector);
    expect(sameNamespace).toHaveLength(1);
    // Every order-notify pod matches the allowed selector; a pod of anything else (no part-of label) does not.
    for (const d of deployments) expect(matches(sameNamespace[0]!.podSelector?.matchLabels, d.spec!.template.metadata?.labels), d.metadata!.name).toBe(true);
    expect(matches(sameNamespace[0]!.podSelector?.matchLabels, { 'app.kubernetes.io/name': 'debug-shell' })).toBe(false);
    const keda = policy.spec.ingress[0]!.from.find((f) => f.namespaceSelector);
    expect(keda?.namespaceSelector?.matchLabels).toEqual({ 'kubernetes.io/metadata.name': 'keda' });
    expect(keda?.podSelector?.matchLabels).toEqual({ app: 'keda-operator' });
  });

  it('mounts config/routes.example.yaml where ROUTES_FILE points in the fan-out', () => {
    const routes = configMaps.find((c) => c.metadata.name.startsWith('order-notify-routes'));
    expect(routes?.data?.['routes.yaml'], 'deploy/k8s/base/routes.yaml must be a copy of config/routes.example.yaml')
      .toBe(readRepoFile('config', 'routes.example.yaml'));
    const fanout = deployment('fanout')!;
    const volume = fanout.spec!.template.spec!.volumes?.find((v) => v.configMap?.name === routes!.metadata.name);
    const mount = appContainer(fanout).volumeMounts?.find((m) => m.name === volume?.name);
    expect(`${mount?.mountPath}/routes.yaml`).toBe(env.ROUTES_FILE);
  });
});

describe.skipIf(!kubectl)('Kubernetes example overlay specifics', () => {
  const objs = kubectl ? kustomize(kubectl, 'deploy/k8s/overlays/example') : [];

  it('puts every namespaced object in the overlay namespace and uses the overlay image', () => {
    const namespaced = objs.filter((o) => o.kind !== 'Namespace');
    expect(namespaced.filter((o) => o.metadata.namespace !== 'order-notify').map((o) => `${o.kind}/${o.metadata.name}`)).toEqual([]);
    for (const d of byKind<Deployment>(objs, 'Deployment')) {
      expect(appContainer(d).image).toMatch(/^registry\.example\.com\/order-notify:/);
    }
  });

  it('gives KEDA a namespace-qualified Redis address (its operator runs in another namespace)', () => {
    const env = byKind<K8sObject & { data: Record<string, string> }>(objs, 'ConfigMap').find((c) => c.metadata.name.startsWith('order-notify-env'))!;
    expect(env.data.REDIS_ADDRESS).toMatch(/^redis\.order-notify\.svc(\.[a-z.]+)?:6379$/);
  });

  it('protects the trial Redis with the NetworkPolicy (its pods carry the selected label)', () => {
    const redis = byKind<K8sObject & { spec: { template: { metadata: { labels: Record<string, string> } } } }>(objs, 'StatefulSet').find((s) => s.metadata.name === 'redis')!;
    const policy = byKind<K8sObject & { spec: { podSelector: { matchLabels: Record<string, string> } } }>(objs, 'NetworkPolicy')[0]!;
    expect(matches(policy.spec.podSelector.matchLabels, redis.spec.template.metadata.labels)).toBe(true);
  });

  it('runs the trial Redis with AOF (fsync every second) and noeviction', () => {
    const redis = byKind<K8sObject & { spec: { template: { spec: { containers: IContainer[] } } } }>(objs, 'StatefulSet')
      .find((s) => s.metadata.name === 'redis');
    const args = redis?.spec.template.spec.containers[0]?.args?.join(' ') ?? '';
    expect(args).toContain('--appendonly yes');
    expect(args).toContain('--appendfsync everysec');
    expect(args).toContain('--maxmemory-policy noeviction');
  });
});

describe('Kubernetes Secret example', () => {
  const [secret, ...rest] = parseYamlDocs(readRepoFile('deploy', 'k8s', 'base', 'secret.example.yaml'), 'secret.example.yaml');
  const data = (secret as K8sObject & { stringData: Record<string, string> }).stringData;

  it('is one valid Secret named as the pods expect, holding no values', () => {
    expect(rest).toEqual([]);
    expect(schemaProblems(secret!)).toEqual([]);
    expect(secret!.metadata.name).toBe('order-notify-secrets');
    expect(Object.entries(data).filter(([, v]) => v !== ''), 'an example must never carry values').toEqual([]);
  });

  it('lists only known variables, including every credential the config treats as secret', () => {
    const known = new Set([...envSchemaKeys(), ...KEDA_ONLY_VARS]);
    expect(Object.keys(data).filter((k) => !known.has(k))).toEqual([]);
    for (const k of ['MANTAGO_TOKEN', 'MANTAGO_SECRET', 'JOINCHAT_SECRET', 'METABOT_TOKEN', 'TWIN24_TOKEN', 'TWIN24_PASSWORD',
      'RESULTS_WEBHOOK_SECRET', 'INGEST_TOKEN', 'DASHBOARD_PASSWORD', ...vendorSecretVariables()]) expect(Object.keys(data)).toContain(k);
  });
});
