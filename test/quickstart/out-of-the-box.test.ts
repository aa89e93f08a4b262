import { connect } from 'node:net';
import { networkInterfaces } from 'node:os';
import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { startOutOfTheBox } from '../../src/quickstart/start.js';
import { redisAnswers } from '../../src/quickstart/embedded-redis.js';

describe('npm start, out of the box (embedded Redis + sandbox + example orders)', () => {
  it('delivers and correlates the examples and prints the summary, the dashboard and its credentials', async () => {
    let printed = '';
    const out = { write: (t: string) => { printed += t; return true; } };
    const box = await startOutOfTheBox({
      env: { PATH: process.env.PATH, HTTP_PORT: '0', METRICS_PORT: '0' },
      plan: { embeddedRedis: true, sandboxVendors: ['mantago', 'joinchat', 'metabot', 'twin24'], seedExamples: true },
      out,
      logDestination: new Writable({ write: (_c, _e, cb) => cb() }),
      progressEveryMs: 200,
    });
    const redisUrl = box.running.config.redis.url;
    try {
      const orders = await box.summary;
      expect(orders).toHaveLength(7);
      const deliveries = orders!.flatMap((o) => o.deliveries).filter((d) => d.status !== 'skipped');
      // Every example channel was reached: 3 LINE, 2 Facebook, 2 Messenger, 2 Metabot, 3 WhatsApp, and the LINE
      // fallback of the one WhatsApp message the sandbox reports undelivered (a phone ending in 0).
      expect(deliveries).toHaveLength(13);
      for (const d of deliveries.filter((x) => x.vendor !== 'twin24')) expect(d.status).toBe('sent');
      const whatsapp = deliveries.filter((d) => d.vendor === 'twin24');
      expect(whatsapp.map((d) => d.status).sort()).toEqual(['correlated', 'correlated', 'undelivered']);
      const fallbackOrder = orders!.find((o) => o.orderId.startsWith('A-10007'))!;
      expect(fallbackOrder.chains).toEqual([expect.objectContaining({ head: 'whatsapp-confirmation', state: 'reached', reached: 'line-confirmation' })]);
      expect(printed).toMatch(/FALLBACK A-10007-\S+ chain whatsapp-confirmation: whatsapp-confirmation \(twin24: undelivered\) → line-confirmation \(mantago: sent\); reached the customer: line-confirmation/);
      for (const d of whatsapp.filter((x) => x.status === 'correlated')) {
        expect(d.vendorMessageId).toMatch(/^[0-9a-f-]{36}$/);
        expect(d.chatId).toMatch(/^[0-9a-f-]{36}$/);
        expect(d.result).toMatchObject({ confirmation: expect.any(String) });
        expect(printed).toContain(d.chatId!);
      }
      expect(printed).toMatch(/REDIS +embedded redis-server at redis:\/\/127\.0\.0\.1:\d+/);
      expect(printed).toMatch(/SANDBOX +mantago, joinchat, metabot, twin24/);
      expect(printed).toContain('Everything settled');
      expect(printed).toMatch(/BOARD +http:\/\/127\.0\.0\.1:\d+\/admin\/queues +user admin +password \S{12,}/);
      expect(printed).toMatch(/MESSAGE ID +TWIN24 CHAT ID +RESULT/);
      expect(printed).toMatch(/READ +Authorization: Bearer \S{43} +\(GET \/v1\/orders\/\{id\}; generated for this run\)/);
      expect(printed).toMatch(/METRICS +http:\/\/127\.0\.0\.1:\d+\/metrics/);
      expect(await redisAnswers(redisUrl)).toBe(true);
      // Generated credentials, so loopback only: the API and the probe port refuse this machine's other addresses.
      const lan = Object.values(networkInterfaces()).flat().find((a) => a && a.family === 'IPv4' && !a.internal)?.address;
      if (lan) {
        for (const port of [box.running.api!.port, box.running.probes!.port]) expect(await reachable(lan, port), `${lan}:${port}`).toBe(false);
      } else console.info('no non-loopback IPv4 address here: the loopback-only check is skipped');
      expect(await reachable('127.0.0.1', box.running.api!.port)).toBe(true);
    } finally {
      await box.close();
    }
    // The embedded redis-server is gone with the process's shutdown.
    expect(await redisAnswers(redisUrl)).toBe(false);
  });

});

function reachable(host: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host, port, timeout: 2_000 });
    socket.once('connect', () => { socket.destroy(); resolve(true); });
    socket.once('error', () => resolve(false));
    socket.once('timeout', () => { socket.destroy(); resolve(false); });
  });
}
