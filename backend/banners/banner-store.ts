import { randomUUID } from 'node:crypto';
import type { ApiBanner, BannerRequest } from '../../lib/schemas/operations.js';
import type { Banner } from '../../lib/schemas/ui-config.js';
import type { BannersTable } from '../store/schema.js';
import type { Store } from '../store/database.js';

/** Announcements managed by API (EE `/api/v1/banners`), in the store so that every replica shows the same. */

const toMs = (iso: string | null | undefined) => (iso ? Date.parse(iso) : null);
const toIso = (ms: number | null) => (ms === null ? null : new Date(ms).toISOString());

/** Shown at `now`: between its start (inclusive) and its end (exclusive). */
export const showsAt = (row: Pick<BannersTable, 'start_date' | 'end_date'>, now: number) =>
  (row.start_date === null || row.start_date <= now) && (row.end_date === null || now < row.end_date);

export function toApiBanner(row: BannersTable, now = Date.now()): ApiBanner {
  return { id: row.id, message: row.message, type: row.type, startDate: toIso(row.start_date), endDate: toIso(row.end_date), tenantId: null, active: showsAt(row, now) };
}

export async function findBanner(db: Store, id: string): Promise<BannersTable | undefined> {
  return db.selectFrom('banners').selectAll().where('id', '=', id).executeTakeFirst();
}

export async function listBanners(db: Store): Promise<BannersTable[]> {
  return db.selectFrom('banners').selectAll().orderBy('created_at').orderBy('id').execute();
}

export async function insertBanner(db: Store, request: BannerRequest): Promise<BannersTable> {
  const now = Date.now();
  const row: BannersTable = { id: randomUUID(), message: request.message, type: request.type, start_date: toMs(request.startDate), end_date: toMs(request.endDate), created_at: now, updated_at: now };
  await db.insertInto('banners').values(row).execute();
  return row;
}

/** The updated row, or undefined when there is no such banner. */
export async function updateBanner(db: Store, id: string, request: BannerRequest): Promise<BannersTable | undefined> {
  const result = await db
    .updateTable('banners')
    .set({ message: request.message, type: request.type, start_date: toMs(request.startDate), end_date: toMs(request.endDate), updated_at: Date.now() })
    .where('id', '=', id)
    .executeTakeFirst();
  return result.numUpdatedRows > 0n ? findBanner(db, id) : undefined;
}

export async function deleteBanner(db: Store, id: string): Promise<boolean> {
  const result = await db.deleteFrom('banners').where('id', '=', id).executeTakeFirst();
  return result.numDeletedRows > 0n;
}

/** The API's banners shown now, in the shape the screens read (lib/schemas/ui-config.ts). */
export async function activeApiBanners(db: Store, now: number): Promise<Banner[]> {
  const rows = await db
    .selectFrom('banners')
    .selectAll()
    .where((eb) => eb.and([eb.or([eb('start_date', 'is', null), eb('start_date', '<=', now)]), eb.or([eb('end_date', 'is', null), eb('end_date', '>', now)])]))
    .orderBy('created_at')
    .orderBy('id')
    .execute();
  return rows.map((row) => ({ id: row.id, message: row.message, type: row.type, startDate: toIso(row.start_date), endDate: toIso(row.end_date) }));
}
