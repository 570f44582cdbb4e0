/**
 * An install made before tenants (migration 009) becomes the tenant `main` with nothing lost: its
 * users, service accounts, roles, groups and bindings stay as they were, every account may enter
 * `main`, and a person signs in and keeps their rights there. On SQLite and PostgreSQL.
 */
import { Migrator, type Migration } from 'kysely';
import { afterAll, describe, expect, it } from 'vitest';
import { migrations } from '../../backend/store/migrations/index.js';
import { migrateToLatest, openStore, type OpenStore } from '../../backend/store/database.js';
import { hashPassword } from '../../backend/auth/passwords.js';
import { storeTargets } from '../support/databases.js';
import { Browser, startPerch, type RunningPerch } from '../support/perch.js';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';

const BEFORE_TENANTS: Record<string, Migration> = Object.fromEntries(Object.entries(migrations).filter(([name]) => name < '009'));
const PASSWORD = 'a long enough password';

for (const target of storeTargets()) {
  describe.skipIf(!target.available)(`migration 009 on ${target.name}`, () => {
    let perch: RunningPerch | undefined;
    afterAll(() => perch?.close());

    it('turns a populated install into tenant main, nothing lost', async () => {
      const databaseUrl = await target.url();
      const store: OpenStore = await openStore({ databaseUrl, dataDir: await mkdtemp(path.join(tmpdir(), 'perch-mig-')) });
      const db = store.db;
      const { error } = await new Migrator({ db, provider: { getMigrations: async () => BEFORE_TENANTS } }).migrateToLatest();
      expect(error).toBeUndefined();
      const now = Date.now();
      const user = (id: string, email: string, type: 'STANDARD' | 'SERVICE_ACCOUNT', passwordHash: string | null, superAdmin = 0) => ({
        id, tenant_id: 'main', email, first_name: null, last_name: null, password_hash: passwordHash, super_admin: superAdmin, restricted: type === 'SERVICE_ACCOUNT' ? 1 : 0, disabled: 0, created_at: now, updated_at: now, type, description: null,
      });
      const hash = await hashPassword(PASSWORD);
      await db.insertInto('users').values([user('owner', 'owner@old.test', 'STANDARD', hash, 1), user('alice', 'alice@old.test', 'STANDARD', hash), user('robot', 'robot', 'SERVICE_ACCOUNT', null)]).execute();
      await db.insertInto('roles').values({ id: 'viewer-ish', tenant_id: 'main', name: 'Reader', description: null, permissions: JSON.stringify({ ROLE: ['LIST', 'VIEW'] }), is_default: 0, is_managed: 0, created_at: now, updated_at: now }).execute();
      await db.insertInto('groups').values({ id: 'g1', tenant_id: 'main', name: 'ops', description: null, created_at: now, updated_at: now }).execute();
      await db.insertInto('group_members').values({ tenant_id: 'main', group_id: 'g1', user_id: 'alice', membership: 'MEMBER', created_at: now }).execute();
      await db.insertInto('bindings').values({ id: 'b1', tenant_id: 'main', subject_type: 'GROUP', subject_id: 'g1', role_id: 'viewer-ish', namespace: null, created_at: now }).execute();
      const counts = async () => Promise.all((['users', 'roles', 'groups', 'group_members', 'bindings'] as const).map(async (t) => (await db.selectFrom(t).selectAll().execute()).length));
      const before = await counts();

      await migrateToLatest(db);
      expect(await counts()).toEqual(before);
      expect(await db.selectFrom('tenants').select(['id', 'mode', 'kestra_url', 'kestra_password']).execute()).toEqual([{ id: 'main', mode: 'INSTANCE', kestra_url: null, kestra_password: null }]);
      const access = await db.selectFrom('tenant_access').select(['tenant_id', 'user_id']).orderBy('user_id').execute();
      expect(access).toEqual(['alice', 'owner', 'robot'].map((id) => ({ tenant_id: 'main', user_id: id })));
      await store.close();

      // The upgraded store serves: alice signs in, enters main, and her group's role still lets her list roles.
      perch = await startPerch({ databaseUrl, withAdmin: false });
      const alice = new Browser(perch);
      await alice.login('alice@old.test', PASSWORD);
      expect((await alice.fetch('GET', '/api/v1/me')).json.tenants).toEqual([{ id: 'main', name: 'main', logo: null }]);
      const roles = await alice.fetch('GET', '/api/v1/main/roles/search');
      expect(roles.status, roles.text).toBe(200);
      expect(roles.json.results.map((r: { name: string }) => r.name)).toContain('Reader');
    });
  });
}
