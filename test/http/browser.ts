import { existsSync } from 'node:fs';
import { chromium, type Browser } from 'playwright-core';

export const CHROMIUM = '/usr/bin/chromium';
export const CHROMIUM_ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
  '--disable-background-networking', '--disable-component-update', '--disable-sync'];

/** Launches Debian's Chromium, or says why it cannot (the browser test then skips with that reason, never silently). */
export async function launchChromium(): Promise<{ browser?: Browser; reason?: string }> {
  if (!existsSync(CHROMIUM)) return { reason: `${CHROMIUM} is missing (apt-get install -y chromium)` };
  try {
    return { browser: await chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS }) };
  } catch (e) {
    return { reason: `chromium could not start: ${e instanceof Error ? e.message.split('\n')[0] : String(e)}` };
  }
}
