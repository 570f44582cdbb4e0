import { createHash, randomBytes } from 'node:crypto';
import type { Kysely, Selectable } from 'kysely';
import type { ApiApp, ApiAppCatalogItem, ApiAppSource, AppSource } from '../../lib/schemas/apps.js';
import { conflict } from '../http/errors.js';
import type { AppsTable, Database } from '../store/schema.js';
import { parseAppSource } from './app-source.js';

export type AppRow = Selectable<AppsTable>;

const BASE62 = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz';

/** EE's uid shape (e.g. `5CS8qsm7YTif4PWuAUWHQ5`): 128 random bits in 22 base62 characters. */
export function newAppUid(): string {
  let n = BigInt(`0x${randomBytes(16).toString('hex')}`);
  let out = '';
  for (let i = 0; i < 22; i++) {
    out = BASE62[Number(n % 62n)] + out;
    n /= 62n;
  }
  return out;
}

const iso = (ms: number) => new Date(Number(ms)).toISOString();
const tagsOf = (row: AppRow): string[] => JSON.parse(row.tags) as string[];

/** The source as stored, read again (it was checked when written). */
export const sourceOf = (row: AppRow): AppSource => parseAppSource(row.source);

export function toApiApp(row: AppRow): ApiApp {
  return {
    uid: row.uid, id: row.id, name: row.name, type: row.type, namespace: row.namespace, flowId: row.flow_id,
    tags: tagsOf(row), enabled: row.enabled === 1, created: iso(row.created_at), updated: iso(row.updated_at),
  };
}

export function toApiAppSource(row: AppRow): ApiAppSource {
  return { uid: row.uid, name: row.name, namespace: row.namespace, tags: tagsOf(row), disabled: row.enabled !== 1, source: row.source, created: iso(row.created_at), updated: iso(row.updated_at) };
}

export function toCatalogItem(row: AppRow, app: AppSource): ApiAppCatalogItem {
  return {
    uid: row.uid, name: row.name, type: row.type, tags: tagsOf(row),
    ...(app.description !== undefined ? { description: app.description } : {}),
    ...(app.thumbnail !== undefined ? { thumbnail: app.thumbnail } : {}),
  };
}

/** The columns Perch reads out of a source. */
const columnsOf = (app: AppSource, source: string) => ({
  id: app.id, name: app.displayName ?? app.id, type: app.type, namespace: app.namespace, flow_id: app.flowId, tags: JSON.stringify(app.tags), source,
});

const isUniqueViolation = (error: unknown) => /unique|duplicate key/i.test((error as Error)?.message ?? '');
const taken = (id: string) => conflict(`An app with id ${id} already exists in this tenant`);

export async function findApp(db: Kysely<Database>, tenant: string, uid: string): Promise<AppRow | undefined> {
  return db.selectFrom('apps').selectAll().where('tenant_id', '=', tenant).where('uid', '=', uid).executeTakeFirst();
}

export async function findAppById(db: Kysely<Database>, tenant: string, id: string): Promise<AppRow | undefined> {
  return db.selectFrom('apps').selectAll().where('tenant_id', '=', tenant).where('id', '=', id).executeTakeFirst();
}

export async function listApps(db: Kysely<Database>, tenant: string): Promise<AppRow[]> {
  return db.selectFrom('apps').selectAll().where('tenant_id', '=', tenant).orderBy('name').orderBy('uid').execute();
}

export async function insertApp(db: Kysely<Database>, tenant: string, app: AppSource, source: string): Promise<AppRow> {
  const now = Date.now();
  const row: AppRow = { uid: newAppUid(), tenant_id: tenant, ...columnsOf(app, source), enabled: 1, created_at: now, updated_at: now };
  try {
    await db.insertInto('apps').values(row).execute();
  } catch (error) {
    if (isUniqueViolation(error)) throw taken(app.id);
    throw error;
  }
  return row;
}

export async function updateAppSource(db: Kysely<Database>, row: AppRow, app: AppSource, source: string): Promise<AppRow> {
  const changes = { ...columnsOf(app, source), updated_at: Date.now() };
  try {
    await db.updateTable('apps').set(changes).where('uid', '=', row.uid).execute();
  } catch (error) {
    if (isUniqueViolation(error)) throw taken(app.id);
    throw error;
  }
  return { ...row, ...changes };
}

export async function setAppEnabled(db: Kysely<Database>, row: AppRow, enabled: boolean): Promise<AppRow> {
  const changes = { enabled: enabled ? 1 : 0, updated_at: Date.now() };
  await db.updateTable('apps').set(changes).where('uid', '=', row.uid).execute();
  return { ...row, ...changes };
}

export async function deleteApp(db: Kysely<Database>, uid: string): Promise<void> {
  await db.deleteFrom('app_runs').where('app_uid', '=', uid).execute();
  await db.deleteFrom('apps').where('uid', '=', uid).execute();
}

// ---- Runs ------------------------------------------------------------------------------------------

const hashOf = (token: string) => createHash('sha256').update(token).digest('hex');

/** Records an execution the app started and answers the token that names it (shown once, in the run's address). */
export async function insertRun(db: Kysely<Database>, appUid: string, executionId: string, submittedBy: string | null): Promise<string> {
  const token = randomBytes(24).toString('base64url');
  await db.insertInto('app_runs').values({ token_hash: hashOf(token), app_uid: appUid, execution_id: executionId, submitted_by: submittedBy, created_at: Date.now() }).execute();
  return token;
}

/** The execution a run token names for this app, or undefined. */
export async function findRun(db: Kysely<Database>, appUid: string, token: string): Promise<string | undefined> {
  if (!/^[A-Za-z0-9_-]{32}$/.test(token)) return undefined;
  const row = await db.selectFrom('app_runs').select('execution_id').where('token_hash', '=', hashOf(token)).where('app_uid', '=', appUid).executeTakeFirst();
  return row?.execution_id;
}
