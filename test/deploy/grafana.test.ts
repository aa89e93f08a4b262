import { describe, expect, it } from 'vitest';
import { readRepoFile } from './support.js';

/** The dashboard's shape (its queries are checked against a live /metrics in test/ops/promtool.test.ts). */
interface Panel {
  id: number; type: string; title: string;
  gridPos: { h: number; w: number; x: number; y: number };
  datasource?: { type: string; uid: string };
  targets?: Array<{ refId: string; expr: string; datasource?: { uid: string } }>;
}
const dash = JSON.parse(readRepoFile('deploy/grafana/order-notify.json')) as {
  uid: string; title: string; panels: Panel[]; templating: { list: Array<{ name: string; type: string; query: string }> };
};

describe('Grafana dashboard', () => {
  it('asks for a Prometheus data source and every query uses it', () => {
    expect(dash.uid).toBe('order-notify');
    expect(dash.templating.list).toContainEqual(expect.objectContaining({ name: 'datasource', type: 'datasource', query: 'prometheus' }));
    const graphs = dash.panels.filter((p) => p.type !== 'row');
    expect(graphs.length).toBeGreaterThanOrEqual(15);
    for (const p of graphs) {
      expect(p.datasource?.uid, p.title).toBe('${datasource}');
      expect(p.targets?.length, p.title).toBeGreaterThan(0);
      for (const t of p.targets!) expect(t.expr.trim(), `${p.title} ${t.refId}`).not.toBe('');
    }
  });

  it('has unique panel ids and no two panels on the same grid cells', () => {
    expect(new Set(dash.panels.map((p) => p.id)).size).toBe(dash.panels.length);
    const taken = new Map<string, string>();
    for (const p of dash.panels) {
      const { x, y, w, h } = p.gridPos;
      expect(x + w, p.title).toBeLessThanOrEqual(24);
      for (let i = x; i < x + w; i++) {
        for (let j = y; j < y + h; j++) {
          const cell = `${i},${j}`;
          expect(taken.get(cell), `${p.title} overlaps ${taken.get(cell)}`).toBeUndefined();
          taken.set(cell, p.title);
        }
      }
    }
  });

  it('covers what an operator asks first: queue depth and age, outcomes, latency, 429 pauses, batching, correlator, Redis', () => {
    const titles = dash.panels.map((p) => p.title).join('\n');
    for (const t of ['Queue depth', 'Queue age', 'Deliveries by outcome per vendor', 'Vendor latency p50 / p99', '429 answers and pauses', 'Recipients per request', 'Correlator lag', 'Correlation outcomes', 'Redis memory', 'Unknown outcomes']) {
      expect(titles).toContain(t);
    }
  });
});
