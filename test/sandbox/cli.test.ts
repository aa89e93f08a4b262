import { spawn, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { SandboxCredentials, SandboxUrls } from '../../src/sandbox/index.js';
import { get, post } from './http.js';

/** The CLI as another process drives it: the JSON line on stdout, then only the /_sandbox control API. */

interface Ready {
  url: string;
  urls: SandboxUrls;
  credentials: SandboxCredentials;
  pid: number;
}

let child: ChildProcess;
let ready: Ready;
let stderr = '';
let exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;

beforeAll(async () => {
  child = spawn('npx', ['tsx', 'src/sandbox/cli.ts', '--port', '0', '--pending-after-ms', '0', '--final-after-ms', '0', '--result-after-ms', '600000', '--twin24-require-chat-id'], {
    cwd: process.cwd(),
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
  exited = new Promise((resolve) => child.on('exit', (code, signal) => resolve({ code, signal })));
  const lines = createInterface({ input: child.stdout! });
  ready = await new Promise<Ready>((resolve, reject) => {
    lines.once('line', (line) => resolve(JSON.parse(line) as Ready));
    child.once('exit', (code) => reject(new Error(`the CLI exited (${code}) before listening:\n${stderr}`)));
  });
});

afterAll(async () => {
  if (child.exitCode === null && child.signalCode === null) {
    process.kill(ready?.pid ?? child.pid!, 'SIGKILL');
  }
});

const control = (path: string) => `${ready.url}/_sandbox${path}`;
const schedule = () =>
  post(`${ready.urls.metabot}/bots/4242/jobs/schedule`, { script_id: 1 }, { authorization: `Bearer ${ready.credentials.metabot.token}` });

describe('sandbox CLI', () => {
  it('plays a reading of the Twin24 seed on request: --twin24-require-chat-id refuses sessions without chatId', async () => {
    const at = (ms: number) => new Date(ms).toISOString();
    const query = new URLSearchParams({ from: at(Date.now() - 60_000), to: at(Date.now() + 60_000) });
    const auth = { authorization: `Bearer ${ready.credentials.twin24.staticToken}` };
    const refused = await get(`${ready.urls.twin24Analyse}/statistics/chat/sessions?${query}`, auth);
    expect(refused.status).toBe(400);
    query.set('chatId', '15d2652c-ada6-4505-9dee-81ce77b528dc');
    expect((await get(`${ready.urls.twin24Analyse}/statistics/chat/sessions?${query}`, auth)).body).toEqual({ count: 0, items: [] });
  });

  it('prints its URLs and credentials as one JSON line', () => {
    expect(ready.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    expect(ready.urls).toEqual({
      mantago: `${ready.url}/mantago/api`,
      joinchat: `${ready.url}/joinchat/api`,
      metabot: `${ready.url}/metabot/api/v1`,
      twin24Iam: `${ready.url}/twin24/iam/api/v1`,
      twin24Notify: `${ready.url}/twin24/notify/api/v1`,
      twin24Analyse: `${ready.url}/twin24/analyse/api/v1`,
    });
    expect(ready.credentials.mantago).toEqual({ botId: 'sandbox-bot', token: 'sandbox-mantago-token', secret: 'sandbox-mantago-secret' });
  });

  it('is driven through the control API: faults, records, max-in-window, credentials, expiry, messages, reset', async () => {
    expect((await post(control('/faults'), { vendor: 'metabot', faults: { errorRate: 1 } })).body).toEqual({ ok: true });
    expect((await schedule()).status).toBe(503);
    expect((await post(control('/faults'), { vendor: 'metabot', faults: {} })).status).toBe(200);
    expect((await schedule()).status).toBe(200);

    const all = await get(control('/requests?vendor=metabot'));
    expect(all.body.map((r: { status: number; reason?: string }) => [r.status, r.reason])).toEqual([[503, 'injected 503'], [200, undefined]]);
    expect((await get(control('/requests?vendor=metabot&accepted=1'))).body).toHaveLength(1);
    expect((await get(control('/max-in-window?vendor=metabot&windowMs=60000'))).body).toEqual({ max: 2 });

    // A MantaGO rotation shows in /credentials.
    const before = (await get(control('/credentials'))).body as SandboxCredentials;
    expect((await post(control('/expire-token'), { vendor: 'mantago' })).status).toBe(200);
    const m = before.mantago;
    const broadcast = `${ready.urls.mantago}/openapi/broadcast?botId=${m.botId}`;
    const body = { botId: m.botId, clientIds: ['U1'], platform: 'line', secret: m.secret, message: 'hi' };
    expect((await post(broadcast, body, { authorization: `Bearer ${m.token}` })).body.errResponse.code).toBe(1004);
    const rotated = await post(`${ready.urls.mantago}/openapi/token?botId=${m.botId}`, { secret: m.secret }, { authorization: `Bearer ${m.token}` });
    const after = (await get(control('/credentials'))).body as SandboxCredentials;
    expect(after.mantago.token).toBe(rotated.body.apiToken);
    expect(after.mantago.token).not.toBe(m.token);

    const sent = await post(
      `${ready.urls.twin24Notify}/messages`,
      { messages: [{ channels: { chat: { chatId: after.twin24.chatId, botId: after.twin24.botId, messengerType: 'WHATSAPP', chatSessionName: 'S', text: 'T', provider: 'TWIN' } }, destinations: [{ phone: '74992868341' }] }] },
      { authorization: `Bearer ${after.twin24.staticToken}` },
    );
    expect(sent.status).toBe(200);
    // The timeline flags apply: delivered at once, the bot's result not before ten minutes.
    const messages = await get(control('/twin24/messages'));
    expect(messages.body).toEqual([
      expect.objectContaining({ id: sent.body[0].id, phone: '74992868341', status: 'DELIVERED', providerMessageId: expect.any(String), result: null }),
    ]);

    expect((await post(control('/reset'), undefined)).status).toBe(200);
    expect((await get(control('/requests'))).body).toEqual([]);
    expect((await get(control('/twin24/messages'))).body).toEqual([]);
    expect(((await get(control('/credentials'))).body as SandboxCredentials).mantago.token).toBe(after.mantago.token);
  });

  it('refuses malformed control requests with 400', async () => {
    expect((await post(control('/faults'), { vendor: 'acme', faults: {} })).status).toBe(400);
    expect((await post(control('/faults'), { vendor: 'metabot', faults: { errorRate: 5 } })).status).toBe(400);
    expect((await post(control('/expire-token'), { vendor: 'metabot' })).status).toBe(400);
    expect((await get(control('/max-in-window?vendor=metabot'))).status).toBe(400);
    expect((await get(control('/requests'))).body).toEqual([]);
  });

  it('stops on SIGTERM with exit code 0', async () => {
    // npx does not pass signals on, so signal the sandbox process itself (its pid is in the JSON line).
    process.kill(ready.pid, 'SIGTERM');
    expect(await exited).toEqual({ code: 0, signal: null });
    await expect(fetch(ready.url)).rejects.toThrow();
  });
});
