import { describe, expect, it } from 'vitest';
import { consoleTable } from '../../bench/harness/baselines.js';
import { beforeAfterSection, throughputProfile } from '../../bench/scenarios/throughput-baseline.js';
import type { RunFigures } from '../../bench/scenarios/throughput-run.js';

const run = (side: 'ours' | 'bare', dps: number, evalsha: number, hset: number): RunFigures => ({
  side, workload: 'four-rules', round: 1, n: 10, deliveries: 40, seconds: 1, deliveriesPerSec: dps, requests: 40, recipientsPerRequest: 1,
  cpuMsPerDelivery: 1, cpuByProcess: {}, redisCpuMsPerDelivery: 0.5, redisMainThreadMsPerDelivery: 0.4, sandboxCpuMsPerDelivery: 0.1, peakRssMiB: 100,
  redisCommands: { evalsha: { calls: evalsha, usec: evalsha * 50 }, hset: { calls: hset, usec: hset } },
});

/** What a throughput run keeps as a baseline, and the before/after table made from two of them. */
describe('bench baselines', () => {
  it('keeps the median per delivery of each workload and side, leaving out non-run entries', () => {
    const p = throughputProfile([run('ours', 100, 10, 8), run('ours', 300, 12, 8), run('ours', 200, 11, 9), run('bare', 900, 2, 0), { attribution: {} }], 10);
    expect(p.workloads['four-rules']?.ours?.deliveriesPerSec).toBe(200);
    expect(p.workloads['four-rules']?.ours?.commands.evalsha).toEqual({ calls: 11, usec: 550 });
    expect(p.workloads['four-rules']?.ours?.commands.hset?.calls).toBe(8);
    expect(p.workloads['four-rules']?.bare?.commands.evalsha?.calls).toBe(2);
  });

  it('prints before and after by command name with the change, and says when there is no baseline', () => {
    const before = throughputProfile([run('ours', 100, 10, 8), run('bare', 900, 2, 0)], 10);
    const after = throughputProfile([run('ours', 150, 5, 12), run('bare', 900, 2, 0)], 10);
    const section = beforeAfterSection('before', { run: 'r1', savedAt: '', command: 'npm run bench', profile: before }, after);
    const row = (name: string) => section.lines.find((l) => l.startsWith(`| ${name} |`))?.split('|').map((x) => x.trim()).slice(1);
    expect(row('evalsha (script calls)')?.slice(1, 6)).toEqual(['10', '5', '-50 %', '500', '250']);
    expect(row('hset')?.slice(1, 4)).toEqual(['8', '12', '+50 %']);
    expect(row('**script calls/delivery**')?.slice(1, 4)).toEqual(['10', '5', '-50 %']);
    expect(consoleTable(section.lines)).not.toContain('---');
    expect(beforeAfterSection('x', undefined, after).lines.join()).toContain('No baseline "x"');
  });
});
