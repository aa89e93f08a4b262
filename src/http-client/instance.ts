import http from 'node:http';
import https from 'node:https';
import axios, { AxiosError, type AxiosInstance } from 'axios';

/** Largest vendor answer read into memory; a bigger body is cut off and the call fails (no answer, retryable). */
export const DEFAULT_MAX_RESPONSE_BYTES = 1024 * 1024;

export interface VendorHttpLimits {
  /** Total deadline of one call, connect to last byte (not an idle timeout). */
  deadlineMs: number;
  /** Response body cap in bytes (default 1 MiB). */
  maxResponseBytes?: number;
}

/**
 * One axios instance per vendor process: keep-alive agents (a flash sale reuses sockets instead of paying a TLS
 * handshake per message), and two hard limits on every call. axios' own `timeout` restarts with each byte, so a
 * vendor dripping its answer could hold a call (and a job lock) for ever: every request instead gets a fresh
 * AbortSignal.timeout for the whole exchange. `maxContentLength` makes axios destroy the stream as soon as the
 * body passes the cap, so a 150 MB error page costs at most the cap in memory. Status checks are left to the
 * caller's classification.
 */
export function createVendorHttp(limits: number | VendorHttpLimits): AxiosInstance {
  const { deadlineMs, maxResponseBytes = DEFAULT_MAX_RESPONSE_BYTES } = typeof limits === 'number' ? { deadlineMs: limits } : limits;
  const instance = axios.create({
    timeout: deadlineMs,
    maxContentLength: maxResponseBytes,
    maxBodyLength: maxResponseBytes,
    httpAgent: new http.Agent({ keepAlive: true, maxSockets: 64 }),
    httpsAgent: new https.Agent({ keepAlive: true, maxSockets: 64 }),
    maxRedirects: 0,
    // Bodies are sent exactly as given (JoinChat signs the bytes): no transform of strings.
    transformRequest: [(data: unknown) => data],
    headers: { 'content-type': 'application/json', 'user-agent': 'order-notify' },
  });
  instance.interceptors.request.use((config) => {
    const deadline = AbortSignal.timeout(deadlineMs);
    config.signal = config.signal ? AbortSignal.any([config.signal as AbortSignal, deadline]) : deadline;
    return config;
  });
  instance.interceptors.response.use(undefined, (err: unknown) => {
    // An abort reads as "canceled"; say what happened instead (the code is what the vendors' no-answer errors show).
    if (err instanceof AxiosError && err.code === AxiosError.ERR_CANCELED) {
      err.code = 'DEADLINE_EXCEEDED';
      err.message = `no answer within the ${deadlineMs} ms deadline`;
    } else if (err instanceof AxiosError && /maxContentLength/.test(err.message)) {
      err.code = 'RESPONSE_TOO_LARGE';
      err.message = `answer larger than ${maxResponseBytes} bytes; not read`;
    }
    return Promise.reject(err);
  });
  return instance;
}
