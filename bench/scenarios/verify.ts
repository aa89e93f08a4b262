import type { RecordedRequest } from '../../src/sandbox/index.js';
import type { BenchVendor } from '../harness/workload.js';
import type { BenchSandbox } from '../harness/sandbox.js';

/** The recipient each accepted send request carried, per vendor (one per request, or Twin24's destinations). */
export function recipientsOf(vendor: BenchVendor, r: RecordedRequest): string[] {
  const body = r.body as Record<string, any>;
  switch (vendor) {
    case 'metabot': return [String(body.lead_id)];
    case 'twin24': return (body.messages as Array<{ destinations: Array<{ phone: string }> }>).flatMap((m) => m.destinations.map((d) => d.phone));
    case 'mantago': return body.clientIds as string[];
    case 'joinchat': return [JSON.stringify(body.recipient)];
  }
}

const SEND_PATHS: Record<BenchVendor, RegExp> = {
  metabot: /\/jobs\/schedule$/, twin24: /^\/messages$/, mantago: /^\/openapi\/broadcast$/, joinchat: /./,
};

/**
 * A benchmark only counts if the work was really done: every recipient accepted by the sandbox exactly once.
 * Returns the number of accepted send requests.
 */
export async function checkDelivered(sandbox: BenchSandbox, vendor: BenchVendor, n: number): Promise<{ requests: number }> {
  const sends = (await sandbox.requests(vendor, true)).filter((r) => SEND_PATHS[vendor].test(r.path));
  const counts = new Map<string, number>();
  for (const r of sends) for (const id of recipientsOf(vendor, r)) counts.set(id, (counts.get(id) ?? 0) + 1);
  const twice = [...counts].filter(([, c]) => c > 1);
  if (counts.size !== n || twice.length) {
    throw new Error(`${vendor}: the sandbox accepted ${counts.size} distinct recipients (expected ${n}), ${twice.length} more than once`);
  }
  return { requests: sends.length };
}
