import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AuditEntry } from '../../backend/audit/audit-log.js';
import { storeTargets } from '../support/databases.js';
import { Browser, startSignedIn, type RunningPerch } from '../support/perch.js';
import { bind, signedInPerson } from '../iam/iam-helpers.js';

/** Entries per namespace ('' : none, as Perch's own entities and security events). */
const SEEDED: Record<string, number> = {
  company: 3,
  'company.team': 14,
  'company.team.sub': 9,
  'company.teams': 4, // a sibling whose name starts like company.team
  companyx: 2,
  other: 5,
  '': 6,
};

const entryIn = (namespace: string, i: number): AuditEntry => ({
  tenantId: 'main',
  actor: { type: 'USER', id: 'seed', email: 'seed@example.com' },
  action: 'UPDATE',
  resourceType: namespace ? 'FLOW' : 'ROLE',
  resourceId: `${namespace || 'none'}-${i}`,
  namespace: namespace || null,
  details: { seed: 'yes' },
});

for (const target of storeTargets()) {
  describe.skipIf(!target.available)(`audit log limited to the caller's namespaces on ${target.name}`, () => {
    let perch: RunningPerch;
    let admin: Browser;
    let auditor: Browser;
    let twoRoots: Browser;
    let roleId: string;

    beforeAll(async () => {
      ({ perch, admin } = await startSignedIn({ databaseUrl: await target.url() }));
      for (const [namespace, count] of Object.entries(SEEDED)) {
        for (let i = 0; i < count; i++) await perch.perch.ctx.audit.record(entryIn(namespace, i));
      }
      const role = await admin.fetch('POST', '/api/v1/main/roles', { json: { name: 'ns-auditor', permissions: { AUDITLOG: ['VIEW', 'LIST', 'EXPORT'] } } });
      expect(role.status, role.text).toBeLessThan(300);
      roleId = role.json.id;
      const one = await signedInPerson(perch, admin, 'ns-auditor');
      await bind(admin, { type: 'USER', externalId: one.id, roleId, namespaceId: 'company.team' });
      auditor = one.browser;
      const two = await signedInPerson(perch, admin, 'two-roots');
      await bind(admin, { type: 'USER', externalId: two.id, roleId, namespaceId: 'company.team.sub' });
      await bind(admin, { type: 'USER', externalId: two.id, roleId, namespaceId: 'other' });
      twoRoots = two.browser;
    });
    afterAll(() => perch?.close());

    const seeded = '&details=seed:yes';
    const searchAll = async (browser: Browser, query = '') => {
      const seen: { namespace: string | null; resourceId: string }[] = [];
      let total = -1;
      for (let page = 1; ; page++) {
        const res = await browser.fetch('GET', `/api/v1/main/auditlogs/search?size=5&page=${page}${seeded}${query}`);
        expect(res.status, res.text).toBe(200);
        total = res.json.total;
        const items = res.json.results as { auditLog: { detail: { namespace: string | null; id: string } } }[];
        // Full pages until the last one: the filter is in the query, not applied to a fetched page.
        if (seen.length + items.length < total) expect(items).toHaveLength(5);
        seen.push(...items.map((i) => ({ namespace: i.auditLog.detail.namespace, resourceId: i.auditLog.detail.id })));
        if (items.length < 5) break;
      }
      return { seen, total };
    };

    it('shows a namespace-bound auditor their namespace and its descendants, with matching totals and full pages', async () => {
      const { seen, total } = await searchAll(auditor);
      expect(total).toBe(SEEDED['company.team']! + SEEDED['company.team.sub']!);
      expect(seen).toHaveLength(total);
      expect(new Set(seen.map((s) => s.namespace))).toEqual(new Set(['company.team', 'company.team.sub']));
      expect(new Set(seen.map((s) => s.resourceId)).size).toBe(total);
    });

    it('never shows the parent, siblings, look-alike names or entries without a namespace', async () => {
      const { seen } = await searchAll(auditor);
      for (const hidden of ['company', 'company.teams', 'companyx', 'other', null]) expect(seen.some((s) => s.namespace === hidden), String(hidden)).toBe(false);
      // A namespace filter can only narrow: asking for the parent or a sibling gives nothing more.
      expect((await searchAll(auditor, '&namespace=company')).total).toBe(SEEDED['company.team']! + SEEDED['company.team.sub']!);
      expect((await searchAll(auditor, '&namespace=company.teams')).total).toBe(0);
      expect((await searchAll(auditor, '&namespace=company.team.sub')).total).toBe(SEEDED['company.team.sub']);
    });

    it('unions several namespace bindings', async () => {
      const { seen, total } = await searchAll(twoRoots);
      expect(total).toBe(SEEDED['company.team.sub']! + SEEDED.other!);
      expect(new Set(seen.map((s) => s.namespace))).toEqual(new Set(['company.team.sub', 'other']));
    });

    it('a tenant-wide AUDITLOG holder still sees everything, namespace-less entries included', async () => {
      const { seen, total } = await searchAll(admin);
      expect(total).toBe(Object.values(SEEDED).reduce((a, b) => a + b, 0));
      expect(seen.filter((s) => s.namespace === null)).toHaveLength(SEEDED['']!);
    });

    it('limits export, find, history and diff the same way', async () => {
      const exported = await auditor.fetch('GET', `/api/v1/main/auditlogs/export?format=json${seeded}`);
      expect(exported.status).toBe(200);
      const lines = exported.text.trim().split('\n').map((l) => JSON.parse(l) as { id: string; detail: { namespace: string } });
      expect(lines).toHaveLength(SEEDED['company.team']! + SEEDED['company.team.sub']!);
      expect(lines.every((l) => ['company.team', 'company.team.sub'].includes(l.detail.namespace))).toBe(true);

      const found = await auditor.fetch('POST', '/api/v1/main/auditlogs/find', { json: { detail: { id: 'company.team.sub-0' } } });
      expect(found.status).toBe(200);
      expect(found.json.auditLog.detail.namespace).toBe('company.team.sub');
      expect((await auditor.fetch('POST', '/api/v1/main/auditlogs/find', { json: { detail: { id: 'company-0' } } })).status).toBe(404);
      expect((await auditor.fetch('POST', '/api/v1/main/auditlogs/find', { json: { detail: { id: 'none-0' } } })).status).toBe(404);

      expect((await auditor.fetch('GET', '/api/v1/main/auditlogs/history/company.team-3')).json).toHaveLength(1);
      expect((await auditor.fetch('GET', '/api/v1/main/auditlogs/history/other-3')).json).toEqual([]);

      const rows = perch.perch.ctx.db.selectFrom('audit_log').select(['id']).where('tenant_id', '=', 'main');
      const visible = await rows.where('namespace', '=', 'company.team').executeTakeFirstOrThrow();
      const sibling = await rows.where('namespace', '=', 'company.teams').executeTakeFirstOrThrow();
      const none = await rows.where('namespace', 'is', null).executeTakeFirstOrThrow();
      expect((await auditor.fetch('GET', `/api/v1/main/auditlogs/${visible.id}/diff`)).status).toBe(200);
      expect((await auditor.fetch('GET', `/api/v1/main/auditlogs/${sibling.id}/diff`)).status).toBe(404);
      expect((await auditor.fetch('GET', `/api/v1/main/auditlogs/${none.id}/diff`)).status).toBe(404);
      expect((await admin.fetch('GET', `/api/v1/main/auditlogs/${none.id}/diff`)).status).toBe(200);
    });

    it('still refuses someone without any AUDITLOG binding', async () => {
      const nobody = await signedInPerson(perch, admin, 'no-audit');
      await bind(admin, { type: 'USER', externalId: nobody.id, roleId: 'viewer', namespaceId: 'company.team' });
      expect((await nobody.browser.fetch('GET', '/api/v1/main/auditlogs/search')).status).toBe(403);
      expect((await nobody.browser.fetch('GET', '/api/v1/main/auditlogs/export')).status).toBe(403);
    });
  });
}
