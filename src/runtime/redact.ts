/**
 * One redaction policy for logs, dashboard job data and error texts: secrets are removed, personal contact data is
 * masked. Keys are matched by name; strings are scrubbed for credential shapes (a JSON body or header inside an
 * error message) and for any secret value the process knows about.
 */
const SECRET_KEY = /token|secret|password|passwd|authorization|signature|api[-_]?key|cookie/i;
const PHONE_KEY = /phone|msisdn|messengeruserid/i;
const EMAIL_KEY = /e-?mail/i;
const MAX_DEPTH = 8;

export const REDACTED = '[REDACTED]';

export function maskPhone(value: string): string {
  const digits = value.replace(/\D/g, '');
  if (digits.length < 6) return '***';
  return `${digits.slice(0, 3)}${'*'.repeat(digits.length - 6)}${digits.slice(-3)}`;
}

export function maskEmail(value: string): string {
  const at = value.indexOf('@');
  if (at < 1) return '***';
  return `${value[0]}***${value.slice(at)}`;
}

/*
 * Linear time: every quantifier below is bounded, so the work at one starting position is bounded by a constant and
 * a scan is linear in the text's length (unbounded `[a-z_]*token` or `[…]*@` made a 200 KB field take 79 s). The
 * look-behinds let a name or an address start only where a word starts, so inside a long run of letters each
 * position costs one look-behind instead of the bounded scan (a constant, but 40 to 60 times larger).
 * test/security-units.test.ts checks that no pattern regains an unbounded quantifier.
 */
const CREDENTIAL_IN_TEXT = /(?<![a-z_])(["']?(?:[a-z_]{0,40}token|[a-z_]{0,40}secret|password|refreshToken)["']?\s{0,8}[:=]\s{0,8}["']?)[^"',}&\s]{1,1024}/gi;
const BEARER = /(bearer\s{1,8})[A-Za-z0-9._~+/=-]{1,4096}/gi;
const EMAIL_IN_TEXT = /(?<![A-Za-z0-9._%+-])([A-Za-z0-9._%+-])[A-Za-z0-9._%+-]{0,63}(@[A-Za-z0-9.-]{1,253}\.[A-Za-z]{2,24})/g;
/** Only international numbers ("+66 81 234 5678") are recognised in free text: bare digit runs are usually ids. */
const PHONE_IN_TEXT = /\+\d[\d\s().-]{5,22}\d/g;
export const TEXT_PATTERNS: readonly RegExp[] = [CREDENTIAL_IN_TEXT, BEARER, EMAIL_IN_TEXT, PHONE_IN_TEXT];

/**
 * Longest text scanned; the rest is cut off before scanning (log lines, failure reasons and vendor answers longer
 * than this are not worth showing whole, and a cap bounds the cost of every scan).
 */
export const MAX_REDACTED_TEXT = 16_384;

/**
 * Secrets learnt at run time in this process (a rotated MantaGO pair, a fresh Twin24 token): every Redactor removes
 * them too, so the logger made at start-up does not need to know which vendor rotates what. Only the newest
 * MAX_LEARNT are kept: an older rotated credential no longer works.
 */
const LEARNT: string[] = [];
const MAX_LEARNT = 64;

export function learnSecret(value: string | undefined): void {
  if (!value || value.length < 6 || LEARNT.includes(value)) return;
  LEARNT.push(value);
  if (LEARNT.length > MAX_LEARNT) LEARNT.shift();
}

export class Redactor {
  private readonly known: string[];
  constructor(secretValues: Array<string | undefined> = []) {
    // Short values would blank out ordinary words; real credentials are long.
    this.known = secretValues.filter((s): s is string => typeof s === 'string' && s.length >= 6);
  }

  /** Adds a secret learnt at run time (a rotated MantaGO pair, a fresh Twin24 token). */
  remember(value: string | undefined): void {
    if (value && value.length >= 6 && !this.known.includes(value)) this.known.push(value);
  }

  text(value: string): string {
    // Known secrets first, on a little more than is kept: a secret cut in half by the truncation would leak its start.
    let out = value.length > MAX_REDACTED_TEXT ? value.slice(0, MAX_REDACTED_TEXT + 512) : value;
    for (const s of this.known) if (out.includes(s)) out = out.split(s).join(REDACTED);
    for (const s of LEARNT) if (out.includes(s)) out = out.split(s).join(REDACTED);
    const cut = out.length > MAX_REDACTED_TEXT;
    if (cut) out = out.slice(0, MAX_REDACTED_TEXT);
    out = out.replace(BEARER, `$1${REDACTED}`).replace(CREDENTIAL_IN_TEXT, `$1${REDACTED}`)
      .replace(EMAIL_IN_TEXT, '$1***$2').replace(PHONE_IN_TEXT, (m) => `+${maskPhone(m)}`);
    return cut ? `${out}…[cut: ${value.length} characters in all]` : out;
  }

  value(value: unknown, key = '', depth = 0): unknown {
    if (typeof value === 'string') {
      if (SECRET_KEY.test(key)) return REDACTED;
      if (PHONE_KEY.test(key)) return maskPhone(value);
      if (EMAIL_KEY.test(key)) return maskEmail(value);
      return this.text(value);
    }
    if (value === null || typeof value !== 'object') return value;
    if (SECRET_KEY.test(key) && !Array.isArray(value)) return REDACTED;
    if (depth >= MAX_DEPTH) return '[depth]';
    if (Array.isArray(value)) return value.map((v) => this.value(v, key, depth + 1));
    if (value instanceof Error) {
      // Only these fields: an HTTP client error also carries its request config (headers, body) and socket.
      const e = value as Error & { code?: unknown; status?: unknown; response?: { status?: unknown } };
      return this.value({
        type: e.name, message: e.message, stack: e.stack, code: e.code, status: e.status ?? e.response?.status,
        cause: e.cause,
      }, key, depth + 1);
    }
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) out[k] = this.value(v, k, depth + 1);
    return out;
  }
}
