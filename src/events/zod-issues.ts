import type { z } from 'zod';

/**
 * The one way this project turns zod issues into text a person can act on: "<field path>: <problem>", with the
 * path written as in JavaScript (`message.elements[0].title`). Used by every boundary (env, routes, job data, the
 * event, vendor answers, the sandbox) so a failed job, a startup error and a sandbox 400 all read alike.
 */
export function fieldPath(path: readonly PropertyKey[], root = '(data)'): string {
  let out = '';
  for (const key of path) {
    if (typeof key === 'number') out += `[${key}]`;
    else out += out === '' ? String(key) : `.${String(key)}`;
  }
  return out || root;
}

export interface IssueFormat {
  /** Written when the issue is about the whole value (empty path). Default `(data)`. */
  root?: string;
  /** Put before every path, e.g. `payload.` for a delivery job's payload. */
  prefix?: string;
  /** Say "is required" instead of zod's "expected string, received undefined" (the sandbox's wording). */
  plainMissing?: boolean;
}

export function describeIssue(issue: z.core.$ZodIssue, format: IssueFormat = {}): string {
  const missing = format.plainMissing && issue.code === 'invalid_type' && /received undefined$/.test(issue.message);
  const path = issue.path.length ? `${format.prefix ?? ''}${fieldPath(issue.path)}` : fieldPath([], format.root);
  return `${path}: ${missing ? 'is required' : issue.message}`;
}

/** One line per issue. */
export function describeIssues(error: z.ZodError, format: IssueFormat = {}): string[] {
  return error.issues.map((i) => describeIssue(i, format));
}

/** All issues on one line, `; `-separated (failed jobs, errors). */
export function issuesText(error: z.ZodError, format: IssueFormat = {}): string {
  return describeIssues(error, format).join('; ');
}
