import type { ApiAuditLog, ApiAuditLogItem } from '../../lib/schemas/audit';
import { strings } from '../app/strings';

export function formatDate(iso: string): string {
  const date = new Date(iso);
  return Number.isNaN(date.getTime()) ? iso : date.toLocaleString();
}

/** Who acted: the user's name, else the recorded email or id, else the kind of actor. */
export function actorLabel(item: ApiAuditLogItem): string {
  const { actor } = item.auditLog;
  if (item.user) return item.user.displayName || item.user.username;
  if (actor.email) return actor.email;
  if (actor.id) return actor.id;
  return actor.type === 'SYSTEM' ? strings.audit.system : actor.type === 'ANONYMOUS' ? strings.audit.anonymous : actor.type;
}

/** `FLOW company.team/hello` style: the resource type then its id. */
export function resourceLabel(log: ApiAuditLog): string {
  return [log.detail.resourceType, log.detail.id].filter(Boolean).join(' ');
}
