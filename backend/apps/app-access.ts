import type { Permissions } from '../../lib/authz/catalogue.js';
import { blockNameOf, type AppSource, type BlockName } from '../../lib/schemas/apps.js';
import type { Principal } from '../auth/sessions.js';
import type { PerchContext } from '../context.js';
import { may, requireHolds } from '../iam/access.js';

/** The block names an app's layout uses, at any stage. */
export function blocksUsed(app: AppSource): Set<BlockName> {
  const names = new Set<BlockName>();
  for (const entry of app.layout) for (const block of entry.blocks) {
    const name = blockNameOf(block.type);
    if (name) names.add(name);
  }
  return names;
}

/** An approval app: its PAUSE stage lets someone resume the paused execution. */
export const isApprovalApp = (app: AppSource) => app.layout.some((l) => l.on === 'PAUSE' && l.blocks.some((b) => ['ResumeExecutionForm', 'ResumeExecutionButton'].includes(blockNameOf(b.type) ?? '')));

/**
 * What an app does in Kestra on its visitors' behalf (as Perch's own Kestra account), as Kestra
 * permissions in the app's namespace. Whoever writes an app must hold them there: an app cannot
 * hand out more than its author may do (anti-escalation, as for roles and bindings).
 */
export function permissionsAppUses(app: AppSource): Permissions {
  const used = blocksUsed(app);
  const execution = new Set<NonNullable<Permissions['EXECUTION']>[number]>();
  if (used.has('CancelExecutionButton')) execution.add('KILL');
  if (isApprovalApp(app)) execution.add('RESUME').add('KILL').add('LIST').add('VIEW');
  if (used.has('Logs')) execution.add('ACCESS_LOGS');
  if (used.has('Outputs') || used.has('TaskOutputs')) execution.add('ACCESS_OUTPUTS').add('ACCESS_FILES');
  if (used.has('Inputs')) execution.add('VIEW');
  return { FLOW: ['EXECUTE'], ...(execution.size > 0 ? { EXECUTION: [...execution] } : {}) };
}

export function requireAuthorMayRun(ctx: PerchContext, principal: Principal, tenant: string, app: AppSource): void {
  requireHolds(ctx, principal, tenant, permissionsAppUses(app), app.namespace, `write an app on flow ${app.namespace}.${app.flowId}`);
}

/** The names of the groups a person belongs to in the tenant. */
async function groupNamesOf(ctx: PerchContext, tenant: string, userId: string): Promise<Set<string>> {
  const rows = await ctx.db
    .selectFrom('group_members')
    .innerJoin('groups', 'groups.id', 'group_members.group_id')
    .select('groups.name')
    .where('group_members.tenant_id', '=', tenant)
    .where('group_members.user_id', '=', userId)
    .execute();
  return new Set(rows.map((r) => r.name));
}

/**
 * May this caller use the app (open it, submit its form)? PUBLIC: anyone. PRIVATE: a signed-in person
 * with APP:EXECUTE, and in one of the app's groups when it names some (instance owners always).
 */
export async function mayUseApp(ctx: PerchContext, principal: Principal | null, tenant: string, app: AppSource): Promise<boolean> {
  if (app.access.type === 'PUBLIC') return true;
  return mayApprove(ctx, principal, tenant, app);
}

/** Approving (resuming or killing someone's paused execution) always needs a signed-in person allowed to use the app, public or not. */
export async function mayApprove(ctx: PerchContext, principal: Principal | null, tenant: string, app: AppSource): Promise<boolean> {
  if (!principal) return false;
  if (principal.superAdmin) return true;
  if (!may(ctx, principal, tenant, 'APP', 'EXECUTE')) return false;
  if (app.access.groups.length === 0) return true;
  const mine = await groupNamesOf(ctx, tenant, principal.userId);
  return app.access.groups.some((g) => mine.has(g));
}
