/** Plain aligned columns for a terminal; empty cells print as "-". */
export function formatTable(rows: Array<Record<string, unknown>>, columns: Array<{ key: string; title: string; max?: number }>): string {
  const cell = (v: unknown, max = 60) => {
    const text = v === undefined || v === null || v === '' ? '-' : typeof v === 'object' ? JSON.stringify(v) : String(v);
    const flat = text.replace(/\s+/g, ' ');
    return flat.length > max ? `${flat.slice(0, max - 1)}…` : flat;
  };
  const cells = rows.map((r) => columns.map((c) => cell(r[c.key], c.max)));
  const widths = columns.map((c, i) => Math.max(c.title.length, ...cells.map((row) => row[i]!.length)));
  const line = (values: string[]) => values.map((v, i) => (i === values.length - 1 ? v : v.padEnd(widths[i]!))).join('  ');
  return [line(columns.map((c) => c.title)), ...cells.map(line)].join('\n');
}
