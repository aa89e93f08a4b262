/** Public types of the sandbox: the shapes other code (tests, workers, the CLI) relies on. */

export interface SandboxCredentials {
  mantago: { botId: string; token: string; secret: string };
  joinchat: { pageId: string; secret: string; signatureHeader: string };
  /** authHeader: which header must carry `Bearer <token>` (Authorization, or the seed's "Authentication"). */
  metabot: { botId: string; token: string; authHeader: string };
  twin24: { email: string; password: string; staticToken: string; botId: string; chatId: string };
  /** Vendors whose definition brings its own sandbox (src/vendors/<name>/), by vendor name. */
  [vendor: string]: Record<string, string>;
}

/** The four built-in imitations, or any vendor whose definition brings a sandbox. */
export type SandboxVendor = 'mantago' | 'joinchat' | 'metabot' | 'twin24' | (string & {});
export const SANDBOX_VENDORS: readonly SandboxVendor[] = ['mantago', 'joinchat', 'metabot', 'twin24'];

export interface VendorFaults {
  /** Added before answering. */
  latencyMs?: number;
  /** 0..1: fraction of requests answered 503. */
  errorRate?: number;
  /** Above `max` requests in any `durationMs` window: 429 with a Retry-After header (seconds). */
  rateLimit?: { max: number; durationMs: number; retryAfterSec?: number };
  /** Destroy the socket without answering (an outage). */
  refuseConnections?: boolean;
  /** Handle the request as usual, then send the answer one byte every `dripMs` (a vendor that never quite finishes). */
  dripMs?: number;
  /** Answer 500 with a body of this many bytes, streamed (a runaway error page). */
  hugeBodyBytes?: number;
}

export interface RecordedRequest {
  seq: number;
  vendor: SandboxVendor;
  /** Date.now() on arrival. */
  at: number;
  method: string;
  /** The vendor's own path, after the base URL (e.g. `/openapi/broadcast`), without the query. */
  path: string;
  query: Record<string, string>;
  headers: Record<string, string>;
  rawBody: string;
  /** The parsed JSON body, or null when there was none or it was not JSON. */
  body: unknown;
  /** 0 when the connection was destroyed without an answer. */
  status: number;
  response: unknown;
  /** A 2xx answer on a send, token or login endpoint (statistics reads never count). */
  accepted: boolean;
  reason?: string;
}

/**
 * What becomes of a message. NEVER = stays PENDING. Any other string is a status the sandbox reports as is; every
 * status but UNDELIVERED, ERROR and EXPIRED starts a chat session (e.g. READ, or a status Twin24 never documented).
 */
export type Twin24Outcome = 'DELIVERED' | 'UNDELIVERED' | 'ERROR' | 'EXPIRED' | 'NEVER' | 'READ' | (string & {});

export interface Twin24TimelineOptions {
  /** CREATED -> PENDING, from creation. */
  pendingAfterMs: number;
  /** -> the outcome, from creation. */
  finalAfterMs: number;
  /** After DELIVERED, the session gets dialogResultsFromBotJson. */
  resultAfterMs: number;
  /** NEVER = stays PENDING forever. */
  outcome?: (phone: string) => Twin24Outcome;
  result?: (phone: string, variables: Record<string, string>) => Record<string, unknown>;
  /** DELIVERED turns READ this long after delivery (the providerMessageId stays); default never. */
  readAfterMs?: number;
  /** The server's own cap on `limit`: a page never holds more items, whatever the client asks (default 1000). */
  limitCap?: number;
  /** A reading of the seed: refuse a sessions query without `chatId` (400), as if only step 3's form were allowed. */
  requireSessionChatId?: boolean;
  /**
   * Where a bot variable named in the sessions `fields` (the seed's `nps`) comes back: inside
   * dialogResultsFromBotJson only (default, as the seed's answer shows), or also on the item itself.
   */
  botVariablesOnItem?: boolean;
}

export interface SandboxLogger {
  info(obj: object, msg?: string): void;
}

export interface SandboxOptions {
  /** Default 0 = a free port. */
  port?: number;
  /** Default 127.0.0.1. */
  host?: string;
  credentials?: { [V in keyof SandboxCredentials]?: Partial<SandboxCredentials[V]> };
  twin24?: Partial<Twin24TimelineOptions>;
  /** Default: silent. */
  logger?: false | SandboxLogger;
}

export interface Twin24MessageView {
  id: string;
  phone: string;
  variables: Record<string, string>;
  createdAt: number;
  status: string;
  providerMessageId: string | null;
  result: Record<string, unknown> | null;
}

export interface SandboxUrls {
  mantago: string;
  joinchat: string;
  metabot: string;
  twin24Iam: string;
  twin24Notify: string;
  twin24Analyse: string;
}

export interface Sandbox {
  /** http://127.0.0.1:PORT */
  url: string;
  urls: SandboxUrls;
  /** For each vendor whose definition brings its sandbox: the environment pointing that vendor here. */
  vendorEnv: Record<string, Record<string, string>>;
  /** What it currently accepts (the MantaGO pair changes after a rotation). */
  credentials: SandboxCredentials;
  /** Every request, accepted or rejected, in arrival order. */
  requests(vendor?: SandboxVendor): RecordedRequest[];
  /** Only 2xx answers on the send endpoints and the token/login endpoints. */
  accepted(vendor?: SandboxVendor): RecordedRequest[];
  /** The most requests seen in any sliding window of `windowMs`. */
  maxInWindow(vendor: SandboxVendor, windowMs: number, path?: string): number;
  /** Replaces that vendor's faults; {} clears. */
  setFaults(vendor: SandboxVendor, faults: VendorFaults): void;
  /** The current token now answers MantaGO 1004 / Twin24 401 "Token is expired." until refreshed. */
  expireToken(vendor: 'mantago' | 'twin24'): void;
  twin24Messages(): Twin24MessageView[];
  /** Clears records, faults, messages and token expiry (keeps credentials). */
  reset(): void;
  close(): Promise<void>;
}
