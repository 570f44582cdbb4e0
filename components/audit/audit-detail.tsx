import type { ComponentChildren } from 'preact';
import type { ApiAuditLogItem } from '../../lib/schemas/audit';
import { strings } from '../app/strings';
import { Dialog } from '../ui/dialog';
import { ErrorNotice, Loading } from '../ui/states';
import { useCached } from '../ui/use-cached';
import { auditEntryDiff, type AuditLogScope } from './api';
import { actorLabel, formatDate, resourceLabel } from './format';
import { diffStates, UnifiedDiff } from './unified-diff';

/** Keys of `detail` already shown as their own field. */
const SHOWN_DETAIL_KEYS = new Set(['type', 'resourceType', 'id', 'namespace']);

function Field({ label, children, mono = false }: { label: string; children: ComponentChildren; mono?: boolean }) {
  return (
    <div class="grid grid-cols-[10rem_1fr] gap-2 border-b border-zinc-100 py-1.5 dark:border-zinc-800">
      <dt class="text-zinc-500 dark:text-zinc-400">{label}</dt>
      <dd class={`break-all ${mono ? 'font-mono text-xs' : ''}`}>{children ?? '—'}</dd>
    </div>
  );
}

function Changes({ tenant, id }: { tenant: AuditLogScope; id: string }) {
  const diff = useCached(`audit-diff|${tenant}|${id}`, () => auditEntryDiff(tenant, id));
  if (diff.error && !diff.data) return <ErrorNotice error={diff.error} onRetry={diff.reload} />;
  if (!diff.data) return <Loading />;
  const { before, after, kind } = diff.data;
  if (before === null && after === null) return <p class="text-sm text-zinc-500 dark:text-zinc-400">{strings.audit.noState}</p>;
  const hunks = diffStates(before, after, kind);
  if (hunks.length === 0) return <p class="text-sm text-zinc-500 dark:text-zinc-400">{strings.audit.noChange}</p>;
  return <UnifiedDiff hunks={hunks} label={strings.audit.changes} />;
}

/** Every field of one entry and the change it made, in a drawer on the right. */
export function AuditDetail({ tenant, item, onClose }: { tenant: AuditLogScope; item: ApiAuditLogItem; onClose: () => void }) {
  const log = item.auditLog;
  const extra = Object.fromEntries(Object.entries(log.detail).filter(([key]) => !SHOWN_DETAIL_KEYS.has(key)));
  return (
    <Dialog side title={strings.audit.detailTitle} onClose={onClose}>
      <div id="perch-audit-detail" data-audit-id={log.id} class="flex flex-col gap-4 text-sm">
        <dl>
          <Field label={strings.audit.date}>{formatDate(log.date)}</Field>
          <Field label={strings.audit.actor}>
            {actorLabel(item)}
            {log.actor.id && log.actor.id !== actorLabel(item) && <span class="ml-2 font-mono text-xs text-zinc-500 dark:text-zinc-400">{log.actor.id}</span>}
            <span class="ml-2 text-xs text-zinc-500 dark:text-zinc-400">({log.actor.type})</span>
          </Field>
          {log.impersonatedBy && <Field label={strings.audit.impersonatedBy}>{log.impersonatedBy}</Field>}
          <Field label={strings.audit.action}>{log.type}</Field>
          <Field label={strings.audit.resource}>{resourceLabel(log)}</Field>
          <Field label={strings.audit.namespace}>{log.detail.namespace ?? null}</Field>
          <Field label={strings.audit.outcome}>{log.outcome}</Field>
          <Field label={strings.audit.upstreamStatus}>{log.upstreamStatus ?? null}</Field>
          <Field label={strings.audit.requestId} mono>{log.requestId}</Field>
          <Field label={strings.audit.ip} mono>{log.ipAddress}</Field>
          <Field label={strings.audit.userAgent}>{log.userAgent}</Field>
          <Field label={strings.audit.tenant}>{log.tenantId}</Field>
          <Field label={strings.audit.sequence}>{log.seq}</Field>
          <Field label={strings.audit.hash} mono>{log.hash}</Field>
          <Field label={strings.audit.prevHash} mono>{log.prevHash}</Field>
        </dl>
        {Object.keys(extra).length > 0 && (
          <section aria-label={strings.audit.details}>
            <h3 class="mb-1 font-semibold">{strings.audit.details}</h3>
            <pre class="overflow-auto rounded-md bg-zinc-100 p-2 font-mono text-xs dark:bg-zinc-800">{JSON.stringify(extra, null, 2)}</pre>
          </section>
        )}
        <section aria-label={strings.audit.changes}>
          <h3 class="mb-1 font-semibold">{strings.audit.changes}</h3>
          <Changes tenant={tenant} id={log.id} />
        </section>
      </div>
    </Dialog>
  );
}
