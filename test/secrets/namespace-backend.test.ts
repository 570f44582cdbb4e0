import { randomBytes } from 'node:crypto';
import { mkdtemp, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { PassThrough } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Envelope } from '../../backend/crypto/envelope.js';
import { InternalSecretBackend } from '../../backend/secrets/backends/internal.js';
import { secretsSync } from '../../backend/secrets/cli.js';
import { rotateMasterKey } from '../../backend/secrets/rotate-key.js';
import { refOf } from '../../backend/secrets/secret-store.js';
import { namespaceSecretBackendViewSchema } from '../../lib/schemas/secrets.js';
import { startKestraDouble, type KestraDouble } from '../kestra-double/kestra-double.js';
import { bind, signedInPerson } from '../iam/iam-helpers.js';
import { storeTargets } from '../support/databases.js';
import { startSignedIn, type Answer, type Browser, type RunningPerch } from '../support/perch.js';
import { expectNoPlainValues, expectNoPlainValuesInBackup } from './no-plain-values.js';
import { startVaultDouble, type VaultDouble } from './vault-double.js';

/** Values no answer, log line, audit row or backup archive may hold once written. */
const VALUES = { company: 'ns-chosen-vault-VAL-41a7', team: 'inherited-vault-VAL-9c2e', other: 'tenant-internal-VAL-5d10', pinned: 'pinned-internal-VAL-e3b8' };

/**
 * Issue 21, point 3: a backend per namespace (EE's namespace `secretType`), inherited by child
 * namespaces, falling back to the tenant's pick and then the instance's. Perch has the internal
 * backend and a Vault (double) configured; the tenant keeps the internal one.
 */
for (const target of storeTargets()) {
  describe.skipIf(!target.available)(`a secret backend per namespace on ${target.name}`, () => {
    let vault: VaultDouble;
    let kestra: KestraDouble;
    let perch: RunningPerch;
    let admin: Browser;
    const logs: string[] = [];
    const answers: Answer[] = [];
    const call = async (browser: Browser, method: string, url: string, json?: unknown) => {
      const res = await browser.fetch(method, url, json === undefined ? {} : { json });
      answers.push(res);
      return res;
    };
    const rows = () => perch.perch.ctx.db.selectFrom('namespace_secrets').select(['namespace', 'key', 'backend', 'value']).orderBy('key').execute();

    beforeAll(async () => {
      vault = await startVaultDouble({ rootToken: 'root-token' });
      kestra = await startKestraDouble();
      const logStream = new PassThrough();
      logStream.on('data', (chunk: Buffer) => logs.push(chunk.toString('utf8')));
      ({ perch, admin } = await startSignedIn({
        databaseUrl: await target.url(),
        logStream,
        config: {
          logLevel: 'debug',
          kestra: { url: kestra.url, username: kestra.username, password: kestra.password },
          secrets: { backend: { type: 'internal', vault: { address: vault.url, token: 'root-token' } } },
        },
      }));
      for (const id of ['company', 'company.team', 'company.team.pinned', 'other', 'locked']) {
        expect((await call(admin, 'POST', '/api/v1/main/namespaces', { id })).status).toBe(200);
      }
    });
    afterAll(async () => {
      await perch?.close();
      await vault?.close();
      await kestra?.close();
    });

    it('a namespace names its backend; its children inherit it; others keep the tenant\'s', async () => {
      const chosen = await call(admin, 'PUT', '/api/v1/main/namespaces/company/secret-backend', { type: 'vault' });
      expect(chosen.status, chosen.text).toBe(200);
      expect(namespaceSecretBackendViewSchema.parse(chosen.json)).toMatchObject({ type: 'vault', readOnly: false, source: 'namespace', sourceNamespace: 'company' });
      // EE's own way: the namespace entity's secretType.
      expect((await call(admin, 'GET', '/api/v1/main/namespaces/company')).json).toMatchObject({ id: 'company', secretType: 'vault' });
      expect((await call(admin, 'GET', '/api/v1/main/namespaces/company.team/secret-backend')).json).toMatchObject({ type: 'vault', source: 'namespace', sourceNamespace: 'company' });
      expect((await call(admin, 'GET', '/api/v1/main/namespaces/other/secret-backend')).json).toMatchObject({ type: 'internal', source: 'instance' });
      // A child pins the internal backend back with PUT /namespaces/{id} (EE's secretType).
      const pinned = await call(admin, 'PUT', '/api/v1/main/namespaces/company.team.pinned', { id: 'company.team.pinned', secretType: 'internal' });
      expect(pinned.status, pinned.text).toBe(200);

      for (const [ns, key, value] of [['company', 'COMPANY_KEY', VALUES.company], ['company.team', 'TEAM_KEY', VALUES.team], ['other', 'OTHER_KEY', VALUES.other], ['company.team.pinned', 'PINNED_KEY', VALUES.pinned]] as const) {
        const put = await call(admin, 'PUT', `/api/v1/main/namespaces/${ns}/secrets`, { key, value });
        expect(put.status, put.text).toBe(200);
      }
      expect([...vault.store.entries()].sort()).toEqual([
        ['perch/main/company/COMPANY_KEY', { value: VALUES.company }],
        ['perch/main/company/team/TEAM_KEY', { value: VALUES.team }],
      ]);
      expect((await rows()).map((r) => [r.key, r.backend, r.value === null])).toEqual([
        ['COMPANY_KEY', 'vault', true],
        ['OTHER_KEY', 'internal', false],
        ['PINNED_KEY', 'internal', false],
        ['TEAM_KEY', 'vault', true],
      ]);
      expect(vault.violations).toEqual([]);
    });

    it('lists and inherits across backends; sync reads each value from its own backend', async () => {
      const list = await call(admin, 'GET', '/api/v1/main/secrets?size=10');
      expect(list.json.results.map((s: { key: string }) => s.key).sort()).toEqual(['COMPANY_KEY', 'OTHER_KEY', 'PINNED_KEY', 'TEAM_KEY']);
      expect((await call(admin, 'GET', '/api/v1/main/namespaces/company.team.pinned/inherited-secrets')).json).toEqual({ company: ['COMPANY_KEY'], 'company.team': ['TEAM_KEY'] });

      vault.requests.length = 0;
      const file = path.join(await mkdtemp(path.join(tmpdir(), 'perch-ns-backend-sync-')), 'kestra.env');
      expect(await secretsSync(perch.perch.ctx.config, { file }, { out: () => {}, err: () => {} })).toBe(0);
      const env = await readFile(file, 'utf8');
      for (const [key, value] of [['COMPANY_KEY', VALUES.company], ['TEAM_KEY', VALUES.team], ['OTHER_KEY', VALUES.other], ['PINNED_KEY', VALUES.pinned]]) {
        expect(env).toContain(`SECRET_${key}=${Buffer.from(value!).toString('base64')}`);
      }
      expect(vault.requests.map((r) => `${r.method} ${r.url}`).sort()).toEqual(['GET /v1/secret/data/perch/main/company/COMPANY_KEY', 'GET /v1/secret/data/perch/main/company/team/TEAM_KEY']);
    });

    it('switching a namespace\'s backend keeps each value where it is until replaced, as the tenant\'s pick does', async () => {
      const back = await call(admin, 'PUT', '/api/v1/main/namespaces/company/secret-backend', { type: null });
      expect(back.status, back.text).toBe(200);
      expect(back.json).toMatchObject({ type: 'internal', source: 'instance' });
      expect((await call(admin, 'GET', '/api/v1/main/namespaces/company')).json.secretType).toBeUndefined();
      expect((await rows()).find((r) => r.key === 'TEAM_KEY')).toMatchObject({ backend: 'vault' });
      expect((await call(admin, 'PUT', '/api/v1/main/namespaces/company.team/secrets', { key: 'TEAM_KEY', value: `${VALUES.team}-2` })).status).toBe(200);
      expect((await rows()).find((r) => r.key === 'TEAM_KEY')).toMatchObject({ backend: 'internal', value: expect.any(String) });
      expect(vault.store.has('perch/main/company/team/TEAM_KEY')).toBe(false);
      // The value left behind in Vault is still read from there, and deleted there.
      expect((await call(admin, 'DELETE', '/api/v1/main/namespaces/company/secrets/COMPANY_KEY')).status).toBe(200);
      expect(vault.store.size).toBe(0);
      expect((await call(admin, 'PUT', '/api/v1/main/namespaces/company/secret-backend', { type: 'vault' })).status).toBe(200);
    });

    it('a namespace\'s secretReadOnly refuses writes with 409, its children\'s too, and nothing reaches the manager', async () => {
      expect((await call(admin, 'PUT', '/api/v1/main/namespaces/locked/secret-backend', { type: 'vault', readOnly: true })).json).toMatchObject({ type: 'vault', readOnly: true });
      vault.requests.length = 0;
      for (const ns of ['locked', 'locked.child']) {
        const put = await call(admin, 'PUT', `/api/v1/main/namespaces/${ns}/secrets`, { key: `RO_${ns.length}`, value: 'never-written' });
        expect(put.status).toBe(409);
        expect(put.json.message).toBe('Secrets are read-only here: namespace locked\'s dedicated secret manager is set with secretReadOnly');
      }
      expect(vault.requests).toEqual([]);
      // EE's listing says so (the screens then offer no writes); other namespaces stay writable.
      expect((await call(admin, 'GET', '/api/v1/main/secrets?filters[namespace][EQUALS]=locked.child')).json.readOnly).toBe(true);
      expect((await call(admin, 'GET', '/api/v1/main/secrets?filters[namespace][EQUALS]=other')).json.readOnly).toBe(false);
      expect((await call(admin, 'GET', '/api/v1/main/secrets')).json.readOnly).toBe(false);
      expect((await call(admin, 'PUT', '/api/v1/main/namespaces/locked', { id: 'locked', secretReadOnly: true })).status).toBe(422);
    });

    it('refuses a backend that is not configured, a per-namespace connection, and non-owners', async () => {
      const aws = await call(admin, 'PUT', '/api/v1/main/namespaces/other/secret-backend', { type: 'aws' });
      expect(aws.status).toBe(422);
      expect(aws.json.message).toBe('No secret backend aws is configured here (configured: internal, vault); add it under secrets.backend first');
      expect((await call(admin, 'PUT', '/api/v1/main/namespaces/other', { id: 'other', secretType: 'aws' })).status).toBe(422);
      const connection = await call(admin, 'PUT', '/api/v1/main/namespaces/other', { id: 'other', secretType: 'vault', secretConfiguration: { address: 'http://elsewhere' } });
      expect(connection.status).toBe(501);
      expect(connection.json.message).toMatch(/secretConfiguration/);
      expect((await call(admin, 'PUT', '/api/v1/main/namespaces/never.created/secret-backend', { type: 'vault' })).status).toBe(404);

      // A namespace admin edits the namespace but may not move its secrets to another manager.
      const nsAdmin = await signedInPerson(perch, admin, 'ns-admin');
      await bind(admin, { type: 'USER', externalId: nsAdmin.id, roleId: 'admin', namespaceId: 'company' });
      expect((await call(nsAdmin.browser, 'GET', '/api/v1/main/namespaces/company/secret-backend')).status).toBe(403);
      expect((await call(nsAdmin.browser, 'PUT', '/api/v1/main/namespaces/company/secret-backend', { type: 'internal' })).status).toBe(403);
      const moved = await call(nsAdmin.browser, 'PUT', '/api/v1/main/namespaces/company.team', { id: 'company.team', secretType: 'vault' });
      expect(moved.status).toBe(403);
      expect(moved.json.message).toMatch(/instance owner may choose a namespace's secret manager/);
      const dropped = await call(nsAdmin.browser, 'PUT', '/api/v1/main/namespaces/company', { id: 'company', description: 'no secretType' });
      expect(dropped.status).toBe(403);
      const kept = await call(nsAdmin.browser, 'PUT', '/api/v1/main/namespaces/company', { id: 'company', description: 'still in Vault', secretType: 'vault' });
      expect(kept.status, kept.text).toBe(200);
      // Writing a secret needs SECRET permissions only; where it goes is the namespace's.
      vault.requests.length = 0;
      expect((await call(nsAdmin.browser, 'PUT', '/api/v1/main/namespaces/company/secrets', { key: 'BY_NS_ADMIN', value: VALUES.company })).status).toBe(200);
      expect(vault.store.get('perch/main/company/BY_NS_ADMIN')).toEqual({ value: VALUES.company });
    });

    it('audits each choice with the namespace before and after', async () => {
      const db = perch.perch.ctx.db;
      const entries = await db.selectFrom('audit_log').leftJoin('audit_states', 'audit_states.entry_id', 'audit_log.id')
        .select(['audit_log.action', 'audit_log.resource_id', 'audit_log.namespace', 'audit_states.before', 'audit_states.after'])
        .where('audit_log.resource_id', '=', 'backend:main/locked').execute();
      expect(entries).toHaveLength(1);
      expect(entries[0]).toMatchObject({ action: 'UPDATE', namespace: 'locked' });
      expect(JSON.parse(entries[0]!.before!)).toEqual({ id: 'locked', deleted: false });
      expect(JSON.parse(entries[0]!.after!)).toEqual({ id: 'locked', deleted: false, secretType: 'vault', secretReadOnly: true });
    });

    it('rotate-key re-wraps the values a namespace keeps in Perch\'s store, and only those', async () => {
      const next = new Envelope(randomBytes(32));
      const internal = (await rows()).filter((r) => r.backend === 'internal');
      expect(internal.map((r) => r.key).sort()).toEqual(['OTHER_KEY', 'PINNED_KEY', 'TEAM_KEY']);
      await rotateMasterKey(perch.perch.ctx.db, perch.perch.ctx.envelope, next, () => {});
      const after = await perch.perch.ctx.db.selectFrom('namespace_secrets').selectAll().where('key', '=', 'PINNED_KEY').executeTakeFirstOrThrow();
      expect(await new InternalSecretBackend(next).read(refOf(after), after.value)).toBe(VALUES.pinned);
      expect((await rows()).filter((r) => r.backend === 'vault').every((r) => r.value === null)).toBe(true);
    });

    it('no secret value appears in any answer, log line, audit row, audit state or backup archive (grep)', async () => {
      const values = Object.values(VALUES);
      await expectNoPlainValues(perch, values, { answers, logs });
      // The archive holds the secrets' rows (sealed, or no value for Vault's), never a value.
      expect(await expectNoPlainValuesInBackup(perch, values)).toContain('PINNED_KEY');
    });
  });
}
