import { useEffect, useRef, useState } from 'preact/hooks';
import { AUDIT_ACTIONS, INSTANCE_CHAIN, OUTCOMES, type ApiAuditLogItem } from '../../lib/schemas/audit';
import { screenStrings } from '../screens/strings';
import { RESOURCES } from '../../lib/authz/catalogue';
import type { FeatureContext } from '../app/feature';
import { can } from '../app/session';
import { strings } from '../app/strings';
import { Button } from '../ui/button';
import { SelectField, TextField } from '../ui/field';
import { Page } from '../ui/page';
import { ErrorNotice, Loading } from '../ui/states';
import { exportHref, type AuditLogScope } from './api';
import { AuditDetail } from './audit-detail';
import { EMPTY_FILTERS, FILTER_KEYS, filtersFromQuery, filtersToQuery, type AuditFilters } from './filters';
import { actorLabel, formatDate } from './format';
import { useAuditPages } from './use-audit-pages';

const OUTCOME_CLASS: Record<string, string> = {
  SUCCESS: 'bg-green-100 text-green-800 dark:bg-green-950 dark:text-green-200',
  FAILURE: 'bg-red-100 text-red-800 dark:bg-red-950 dark:text-red-200',
  REFUSED: 'bg-amber-100 text-amber-800 dark:bg-amber-950 dark:text-amber-200',
};

/** Writes the applied filters into the page URL without a navigation (Kestra's router is not told). */
function reflectInUrl(filters: AuditFilters): void {
  const query = filtersToQuery(filters, new URLSearchParams(location.search)).toString();
  const url = `${location.pathname}${query ? `?${query}` : ''}${location.hash}`;
  if (url !== `${location.pathname}${location.search}${location.hash}`) history.replaceState(history.state, '', url);
}

function FilterForm({ applied, onApply }: { applied: AuditFilters; onApply: (filters: AuditFilters) => void }) {
  const [draft, setDraft] = useState(applied);
  useEffect(() => setDraft(applied), [applied]);
  const text = (key: keyof AuditFilters) => ({
    value: draft[key],
    onInput: (event: Event) => setDraft((d) => ({ ...d, [key]: (event.currentTarget as HTMLInputElement).value })),
  });
  return (
    <form
      aria-label={strings.audit.filters}
      class="mb-4 grid grid-cols-1 gap-3 rounded-lg border border-zinc-200 bg-white p-4 sm:grid-cols-2 lg:grid-cols-4 dark:border-zinc-700 dark:bg-zinc-900"
      onSubmit={(event) => {
        event.preventDefault();
        onApply(draft);
      }}
    >
      <TextField label={strings.audit.search} type="search" name="q" {...text('q')} />
      <TextField label={strings.audit.namespace} name="namespace" {...text('namespace')} />
      <SelectField label={strings.audit.action} name="type" {...text('type')} onChange={text('type').onInput}>
        <option value="">{strings.audit.any}</option>
        {AUDIT_ACTIONS.map((a) => <option key={a} value={a}>{a}</option>)}
      </SelectField>
      <SelectField label={strings.audit.resourceType} name="resourceType" {...text('resourceType')} onChange={text('resourceType').onInput}>
        <option value="">{strings.audit.any}</option>
        {RESOURCES.map((r) => <option key={r} value={r}>{r}</option>)}
      </SelectField>
      <TextField label={strings.audit.resourceId} name="resourceId" {...text('resourceId')} />
      <TextField label={strings.audit.actor} hint={strings.audit.actorHint} name="userId" {...text('userId')} />
      <SelectField label={strings.audit.outcome} name="outcome" {...text('outcome')} onChange={text('outcome').onInput}>
        <option value="">{strings.audit.any}</option>
        {OUTCOMES.map((o) => <option key={o} value={o}>{o}</option>)}
      </SelectField>
      <div class="grid grid-cols-2 gap-2">
        <TextField label={strings.audit.from} type="date" name="startDate" {...text('startDate')} onChange={text('startDate').onInput} />
        <TextField label={strings.audit.to} type="date" name="endDate" {...text('endDate')} onChange={text('endDate').onInput} />
      </div>
      <div class="flex items-end gap-2 sm:col-span-2 lg:col-span-4">
        <Button type="submit" variant="primary">{strings.audit.apply}</Button>
        <Button
          onClick={() => {
            setDraft(EMPTY_FILTERS);
            onApply(EMPTY_FILTERS);
          }}
        >
          {strings.audit.reset}
        </Button>
      </div>
    </form>
  );
}

function Row({ item, onOpen }: { item: ApiAuditLogItem; onOpen: () => void }) {
  const log = item.auditLog;
  const resource = [log.detail.resourceType, log.detail.id].filter(Boolean).join(' ');
  return (
    <tr
      data-testid="audit-row"
      data-audit-id={log.id}
      tabIndex={0}
      aria-label={strings.audit.openEntry(log.type, resource)}
      class="cursor-pointer border-b border-zinc-100 hover:bg-kestra-50 focus:bg-kestra-50 focus:outline-2 focus:outline-kestra-500 dark:border-zinc-800 dark:hover:bg-zinc-800 dark:focus:bg-zinc-800"
      onClick={onOpen}
      onKeyDown={(event) => {
        if (event.key === 'Enter' || event.key === ' ') {
          event.preventDefault();
          onOpen();
        }
      }}
    >
      <td class="px-3 py-2 whitespace-nowrap">{formatDate(log.date)}</td>
      <td class="px-3 py-2" title={log.actor.id ?? undefined}>{actorLabel(item)}</td>
      <td class="px-3 py-2 font-medium">{log.type}</td>
      <td class="px-3 py-2">
        <span class="text-zinc-500 dark:text-zinc-400">{log.detail.resourceType}</span>{' '}
        {item.resourceName ? (
          <>
            <span data-testid="audit-resource-name" title={log.detail.id ?? undefined}>{item.resourceName}</span>
            {/* The id stays in the row's text (search, copy, assistive technology); sighted people see it on hover. */}
            {log.detail.id && <span class="sr-only"> ({log.detail.id})</span>}
          </>
        ) : (
          <span class="font-mono text-xs break-all">{log.detail.id ?? ''}</span>
        )}
        {log.tenantId === INSTANCE_CHAIN && <span class="ml-1 rounded bg-zinc-100 px-1 text-xs text-zinc-600 dark:bg-zinc-800 dark:text-zinc-300">{screenStrings.audit.instanceBadge}</span>}
      </td>
      <td class="px-3 py-2">{log.detail.namespace ?? ''}</td>
      <td class="px-3 py-2">
        <span class={`rounded px-1.5 py-0.5 text-xs font-medium ${OUTCOME_CLASS[log.outcome] ?? ''}`}>{log.outcome}</span>
      </td>
    </tr>
  );
}

/** Loads the next page when the end of the list scrolls into view (the "Load more" button does the same by keyboard). */
function useSentinel(onVisible: () => void, active: boolean, count: number) {
  const ref = useRef<HTMLDivElement>(null);
  const callback = useRef(onVisible);
  callback.current = onVisible;
  useEffect(() => {
    const sentinel = ref.current;
    if (!active || !sentinel || typeof IntersectionObserver === 'undefined') return;
    // Observed anew after each page: a sentinel still in view after the rows arrived fires again.
    const observer = new IntersectionObserver((entries) => {
      if (entries.some((e) => e.isIntersecting)) callback.current();
    }, { rootMargin: '200px 0px' });
    observer.observe(sentinel);
    return () => observer.disconnect();
  }, [active, count]);
  return ref;
}

/** The scope a `?log=` value names: the tenant's log, every chain (`all`) or the instance chain (`instance`). */
function scopeOf(log: string | null, tenant: string): AuditLogScope {
  return log === 'all' ? null : log === 'instance' ? INSTANCE_CHAIN : tenant;
}

/** No entry: says what was searched (which log, which filters) and offers to clear the filters. */
function EmptyExplained({ filters, scope, tenant, onReset }: { filters: AuditFilters; scope: AuditLogScope; tenant: string; onReset: () => void }) {
  const applied = FILTER_KEYS.filter((key) => filters[key].trim() !== '');
  const where = scope === null ? screenStrings.audit.allLogs(tenant) : scope === INSTANCE_CHAIN ? strings.audit.instanceLog : strings.audit.tenantLog(tenant);
  return (
    <div data-testid="audit-empty" class="rounded-lg border border-zinc-200 bg-white p-4 text-sm dark:border-zinc-700 dark:bg-zinc-900">
      <p class="mb-1 font-medium">{strings.audit.empty}</p>
      <p class="text-zinc-600 dark:text-zinc-400">
        {applied.length === 0 ? screenStrings.audit.emptyNoFilter(where) : screenStrings.audit.emptyFiltered(where, applied.map((key) => `${key} = ${filters[key]}`).join(', '))}
      </p>
      {applied.length > 0 && <Button class="mt-2" onClick={onReset}>{screenStrings.audit.clearFilters}</Button>}
    </div>
  );
}

export function AuditLogPage({ context }: { context: FeatureContext }) {
  const { me } = context;
  const [filters, setFilters] = useState(() => filtersFromQuery(new URLSearchParams(location.search)));
  // Instance owners may also read the instance-wide chain (`?log=instance`) or every chain together (`?log=all`).
  const [scope, setScope] = useState<AuditLogScope>(() => scopeOf(me.superAdmin ? new URLSearchParams(location.search).get('log') : null, context.tenant));
  const tenant = scope;
  const [open, setOpen] = useState<ApiAuditLogItem | null>(null);
  const pages = useAuditPages(tenant, filters);
  const sentinel = useSentinel(pages.loadMore, pages.hasMore && !pages.loadingMore && !pages.moreError, pages.items.length);
  const mayExport = can(me, 'AUDITLOG', 'EXPORT', 'anywhere');

  const apply = (next: AuditFilters) => {
    reflectInUrl(next);
    setFilters(next);
  };

  return (
    <div id="perch-audit">
      <Page
        title={strings.audit.title}
        actions={
          mayExport && (
            <>
              <a class="rounded-md border border-zinc-300 bg-white px-3 py-1.5 text-sm font-medium hover:bg-zinc-50 dark:border-zinc-600 dark:bg-zinc-800 dark:hover:bg-zinc-700" href={exportHref(tenant, filters, 'csv')} download>
                {strings.audit.exportCsv}
              </a>
              <a class="rounded-md border border-zinc-300 bg-white px-3 py-1.5 text-sm font-medium hover:bg-zinc-50 dark:border-zinc-600 dark:bg-zinc-800 dark:hover:bg-zinc-700" href={exportHref(tenant, filters, 'json')} download>
                {strings.audit.exportJson}
              </a>
            </>
          )
        }
      >
        {me.superAdmin && (
          <div class="mb-3 max-w-xs">
            <SelectField
              label={strings.audit.log}
              value={scope === null ? 'all' : scope === INSTANCE_CHAIN ? 'instance' : 'tenant'}
              onChange={(event) => {
                const log = event.currentTarget.value;
                const url = new URL(location.href);
                if (log === 'tenant') url.searchParams.delete('log');
                else url.searchParams.set('log', log);
                history.replaceState(history.state, '', url);
                setScope(scopeOf(log, context.tenant));
              }}
            >
              <option value="tenant">{strings.audit.tenantLog(context.tenant)}</option>
              <option value="all">{screenStrings.audit.allLogs(context.tenant)}</option>
              <option value="instance">{strings.audit.instanceLog}</option>
            </SelectField>
          </div>
        )}
        <FilterForm applied={filters} onApply={apply} />
        {pages.error !== undefined && pages.items.length === 0 ? (
          <ErrorNotice error={pages.error} onRetry={pages.reload} />
        ) : pages.loading ? (
          <Loading />
        ) : pages.items.length === 0 ? (
          <EmptyExplained filters={filters} scope={scope} tenant={context.tenant} onReset={() => apply(EMPTY_FILTERS)} />
        ) : (
          <>
            <p aria-live="polite" class="mb-2 text-sm text-zinc-500 dark:text-zinc-400">
              {pages.refreshing ? strings.common.loading : strings.audit.count(pages.items.length, pages.total ?? pages.items.length)}
            </p>
            <div aria-busy={pages.refreshing} class={`overflow-x-auto rounded-lg border border-zinc-200 bg-white dark:border-zinc-700 dark:bg-zinc-900 ${pages.refreshing ? 'opacity-60' : ''}`}>
              <table class="w-full text-left text-sm" aria-label={strings.audit.table}>
                <thead class="border-b border-zinc-200 text-xs text-zinc-500 uppercase dark:border-zinc-700 dark:text-zinc-400">
                  <tr>
                    <th scope="col" class="px-3 py-2">{strings.audit.date}</th>
                    <th scope="col" class="px-3 py-2">{strings.audit.actor}</th>
                    <th scope="col" class="px-3 py-2">{strings.audit.action}</th>
                    <th scope="col" class="px-3 py-2">{strings.audit.resource}</th>
                    <th scope="col" class="px-3 py-2">{strings.audit.namespace}</th>
                    <th scope="col" class="px-3 py-2">{strings.audit.outcome}</th>
                  </tr>
                </thead>
                <tbody>
                  {pages.items.map((item) => <Row key={item.auditLog.id} item={item} onOpen={() => setOpen(item)} />)}
                </tbody>
              </table>
            </div>
            <div ref={sentinel} data-testid="audit-sentinel" class="h-px" />
            {pages.moreError !== undefined && <ErrorNotice error={pages.moreError} onRetry={pages.loadMore} />}
            {pages.loadingMore && <Loading />}
            {pages.hasMore && !pages.loadingMore && (
              <div class="mt-3 flex justify-center">
                <Button onClick={pages.loadMore}>{strings.common.loadMore}</Button>
              </div>
            )}
          </>
        )}
      </Page>
      {open && <AuditDetail tenant={tenant} item={open} onClose={() => setOpen(null)} />}
    </div>
  );
}
