import { Readable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { main } from '../../src/cli/main.js';
import { ConfigError, loadConfig } from '../../src/config/env.js';
import { secretValues } from '../../src/config/secrets.js';
import { quoteTable } from '../../src/outbox/store.js';

/** The outbox settings at the boundary: parsed once, each bad value named; the URL's password treated as a secret. */
describe('outbox relay settings', () => {
  it('is off without OUTBOX_DATABASE_URL and reads every setting with its default when set', () => {
    expect(loadConfig({}).outbox).toBeUndefined();
    expect(loadConfig({ OUTBOX_DATABASE_URL: 'postgres://relay:s3cret-pw@db:5432/shop' }).outbox).toEqual({
      databaseUrl: 'postgres://relay:s3cret-pw@db:5432/shop', table: 'order_notify_outbox', pollEveryMs: 500, batchSize: 100,
      afterEnqueue: 'mark', retentionMs: 7 * 86_400_000, listenChannel: null,
    });
    expect(loadConfig({ OUTBOX_DATABASE_URL: 'postgres://db/shop', OUTBOX_LISTEN: 'true', OUTBOX_TABLE: 'shop.outbox' }).outbox)
      .toMatchObject({ listenChannel: 'order_notify_outbox', table: 'shop.outbox' });
  });

  it('names each bad variable', () => {
    const problems = (env: Record<string, string>) => {
      try {
        loadConfig(env);
        return [];
      } catch (e) {
        return (e as ConfigError).problems.map((p) => p.split(':')[0]);
      }
    };
    expect(problems({ OUTBOX_DATABASE_URL: 'sqlite:///tmp/x' })).toEqual(['OUTBOX_DATABASE_URL']);
    expect(problems({ OUTBOX_DATABASE_URL: 'postgres://db/x', OUTBOX_TABLE: 'outbox; DROP TABLE orders' })).toEqual(['OUTBOX_TABLE']);
    expect(problems({ OUTBOX_DATABASE_URL: 'postgres://db/x', OUTBOX_BATCH_SIZE: '0', OUTBOX_AFTER_ENQUEUE: 'archive' }).sort()).toEqual(['OUTBOX_AFTER_ENQUEUE', 'OUTBOX_BATCH_SIZE']);
    expect(problems({ OUTBOX_DATABASE_URL: 'mysql://db/x', OUTBOX_LISTEN: 'true' })).toEqual(['OUTBOX_LISTEN']);
  });

  it('scrubs the database password from logs and errors like every other secret', () => {
    expect(secretValues(loadConfig({ OUTBOX_DATABASE_URL: 'mysql://relay:p%40ss-word@db:3306/shop' }))).toContain('p@ss-word');
  });

  it('quotes the table name for each dialect and refuses anything else', () => {
    expect(quoteTable('shop.order_notify_outbox', '"')).toBe('"shop"."order_notify_outbox"');
    expect(quoteTable('order_notify_outbox', '`')).toBe('`order_notify_outbox`');
    expect(() => quoteTable('x"; DROP TABLE y; --', '"')).toThrow(/invalid outbox table name/);
  });

  it('has its own CLI command', async () => {
    let stdout = '';
    const code = await main(['outbox-relay', '--help'], {
      stdout: { write: (s: string) => { stdout += s; } }, stderr: { write: () => undefined }, stdin: Readable.from(['']), env: {},
    });
    expect(code).toBe(0);
    expect(stdout).toContain('OUTBOX_DATABASE_URL');
  });
});
