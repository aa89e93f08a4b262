import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { deliveryQueueNames } from '../../src/queues/names.js';
import { autoscalingQuery } from './autoscaling-cap.js';
import { readRepoFile } from './support.js';

const havePromtool = !spawnSync('promtool', ['--version']).error;

/**
 * The delivery workers' KEDA query, evaluated by Prometheus' own engine (`promtool test rules`): two pods report the
 * same four Metabot partitions (and JoinChat, which must not count); the query gives the vendor's total once.
 */
describe.skipIf(!havePromtool && !process.env.CI)('autoscaling query over delivery-queue partitions (promtool)', () => {
  it('sums every partition of the vendor once, whichever pods report it', () => {
    const query = autoscalingQuery('deliver-metabot');
    expect(readRepoFile('deploy/k8s/base/autoscaling.yaml')).toContain(`query: ${query}`);
    const due = [120, 80, 0, 300];
    const series = ['pod-a', 'pod-b'].flatMap((pod) => [
      ...deliveryQueueNames('metabot', 4).map((queue, k) => ({ series: `order_notify_queue_jobs_due{queue="${queue}",pod="${pod}"}`, values: `${due[k]}x2` })),
      { series: `order_notify_queue_jobs_due{queue="deliver-joinchat",pod="${pod}"}`, values: '999x2' },
    ]);
    const unpartitioned = [{ series: 'order_notify_queue_jobs_due{queue="deliver-metabot",pod="pod-a"}', values: '42x2' }];
    const dir = mkdtempSync(join(tmpdir(), 'order-notify-keda-'));
    try {
      const file = (name: string, input: object[], value: number) => {
        const path = join(dir, name);
        writeFileSync(path, JSON.stringify({
          rule_files: [], evaluation_interval: '1m',
          tests: [{ interval: '1m', input_series: input, promql_expr_test: [{ expr: query, eval_time: '1m', exp_samples: [{ labels: '{}', value }] }] }],
        }));
        return path;
      };
      const r = spawnSync('promtool', ['test', 'rules', file('partitions.yml', series, 500), file('single.yml', unpartitioned, 42)], { encoding: 'utf8' });
      expect(r.status, `${r.stdout}${r.stderr}`).toBe(0);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
