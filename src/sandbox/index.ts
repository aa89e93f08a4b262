import Fastify from 'fastify';
import type { AddressInfo } from 'node:net';
import { faultsSchema, registerControl, type SandboxControl } from './control.js';
import { JoinchatPage } from '../vendors/joinchat/sandbox.js';
import { MantagoAccount } from '../vendors/mantago/sandbox.js';
import { MetabotBot } from '../vendors/metabot/sandbox.js';
import { FaultInjector, mountVendor, Recorder } from './recorder.js';
import { Twin24Account } from '../vendors/twin24/sandbox/account.js';
import { vendorDefinition, VENDORS } from '../vendors/registry.js';
import type { Sandbox, SandboxCredentials, SandboxOptions, SandboxUrls } from './types.js';

/**
 * A strict local imitation of the four chat vendors on one port, each under its own prefix, so routes can be tried
 * safely and tests see exactly what a vendor would have received.
 */

export * from './types.js';
export { joinchatSignature } from '../vendors/joinchat/sandbox.js';

/** Where each vendor lives on the sandbox's one port. Clients append the vendor's own paths to these. */
export const SANDBOX_PREFIXES = {
  mantago: '/mantago/api',
  joinchat: '/joinchat/api',
  metabot: '/metabot/api/v1',
  twin24Iam: '/twin24/iam/api/v1',
  twin24Notify: '/twin24/notify/api/v1',
  twin24Analyse: '/twin24/analyse/api/v1',
} as const satisfies Record<keyof SandboxUrls, string>;

/** Twin24 batches many destinations into one request, so allow bodies well above fastify's 1 MiB default. */
const BODY_LIMIT = 16 * 1024 * 1024;

function baseUrl(address: AddressInfo): string {
  // A wildcard bind is reachable on loopback; that is the address to hand to local clients.
  const host = address.address === '0.0.0.0' || address.address === '::' ? '127.0.0.1' : address.address;
  return `http://${host.includes(':') ? `[${host}]` : host}:${address.port}`;
}

export async function startSandbox(opts: SandboxOptions = {}): Promise<Sandbox> {
  const recorder = new Recorder(opts.logger || undefined);
  const faults = new FaultInjector();
  const mantago = new MantagoAccount(opts.credentials?.mantago);
  const joinchat = new JoinchatPage(opts.credentials?.joinchat);
  const metabot = new MetabotBot(opts.credentials?.metabot);
  const twin24 = new Twin24Account(opts.credentials?.twin24, opts.twin24);
  // Every other vendor brings its imitation in its definition (src/vendors/<name>/): nothing to add here.
  const brought = VENDORS.flatMap((v) => {
    const sandbox = vendorDefinition(v).sandbox;
    return sandbox ? [{ vendor: v, instance: sandbox.create() }] : [];
  });
  for (const { vendor, instance } of brought) Object.assign(instance.credentials, opts.credentials?.[vendor] ?? {});
  // Live references: a MantaGO rotation shows up here at once.
  const credentials: SandboxCredentials = {
    mantago: mantago.credentials,
    joinchat: joinchat.credentials,
    metabot: metabot.credentials,
    twin24: twin24.credentials,
    ...Object.fromEntries(brought.map((b) => [b.vendor, b.instance.credentials])),
  };

  const control: SandboxControl = {
    credentials,
    requests: (vendor) => recorder.list(vendor),
    accepted: (vendor) => recorder.list(vendor, true),
    maxInWindow: (vendor, windowMs, path) => recorder.maxInWindow(vendor, windowMs, path),
    setFaults: (vendor, f) => faults.set(vendor, faultsSchema.parse(f)),
    expireToken: (vendor) => (vendor === 'mantago' ? mantago.expire() : twin24.expireTokens()),
    twin24Messages: () => twin24.timeline.views(),
    reset: () => {
      recorder.clear();
      faults.clear();
      mantago.reset();
      twin24.reset();
      for (const b of brought) b.instance.reset?.();
    },
  };

  const app = Fastify({ logger: false, bodyLimit: BODY_LIMIT, forceCloseConnections: true });
  const rt = { recorder, faults };
  const p = SANDBOX_PREFIXES;
  await mountVendor(app, rt, { vendor: 'mantago', prefix: p.mantago, routes: mantago.routes() });
  await mountVendor(app, rt, { vendor: 'joinchat', prefix: p.joinchat, routes: joinchat.routes() });
  await mountVendor(app, rt, { vendor: 'metabot', prefix: p.metabot, routes: metabot.routes() });
  await mountVendor(app, rt, { vendor: 'twin24', prefix: p.twin24Iam, routes: twin24.iamRoutes() });
  await mountVendor(app, rt, { vendor: 'twin24', prefix: p.twin24Notify, routes: twin24.notifyRoutes() });
  await mountVendor(app, rt, { vendor: 'twin24', prefix: p.twin24Analyse, routes: twin24.analyseRoutes() });
  for (const { vendor, instance } of brought) {
    for (const [prefix, routes] of Object.entries(instance.mounts)) await mountVendor(app, rt, { vendor, prefix, routes });
  }
  await registerControl(app, control);

  await app.listen({ port: opts.port ?? 0, host: opts.host ?? '127.0.0.1' });
  const url = baseUrl(app.server.address() as AddressInfo);
  const urls = Object.fromEntries(Object.entries(p).map(([k, prefix]) => [k, url + prefix])) as unknown as SandboxUrls;

  const vendorEnv = Object.fromEntries(brought.map((b) => [b.vendor, b.instance.env(url)]));
  return { ...control, url, urls, vendorEnv, close: async () => { await app.close(); } };
}
