/**
 * An instance owner's per-tenant overrides of the copilot's limits (issue 24, point 4), on SQLite and
 * PostgreSQL: the tenant's request rate, its token budget and the per-person budget inside it. Tenant
 * admins read them and may not change them (nothing stored); an override applies at once (the cached
 * value is forgotten on change) and what is not overridden, or another tenant, keeps the instance's
 * settings; changes are audited with the state before and after.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bind, signedInPerson } from '../iam/iam-helpers.js';
import { startKestraDouble, type KestraDouble } from '../kestra-double/kestra-double.js';
import { storeTargets } from '../support/databases.js';
import { Browser, startPerch, type RunningPerch } from '../support/perch.js';
import { startProviderStandIn, type ProviderStandIn } from './provider-stand-ins.js';

const LIMITS = '/api/v1/main/ai/settings/limits';
const flow = (namespace: string) => `\`\`\`yaml\nid: hello\nnamespace: ${namespace}\ntasks:\n  - id: say\n    type: io.kestra.plugin.core.log.Log\n    message: hi\n\`\`\`\n`;
const prompt = (namespace = 'company.team') => ({ json: { conversationId: 'limits-0001', userPrompt: 'Say hello', namespace } });
const NONE = { tenantRequestsPerMinute: null, tokenBudgetPerTenant: null, tokenBudgetPerPerson: null };
const INSTANCE = { tenantRequestsPerMinute: 50, tokenBudgetPerTenant: 100_000, tokenBudgetPerPerson: 100 };

for (const target of storeTargets()) {
  describe.skipIf(!target.available)(`AI copilot: a tenant's own limits, set by an instance owner, on ${target.name}`, () => {
    let standIn: ProviderStandIn;
    let kestra: KestraDouble;
    let perch: RunningPerch;
    let owner: Browser;

    beforeAll(async () => {
      standIn = await startProviderStandIn('ollama');
      standIn.usage = { input: 40, output: 20 }; // 60 tokens per answer
      kestra = await startKestraDouble();
      perch = await startPerch({
        databaseUrl: await target.url(),
        config: {
          kestra: { url: kestra.url, username: kestra.username, password: kestra.password, timeout: 'PT5S' },
          ai: { requestsPerMinute: 1000, tenantRequestsPerMinute: 50, tokenBudget: { period: 'day', perTenant: 100_000, perPerson: 100 }, providers: [{ id: 'local', kind: 'ollama', baseUrl: standIn.url, model: 'llama' }] },
        },
      });
      owner = new Browser(perch);
      await owner.login();
      expect((await owner.fetch('POST', '/api/v1/tenants', { json: { id: 'acme', name: 'Acme', isolation: { mode: 'NAMESPACE', namespaces: ['acme'] } } })).status).toBe(200);
    });
    afterAll(async () => {
      await perch?.close();
      await kestra?.close();
      await standIn?.close();
    });

    it('lets tenant admins read the limits but not change them (403, nothing stored); an owner\'s override applies at once, the rest and other tenants keep the instance\'s settings', async () => {
      standIn.script = [flow('company.team')];
      const db = perch.perch.ctx.db;
      const tenantAdmin = await signedInPerson(perch, owner, 'limits-admin');
      await bind(owner, { type: 'USER', externalId: tenantAdmin.id, roleId: 'admin', namespaceId: null });
      const alice = await signedInPerson(perch, owner, 'limits-alice');
      await bind(owner, { type: 'USER', externalId: alice.id, roleId: 'editor', namespaceId: null });

      // Nothing stored: the instance's settings apply; the tenant admin sees them and may not change them.
      const read = await tenantAdmin.browser.fetch('GET', LIMITS);
      expect(read.status, read.text).toBe(200);
      expect(read.json).toEqual({ overrides: NONE, instance: INSTANCE, effective: INSTANCE, canChange: false, updatedAt: null });
      const raise = await tenantAdmin.browser.fetch('PUT', LIMITS, { json: { tokenBudgetPerPerson: 1_000_000 } });
      expect(raise.status).toBe(403);
      expect(raise.json.message).toBe("Only an instance owner may change tenant main's AI limits (request rate and token budgets)");
      expect(await db.selectFrom('ai_tenant_limits').selectAll().execute()).toEqual([]);

      // The instance's per-person budget (100): 0, then 60 tokens used before each request, then refused.
      const ask = () => alice.browser.fetch('POST', '/api/v1/main/ai/generate/flow', prompt());
      expect((await ask()).status).toBe(200);
      expect((await ask()).status).toBe(200);
      const spent = await ask();
      expect(spent.status).toBe(429);
      expect(spent.json).toMatchObject({ budget: 'person', used: 120, limit: 100 });

      // An owner raises Alice's tenant's per-person budget: the next request is let through at once.
      const set = await owner.fetch('PUT', LIMITS, { json: { tokenBudgetPerPerson: 200 } });
      expect(set.status, set.text).toBe(200);
      expect(set.json).toMatchObject({ overrides: { ...NONE, tokenBudgetPerPerson: 200 }, effective: { ...INSTANCE, tokenBudgetPerPerson: 200 }, canChange: true });
      expect((await ask()).status).toBe(200);
      expect((await ask()).status).toBe(200);
      const spentAgain = await ask();
      expect(spentAgain.status).toBe(429);
      expect(spentAgain.json).toMatchObject({ budget: 'person', used: 240, limit: 200 });
      expect((await alice.browser.fetch('GET', '/api/v1/main/ai/settings/usage')).json).toMatchObject({ tenant: { used: 240, limit: 100_000 }, person: { used: 240, limit: 200 }, requestsPerMinute: { perPerson: 1000, perTenant: 50 } });
      expect((await tenantAdmin.browser.fetch('GET', LIMITS)).json).toMatchObject({ overrides: { tokenBudgetPerPerson: 200 }, canChange: false, updatedAt: expect.any(String) });

      // The tenant's request rate, overridden to 1 a minute: this minute's requests already count, so the next is refused before the provider is asked.
      expect((await owner.fetch('PUT', LIMITS, { json: { tokenBudgetPerPerson: 200, tenantRequestsPerMinute: 1 } })).status).toBe(200);
      const callsBefore = standIn.calls.length;
      const tooMany = await owner.fetch('POST', '/api/v1/main/ai/generate/flow', prompt());
      expect(tooMany.status).toBe(429);
      expect(tooMany.json.message).toBe('Too many AI requests in tenant main: at most 1 per minute for the whole tenant');
      expect(standIn.calls).toHaveLength(callsBefore);
      // Another tenant keeps the instance's settings (50 a minute).
      standIn.script = [flow('acme')];
      // The owner saves flows in acme through a binding there, as through the proxy.
      const me = (await owner.fetch('GET', '/api/v1/me')).json as { id: string; profile: { email: string } };
      expect((await owner.fetch('POST', '/api/v1/acme/tenant-access', { json: { email: me.profile.email } })).status).toBe(204);
      expect((await owner.fetch('POST', '/api/v1/acme/bindings', { json: { type: 'USER', externalId: me.id, roleId: 'admin' } })).status).toBe(200);
      const elsewhere = await owner.fetch('POST', '/api/v1/acme/ai/generate/flow', prompt('acme'));
      expect(elsewhere.status, elsewhere.text).toBe(200);
      expect((await owner.fetch('GET', '/api/v1/acme/ai/settings/limits')).json).toMatchObject({ overrides: NONE, effective: INSTANCE });

      // The tenant's token budget, overridden below what it used: refused, naming the tenant's budget.
      expect((await owner.fetch('PUT', LIMITS, { json: { tokenBudgetPerTenant: 100 } })).status).toBe(200);
      const tenantSpent = await owner.fetch('POST', '/api/v1/main/ai/generate/flow', prompt());
      expect(tenantSpent.status).toBe(429);
      expect(tenantSpent.json).toMatchObject({ budget: 'tenant', limit: 100 });

      // All cleared: the row goes, the instance's settings apply again.
      const cleared = await owner.fetch('PUT', LIMITS, { json: {} });
      expect(cleared.json).toMatchObject({ overrides: NONE, effective: INSTANCE, updatedAt: null });
      expect(await db.selectFrom('ai_tenant_limits').selectAll().execute()).toEqual([]);
      expect((await ask()).json).toMatchObject({ budget: 'person', limit: 100 });

      // Malformed overrides are refused.
      expect((await owner.fetch('PUT', LIMITS, { json: { tokenBudgetPerPerson: 0 } })).status).toBe(422);
      expect((await owner.fetch('PUT', LIMITS, { json: { period: 'day' } })).status).toBe(422);
    });

    it('audits each change with the actor and the overrides before and after, and the tenant admin\'s refusal', async () => {
      const db = perch.perch.ctx.db;
      const entries = await db.selectFrom('audit_log').selectAll().where('resource_type', '=', 'TENANT_SETTINGS').where('resource_id', '=', 'ai-limits').orderBy('seq').execute();
      expect(entries.find((e) => e.outcome === 'REFUSED')).toMatchObject({ action: 'UPDATE', tenant_id: 'main' });
      expect(entries.filter((e) => e.outcome === 'SUCCESS').length).toBeGreaterThanOrEqual(4);
      const states = await db.selectFrom('audit_states').selectAll().where('kind', '=', 'ai-tenant-limits').execute();
      const raised = states.find((s) => s.before !== null && JSON.parse(s.before).tokenBudgetPerPerson === null && s.after !== null && JSON.parse(s.after).tokenBudgetPerPerson === 200);
      expect(raised).toBeDefined();
      expect(states.some((s) => s.after !== null && JSON.parse(s.after).tenantRequestsPerMinute === 1)).toBe(true);
    });

    it('checks a suggestion with the person\'s rights in the tenant asked, as the proxy decides a call routed there', async () => {
      // Bob may save flows in main, and may enter acme but holds nothing there.
      const bob = await signedInPerson(perch, owner, 'limits-bob');
      await bind(owner, { type: 'USER', externalId: bob.id, roleId: 'admin', namespaceId: null });
      expect((await owner.fetch('POST', '/api/v1/acme/tenant-access', { json: { email: bob.email } })).status).toBe(204);
      const copilot = await owner.fetch('POST', '/api/v1/acme/roles', { json: { name: 'Copilot only', permissions: { COPILOT: ['USE'] } } });
      expect(copilot.status, copilot.text).toBe(200);
      expect((await owner.fetch('POST', '/api/v1/acme/bindings', { json: { type: 'USER', externalId: bob.id, roleId: copilot.json.id } })).status).toBe(200);
      standIn.script = [flow('acme')];
      const asked = await bob.browser.fetch('POST', '/api/v1/acme/ai/generate/flow', prompt('acme'));
      expect(asked.status, asked.text).toBe(422);
      expect(asked.json.message).toContain('FLOW CREATE in acme');
      // The proxy refuses that save the same way.
      const save = await bob.browser.fetch('POST', '/api/v1/acme/flows', { body: 'id: hello\nnamespace: acme\ntasks:\n  - id: say\n    type: io.kestra.plugin.core.log.Log\n    message: hi\n', headers: { 'content-type': 'application/x-yaml' } });
      expect(save.status, save.text).toBe(403);
    });
  });
}
