/**
 * Who may do what on the queue dashboard. An allow-list: every Bull Board API route not named here is refused with
 * 403 for every role, so a route a later Bull Board release adds is refused until someone decides otherwise.
 *
 * - viewer (DASHBOARD_USER): reads only.
 * - operator (DASHBOARD_OPERATOR_USER): also retries failed jobs, promotes delayed ones (a delivery waiting for its
 *   next attempt) and removes failed ones. Retrying a completed job would send a message twice, so it is refused.
 * - nobody: adds jobs (a job in a delivery queue is a message to any recipient; in `orders` it skips the ingest
 *   token; in `results-webhook` our worker signs it), edits data, pauses, empties or obliterates queues, or changes
 *   queue settings.
 */
export type DashboardRole = 'viewer' | 'operator';

export type Decision =
  | { allow: true; audit: false }
  /** An operator action: allowed when the job (if any) is in `jobState`; logged with the user and job ids. */
  | { allow: true; audit: true; action: string; jobState?: 'failed' | 'delayed'; bulkState?: 'failed' | 'delayed' }
  | { allow: false; reason: string };

/** Bull Board route pattern (as its handler hooks see it) → the operator action it is. */
const OPERATOR_ACTIONS: Record<string, { action: string; jobState?: 'failed' | 'delayed'; bulkState?: 'failed' | 'delayed'; statusParam?: 'failed' }> = {
  'put /api/queues/:queueName/:jobId/retry': { action: 'retry-job', jobState: 'failed' },
  'put /api/queues/:queueName/retry/:queueStatus': { action: 'retry-all', bulkState: 'failed', statusParam: 'failed' },
  'put /api/queues/:queueName/:jobId/promote': { action: 'promote-job', jobState: 'delayed' },
  'put /api/queues/:queueName/promote': { action: 'promote-all', bulkState: 'delayed' },
  'put /api/queues/:queueName/:jobId/clean': { action: 'remove-job', jobState: 'failed' },
  'put /api/queues/:queueName/clean/:queueStatus': { action: 'clean-all', bulkState: 'failed', statusParam: 'failed' },
};

export function decide(role: DashboardRole | undefined, method: string, route: string, params: Record<string, string | undefined> = {}): Decision {
  if (!role) return { allow: false, reason: 'not signed in' };
  if (method.toLowerCase() === 'get') return { allow: true, audit: false };
  const op = OPERATOR_ACTIONS[`${method.toLowerCase()} ${route}`];
  if (!op) return { allow: false, reason: 'this dashboard action is disabled for every user (read-only board; operators may only retry, promote or remove failed jobs)' };
  if (role !== 'operator') return { allow: false, reason: 'read-only dashboard user: sign in with the operator credentials to retry, promote or remove failed jobs' };
  if (op.statusParam && params.queueStatus !== op.statusParam) {
    return { allow: false, reason: `only ${op.statusParam} jobs may be ${op.action === 'retry-all' ? 'retried' : 'cleaned'} from the dashboard` };
  }
  return { allow: true, audit: true, action: op.action, jobState: op.jobState, bulkState: op.bulkState };
}

/** What the UI is told about each queue, so it shows only the buttons the role may use (the guard above decides). */
export function queueFlagsFor(role: DashboardRole | undefined): { readOnlyMode: boolean; allowRetries: boolean; allowCompletedRetries: boolean } {
  return role === 'operator'
    ? { readOnlyMode: false, allowRetries: true, allowCompletedRetries: false }
    : { readOnlyMode: true, allowRetries: false, allowCompletedRetries: false };
}
