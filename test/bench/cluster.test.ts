import { Queue } from 'bullmq';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { beforeAfterTable, type DeliveryProfile } from '../../bench/harness/baselines.js';
import { clusterWorkMeter, keySlot, masterShares, startBenchCluster, sumCommands, type BenchCluster, type MasterWork } from '../../bench/harness/cluster.js';
import { slotOwners } from '../support/redis-cluster.js';
import { clusterPlot } from '../../bench/scenarios/cluster-plot.js';
import type { ClusterProfile } from '../../bench/scenarios/cluster.js';

/**
 * The cluster bench's harness against a real 3-master cluster: work sent to one master is counted on that master
 * (commandstats and CPU share), slots can be placed, and the before/after table and plot render what was measured.
 * No timing assertions: counts, placement and shapes only.
 */
describe('bench Redis Cluster harness', () => {
  let c: BenchCluster;
  // {orders} hashes to slot 105 (master 1 of a fresh cluster): given to master 3 when the cluster is made.
  beforeAll(async () => { c = await startBenchCluster(3, [[keySlot('{orders}'), 2]]); });
  afterAll(async () => { await c?.stop(); });

  /** A hash tag whose slot lives on master `m` (the default slot ranges give each master a third). */
  async function tagOn(m: number): Promise<string> {
    for (let i = 0; ; i++) if (await c.masterOf(`{t${i}}`) === m) return `t${i}`;
  }

  /** Adds `jobs` BullMQ jobs to a queue living on master `m`; returns each master's work over it. */
  async function run(m: number, jobs: number, also?: () => Promise<unknown>): Promise<MasterWork[]> {
    const queue = new Queue('q', { connection: c.connection, prefix: `{${await tagOn(m)}}` });
    await queue.add('warm', {}); // script loaded outside the measured part
    const meter = clusterWorkMeter(c.masters);
    await meter.ready;
    await queue.addBulk(Array.from({ length: jobs }, (_, i) => ({ name: 'j', data: { i } })));
    await also?.();
    const work = await meter.stop();
    await queue.close();
    return work;
  }

  it('starts 3 masters and counts each master\'s commands and CPU share apart', async () => {
    expect(c.masters).toHaveLength(3);
    expect(new Set(c.masters.map((m) => m.port)).size).toBe(3);
    for (const m of c.masters) expect(String(await m.client.call('CLUSTER', 'INFO'))).toContain('cluster_state:ok');

    const work = await run(1, 400);
    expect(work.map((w) => w.node)).toEqual(c.masters.map((m) => m.node));
    expect(work[1]!.commands.evalsha?.calls).toBeGreaterThanOrEqual(400);
    expect(work[0]!.commands.evalsha).toBeUndefined();
    expect(work[2]!.commands.evalsha).toBeUndefined();
    expect(work[1]!.mainThreadCpuMs).toBeGreaterThan(0); // Redis ≥ 7 reports the main thread
    const shares = masterShares(work);
    expect(shares.reduce((a, b) => a + b, 0)).toBeCloseTo(100, 5);
    expect(shares[1]).toBe(Math.max(...shares));
    expect(sumCommands(work).evalsha?.calls).toBe(work[1]!.commands.evalsha!.calls);
  });

  it('computes slots as the cluster does and places chosen slots on chosen masters at creation', async () => {
    for (const key of ['{orders}', 'x:{deliver-twin24}:wait', 'plain-key', 'a{}b', '{}{x}']) {
      expect(keySlot(key), key).toBe(Number(await c.masters[0]!.client.call('CLUSTER', 'KEYSLOT', key)));
    }
    expect(slotOwners(3)[105]).toBe(0);
    expect(await c.masterOf('bench:{orders}:orders:wait')).toBe(2);
    await c.connection.set('bench:{orders}:x', '1');
    expect(await c.masters[2]!.client.exists('bench:{orders}:x')).toBe(1);
    // The rest is split as redis-cli does it: 0–5460, 5461–10922, 10923–16383.
    expect([await c.masterOf('{deliver-twin24}'), await c.masterOf('{deliver-metabot}'), await c.masterOf('{deliver-mantago}')]).toEqual([0, 1, 2]);
  });

  it('renders the before/after table and the per-master plot from measured runs', async () => {
    const profile = (work: MasterWork[], deliveries: number): ClusterProfile => {
      const shares = masterShares(work);
      const commands = Object.fromEntries(Object.entries(sumCommands(work)).map(([k, v]) => [k, { calls: v.calls / deliveries, usec: v.usec / deliveries }]));
      return {
        layout: 'per-queue', placement: 'natural', n: deliveries, deliveriesPerSec: 100, redisCpuMsPerDelivery: 0.1, commands,
        masters: work.map((w, i) => ({ node: w.node, queues: [], sharePct: shares[i]!, mainThreadMsPerDelivery: 0.01 })),
      };
    };
    const before = profile(await run(0, 100), 100);
    // The same jobs plus a plain command each: one more call per delivery by name.
    const afterWork = await run(2, 100, () => Promise.all(Array.from({ length: 100 }, (_, i) => c.connection.set(`{x}:${i}`, '1'))));
    const after: DeliveryProfile = profile(afterWork, 100);
    const table = beforeAfterTable(before, after);
    const row = (name: string) => table.find((l) => l.startsWith(`| ${name} |`))?.split(' | ').map((x) => x.trim());
    expect(row('evalsha (script calls)')?.slice(1, 3).map(Number).every((v) => v >= 1)).toBe(true);
    expect(row('set')?.slice(1, 4)).toEqual(['0', '1', 'new']);
    expect(row('**script calls/delivery**')).toBeDefined();
    const svg = clusterPlot(profile(afterWork, 100), { label: 'before', profile: before });
    expect(svg).toContain('busiest master');
    expect(svg).toContain('>#3<');
    expect(svg).toContain('before (per-queue, natural slots)');
    expect((svg.match(/<rect x="[\d.]+" y="[\d.]+" width="[\d.]+" height=/g) ?? []).length).toBe(2 * (3 + 1 + 1) + 2); // bars + legend
  });
});
