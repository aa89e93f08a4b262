import { isAxiosError, type AxiosInstance } from 'axios';
import type { VendorCallMetrics } from '../delivery/types.js';

/** What came back: every HTTP status is an answer here, never an exception. */
export interface HttpAnswer {
  status: number;
  /** Response headers, lower-case names. */
  headers: Record<string, string | undefined>;
  /** The parsed JSON body, or the text when it is not JSON. */
  data: unknown;
}

/**
 * No answer at all: the total deadline passed, the answer was over the size cap, the connection was refused or
 * reset. It keeps only the code and a sentence: the axios error it replaces holds the request (headers with the
 * token or signature, a login body with the password), so that error is never kept as a cause.
 */
export class NoAnswerError extends Error {
  override readonly name = 'NoAnswerError';
  constructor(readonly target: string, readonly code: string, message: string) {
    super(`${target}: no answer (${code}${message && message !== code ? `: ${message}` : ''})`);
  }
}

/**
 * A status the caller does not take as success, as a throwable for callers whose flow is try/catch (Twin24's).
 * Holds the answer only: status, response headers and body, never the request.
 */
export class HttpStatusError extends Error {
  override readonly name = 'HttpStatusError';
  constructor(readonly target: string, readonly answer: HttpAnswer) {
    super(`${target}: HTTP ${answer.status}`);
  }
}

export interface OutboundCall {
  /** Who is called, for metrics and errors: the vendor name or `results-webhook`. */
  target: string;
  /** The metric's endpoint label, e.g. `broadcast`, `auth/login`. */
  endpoint: string;
  method?: 'GET' | 'POST';
  url: string;
  /** Sent byte for byte (JoinChat signs these bytes). */
  body?: string;
  headers?: Record<string, string>;
  metrics?: VendorCallMetrics;
}

export function isSuccess(answer: HttpAnswer): boolean {
  return answer.status >= 200 && answer.status < 300;
}

/**
 * The one outbound path: one request through the process's limited instance (http-client/instance.ts: total
 * deadline with AbortSignal.timeout, 1 MiB answer cap, keep-alive, no redirects), timed into the vendor latency
 * histogram, answering every status and throwing only NoAnswerError. What a status means is the caller's
 * classification (http-client/classify.ts for the shared part, the vendor's errors.ts for its own codes).
 */
export async function request(http: AxiosInstance, call: OutboundCall): Promise<HttpAnswer> {
  const started = performance.now();
  const observe = (status: number | 'error') => call.metrics?.observeCall(call.target, call.endpoint, status, (performance.now() - started) / 1000);
  try {
    const res = await http.request<unknown>({
      method: call.method ?? 'POST',
      url: call.url,
      data: call.body,
      headers: { ...(call.body === undefined ? {} : { 'content-type': 'application/json' }), ...call.headers },
      validateStatus: () => true,
    });
    observe(res.status);
    const headers: Record<string, string | undefined> = {};
    for (const [k, v] of Object.entries(res.headers ?? {})) headers[k.toLowerCase()] = Array.isArray(v) ? v.join(', ') : v == null ? undefined : String(v);
    return { status: res.status, headers, data: res.data };
  } catch (e) {
    observe('error');
    const code = isAxiosError(e) ? (e.code ?? 'ERR_NETWORK') : 'ERR_UNKNOWN';
    throw new NoAnswerError(call.target, code, e instanceof Error ? e.message : String(e));
  }
}
