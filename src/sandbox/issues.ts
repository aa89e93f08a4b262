import type { z } from 'zod';
import { describeIssue as describe, describeIssues as describeAll } from '../events/zod-issues.js';

/** The sandbox's wording of zod issues: the shared format, rooted at `body`, with "is required" for a missing field. */
export function describeIssue(issue: z.core.$ZodIssue, root = 'body'): string {
  return describe(issue, { root, plainMissing: true });
}

export function describeIssues(error: z.ZodError, root = 'body'): string[] {
  return describeAll(error, { root, plainMissing: true });
}
