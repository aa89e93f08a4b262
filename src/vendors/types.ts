import type { z } from 'zod';
import type { AppConfig, VendorConfigs } from '../config/env.js';
import type { CredentialGroup } from '../config/env-fields.js';
import type { RateLimit } from '../config/duration.js';
import type { OrderPaid } from '../events/order-paid.js';
import type { AdapterContext, VendorAdapter } from '../delivery/types.js';
import type { Metrics } from '../observability/metrics.js';
import type { OrderRecords } from '../orders/record.js';
import type { RedisConnection } from '../queues/connection.js';
import type { Logger } from '../runtime/logger.js';
import type { Tracing } from '../observability/tracing.js';
import type { VendorRoute } from '../sandbox/recorder.js';

/** A customer channel a routing rule can target (the union of every vendor's `recipients` keys, see registry.ts). */
export type Channel = string;

/** Reads a channel's recipient from the event; undefined when the customer cannot be reached on it. */
export type RecipientReader = (event: OrderPaid) => unknown;

/**
 * A vendor's part of the environment. `config/env.ts` parses every slice's variables together with its own (so one
 * message names every bad variable), then asks each slice to build its vendor's config.
 */
export interface VendorConfigSlice<C, E extends z.ZodRawShape = z.ZodRawShape> {
  /** The variables this vendor reads, each with its zod schema and default. */
  env: E;
  /** Names of the variables holding secrets (they belong in a Kubernetes Secret, never in config.env). */
  secretVars: readonly string[];
  /** This vendor's config from the parsed variables; undefined = disabled. `need` records an all-or-nothing group. */
  build(env: z.infer<z.ZodObject<E>>, need: CredentialGroup, problems: string[]): C | undefined;
  /** The secret values of a built config, so the redactor scrubs them from any text. */
  secrets(config: C): Array<string | undefined>;
  /** The longest time a delivery may wait for batch companions (feeds the DELIVERY_LOCK_DURATION check). */
  lingerMs?(env: z.infer<z.ZodObject<E>>): number;
}

/** What a vendor-contributed process component gets: the same shared pieces every component gets. */
export interface VendorComponentDeps {
  config: AppConfig;
  connection: RedisConnection;
  metrics: Metrics;
  logger: Logger;
  records: OrderRecords;
  tracing?: Tracing;
}

/** A process part a vendor adds besides its delivery worker (Twin24's correlator). */
export interface VendorComponent {
  /** Why it cannot run with this config (logged, then skipped), or undefined when it can. */
  disabledReason(config: AppConfig): string | undefined;
  start(deps: VendorComponentDeps): Promise<{ close(timeoutMs: number): Promise<void> }>;
}

/**
 * Everything the rest of the system knows about a vendor. Adding a vendor = a folder exporting one of these,
 * plus one line in registry.ts.
 */
/** What every vendor config has: its request budget. */
export interface VendorConfigBase { rateLimit: RateLimit }

export interface VendorDefinition<P = unknown, C extends VendorConfigBase = VendorConfigBase> {
  name: string;
  /** The channels a rule for this vendor may name, each with how the recipient is read from the event. */
  recipients: Readonly<Record<Channel, RecipientReader>>;
  /** Its environment variables, defaults and secrets. */
  config: VendorConfigSlice<C, any>; // eslint-disable-line @typescript-eslint/no-explicit-any -- each slice's own env shape
  /** The full delivery payload (rendered rule message + recipient); limits live here so fan-out refuses early. */
  payloadSchema: z.ZodType<P, unknown>;
  /** Adds the recipient taken from the event's channel to the rendered message (before payloadSchema runs). */
  address(message: Record<string, unknown>, event: OrderPaid, channel: Channel): Record<string, unknown>;
  /**
   * Whether a rule's (unrendered) message reaches someone even when the customer lacks the rule's channel (e.g. a
   * Metabot broadcast, or a rule that names its own lead). Absent: a rule needs the channel.
   */
  reachableWithoutChannel?(message: Record<string, unknown>): boolean;
  /** This vendor's config when its credentials are set, else undefined (the vendor is disabled). */
  configFrom(vendors: VendorConfigs): C | undefined;
  /** The vendor later reports whether the message was delivered (Twin24 via the correlator): "sent" is not "reached". */
  reportsDelivery?: boolean;
  createAdapter(ctx: AdapterContext<C>): VendorAdapter<P>;
  /** Process components this vendor adds (`order-notify start <name>`), e.g. Twin24's correlator. */
  components?: Readonly<Record<string, VendorComponent>>;
  /** Its imitation in the local sandbox (`order-notify sandbox`), mounted under /<name>/. */
  sandbox?: VendorSandbox;
  /** Its page under docs/vendors/, relative to the repository root. */
  docs: string;
}

/** A vendor's imitation in the sandbox: routes under its own prefixes, checked as strictly as the vendor would. */
export interface VendorSandbox {
  create(): VendorSandboxInstance;
}
export interface VendorSandboxInstance {
  /** Path prefix under the sandbox URL (e.g. `/http`) → the routes served there. */
  mounts: Record<string, VendorRoute[]>;
  /** Shown by the control API and handed to tests (a live reference). */
  credentials: Record<string, string>;
  /** The environment that points this vendor at a sandbox listening on `baseUrl`, with credentials it accepts. */
  env(baseUrl: string): Record<string, string>;
  reset?(): void;
}
