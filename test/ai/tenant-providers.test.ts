/**
 * A tenant's own AI providers and the copilot's limits (issue 24, points 1 and 4), on SQLite and
 * PostgreSQL: providers added, changed, listed and deleted through Perch's API by those holding
 * TENANT_SETTINGS, the key sealed in the store and re-wrapped by a master-key rotation, never in an
 * answer, a log line or the audit log; the tenant's providers used in place of the instance's (which
 * stay the fallback); token budgets per tenant and per person counted from the usage each protocol
 * reports (whole and streamed), refused with 429 naming the budget and when it resets, and kept over
 * a restart; the per-tenant request rate.
 */
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { PassThrough } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { periodOf, TokenBudgets } from '../../backend/ai/token-budgets.js';
import { Envelope } from '../../backend/crypto/envelope.js';
import { rotateMasterKey } from '../../backend/secrets/rotate-key.js';
import type { AiProviderKind } from '../../lib/schemas/ai.js';
import { bind, PASSWORD, signedInPerson } from '../iam/iam-helpers.js';
import { startKestraDouble, type KestraDouble } from '../kestra-double/kestra-double.js';
import { storeTargets } from '../support/databases.js';
import { Browser, startPerch, type Answer, type RunningPerch } from '../support/perch.js';
import { startProviderStandIn, type ProviderStandIn } from './provider-stand-ins.js';

const INSTANCE_KEY = 'sk-instance-KEY-51d0c3';
const TENANT_KEY = 'sk-ant-tenant-KEY-8e22f1';
const NEW_TENANT_KEY = 'sk-ant-tenant-NEWKEY-03b7aa';
const OTHER_KEYS: Record<AiProviderKind, string> = { 'openai-compatible': 'sk-oai-tenant-KEY-77aa01', anthropic: TENANT_KEY, gemini: 'AIza-tenant-KEY-4c19de', ollama: 'ollama-tenant-KEY-e0f5b2' };
const KINDS = Object.keys(OTHER_KEYS) as AiProviderKind[];
const ALL_KEYS = [INSTANCE_KEY, NEW_TENANT_KEY, ...Object.values(OTHER_KEYS)];

const flow = (message = 'hi') => `id: hello\nnamespace: company.team\ntasks:\n  - id: say\n    type: io.kestra.plugin.core.log.Log\n    message: ${message}\n`;
const fenced = (yaml: string) => `\`\`\`yaml\n${yaml}\`\`\`\n`;
const prompt = (extra: Record<string, unknown> = {}) => ({ conversationId: 'c0ffee00-0000-4000-8000-000000000024', userPrompt: 'Say hello', namespace: 'company.team', ...extra });
const PROVIDERS = '/api/v1/main/ai/settings/providers';
const STREAM = { accept: 'text/event-stream' };

for (const target of storeTargets()) {
  describe.skipIf(!target.available)(`AI copilot: a tenant's own providers and token budgets on ${target.name}`, () => {
    const standIns = {} as Record<AiProviderKind, ProviderStandIn>;
    let kestra: KestraDouble;
    let perch: RunningPerch;
    let admin: Browser;
    let keys: string;
    let databaseUrl: string;
    const logs: string[] = [];
    const answers: Answer[] = [];

    const start = async (withAdmin: boolean) => {
      const logStream = new PassThrough();
      logStream.on('data', (chunk: Buffer) => logs.push(chunk.toString('utf8')));
      perch = await startPerch({
        databaseUrl,
        withAdmin,
        logStream,
        config: {
          logLevel: 'trace',
          kestra: { url: kestra.url, username: kestra.username, password: kestra.password, timeout: 'PT5S' },
          audit: { keyFile: path.join(keys, 'audit.key') },
          encryption: { masterKeyFile: path.join(keys, 'master.key') },
          ai: {
            requestsPerMinute: 1000,
            tokenBudget: { period: 'day', perTenant: 900, perPerson: 250 },
            tenantProviderHosts: ['127.0.0.1'],
            providers: [{ id: 'instance-openai', kind: 'openai-compatible', baseUrl: `${standIns['openai-compatible'].url}/v1`, model: 'gpt-instance', apiKey: INSTANCE_KEY }],
          },
        },
      });
      admin = new Browser(perch);
      await admin.login();
    };
    /** Every answer is kept for the grep of keys at the end. */
    const call = async (browser: Browser, method: string, url: string, init: Parameters<Browser['fetch']>[2] = {}) => {
      const res = await browser.fetch(method, url, init);
      answers.push(res);
      return res;
    };
    const clear = () => {
      for (const s of Object.values(standIns)) {
        s.calls.length = 0;
        s.usage = { input: 0, output: 0 }; // budgets untouched unless a test sets its usage
      }
    };
    const db = () => perch.perch.ctx.db;

    beforeAll(async () => {
      for (const kind of KINDS) {
        standIns[kind] = await startProviderStandIn(kind);
        standIns[kind].script = [fenced(flow('bonjour'))];
      }
      kestra = await startKestraDouble();
      keys = await mkdtemp(path.join(tmpdir(), 'perch-ai-keys-'));
      await writeFile(path.join(keys, 'master.key'), randomBytes(32).toString('hex'), { mode: 0o600 });
      databaseUrl = await target.url();
      await start(true);
    });
    afterAll(async () => {
      await perch?.close();
      await kestra?.close();
      for (const s of Object.values(standIns)) await s?.close();
      await rm(keys, { recursive: true, force: true });
    });

    it('adds, lists, changes and deletes a tenant\'s provider; the key is sealed and write-only; the tenant\'s providers replace the instance\'s, which stay the fallback', async () => {
      clear();
      // Before: the instance's provider.
      expect((await call(admin, 'GET', '/api/v1/main/ai/providers')).json).toEqual([{ id: 'instance-openai', displayName: 'instance-openai', isDefault: true }]);

      const created = await call(admin, 'POST', PROVIDERS, { json: { id: 'team-claude', displayName: 'Team Claude', kind: 'anthropic', baseUrl: standIns.anthropic.url, model: 'claude-team', apiKey: TENANT_KEY } });
      expect(created.status, created.text).toBe(200);
      expect(created.json).toMatchObject({ id: 'team-claude', displayName: 'Team Claude', kind: 'anthropic', model: 'claude-team', isDefault: false, hasApiKey: true, timeoutSeconds: 120, maxOutputTokens: 8192 });
      expect(Object.keys(created.json)).not.toContain('apiKey');
      const stored = await db().selectFrom('ai_providers').selectAll().execute();
      expect(stored).toHaveLength(1);
      expect(stored[0]!.api_key).toMatch(/^perch-sealed\.v1\./);
      expect(stored[0]!.api_key).not.toContain(TENANT_KEY);
      expect(perch.perch.ctx.envelope.openText(stored[0]!.api_key!, { table: 'ai_providers', column: 'api_key', id: stored[0]!.id })).toBe(TENANT_KEY);

      expect((await call(admin, 'GET', PROVIDERS)).json).toEqual([created.json]);
      // EE's getProviders now lists the tenant's own providers only.
      expect((await call(admin, 'GET', '/api/v1/main/ai/providers')).json).toEqual([{ id: 'team-claude', displayName: 'Team Claude', isDefault: true }]);

      // A generation uses the tenant's provider with its own key; the instance's provider is not asked.
      const generated = await call(admin, 'POST', '/api/v1/main/ai/generate/flow', { json: prompt() });
      expect(generated.status, generated.text).toBe(200);
      expect(standIns.anthropic.calls).toHaveLength(1);
      expect(standIns.anthropic.calls[0]!.headers['x-api-key']).toBe(TENANT_KEY);
      expect(standIns.anthropic.calls[0]!.body.model).toBe('claude-team');
      expect(standIns['openai-compatible'].calls).toHaveLength(0);
      // The instance's provider is not one of this tenant's any more.
      expect((await call(admin, 'POST', '/api/v1/main/ai/generate/flow', { json: prompt({ providerId: 'instance-openai' }) })).status).toBe(404);

      // An update without a key keeps the stored one; with one, replaces it.
      const kept = await call(admin, 'PUT', `${PROVIDERS}/team-claude`, { json: { kind: 'anthropic', baseUrl: standIns.anthropic.url, model: 'claude-team-2', isDefault: true } });
      expect(kept.status, kept.text).toBe(200);
      expect(kept.json).toMatchObject({ id: 'team-claude', model: 'claude-team-2', isDefault: true, hasApiKey: true });
      expect((await call(admin, 'POST', '/api/v1/main/ai/generate/flow', { json: prompt() })).status).toBe(200);
      expect(standIns.anthropic.calls[1]!.headers['x-api-key']).toBe(TENANT_KEY);
      expect(standIns.anthropic.calls[1]!.body.model).toBe('claude-team-2');
      expect((await call(admin, 'PUT', `${PROVIDERS}/team-claude`, { json: { kind: 'anthropic', baseUrl: standIns.anthropic.url, model: 'claude-team-2', apiKey: NEW_TENANT_KEY } })).status).toBe(200);
      expect((await call(admin, 'POST', '/api/v1/main/ai/generate/flow', { json: prompt() })).status).toBe(200);
      expect(standIns.anthropic.calls[2]!.headers['x-api-key']).toBe(NEW_TENANT_KEY);

      // Deleted: the instance's configured provider is the tenant's again.
      expect((await call(admin, 'DELETE', `${PROVIDERS}/team-claude`)).status).toBe(204);
      expect((await call(admin, 'DELETE', `${PROVIDERS}/team-claude`)).status).toBe(404);
      expect((await call(admin, 'GET', PROVIDERS)).json).toEqual([]);
      expect((await call(admin, 'POST', '/api/v1/main/ai/generate/flow', { json: prompt() })).status).toBe(200);
      expect(standIns['openai-compatible'].calls).toHaveLength(1);
      expect(standIns['openai-compatible'].calls[0]!.headers.authorization).toBe(`Bearer ${INSTANCE_KEY}`);
      expect(standIns.anthropic.calls).toHaveLength(3);
    });

    it('refuses what it must: no TENANT_SETTINGS (403, nothing stored), an address the instance does not allow, a key file, a missing key, a duplicate', async () => {
      const editor = await signedInPerson(perch, admin, 'ns-editor');
      await bind(admin, { type: 'USER', externalId: editor.id, roleId: 'developer', namespaceId: 'company.team' });
      const body = { id: 'mine', kind: 'openai-compatible', baseUrl: `${standIns['openai-compatible'].url}/v1`, model: 'm', apiKey: OTHER_KEYS['openai-compatible'] };
      const refused = await call(editor.browser, 'POST', PROVIDERS, { json: body });
      expect(refused.status).toBe(403);
      expect(refused.json.message).toContain('TENANT_SETTINGS:UPDATE');
      expect((await call(editor.browser, 'GET', PROVIDERS)).status).toBe(403);
      expect((await call(editor.browser, 'GET', '/api/v1/main/ai/settings/usage')).status).toBe(403);

      const elsewhere = await call(admin, 'POST', PROVIDERS, { json: { ...body, baseUrl: 'http://10.1.2.3:8080/v1' } });
      expect(elsewhere.status).toBe(422);
      expect(elsewhere.json.message).toContain('10.1.2.3:8080 is not allowed');
      // A file on Perch's host is the configuration file's business, not a tenant admin's.
      const keyFile = await call(admin, 'POST', PROVIDERS, { json: { ...body, apiKey: undefined, apiKeyFile: '/etc/passwd' } });
      expect(keyFile.status).toBe(422);
      expect(keyFile.json.message).toContain('apiKeyFile');
      const keyless = await call(admin, 'POST', PROVIDERS, { json: { ...body, apiKey: undefined } });
      expect(keyless.status).toBe(422);
      expect(keyless.json.message).toContain('needs an apiKey');
      expect(await db().selectFrom('ai_providers').selectAll().execute()).toEqual([]);

      expect((await call(admin, 'POST', PROVIDERS, { json: body })).status).toBe(200);
      const twice = await call(admin, 'POST', PROVIDERS, { json: body });
      expect(twice.status).toBe(409);
      expect((await call(admin, 'PUT', `${PROVIDERS}/unknown`, { json: { kind: 'ollama', model: 'm' } })).status).toBe(404);
      // An address the instance stops allowing after the provider was saved is not called any more.
      const hosts = perch.perch.ctx.config.ai.tenantProviderHosts;
      hosts.splice(0, hosts.length);
      clear();
      try {
        const stale = await call(admin, 'POST', '/api/v1/main/ai/generate/flow', { json: prompt({ providerId: 'mine' }) });
        expect(stale.status).toBe(422);
        expect(stale.json.message).toContain('ai.tenantProviderHosts');
        expect(standIns['openai-compatible'].calls).toHaveLength(0);
      } finally {
        hosts.push('127.0.0.1');
      }
      expect((await call(admin, 'DELETE', `${PROVIDERS}/mine`)).status).toBe(204);
    });

    it('counts the tokens each protocol reports, whole and streamed, into the audit entry and the budgets', async () => {
      for (const kind of KINDS) {
        const res = await call(admin, 'POST', PROVIDERS, { json: { id: `usage-${kind}`, kind, baseUrl: kind === 'openai-compatible' ? `${standIns[kind].url}/v1` : standIns[kind].url, model: `${kind}-model`, apiKey: OTHER_KEYS[kind] } });
        expect(res.status, res.text).toBe(200);
      }
      // A budget-free person (the owner, whose own budget this test does not reach): 4 kinds × 2 requests × 15 tokens.
      const before = (await call(admin, 'GET', '/api/v1/main/ai/settings/usage')).json;
      for (const kind of KINDS) {
        clear();
        standIns[kind].usage = { input: 10, output: 5 };
        for (const headers of [{}, STREAM]) {
          const res = await call(admin, 'POST', '/api/v1/main/ai/generate/flow', { headers, json: prompt({ providerId: `usage-${kind}` }) });
          expect(res.status, res.text).toBe(200);
          expect(res.text).toContain('bonjour');
        }
        expect(standIns[kind].calls).toHaveLength(2);
        if (kind === 'openai-compatible') expect(standIns[kind].calls[1]!.body.stream_options).toEqual({ include_usage: true });
        const entries = await db().selectFrom('audit_log').select('details').where('resource_type', '=', 'COPILOT').orderBy('seq', 'desc').limit(2).execute();
        for (const entry of entries) expect(JSON.parse(entry.details), kind).toMatchObject({ providerId: `usage-${kind}`, providerFrom: 'tenant', usage: { input: 10, output: 5 } });
      }
      const after = (await call(admin, 'GET', '/api/v1/main/ai/settings/usage')).json;
      expect(after.tenant.used - before.tenant.used).toBe(120);
      expect(after.person.used - before.person.used).toBe(120);
      expect(after).toMatchObject({ period: 'day', current: periodOf('day', Date.now()).id, tenant: { limit: 900 }, person: { limit: 250 }, providersFrom: 'tenant', requestsPerMinute: { perPerson: 1000, perTenant: null } });
      const rows = await db().selectFrom('ai_token_usage').selectAll().execute();
      expect(rows.map((r) => ({ ...r, tokens: Number(r.tokens) })).find((r) => r.person_id === '')).toMatchObject({ tenant_id: 'main', tokens: after.tenant.used });
    });

    it('refuses (429) once a person\'s or the tenant\'s budget is used up, naming it and when it resets; nothing reaches the provider; the counters survive a restart', async () => {
      clear();
      standIns.ollama.usage = { input: 100, output: 20 };
      expect((await call(admin, 'POST', PROVIDERS, { json: { id: 'budget-local', kind: 'ollama', baseUrl: standIns.ollama.url, model: 'llama', isDefault: true } })).status).toBe(200);
      const ask = (browser: Browser) => call(browser, 'POST', '/api/v1/main/ai/generate/flow', { json: prompt({ providerId: 'budget-local' }) });
      const resetsAt = periodOf('day', Date.now()).resetsAt.toISOString();
      const alice = await signedInPerson(perch, admin, 'budget-alice');
      const bob = await signedInPerson(perch, admin, 'budget-bob');
      for (const p of [alice, bob]) {
        await bind(admin, { type: 'USER', externalId: p.id, roleId: 'editor', namespaceId: null });
      }
      // Alice: 0, 120, 240 tokens used before each request (limit 250), then refused.
      for (let i = 0; i < 3; i++) expect((await ask(alice.browser)).status).toBe(200);
      const spent = await ask(alice.browser);
      expect(spent.status).toBe(429);
      expect(spent.json.message).toBe(`Your AI token budget in tenant main is used up: 360 of 250 tokens this day (${periodOf('day', Date.now()).id}); it resets at ${resetsAt}`);
      expect(spent.json).toMatchObject({ budget: 'person', used: 360, limit: 250, resetsAt });
      expect(Number(spent.headers['retry-after'])).toBeGreaterThan(0);
      expect(standIns.ollama.calls).toHaveLength(3);

      // The tenant's budget (900) holds everyone's tokens: the owner's 120 of the last test, Alice's 360,
      // Bob's 360 (his own budget's worth), the owner's next 120.
      for (let i = 0; i < 3; i++) expect((await ask(bob.browser)).status).toBe(200);
      expect((await ask(admin)).status).toBe(200);
      expect((await call(admin, 'GET', '/api/v1/main/ai/settings/usage')).json.tenant).toEqual({ used: 960, limit: 900 });
      const callsBefore = standIns.ollama.calls.length;
      const full = await ask(bob.browser);
      expect(full.status).toBe(429);
      expect(full.json.message).toBe(`Tenant main's AI token budget is used up: 960 of 900 tokens this day (${periodOf('day', Date.now()).id}); it resets at ${resetsAt}`);
      expect(full.json.budget).toBe('tenant');
      expect(standIns.ollama.calls).toHaveLength(callsBefore);
      const refusal = await db().selectFrom('audit_log').select(['details', 'outcome']).where('resource_type', '=', 'COPILOT').orderBy('seq', 'desc').limit(1).executeTakeFirstOrThrow();
      expect(refusal.outcome).toBe('FAILURE');
      expect(JSON.parse(refusal.details)).toMatchObject({ status: 429, reason: full.json.message });

      // A restart on the same store: the counters are still there (and the tenant's sealed key opens with the same master key).
      await perch.close();
      await start(false);
      const again = new Browser(perch);
      await again.login(alice.email, PASSWORD);
      const stillSpent = await call(again, 'POST', '/api/v1/main/ai/generate/flow', { json: prompt({ providerId: 'budget-local' }) });
      expect(stillSpent.status).toBe(429);
      expect(stillSpent.json.budget).toBe('tenant');
      expect(standIns.ollama.calls).toHaveLength(callsBefore);
    });

    it('rotate-key re-wraps the tenant providers\' keys', async () => {
      const rows = await db().selectFrom('ai_providers').selectAll().where('api_key', 'is not', null).execute();
      expect(rows.length).toBeGreaterThan(0);
      const next = new Envelope(randomBytes(32));
      const report = await rotateMasterKey(db(), perch.perch.ctx.envelope, next, () => {});
      expect(report.rewrapped).toBeGreaterThanOrEqual(rows.length);
      for (const row of await db().selectFrom('ai_providers').selectAll().where('api_key', 'is not', null).execute()) {
        const place = { table: 'ai_providers', column: 'api_key', id: row.id };
        expect(next.wraps(row.api_key!, place)).toBe(true);
        expect(OTHER_KEYS[row.kind as AiProviderKind]).toBe(next.openText(row.api_key!, place));
      }
    });

    it('keeps every key out of answers, logs and the audit log; audits each change with the provider, model and actor, before and after without the key', async () => {
      const entries = await db().selectFrom('audit_log').selectAll().where('resource_type', '=', 'TENANT_SETTINGS').orderBy('seq').execute();
      const created = entries.find((e) => e.resource_id === 'team-claude' && e.action === 'CREATE')!;
      expect(created).toMatchObject({ actor_email: expect.stringContaining('@'), outcome: 'SUCCESS' });
      expect(JSON.parse(created.details).request).toMatchObject({ id: 'team-claude', model: 'claude-team', apiKey: '[redacted]' });
      const updates = entries.filter((e) => e.resource_id === 'team-claude' && e.action === 'UPDATE');
      expect(updates).toHaveLength(2);
      expect(entries.some((e) => e.resource_id === 'team-claude' && e.action === 'DELETE')).toBe(true);
      const refused = entries.find((e) => e.outcome === 'REFUSED' && e.resource_id === 'mine');
      expect(refused).toBeDefined();
      const states = await db().selectFrom('audit_states').selectAll().where('kind', '=', 'ai-provider').execute();
      expect(states.length).toBeGreaterThanOrEqual(4);
      const update = states.find((s) => s.before?.includes('"claude-team"') && s.after?.includes('"claude-team-2"'));
      expect(update).toBeDefined();
      expect(JSON.parse(update!.after!)).toMatchObject({ id: 'team-claude', model: 'claude-team-2', hasApiKey: true });

      const audit = JSON.stringify(await db().selectFrom('audit_log').selectAll().execute());
      const allStates = JSON.stringify(await db().selectFrom('audit_states').selectAll().execute());
      const said = answers.map((a) => `${JSON.stringify(a.headers)}\n${a.text}`).join('\n');
      expect(logs.join('')).toContain('/ai/settings/providers');
      for (const key of [...ALL_KEYS, TENANT_KEY]) {
        for (const [where, text] of [['answers', said], ['logs', logs.join('')], ['audit_log', audit], ['audit_states', allStates]] as const) {
          expect(text.includes(key), `${key} in ${where}`).toBe(false);
        }
      }
    });
  });
}

describe('AI copilot: the per-tenant request rate and the budget periods', () => {
  it('refuses (429) the tenant\'s requests beyond ai.tenantRequestsPerMinute, whoever makes them', async () => {
    const standIn = await startProviderStandIn('ollama');
    standIn.script = [fenced(flow())];
    const kestra = await startKestraDouble();
    const perch = await startPerch({ config: { kestra: { url: kestra.url, username: kestra.username, password: kestra.password, timeout: 'PT5S' }, ai: { requestsPerMinute: 100, tenantRequestsPerMinute: 2, providers: [{ id: 'local', kind: 'ollama', baseUrl: standIn.url, model: 'llama' }] } } });
    try {
      const admin = new Browser(perch);
      await admin.login();
      const other = await signedInPerson(perch, admin, 'rate-other');
      await bind(admin, { type: 'USER', externalId: other.id, roleId: 'editor', namespaceId: null });
      expect((await admin.fetch('POST', '/api/v1/main/ai/generate/flow', { json: prompt() })).status).toBe(200);
      expect((await other.browser.fetch('POST', '/api/v1/main/ai/generate/flow', { json: prompt() })).status).toBe(200);
      const third = await admin.fetch('POST', '/api/v1/main/ai/generate/flow', { json: prompt() });
      expect(third.status).toBe(429);
      expect(third.json.message).toBe('Too many AI requests in tenant main: at most 2 per minute for the whole tenant');
      expect(Number(third.headers['retry-after'])).toBeGreaterThan(0);
      expect(standIn.calls).toHaveLength(2);
    } finally {
      await perch.close();
      await kestra.close();
      await standIn.close();
    }
  });

  it('counts per UTC day or month, and starts again at zero in the next period', async () => {
    expect(periodOf('day', Date.UTC(2026, 11, 31, 23, 59))).toEqual({ id: '2026-12-31', resetsAt: new Date(Date.UTC(2027, 0, 1)) });
    expect(periodOf('month', Date.UTC(2026, 11, 31, 23, 59))).toEqual({ id: '2026-12', resetsAt: new Date(Date.UTC(2027, 0, 1)) });
    const perch = await startPerch();
    try {
      let now = Date.UTC(2026, 11, 31, 12);
      const budgets = new TokenBudgets(perch.perch.ctx.db, { period: 'month', perTenant: 100 }, () => now);
      await budgets.add('main', 'u1', 100);
      await expect(budgets.check('main', 'u2')).rejects.toMatchObject({ status: 429, message: "Tenant main's AI token budget is used up: 100 of 100 tokens this month (2026-12); it resets at 2027-01-01T00:00:00.000Z" });
      // Another process on the same store reads the stored counter.
      expect((await new TokenBudgets(perch.perch.ctx.db, { period: 'month', perTenant: 100 }, () => now).state('main', 'u1')).tenant.used).toBe(100);
      now = Date.UTC(2027, 0, 1, 0, 0, 1);
      expect((await budgets.check('main', 'u2')).tenant).toEqual({ used: 0, limit: 100 });
    } finally {
      await perch.close();
    }
  });
});
