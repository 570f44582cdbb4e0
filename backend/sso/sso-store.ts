import type { Selectable } from 'kysely';
import type { Store } from '../store/database.js';
import type { SsoLoginsTable } from '../store/schema.js';
import { sha256Hex } from '../crypto/sha256.js';

export type SsoLoginRow = Selectable<SsoLoginsTable>;

export const hashHandle = sha256Hex;

/** Stores a sign-in in flight; expired ones are swept at the same time. */
export async function saveLoginAttempt(db: Store, row: SsoLoginRow): Promise<void> {
  await db.deleteFrom('sso_logins').where('expires_at', '<', Date.now()).execute();
  await db.insertInto('sso_logins').values(row).execute();
}

/** Takes (reads and deletes) a sign-in in flight: each one can be finished once, by one request. */
export async function takeLoginAttempt(db: Store, idHash: string): Promise<SsoLoginRow | undefined> {
  const row = await db.selectFrom('sso_logins').selectAll().where('id_hash', '=', idHash).executeTakeFirst();
  if (!row) return undefined;
  const deleted = await db.deleteFrom('sso_logins').where('id_hash', '=', idHash).executeTakeFirst();
  if (Number(deleted.numDeletedRows) !== 1) return undefined;
  return row.expires_at >= Date.now() ? row : undefined;
}

export function findIdentity(db: Store, providerId: string, subject: string) {
  return db.selectFrom('sso_identities').selectAll().where('provider_id', '=', providerId).where('subject', '=', subject).executeTakeFirst();
}

/** Links a provider subject to a user; a concurrent identical link is not an error. */
export async function linkIdentity(db: Store, link: { providerId: string; subject: string; userId: string; email: string | null }): Promise<void> {
  const now = Date.now();
  await db
    .insertInto('sso_identities')
    .values({ provider_id: link.providerId, subject: link.subject, user_id: link.userId, email: link.email, created_at: now, last_login_at: now })
    .onConflict((oc) => oc.columns(['provider_id', 'subject']).doNothing())
    .execute();
}

export async function touchIdentity(db: Store, providerId: string, subject: string, email: string | null): Promise<void> {
  await db.updateTable('sso_identities').set({ last_login_at: Date.now(), email }).where('provider_id', '=', providerId).where('subject', '=', subject).execute();
}
