import type { z } from 'zod';

/** Turns zod issues into the "<field path>: <problem>" lines the sandbox answers with, e.g. `message.elements[0].title`. */

export function fieldPath(path: readonly PropertyKey[], root = 'body'): string {
  let out = '';
  for (const key of path) {
    if (typeof key === 'number') out += `[${key}]`;
    else out += out === '' ? String(key) : `.${String(key)}`;
  }
  return out || root;
}

export function describeIssue(issue: z.core.$ZodIssue, root?: string): string {
  // zod's "expected string, received undefined" reads better as what a person must fix.
  const missing = issue.code === 'invalid_type' && /received undefined$/.test(issue.message);
  return `${fieldPath(issue.path, root)}: ${missing ? 'is required' : issue.message}`;
}

export function describeIssues(error: z.ZodError, root?: string): string[] {
  return error.issues.map((i) => describeIssue(i, root));
}
