import { vendorSecretVariables } from '../../src/config/env.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/env.js';
import { startSandbox, type Sandbox } from '../../src/sandbox/index.js';
import { sandboxEnv } from '../support/config.js';
import { envFileEntries, envSchemaKeys, envSourceText, readRepoFile } from './support.js';

const text = readRepoFile('.env.example');
const entries = envFileEntries(text);
const lines = text.split('\n');
/** The uncommented lines: the compose wiring, with credentials for every vendor (so vendor settings are parsed too). */
const active = Object.fromEntries(entries.filter((e) => !e.commented).map((e) => [e.name, e.value]));
/** Values that must come from a secret store: marked [SECRET] in the comment right above them. */
const SECRETS = ['MANTAGO_TOKEN', 'MANTAGO_SECRET', 'JOINCHAT_SECRET', 'METABOT_TOKEN', 'TWIN24_TOKEN', 'TWIN24_PASSWORD',
  'RESULTS_WEBHOOK_SECRET', 'INGEST_TOKEN', 'DASHBOARD_PASSWORD', ...vendorSecretVariables()];
/** In docker-compose.yml every service reaches the sandbox as http://sandbox:4010. */
const COMPOSE_SANDBOX = 'http://sandbox:4010';

describe('.env.example', () => {
  it('documents every variable of src/config/env.ts, each once, and nothing else', () => {
    const names = entries.map((e) => e.name);
    const schema = envSchemaKeys();
    expect(schema.filter((k) => !names.includes(k)), 'missing from .env.example').toEqual([]);
    expect(names.filter((n) => !schema.includes(n)), 'unknown (misspelt?) names').toEqual([]);
    expect(names.filter((n, i) => names.indexOf(n) !== i), 'listed twice').toEqual([]);
  });

  it('shows the real defaults on its commented lines', () => {
    const documented = Object.fromEntries(entries.filter((e) => e.commented && e.value !== '').map((e) => [e.name, e.value]));
    expect(Object.keys(documented).length).toBeGreaterThan(30);
    expect(loadConfig(active).disabledVendors).toEqual([]);
    expect(loadConfig({ ...active, ...documented })).toEqual(loadConfig(active));
  });

  it('names the real default in the comment above each line the compose setup changes', () => {
    const schemaText = envSourceText();
    let checked = 0;
    for (const name of Object.keys(active)) {
      const literal = new RegExp(`^\\s+${name}:.*\\.default\\('([^']+)'\\)`, 'm').exec(schemaText)?.[1];
      if (!literal || literal === active[name]) continue;
      const at = lines.findIndex((l) => l.startsWith(`${name}=`));
      expect(lines.slice(Math.max(0, at - 4), at).join('\n'), `${name}: its comment should say the default is ${literal}`).toContain(literal);
      checked++;
    }
    expect(checked).toBeGreaterThanOrEqual(7);
  });

  it('marks every secret with [SECRET] on the line above', () => {
    for (const name of SECRETS) {
      const at = lines.findIndex((l) => new RegExp(`^(#\\s*)?${name}=`).test(l.trim()));
      expect(at, name).toBeGreaterThan(0);
      expect(lines[at - 1], name).toContain('[SECRET]');
    }
  });

  describe('as the compose configuration', () => {
    let sandbox: Sandbox;
    beforeAll(async () => { sandbox = await startSandbox({ port: 0 }); });
    afterAll(async () => { await sandbox?.close(); });

    it('points every vendor at the sandbox service with credentials the sandbox accepts', () => {
      const expected = Object.fromEntries(Object.entries(sandboxEnv(sandbox)).map(([k, v]) => [k, v.replace(sandbox.url, COMPOSE_SANDBOX)]));
      for (const [name, value] of Object.entries(expected)) expect(active[name], name).toBe(value);
      expect(active.REDIS_URL).toBe('redis://redis:6379');
      const config = loadConfig(active);
      expect(config.disabledVendors).toEqual([]);
    });
  });
});
