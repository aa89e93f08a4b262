/**
 * A small bar chart as SVG text (no plotting dependency): one panel per measure, one group of bars per scenario,
 * one bar per series, the value written above each bar.
 */
export interface Panel {
  title: string;
  unit: string;
  /** groups[g] = label of the group; values[s][g] = value of series s in group g (NaN = not measured). */
  groups: string[];
  values: number[][];
}

export interface Chart {
  title: string;
  series: string[];
  panels: Panel[];
  note?: string;
}

const COLOURS = ['#1f6fb4', '#9a9a9a', '#e08a1e', '#3a9a4a'];
const esc = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
const fmt = (v: number) => (!Number.isFinite(v) ? '—' : v >= 100 ? String(Math.round(v)) : v >= 10 ? v.toFixed(1) : v.toFixed(2));

export function barChartSvg(chart: Chart): string {
  const panelW = 360;
  const panelH = 240;
  const top = 56;
  const width = chart.panels.length * panelW + 20;
  const height = top + panelH + 60 + (chart.note ? 20 : 0);
  const out: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="sans-serif" font-size="11">`,
    `<rect width="100%" height="100%" fill="#fff"/>`,
    `<text x="10" y="20" font-size="14" font-weight="bold">${esc(chart.title)}</text>`,
  ];
  let legendX = 10;
  chart.series.forEach((name, s) => {
    out.push(`<rect x="${legendX}" y="30" width="12" height="12" fill="${COLOURS[s % COLOURS.length]}"/>`,
      `<text x="${legendX + 16}" y="40">${esc(name)}</text>`);
    legendX += Math.max(140, 16 + name.length * 6.5 + 14); // wide enough for long series names
  });
  chart.panels.forEach((panel, p) => {
    const x0 = 10 + p * panelW + 40;
    const plotW = panelW - 60;
    const base = top + panelH;
    const max = Math.max(...panel.values.flat().filter(Number.isFinite), 1e-9) * 1.15;
    out.push(`<text x="${x0}" y="${top + 4}" font-weight="bold">${esc(panel.title)} (${esc(panel.unit)})</text>`,
      `<line x1="${x0}" y1="${base}" x2="${x0 + plotW}" y2="${base}" stroke="#333"/>`);
    const groupW = plotW / panel.groups.length;
    const barW = Math.min(36, (groupW - 16) / chart.series.length);
    panel.groups.forEach((group, g) => {
      const gx = x0 + g * groupW + (groupW - barW * chart.series.length) / 2;
      panel.values.forEach((series, s) => {
        const v = series[g] ?? Number.NaN;
        const h = Number.isFinite(v) ? (v / max) * (panelH - 30) : 0;
        const x = gx + s * barW;
        out.push(`<rect x="${x.toFixed(1)}" y="${(base - h).toFixed(1)}" width="${(barW - 2).toFixed(1)}" height="${h.toFixed(1)}" fill="${COLOURS[s % COLOURS.length]}"/>`,
          `<text x="${(x + barW / 2 - 1).toFixed(1)}" y="${(base - h - 3).toFixed(1)}" text-anchor="middle" font-size="10">${fmt(v)}</text>`);
      });
      out.push(`<text x="${(x0 + g * groupW + groupW / 2).toFixed(1)}" y="${base + 16}" text-anchor="middle">${esc(group)}</text>`);
    });
  });
  if (chart.note) out.push(`<text x="10" y="${height - 10}" font-size="10" fill="#555">${esc(chart.note)}</text>`);
  out.push('</svg>');
  return `${out.join('\n')}\n`;
}
