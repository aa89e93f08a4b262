import type { AxiosInstance } from 'axios';
import type { VendorCallMetrics } from '../../delivery/types.js';
import { HttpStatusError, isSuccess, request, type HttpAnswer } from '../../http-client/request.js';
import { VENDOR } from './errors.js';

export interface Twin24Http {
  http: AxiosInstance;
  metrics: VendorCallMetrics;
}

/**
 * One JSON call to a Twin24 service through the shared outbound path (deadline, size cap, latency histogram under
 * `endpoint`). Twin24's callers work in try/catch, so a non-2xx answer is thrown as HttpStatusError (the answer
 * only, never the request with its token or password); callers classify it with classifyTwin24Failure.
 */
export async function callJson(
  { http, metrics }: Twin24Http, method: 'GET' | 'POST', url: string, endpoint: string, body?: unknown, headers: Record<string, string> = {},
): Promise<HttpAnswer> {
  const answer = await request(http, {
    target: VENDOR, endpoint, method, url, headers, metrics, ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  if (!isSuccess(answer)) throw new HttpStatusError(VENDOR, answer);
  return answer;
}

export function postJson(io: Twin24Http, url: string, endpoint: string, body: unknown, headers: Record<string, string> = {}): Promise<HttpAnswer> {
  return callJson(io, 'POST', url, endpoint, body, headers);
}
