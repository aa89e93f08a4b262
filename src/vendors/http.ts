import http from 'node:http';
import https from 'node:https';
import axios, { type AxiosInstance } from 'axios';

/**
 * One axios instance per vendor process: keep-alive agents (a flash sale reuses sockets instead of paying a TLS
 * handshake per message) and a timeout on every call. Status checks are left to the caller's classification.
 */
export function createVendorHttp(timeoutMs: number): AxiosInstance {
  return axios.create({
    timeout: timeoutMs,
    httpAgent: new http.Agent({ keepAlive: true, maxSockets: 64 }),
    httpsAgent: new https.Agent({ keepAlive: true, maxSockets: 64 }),
    maxRedirects: 0,
    // Bodies are sent exactly as given (JoinChat signs the bytes): no transform of strings.
    transformRequest: [(data: unknown) => data],
    headers: { 'content-type': 'application/json', 'user-agent': 'order-notify' },
  });
}
