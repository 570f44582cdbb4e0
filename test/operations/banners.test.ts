/**
 * Announcements by API (issue 22, point 3): EE `/api/v1/banners` managed by instance owners, shown to
 * everyone signed in through /perch/api/ui-config after the config file's `ui.banners`, audited with
 * the banner before and after.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { storeTargets } from '../support/databases.js';
import { startSignedIn, type Browser, type RunningPerch } from '../support/perch.js';
import { signedInPerson } from '../iam/iam-helpers.js';

const HOUR = 3_600_000;

for (const target of storeTargets()) {
  describe.skipIf(!target.available)(`announcements on ${target.name}`, () => {
    let perch: RunningPerch;
    let admin: Browser;
    let reader: Browser;

    beforeAll(async () => {
      ({ perch, admin } = await startSignedIn({ databaseUrl: await target.url(), config: { ui: { banners: [{ id: 'from-config', message: 'Configured notice' }] } } }));
      reader = (await signedInPerson(perch, admin, 'banner-reader')).browser;
    });
    afterAll(() => perch?.close());

    const lastEntry = (resourceId: string, action: string) =>
      perch.perch.ctx.db.selectFrom('audit_log').selectAll().where('resource_id', '=', resourceId).where('action', '=', action).orderBy('seq', 'desc').executeTakeFirstOrThrow();

    it('lets an instance owner create, search, update and delete banners, each audited with before and after', async () => {
      const created = await admin.fetch('POST', '/api/v1/banners', { json: { message: 'Upgrade on Friday', type: 'WARNING' } });
      expect(created.status, created.text).toBe(200);
      expect(created.json).toEqual({ id: expect.any(String), message: 'Upgrade on Friday', type: 'WARNING', startDate: null, endDate: null, tenantId: null, active: true });
      const id = created.json.id as string;

      const later = new Date(Date.now() + HOUR).toISOString();
      const future = await admin.fetch('POST', '/api/v1/banners', { json: { message: 'Not yet', startDate: later } });
      expect(future.status, future.text).toBe(200);
      expect(future.json).toMatchObject({ type: 'INFO', startDate: later, active: false });

      const search = await admin.fetch('GET', '/api/v1/banners/search');
      expect(search.status).toBe(200);
      expect(search.json.map((b: { message: string; active: boolean }) => [b.message, b.active])).toEqual([['Upgrade on Friday', true], ['Not yet', false]]);

      // Everyone signed in sees the active ones, after the config file's.
      const seen = await reader.fetch('GET', '/perch/api/ui-config');
      expect(seen.status).toBe(200);
      expect(seen.json.banners.map((b: { id: string }) => b.id)).toEqual(['from-config', id]);

      const createEntry = await lastEntry(id, 'CREATE');
      expect(createEntry).toMatchObject({ tenant_id: '_instance', resource_type: 'SYSTEM_SETTINGS', outcome: 'SUCCESS' });
      const createStates = await perch.perch.ctx.db.selectFrom('audit_states').selectAll().where('entry_id', '=', createEntry.id).executeTakeFirstOrThrow();
      expect(createStates.before).toBeNull();
      expect(JSON.parse(createStates.after!)).toMatchObject({ id, message: 'Upgrade on Friday' });

      const updated = await admin.fetch('PUT', `/api/v1/banners/${id}`, { json: { message: 'Upgrade on Saturday', type: 'ERROR', endDate: later } });
      expect(updated.status, updated.text).toBe(200);
      expect(updated.json).toMatchObject({ id, message: 'Upgrade on Saturday', type: 'ERROR', endDate: later, active: true });
      const updateEntry = await lastEntry(id, 'UPDATE');
      const updateStates = await perch.perch.ctx.db.selectFrom('audit_states').selectAll().where('entry_id', '=', updateEntry.id).executeTakeFirstOrThrow();
      expect(JSON.parse(updateStates.before!)).toMatchObject({ message: 'Upgrade on Friday', type: 'WARNING' });
      expect(JSON.parse(updateStates.after!)).toMatchObject({ message: 'Upgrade on Saturday', type: 'ERROR' });

      const removed = await admin.fetch('DELETE', `/api/v1/banners/${id}`);
      expect(removed.status).toBe(200);
      const deleteStates = await perch.perch.ctx.db.selectFrom('audit_states').selectAll().where('entry_id', '=', (await lastEntry(id, 'DELETE')).id).executeTakeFirstOrThrow();
      expect(JSON.parse(deleteStates.before!)).toMatchObject({ message: 'Upgrade on Saturday' });
      expect(deleteStates.after).toBeNull();
      expect((await reader.fetch('GET', '/perch/api/ui-config')).json.banners.map((b: { id: string }) => b.id)).toEqual(['from-config']);
      expect((await admin.fetch('PUT', `/api/v1/banners/${id}`, { json: { message: 'x' } })).status).toBe(404);
      expect((await admin.fetch('DELETE', `/api/v1/banners/${id}`)).status).toBe(404);
      await admin.fetch('DELETE', `/api/v1/banners/${future.json.id}`);
    });

    it('refuses malformed banners with 422, naming the field', async () => {
      const empty = await admin.fetch('POST', '/api/v1/banners', { json: { message: '' } });
      expect(empty.status).toBe(422);
      expect(empty.text).toContain('message');
      const backwards = await admin.fetch('POST', '/api/v1/banners', { json: { message: 'x', startDate: '2030-01-02T00:00:00Z', endDate: '2030-01-01T00:00:00Z' } });
      expect(backwards.status).toBe(422);
      expect(backwards.text).toContain('endDate');
      expect((await admin.fetch('POST', '/api/v1/banners', { json: { message: 'x', type: 'LOUD' } })).status).toBe(422);
    });

    it('refuses people who are not instance owners (403) and writes nothing', async () => {
      const existing = await admin.fetch('POST', '/api/v1/banners', { json: { message: 'Kept' } });
      const id = existing.json.id as string;
      expect((await reader.fetch('POST', '/api/v1/banners', { json: { message: 'Mine' } })).status).toBe(403);
      expect((await reader.fetch('GET', '/api/v1/banners/search')).status).toBe(403);
      expect((await reader.fetch('PUT', `/api/v1/banners/${id}`, { json: { message: 'Changed' } })).status).toBe(403);
      expect((await reader.fetch('DELETE', `/api/v1/banners/${id}`)).status).toBe(403);
      const rows = await perch.perch.ctx.db.selectFrom('banners').select(['id', 'message']).execute();
      expect(rows).toEqual([{ id, message: 'Kept' }]);
      await admin.fetch('DELETE', `/api/v1/banners/${id}`);
    });
  });
}
