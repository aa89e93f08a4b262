#!/usr/bin/env node
// The `order-notify` command. In a checkout (src/ present and tsx, a dev dependency, installed) it runs the
// TypeScript sources, so `npx order-notify` works right after `npm install` and never runs a stale build. Where
// there are no sources or no tsx (the Docker image, `npm ci --omit=dev`, a published package) it runs the build
// in dist/. Plain JavaScript on purpose: this file must run before anything is compiled.
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const sources = new URL('../src/cli.ts', import.meta.url);
const built = new URL('../dist/src/cli.js', import.meta.url);

async function tsxRegister() {
  try {
    return (await import('tsx/esm/api')).register;
  } catch {
    return undefined;
  }
}

const register = existsSync(fileURLToPath(sources)) ? await tsxRegister() : undefined;
if (register) {
  register();
  await import(sources.href);
} else if (existsSync(fileURLToPath(built))) {
  await import(built.href);
} else {
  process.stderr.write('order-notify: nothing to run: there is no build (dist/) and no tsx to run the sources.\n'
    + 'Run `npm install` (with dev dependencies) or `npm run build` first.\n');
  process.exitCode = 1;
}
