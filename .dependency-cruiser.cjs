/**
 * The layer rules of order-notify, checked in CI (`npm run lint:layers`). Imports point down:
 *
 *   events, config (env core), queues, runtime (logger, redaction, exit codes, shutdown, Redis lock)
 *   delivery (contract, taxonomy, outcome → BullMQ, ledger, limiter) and the one outbound HTTP client
 *   vendors/<name>                       import only the contract and the HTTP client
 *   fanout (+ routes), orders, correlation, fallback, producer, outbox, observability
 *   app (composition root), http (API, board, pages), cli, quickstart, sandbox
 *
 * Type-only imports count: a type pulled from a higher layer is still knowledge of it.
 */
// config/env.ts and config/secrets.ts compose the vendors' config slices (they sit above the vendors); the rest of
// config/ is the core every layer may use.
const FOUNDATION = '^src/(events|queues|runtime|config/(?!env\\.ts$|secrets\\.ts$))';
const ABOVE_FOUNDATION = '^src/(delivery|http-client|vendors|fanout|orders|correlation|fallback|producer|outbox|observability|app|http|cli|quickstart|sandbox)/';
const ABOVE_VENDORS = '^src/(fanout|orders|fallback|producer|outbox|app|http|cli|quickstart|sandbox)/';
const VENDOR_SANDBOX = '^src/vendors/[^/]+/sandbox(\\.ts$|/)';
const VENDOR_COMPONENT = '^src/vendors/[^/]+/correlation/';
const ASSEMBLY = '^src/(app|http|cli|quickstart)/|^src/cli\\.ts$';

module.exports = {
  forbidden: [
    {
      name: 'no-circular',
      severity: 'error',
      comment: 'A cycle means two modules are one module in two files, or a layer points up. A back-edge that is '
        + 'type-only or a lazy import() (a driver or SDK loaded on demand) carries no load-order coupling and is allowed.',
      from: { path: '^src/' },
      to: { circular: true, viaOnly: { dependencyTypesNot: ['type-only', 'dynamic-import'] } },
    },
    {
      name: 'foundation-stays-down',
      severity: 'error',
      comment: 'events, config, queues and runtime helpers are the vocabulary: they know no vendor, worker or process.',
      from: { path: FOUNDATION },
      to: { path: ABOVE_FOUNDATION },
    },
    {
      name: 'producer-knows-no-vendor',
      severity: 'error',
      comment: 'The producer is what a monolith imports: no vendor, delivery machinery or assembly.',
      from: { path: '^src/(producer/|index\\.ts$)' },
      to: { path: '^src/(vendors|delivery|fanout|correlation|fallback|app|http|cli|quickstart|sandbox)/' },
    },
    {
      name: 'config-composition-is-types-only-below',
      severity: 'error',
      comment: 'config/env.ts and config/secrets.ts compose every vendor\'s config slice from the registry, so loading them '
        + 'loads every vendor (and axios, fastify through the sandboxes). Below the fan-out they may be named as types, '
        + 'never loaded: this is what keeps src/index.ts free of vendors, axios and fastify at run time (proved by '
        + 'test/tracing/tracing.test.ts and test/outbox/footprint.test.ts, which list what a monolith loads).',
      from: { path: '^src/(index\\.ts$|events/|queues/|runtime/|producer/|orders/|delivery/|http-client/|config/(?!env\\.ts$|secrets\\.ts$))' },
      to: { path: '^src/config/(env|secrets)\\.ts$', dependencyTypesNot: ['type-only'] },
    },
    {
      name: 'delivery-knows-no-vendor',
      severity: 'error',
      comment: 'delivery/ is the generic machine: it may know the vendor contract (vendors/types.ts), never a vendor or the registry.',
      from: { path: '^src/delivery/' },
      to: { path: '^src/(vendors/(?!types\\.ts$)|fanout|correlation|fallback|producer|outbox|app|http|cli|quickstart|sandbox)' },
    },
    {
      name: 'vendors-import-only-the-contract',
      severity: 'error',
      comment: 'A vendor folder imports the contract (delivery types/errors/outcome, the HTTP client, config core, events, '
        + 'runtime helpers) and itself. Its sandbox imitation and its components have their own rules below.',
      from: { path: '^src/vendors/', pathNot: [VENDOR_SANDBOX, VENDOR_COMPONENT, '^src/vendors/types\\.ts$'] },
      to: { path: ABOVE_VENDORS },
    },
    {
      name: 'vendor-contract-names-upper-types-only',
      severity: 'error',
      comment: 'vendors/types.ts (the contract) may name the sandbox\'s and the records\' types, never load them.',
      from: { path: '^src/vendors/types\\.ts$' },
      to: { path: ABOVE_VENDORS, dependencyTypesNot: ['type-only'] },
    },
    {
      name: 'vendor-sandbox-uses-the-sandbox-kit',
      severity: 'error',
      comment: 'A vendor\'s sandbox imitation builds on the sandbox kit (types, recorder, issue wording) and nothing else above.',
      from: { path: VENDOR_SANDBOX },
      to: { path: ABOVE_VENDORS, pathNot: '^src/sandbox/(types|recorder|issues)\\.ts$' },
    },
    {
      name: 'vendor-component-writes-records-only',
      severity: 'error',
      comment: 'A vendor\'s own component (Twin24\'s correlator) may write the order records, and reach nothing else above.',
      from: { path: VENDOR_COMPONENT },
      to: { path: ABOVE_VENDORS, pathNot: '^src/orders/record\\.ts$' },
    },
    {
      name: 'vendors-do-not-know-each-other',
      severity: 'error',
      comment: 'One vendor folder never imports another; only the registry lists them all.',
      from: { path: '^src/vendors/([^/]+)/' },
      to: { path: '^src/vendors/([^/]+)/', pathNot: '^src/vendors/$1/' },
    },
    {
      name: 'only-the-composition-root-assembles',
      severity: 'error',
      comment: 'Nothing below app/http/cli/quickstart imports them: they are the top.',
      from: { path: '^src/', pathNot: ASSEMBLY },
      to: { path: ASSEMBLY },
    },
    {
      name: 'one-outbound-http-path',
      severity: 'error',
      comment: 'Every outbound call goes through src/http-client/ (deadline, size cap, latency metric, no secret kept on '
        + 'an error). Elsewhere axios may be named as a type, never called.',
      from: { path: '^src/', pathNot: '^src/(http-client|sandbox)/' },
      to: { path: '^node_modules/axios/', dependencyTypesNot: ['type-only'] },
    },
    {
      name: 'registry-only-from-the-top',
      severity: 'error',
      comment: 'The registry knows every vendor; below the fan-out only the contract is known.',
      from: { path: '^src/(events|queues|runtime|delivery|http-client|producer)/|^src/config/(?!env\\.ts$|secrets\\.ts$)' },
      to: { path: '^src/vendors/registry\\.ts$' },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    exclude: { path: '^(test|bench|dist)/' },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    enhancedResolveOptions: { exportsFields: ['exports'], conditionNames: ['import', 'require', 'node', 'default'], extensions: ['.ts', '.js', '.json'] },
    reporterOptions: { text: { highlightFocused: true } },
  },
};
