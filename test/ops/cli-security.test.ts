import { Readable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { main } from '../../src/cli/main.js';
import { OrderRecords } from '../../src/orders/record.js';
import { deliveryQueueName } from '../../src/queues/names.js';
import { startRedis, type TestRedis } from '../support/redis.js';
import { failOneJob } from '../http/harness.js';

const ESCAPES = '\u001b]0;owned\u0007\u001b[2J\u009b31m';
const MANTAGO_TOKEN = 'mantago-token-for-cli-test-0123';

async function cli(argv: string[], env: NodeJS.ProcessEnv) {
  let stdout = '';
  let stderr = '';
  const code = await main(argv, {
    stdout: { write: (s: string) => { stdout += s; } }, stderr: { write: (s: string) => { stderr += s; } },
    stdin: Readable.from(['']), env,
  });
  return { code, stdout, stderr };
}

describe('CLI output is safe for a terminal and redacted like the API', () => {
  let redis: TestRedis;
  let env: NodeJS.ProcessEnv;
  beforeAll(async () => {
    redis = await startRedis();
    env = {
      REDIS_URL: redis.url, QUEUE_PREFIX: `s${Math.random().toString(36).slice(2, 8)}`, LOG_LEVEL: 'silent',
      MANTAGO_BOT_ID: 'bot-1', MANTAGO_TOKEN, MANTAGO_SECRET: 'mantago-secret-for-cli-test-0123',
    };
  });
  afterAll(async () => { await redis?.stop(); });

  it('order: no control characters, known secrets removed, phones and e-mails masked (table and --json)', async () => {
    const records = new OrderRecords(redis.client(), env.QUEUE_PREFIX!, 60_000);
    await records.markReceived('CLI-SEC-1');
    await records.update('CLI-SEC-1', 'wa.CLI-SEC-1', {
      vendor: 'twin24', ruleId: 'wa', status: 'failed',
      reason: `vendor said ${ESCAPES} token ${MANTAGO_TOKEN}`,
      result: { answer: `call me +66 81 234 5678 or somchai@example.com ${ESCAPES}` },
    });
    for (const args of [['order', 'CLI-SEC-1'], ['order', 'CLI-SEC-1', '--json']]) {
      const out = await cli(args, env);
      expect(out.code, out.stderr).toBe(0);
      expect(out.stdout).not.toMatch(/[\u0000-\u0008\u000b-\u001f\u007f-\u009f]/);
      expect(out.stdout).not.toContain(MANTAGO_TOKEN);
      expect(out.stdout).not.toContain('81 234 5678');
      expect(out.stdout).not.toContain('somchai@example.com');
      expect(out.stdout).toContain('s***@example.com');
    }
  });

  it('failed: a failure reason carrying escape sequences is printed without them', async () => {
    await failOneJob(redis.url, env.QUEUE_PREFIX!, deliveryQueueName('mantago'), 'cli-sec-fail', `refused ${ESCAPES} here`);
    const out = await cli(['failed', '--vendor', 'mantago'], env);
    expect(out.code, out.stderr).toBe(0);
    expect(out.stdout).toContain('refused ]0;owned[2J31m here');
    expect(out.stdout).not.toMatch(/[\u0000-\u0008\u000b-\u001f\u007f-\u009f]/);
  });
});
