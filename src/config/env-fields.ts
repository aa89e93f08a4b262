import { z } from 'zod';

/** Field schemas shared by the core environment and every vendor's config slice (one meaning each). */
export const optionalText = z.string().trim().min(1).optional();
export const httpUrl = z.url({ protocol: /^https?$/, message: 'must be an absolute http(s) URL' });
export const bool = z.enum(['true', 'false', '1', '0', 'yes', 'no']).transform((v) => ['true', '1', 'yes'].includes(v));
export const port = z.coerce.number().int().min(0).max(65535);
export const positiveInt = z.coerce.number().int().positive();
export const headerName = z.string().regex(/^[A-Za-z0-9_-]+$/, 'must be a header name such as Authorization');

export function isTimeZone(tz: string): boolean {
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: tz });
    return true;
  } catch {
    return false;
  }
}

/** `a, b,c` → ['a', 'b', 'c']; unset → []. */
export const list = (v: string | undefined): string[] => v?.split(',').map((s) => s.trim()).filter(Boolean) ?? [];

/**
 * All-or-nothing credential group: none set → the vendor is disabled (recorded with the variables that would enable
 * it); some set → a problem naming each missing one; all set → true.
 */
export type CredentialGroup = (vendor: string, vars: Record<string, unknown>) => boolean;
