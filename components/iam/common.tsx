import type { ComponentChildren } from 'preact';
import { useEffect, useState } from 'preact/hooks';
import { strings } from '../app/strings';
import { Button } from '../ui/button';
import { Dialog } from '../ui/dialog';
import { TextField } from '../ui/field';
import { Empty, ErrorNotice, Loading } from '../ui/states';
import { useCached, type Cached } from '../ui/use-cached';
import { useDebounced } from '../ui/use-debounced';
import { PAGE_SIZE, type Page } from './api';

const t = strings.iam;

export const TABLE = 'w-full border-collapse text-left text-sm';
export const TH = 'border-b border-zinc-200 px-3 py-2 text-xs font-semibold tracking-wide text-zinc-500 uppercase dark:border-zinc-700 dark:text-zinc-400';
export const TD = 'border-b border-zinc-100 px-3 py-2 align-middle dark:border-zinc-800';
export const CARD = 'overflow-x-auto rounded-lg border border-zinc-200 bg-white dark:border-zinc-700 dark:bg-zinc-900';

/** Previous / next over a paged list, with the range shown. Renders nothing when one page holds all. */
export function Pager({ page, size, total, onPage }: { page: number; size: number; total: number; onPage: (page: number) => void }) {
  if (total <= size && page === 1) return null;
  const first = total === 0 ? 0 : (page - 1) * size + 1;
  const last = Math.min(page * size, total);
  return (
    <nav aria-label={t.pagination} class="mt-3 flex items-center justify-end gap-2 text-sm text-zinc-600 dark:text-zinc-300">
      <span>{t.range(first, last, total)}</span>
      <Button disabled={page <= 1} onClick={() => onPage(page - 1)}>{t.previous}</Button>
      <Button disabled={last >= total} onClick={() => onPage(page + 1)}>{t.next}</Button>
    </nav>
  );
}

/** A tab's top row: the search box (when the list has one) and the create button. */
export function Toolbar({ search, onSearch, searchLabel, children }: { search?: string; onSearch?: (q: string) => void; searchLabel?: string; children?: ComponentChildren }) {
  return (
    <div class="mb-3 flex flex-wrap items-end justify-between gap-3">
      <div class="w-72 max-w-full">
        {onSearch && (
          <TextField type="search" label={searchLabel ?? strings.common.search} value={search ?? ''} onInput={(event) => onSearch(event.currentTarget.value)} />
        )}
      </div>
      <div class="flex gap-2">{children}</div>
    </div>
  );
}

/**
 * The states of a cached list: the rows once there are any (a stale copy from the cache shows at
 * once), the error (the server's `message`), a loading line the first time, or "nothing here".
 */
export function ListState<T extends { results: unknown[] }>({ list, empty, children }: { list: Cached<T>; empty?: string; children: (data: T) => ComponentChildren }) {
  return (
    <>
      {list.error !== undefined && <div class="mb-3"><ErrorNotice error={list.error} onRetry={list.reload} /></div>}
      {list.data === undefined ? (list.loading ? <Loading /> : null) : list.data.results.length === 0 ? <Empty text={empty} /> : children(list.data)}
    </>
  );
}

/** One column of a DataTable: its header and what each row shows in it. */
export interface Column<Row> {
  header: ComponentChildren;
  cell: (row: Row) => ComponentChildren;
  /** Classes added to the cell's TD. */
  cellClass?: string;
}

export interface DataTableProps<Row> {
  /** The table's accessible name. */
  label: string;
  columns: Column<Row>[];
  /** What the last column (headed for screen readers only) holds: the row's action buttons. */
  actions: (row: Row) => ComponentChildren;
  /** Each row's `data-testid`; the row's id goes in `rowIdAttribute` (e.g. `data-user-id`). */
  rowTestId: string;
  rowIdAttribute: `data-${string}-id`;
}

/** A bordered table, one row per item and one column per `columns` entry, then the actions column. */
export function DataTable<Row extends { id: string }>({ label, columns, actions, rowTestId, rowIdAttribute, rows }: DataTableProps<Row> & { rows: Row[] }) {
  return (
    <div class={CARD}>
      <table class={TABLE} aria-label={label}>
        <thead>
          <tr>
            {columns.map((column, index) => (
              <th key={index} class={TH} scope="col">{column.header}</th>
            ))}
            <th class={TH} scope="col"><span class="sr-only">{t.actions}</span></th>
          </tr>
        </thead>
        <tbody>
          {rows.map((row) => (
            <tr key={row.id} data-testid={rowTestId} {...{ [rowIdAttribute]: row.id }}>
              {columns.map((column, index) => (
                <td key={index} class={column.cellClass ? `${TD} ${column.cellClass}` : TD}>{column.cell(row)}</td>
              ))}
              <td class={TD}>{actions(row)}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}

/** A cached list shown as a DataTable (see ListState for its other states), with a Pager when `paging` is given. */
export function ResourceList<Row extends { id: string }>({ list, empty, paging, ...table }: DataTableProps<Row> & {
  list: Cached<Page<Row>>;
  empty: string;
  paging?: { page: number; onPage: (page: number) => void };
}) {
  return (
    <ListState list={list} empty={empty}>
      {(data) => (
        <>
          <DataTable {...table} rows={data.results} />
          {paging && <Pager page={paging.page} size={PAGE_SIZE} total={data.total} onPage={paging.onPage} />}
        </>
      )}
    </ListState>
  );
}

/** A searched, paged list: "no match" while a search is typed, "empty" otherwise. */
/** The texts of a searched tab (`strings.iam.<tab>`). */
export interface SearchedTexts {
  search: string;
  create: string;
  /** The table's accessible name. */
  table: string;
  empty: string;
  noMatch: string;
}

/** The search box over a searched list, with the tab's create button when the caller may create. */
export function SearchedToolbar({ searched, texts, createTestId, onCreate }: {
  searched: Pick<SearchedListState<unknown>, 'search' | 'setSearch'>;
  texts: SearchedTexts;
  createTestId: string;
  /** Absent when the caller may not create. */
  onCreate?: () => void;
}) {
  return (
    <Toolbar search={searched.search} onSearch={searched.setSearch} searchLabel={texts.search}>
      {onCreate && <Button variant="primary" data-testid={createTestId} onClick={onCreate}>{texts.create}</Button>}
    </Toolbar>
  );
}

export function SearchedList<Row extends { id: string }>({ searched, texts, ...table }: Omit<DataTableProps<Row>, 'label'> & {
  searched: SearchedListState<Row>;
  texts: SearchedTexts;
}) {
  return <ResourceList {...table} label={texts.table} list={searched.list} paging={searched.paging} empty={searched.q ? texts.noMatch : texts.empty} />;
}

/** Which dialog a tab shows, and the two ways out of it: close, or done (the list is read again). */
export function useTabDialog<Open>(list: { reload(): void }) {
  const [open, setOpen] = useState<Open | null>(null);
  const close = () => setOpen(null);
  const done = () => {
    setOpen(null);
    list.reload();
  };
  return { open, setOpen, close, done };
}

/**
 * A searchable, paged list, cached under `${cacheKey}:${page}:${q}`: the query follows the search
 * box once typing pauses, and a new query goes back to page 1.
 */
export type SearchedListState<Row> = ReturnType<typeof useSearchedList<Row>>;

export function useSearchedList<Row>(cacheKey: string, load: (page: number, q: string) => Promise<Page<Row>>) {
  const [search, setSearch] = useState('');
  const q = useDebounced(search.trim(), 300);
  const [page, setPage] = useState(1);
  useEffect(() => setPage(1), [q]);
  const list = useCached(`${cacheKey}:${page}:${q}`, () => load(page, q));
  return { search, setSearch, q, list, paging: { page, onPage: setPage } };
}

/**
 * A dialog holding one form: Enter submits, Escape or Cancel closes, the submit button is busy
 * while the request runs, and a refusal shows the server's message without closing.
 */
export function FormDialog({ title, submitLabel, onSubmit, onClose, children, side, testId }: {
  title: string;
  submitLabel: string;
  onSubmit: () => Promise<unknown>;
  onClose: () => void;
  children: ComponentChildren;
  side?: boolean;
  testId?: string;
}) {
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>(undefined);
  return (
    <Dialog title={title} onClose={onClose} side={side}>
      <form
        class="flex flex-col gap-3"
        data-testid={testId}
        onSubmit={(event) => {
          event.preventDefault();
          if (busy) return;
          setBusy(true);
          setError(undefined);
          onSubmit().then(
            () => setBusy(false),
            (failure: unknown) => {
              setError(failure);
              setBusy(false);
            },
          );
        }}
      >
        {children}
        {error !== undefined && <ErrorNotice error={error} />}
        <div class="mt-2 flex justify-end gap-2">
          <Button onClick={onClose}>{strings.common.cancel}</Button>
          <Button type="submit" variant="primary" disabled={busy}>{submitLabel}</Button>
        </div>
      </form>
    </Dialog>
  );
}

export function Badge({ children, tone = 'neutral' }: { children: ComponentChildren; tone?: 'neutral' | 'warning' | 'accent' | 'danger' }) {
  const tones = {
    neutral: 'bg-zinc-100 text-zinc-700 dark:bg-zinc-800 dark:text-zinc-200',
    warning: 'bg-amber-100 text-amber-800 dark:bg-amber-950 dark:text-amber-200',
    accent: 'bg-kestra-100 text-kestra-700 dark:bg-kestra-700/40 dark:text-kestra-100',
    danger: 'bg-red-100 text-red-800 dark:bg-red-950 dark:text-red-200',
  } as const;
  return <span class={`inline-block rounded px-1.5 py-0.5 text-xs font-medium ${tones[tone]}`}>{children}</span>;
}

/** Row action buttons, right-aligned. */
export function RowActions({ children }: { children: ComponentChildren }) {
  return <div class="flex flex-wrap justify-end gap-1">{children}</div>;
}

/** A local notice for a failed row action outside a dialog (enable/disable, membership…). */
export function ActionError({ error, onDismiss }: { error: unknown; onDismiss: () => void }) {
  if (error === undefined) return null;
  return (
    <div class="mb-3 flex flex-col gap-1">
      <ErrorNotice error={error} />
      <div><Button variant="ghost" onClick={onDismiss}>{t.dismiss}</Button></div>
    </div>
  );
}

/** Runs a row action and keeps its failure for ActionError. */
export function useAction(): { error: unknown; clear: () => void; run: (action: () => Promise<unknown>, then?: () => void) => void } {
  const [error, setError] = useState<unknown>(undefined);
  return {
    error,
    clear: () => setError(undefined),
    run: (action, then) => {
      setError(undefined);
      action().then(() => then?.(), (failure: unknown) => setError(failure));
    },
  };
}
