/** Tiny fetch wrappers for the sandbox tests: the exact bytes go out, the status, headers and JSON come back. */
import { sleep } from '../support/wait.js';

export { sleep };

export interface HttpAnswer<T = any> {
  status: number;
  headers: Headers;
  body: T;
}

async function answer(res: Response): Promise<HttpAnswer> {
  const text = await res.text();
  let body: unknown = text;
  try {
    body = text === '' ? null : JSON.parse(text);
  } catch {
    // not JSON: keep the text
  }
  return { status: res.status, headers: res.headers, body };
}

/** Posts `body` as-is when it is a string (so tests control every byte), else JSON.stringify(body). */
export async function post(url: string, body: unknown, headers: Record<string, string> = {}): Promise<HttpAnswer> {
  const raw = typeof body === 'string' ? body : JSON.stringify(body);
  const res = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: raw });
  return answer(res);
}

export async function get(url: string, headers: Record<string, string> = {}): Promise<HttpAnswer> {
  return answer(await fetch(url, { headers }));
}


/** Polls until `check` returns a value (not undefined) or the time is up. */
export async function waitFor<T>(check: () => Promise<T | undefined>, timeoutMs = 5_000, everyMs = 25): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`condition not met within ${timeoutMs} ms`);
    await sleep(everyMs);
  }
}
