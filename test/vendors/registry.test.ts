import { existsSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { envVariableNames, vendorSecretVariables } from '../../src/config/env.js';
import { CHANNELS, vendorComponents, vendorDefinition, VENDORS } from '../../src/vendors/registry.js';
import { WORKER_COMPONENTS } from '../../src/app/components.js';

/** What the registry promises every vendor folder: checked for each entry, so a new vendor cannot skip a part. */
describe('vendor registry', () => {
  it.each(VENDORS)('%s: its definition is complete (name, channels, config slice, docs page that exists)', (name) => {
    const def = vendorDefinition(name);
    expect(def.name).toBe(name);
    expect(Object.keys(def.recipients).length).toBeGreaterThan(0);
    expect(Object.keys(def.config.env).length).toBeGreaterThan(0);
    // Its variables are the process's variables, and its secrets are among them.
    for (const v of [...Object.keys(def.config.env), ...def.config.secretVars]) expect(envVariableNames()).toContain(v);
    expect(def.docs).toBe(`docs/vendors/${name}.md`);
    expect(existsSync(def.docs), def.docs).toBe(true);
  });

  it('channels are the union of what the vendors serve, each served by one vendor', () => {
    const served = VENDORS.flatMap((v) => Object.keys(vendorDefinition(v).recipients));
    expect([...CHANNELS].sort()).toEqual([...new Set(served)].sort());
    expect(served).toHaveLength(new Set(served).size);
  });

  it('vendor components (twin24-correlator) are process components like the delivery workers', () => {
    expect(vendorComponents().map((c) => [c.vendor, c.name])).toEqual([['twin24', 'twin24-correlator']]);
    for (const name of [...VENDORS, 'twin24-correlator']) expect(WORKER_COMPONENTS).toContain(name);
    expect(vendorSecretVariables()).toEqual(expect.arrayContaining(['MANTAGO_TOKEN', 'MANTAGO_SECRET', 'JOINCHAT_SECRET', 'METABOT_TOKEN', 'TWIN24_TOKEN', 'TWIN24_PASSWORD', 'HTTP_VENDOR_SECRET']));
  });
});
