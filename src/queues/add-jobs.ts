import type { Job, JobsOptions, Queue } from 'bullmq';

export interface JobToAdd<D = unknown> {
  name: string;
  data: D;
  opts?: JobsOptions;
}

/**
 * Adds jobs in as few round trips as BullMQ allows: one job with `add`, several with `addBulk` (one MULTI).
 * A single job goes without MULTI on purpose: building one copies every loaded BullMQ script onto it, which costs
 * more than it saves for one job (the producer's orderPaid and most fan-outs add one). Answers in input order.
 */
export async function addJobs<D>(queue: Queue, jobs: ReadonlyArray<JobToAdd<D>>): Promise<Job[]> {
  if (jobs.length === 0) return [];
  if (jobs.length === 1) return [await queue.add(jobs[0]!.name, jobs[0]!.data, jobs[0]!.opts)];
  return queue.addBulk(jobs as Array<JobToAdd<D>>);
}
