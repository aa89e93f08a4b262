import type { Readable } from 'node:stream';

/** Where a command reads and writes; the real process by default, buffers in tests. */
export interface CliIO {
  stdout: { write(text: string): unknown };
  stderr: { write(text: string): unknown };
  stdin: Readable;
  env: NodeJS.ProcessEnv;
}

export function processIO(): CliIO {
  return { stdout: process.stdout, stderr: process.stderr, stdin: process.stdin, env: process.env };
}

/**
 * Terminal control characters (ESC sequences, BEL, backspace, C1 codes) removed from everything a command prints:
 * vendor texts, failure reasons and order data come from outside, and an escape sequence could rewrite the screen
 * or the terminal title. Newlines and tabs stay. JSON output already escapes them, so it is unchanged.
 */
const CONTROL = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f]/g;

export function stripControls(text: string): string {
  return text.replace(CONTROL, '');
}

export function sanitizedIO(io: CliIO): CliIO {
  return {
    ...io,
    stdout: { write: (text: string) => io.stdout.write(stripControls(text)) },
    stderr: { write: (text: string) => io.stderr.write(stripControls(text)) },
  };
}
