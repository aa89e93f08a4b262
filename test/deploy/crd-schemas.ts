import { z } from 'zod';

/**
 * The custom resources kubernetes-models does not cover, checked with zod for the fields these manifests use.
 * Strict objects: a misspelt field (say `minReplicas`) fails instead of being ignored by the cluster.
 * Field names follow KEDA 2.x (keda.sh/v1alpha1) and Prometheus Operator (monitoring.coreos.com/v1).
 */
const name = z.string().regex(/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/, 'must be a DNS-1123 name');
const metadata = z.object({ name, namespace: name.optional(), labels: z.record(z.string(), z.string()).optional() });
const intString = z.string().regex(/^\d+$/, 'must be a whole number written as a string');
const labelSelector = z.strictObject({ matchLabels: z.record(z.string(), z.string()) });

/** KEDA `redis` trigger (Redis lists scaler); metadata values are strings. */
const redisTrigger = z.strictObject({
  type: z.literal('redis'),
  metadata: z.strictObject({
    address: z.string().optional(),
    addressFromEnv: z.string().optional(),
    host: z.string().optional(),
    hostFromEnv: z.string().optional(),
    port: intString.optional(),
    portFromEnv: z.string().optional(),
    usernameFromEnv: z.string().optional(),
    passwordFromEnv: z.string().optional(),
    listName: z.string().min(1),
    listLength: intString,
    activationListLength: intString.optional(),
    enableTLS: z.enum(['true', 'false']).optional(),
    databaseIndex: intString.optional(),
  }).refine((m) => m.address || m.addressFromEnv || (m.host ?? m.hostFromEnv), 'needs address, addressFromEnv or host'),
  authenticationRef: z.strictObject({ name }).optional(),
});

const number = z.string().regex(/^\d+(\.\d+)?$/, 'must be a number written as a string');

/** KEDA `prometheus` trigger: a PromQL query whose value, divided by `threshold`, is the desired replica count. */
const prometheusTrigger = z.strictObject({
  type: z.literal('prometheus'),
  metadata: z.strictObject({
    serverAddress: z.url({ protocol: /^https?$/, message: 'must be an http(s) URL' }),
    query: z.string().min(1),
    threshold: number,
    activationThreshold: number.optional(),
    namespace: z.string().optional(),
    customHeaders: z.string().optional(),
    queryParameters: z.string().optional(),
    ignoreNullValues: z.enum(['true', 'false']).optional(),
    unsafeSsl: z.enum(['true', 'false']).optional(),
    authModes: z.string().optional(),
  }),
  authenticationRef: z.strictObject({ name }).optional(),
});

const trigger = z.discriminatedUnion('type', [redisTrigger, prometheusTrigger]);

const scaledObject = z.strictObject({
  apiVersion: z.literal('keda.sh/v1alpha1'),
  kind: z.literal('ScaledObject'),
  metadata,
  spec: z.strictObject({
    scaleTargetRef: z.strictObject({ name, kind: z.string().optional(), apiVersion: z.string().optional() }),
    minReplicaCount: z.number().int().min(0).optional(),
    maxReplicaCount: z.number().int().min(1).optional(),
    pollingInterval: z.number().int().positive().optional(),
    cooldownPeriod: z.number().int().positive().optional(),
    triggers: z.array(trigger).min(1),
  }).refine((s) => (s.minReplicaCount ?? 0) <= (s.maxReplicaCount ?? 100), 'minReplicaCount above maxReplicaCount'),
});

const scrapeEndpoint = z.strictObject({
  port: z.string().min(1),
  path: z.string().startsWith('/').optional(),
  interval: z.string().regex(/^\d+(ms|s|m|h)$/).optional(),
});

const serviceMonitor = z.strictObject({
  apiVersion: z.literal('monitoring.coreos.com/v1'),
  kind: z.literal('ServiceMonitor'),
  metadata,
  spec: z.strictObject({ selector: labelSelector, endpoints: z.array(scrapeEndpoint).min(1) }),
});

const podMonitor = z.strictObject({
  apiVersion: z.literal('monitoring.coreos.com/v1'),
  kind: z.literal('PodMonitor'),
  metadata,
  spec: z.strictObject({ selector: labelSelector, podMetricsEndpoints: z.array(scrapeEndpoint).min(1) }),
});

export const crdSchemas: Record<string, z.ZodType> = {
  'keda.sh/v1alpha1/ScaledObject': scaledObject,
  'monitoring.coreos.com/v1/ServiceMonitor': serviceMonitor,
  'monitoring.coreos.com/v1/PodMonitor': podMonitor,
};

export type ScaledObject = z.infer<typeof scaledObject>;
export type RedisTrigger = z.infer<typeof redisTrigger>;
export type PrometheusTrigger = z.infer<typeof prometheusTrigger>;
