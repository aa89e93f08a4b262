import type { AxiosInstance, AxiosResponse } from 'axios';
import { isAxiosError } from 'axios';
import type { VendorCallMetrics } from '../../delivery/types.js';
import { VENDOR } from './errors.js';

export interface Twin24Http {
  http: AxiosInstance;
  metrics: VendorCallMetrics;
}

/**
 * One JSON POST to a Twin24 service, timed into the vendor latency histogram under `endpoint`. The shared axios
 * instance sends strings as they are, so the body is serialised here. Failures are thrown as axios gives them;
 * callers classify them (classifyTwin24Failure).
 */
export async function postJson(
  { http, metrics }: Twin24Http, url: string, endpoint: string, body: unknown, headers: Record<string, string> = {},
): Promise<AxiosResponse<unknown>> {
  const started = performance.now();
  try {
    const res = await http.post<unknown>(url, JSON.stringify(body), { headers: { 'content-type': 'application/json', ...headers } });
    metrics.observeCall(VENDOR, endpoint, res.status, (performance.now() - started) / 1000);
    return res;
  } catch (e) {
    const status = isAxiosError(e) && e.response ? e.response.status : 'error';
    metrics.observeCall(VENDOR, endpoint, status, (performance.now() - started) / 1000);
    throw e;
  }
}
