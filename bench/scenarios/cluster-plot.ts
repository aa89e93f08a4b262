import { barChartSvg } from '../harness/plot.js';
import type { ClusterProfile } from './cluster-run.js';

/** `per-queue, slots spread, mantago=2` / `per-queue, natural slots` / `single`. */
export const describeRun = (p: ClusterProfile) => `${p.layout}${p.placement === 'spread' ? ', slots spread' : p.placement === 'natural' ? ', natural slots' : ''}${p.partitions ? `, ${p.partitions}` : ''}`;

/**
 * bench/cluster.svg: each master's share (busiest first) of the run's Redis CPU (with the 45 % goal in the title), deliveries/s and
 * Redis main-thread ms per delivery over all masters; this run next to the stored baseline it was compared with.
 */
export function clusterPlot(after: ClusterProfile, before?: { label: string; profile: ClusterProfile }): string {
  const runs = [...(before ? [{ name: `${before.label} (${describeRun(before.profile)})`, p: before.profile }] : []), { name: `this run (${describeRun(after)})`, p: after }];
  // Masters by share, busiest first: which master holds a queue changes with the prefix, the spread is what compares.
  const masters = Array.from({ length: Math.max(...runs.map((r) => r.p.masters.length)) }, (_, i) => (i === 0 ? 'busiest master' : `#${i + 1}`));
  const sorted = (p: ClusterProfile) => p.masters.map((m) => m.sharePct).sort((a, b) => b - a);
  return barChartSvg({
    title: 'Redis Cluster, four-rules workload: share of Redis CPU per master (goal: none above 45 %)',
    series: runs.map((r) => r.name),
    panels: [
      { title: 'share of Redis CPU', unit: '%, main thread', groups: masters, values: runs.map((r) => masters.map((_, i) => sorted(r.p)[i] ?? Number.NaN)) },
      { title: 'deliveries/s', unit: 'higher is better', groups: ['all masters'], values: runs.map((r) => [r.p.deliveriesPerSec]) },
      { title: 'Redis ms per delivery', unit: 'main threads, lower is better', groups: ['all masters'], values: runs.map((r) => [r.p.redisMainThreadMsPerDelivery ?? Number.NaN]) },
    ],
    note: `Written by npm run bench -- cluster (${new Date().toISOString().slice(0, 16)}Z); figures in bench/RESULTS.md.`,
  });
}
