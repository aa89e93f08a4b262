import { Queue, Worker } from 'bullmq';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { barChartSvg } from '../../bench/harness/plot.js';
import { parseInfo } from '../../bench/harness/redis.js';
import { bullmqScriptNames, keyShape, monitorCalls, perDelivery, redisWorkMeter } from '../../bench/harness/redis-work.js';
import { startRedis, type TestRedis } from '../support/redis.js';

/** The bench's Redis accounting, against a real redis-server: what it counts must be what BullMQ sent. */
describe('bench Redis work meter', () => {
  let redis: TestRedis;
  beforeAll(async () => { redis = await startRedis(); });
  afterAll(async () => { await redis.stop(); });

  it('counts the commands and script calls of a run, and names BullMQ scripts by their sha1', async () => {
    const client = redis.client();
    const info = async (section: string) => parseInfo(await client.info(section));
    const queue = new Queue('w', { connection: redis.client(), prefix: 'rw' });
    await queue.add('warm', {}); // loads the add script once, outside the measured part
    const meter = redisWorkMeter({ info });
    await meter.ready;
    const counts = await monitorCalls(redis.url, 'rw', async () => {
      await queue.addBulk(Array.from({ length: 10 }, (_, i) => ({ name: 'j', data: { i } })));
      await client.set('rw:plain', '1');
    });
    const work = await meter.stop();
    expect(work.commands.evalsha?.calls).toBeGreaterThanOrEqual(10);
    expect(work.commands.set?.calls).toBe(1);
    expect(work.cpuMs).toBeGreaterThanOrEqual(0);
    expect(counts.get('bullmq:addStandardJob')).toBe(10);
    expect(counts.get('set')).toBe(1);
    expect([...counts.keys()].some((k) => k.startsWith('lua '))).toBe(true); // the script's own commands, apart
    const per = perDelivery(work, 10);
    expect(per.scriptCalls).toBeGreaterThanOrEqual(1);

    const worker = new Worker('w', async () => {}, { connection: redis.client(), prefix: 'rw' });
    await queue.close();
    await worker.close();
    const names = bullmqScriptNames();
    const shas = [...names.keys()];
    const loaded = (await client.script('EXISTS', ...shas)) as number[];
    expect(shas.filter((_, i) => loaded[i]).map((s) => names.get(s))).toContain('bullmq:addStandardJob');
  });

  it('hides the run prefix and ids in key shapes', () => {
    expect(keyShape('bt1ab:order:bt1ab-123', 'bt1ab')).toBe('{p}:order:{p}-{id}');
  });
});

describe('bench SVG plot', () => {
  it('draws one bar per series and group with its value, escaping labels', () => {
    const svg = barChartSvg({ title: 'a < b', series: ['ours', 'bare'], panels: [{ title: 'd/s', unit: 'x', groups: ['m', 't'], values: [[1, 2], [3, Number.NaN]] }] });
    expect(svg.startsWith('<svg')).toBe(true);
    expect(svg).toContain('a &lt; b');
    expect((svg.match(/<rect x="[\d.]+" y="[\d.]+" width="[\d.]+" height=/g) ?? []).length).toBe(4 + 2); // bars + legend
    expect(svg).toContain('>3.00<');
    expect(svg).toContain('>—<');
  });
});
