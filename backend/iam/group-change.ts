import type { PerchContext } from '../context.js';
import type { Store } from '../store/database.js';
import { addMember, removeMember } from './iam-store.js';

/** A change of a member's (user's or service account's) groups in one tenant, not yet written. */
export interface GroupChange {
  added: string[];
  removed: string[];
}

export const NO_GROUP_CHANGE: GroupChange = { added: [], removed: [] };

/** The groups of `memberId` in `tenant`, by id. */
export async function memberGroupIds(db: Store, tenant: string, memberId: string): Promise<Set<string>> {
  const rows = await db.selectFrom('group_members').select('group_id').where('tenant_id', '=', tenant).where('user_id', '=', memberId).execute();
  return new Set(rows.map((r) => r.group_id));
}

/** What turns the groups `current` into `wanted`. */
export function groupChangeOf(current: ReadonlySet<string>, wanted: readonly string[]): GroupChange {
  const target = new Set(wanted);
  return { added: [...target].filter((id) => !current.has(id)), removed: [...current].filter((id) => !target.has(id)) };
}

/** Writes a change in `trx` (new members join as MEMBER); {@link indexGroupChange} once it committed. */
export async function writeGroupChange(trx: Store, tenant: string, memberId: string, change: GroupChange): Promise<void> {
  for (const groupId of change.added) await addMember(trx, tenant, groupId, memberId, 'MEMBER');
  for (const groupId of change.removed) await removeMember(trx, groupId, memberId);
}

/** Patches the decision index with a committed change; false when there was nothing to change. */
export function indexGroupChange(ctx: PerchContext, tenant: string, memberId: string, change: GroupChange): boolean {
  if (change.added.length === 0 && change.removed.length === 0) return false;
  for (const groupId of change.added) ctx.authz.addMembership({ tenantId: tenant, groupId, userId: memberId });
  for (const groupId of change.removed) ctx.authz.removeMembership(tenant, groupId, memberId);
  return true;
}
