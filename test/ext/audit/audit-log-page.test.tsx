import { fireEvent, render, screen, waitFor, within } from '@testing-library/preact';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { clearCache } from '../../../components/app/cache';
import { AuditLogPage } from '../../../components/audit/audit-page';
import { PAGE_SIZE } from '../../../components/audit/api';
import { diffStates } from '../../../components/audit/unified-diff';
import auditFeature from '../../../components/features/audit-log-page';
import type { ApiAuditLogItem } from '../../../lib/schemas/audit';
import { at, auditItem, mockFetch, person } from '../shell/fixtures';

const auditor = person({ permissions: { tenantWide: { AUDITLOG: ['VIEW', 'LIST', 'EXPORT'] } } });
const SEARCH = '/api/v1/main/auditlogs/search';

/** A fake audit log of `total` entries, served page by page as Perch does. */
function auditLogOf(total: number) {
  const entries = Array.from({ length: total }, (_, i) => auditItem({ id: `e${i}`, resourceId: `flow-${i}` }));
  return (url: URL) => {
    const page = Number(url.searchParams.get('page'));
    const size = Number(url.searchParams.get('size'));
    return { results: entries.slice((page - 1) * size, page * size), total };
  };
}

/** A controllable IntersectionObserver: tests decide when the sentinel scrolls into view. */
class FakeObserver {
  static all: FakeObserver[] = [];
  target: Element | undefined;
  live = true;
  constructor(readonly callback: IntersectionObserverCallback) {
    FakeObserver.all.push(this);
  }
  observe(target: Element) {
    this.target = target;
  }
  disconnect() {
    this.live = false;
  }
  unobserve() {}
  takeRecords() {
    return [];
  }
  static scrollIntoView() {
    const observer = FakeObserver.all.filter((o) => o.live && o.target).at(-1);
    if (!observer) throw new Error('no live IntersectionObserver');
    observer.callback([{ isIntersecting: true, target: observer.target! } as IntersectionObserverEntry], observer as unknown as IntersectionObserver);
  }
}

beforeEach(async () => {
  await clearCache();
  FakeObserver.all = [];
  vi.stubGlobal('IntersectionObserver', FakeObserver);
});
afterEach(() => {
  vi.unstubAllGlobals();
});

const rows = () => screen.queryAllByTestId('audit-row');

describe('audit log page: filters', () => {
  it('searches with the filters of the page URL, dropping values Perch would refuse', async () => {
    const api = mockFetch(() => ({ results: [auditItem({ type: 'UPDATE', resourceType: 'FLOW', resourceId: 'hello' })], total: 1 }));
    render(<AuditLogPage context={at('/ui/main/admin/auditlogs?namespace=company&type=UPDATE&resourceType=NOPE&startDate=yesterday', auditor)} />);
    await waitFor(() => expect(rows()).toHaveLength(1));
    const url = api.urls()[0]!;
    expect(url.pathname).toBe(SEARCH);
    expect(Object.fromEntries(url.searchParams)).toEqual({ namespace: 'company', type: 'UPDATE', page: '1', size: String(PAGE_SIZE), sort: 'date:desc' });
    expect(rows()[0]!.textContent).toContain('UPDATE');
    expect(rows()[0]!.textContent).toContain('FLOW');
    expect(rows()[0]!.textContent).toContain('hello');
    expect((screen.getByLabelText('Namespace') as HTMLInputElement).value).toBe('company');
    expect((screen.getByLabelText('Action') as HTMLSelectElement).value).toBe('UPDATE');
  });

  it('sends every filter under the names Perch reads and writes them into the URL', async () => {
    const api = mockFetch(() => ({ results: [], total: 0 }));
    render(<AuditLogPage context={at('/ui/main/admin/auditlogs?tab=x', auditor)} />);
    await screen.findByText('No audit log entry matches these filters.');
    fireEvent.input(screen.getByLabelText('Search'), { target: { value: 'deploy' } });
    fireEvent.input(screen.getByLabelText('Namespace'), { target: { value: 'company.team' } });
    fireEvent.change(screen.getByLabelText('Action'), { target: { value: 'DELETE' } });
    fireEvent.change(screen.getByLabelText('Resource type'), { target: { value: 'SECRET' } });
    fireEvent.input(screen.getByLabelText('Resource id'), { target: { value: 'DB_PASSWORD' } });
    fireEvent.input(screen.getByLabelText('Actor'), { target: { value: 'bob@acme.io' } });
    fireEvent.change(screen.getByLabelText('Outcome'), { target: { value: 'REFUSED' } });
    fireEvent.change(screen.getByLabelText('From'), { target: { value: '2026-01-01' } });
    fireEvent.change(screen.getByLabelText('To'), { target: { value: '2026-01-31' } });
    // Nothing is sent before the filters are applied.
    expect(api.requests).toHaveLength(1);
    fireEvent.click(screen.getByRole('button', { name: 'Apply filters' }));
    await waitFor(() => expect(api.requests).toHaveLength(2));
    const sent = Object.fromEntries(api.urls()[1]!.searchParams);
    expect(sent).toEqual({
      q: 'deploy',
      namespace: 'company.team',
      type: 'DELETE',
      resources: 'SECRET',
      resourceId: 'DB_PASSWORD',
      userId: 'bob@acme.io',
      outcome: 'REFUSED',
      startDate: new Date('2026-01-01T00:00:00.000').toISOString(),
      endDate: new Date('2026-01-31T23:59:59.999').toISOString(),
      page: '1',
      size: String(PAGE_SIZE),
      sort: 'date:desc',
    });
    const page = new URLSearchParams(location.search);
    expect(page.get('tab')).toBe('x');
    expect(page.get('q')).toBe('deploy');
    expect(page.get('namespace')).toBe('company.team');
    expect(page.get('type')).toBe('DELETE');
    expect(page.get('resourceType')).toBe('SECRET');
    expect(page.get('startDate')).toBe('2026-01-01');
    // The export links carry the same filters.
    const csv = new URL(screen.getByRole('link', { name: 'Export CSV' }).getAttribute('href')!, location.origin);
    expect(csv.pathname).toBe('/api/v1/main/auditlogs/export');
    expect(csv.searchParams.get('format')).toBe('csv');
    expect(csv.searchParams.get('namespace')).toBe('company.team');
    expect(csv.searchParams.get('resources')).toBe('SECRET');
    const jsonl = new URL(screen.getByRole('link', { name: 'Export JSON lines' }).getAttribute('href')!, location.origin);
    expect(jsonl.searchParams.get('format')).toBe('json');
    expect(jsonl.searchParams.get('q')).toBe('deploy');

    fireEvent.click(screen.getByRole('button', { name: 'Reset' }));
    await waitFor(() => expect(api.requests).toHaveLength(3));
    expect(Object.fromEntries(api.urls()[2]!.searchParams)).toEqual({ page: '1', size: String(PAGE_SIZE), sort: 'date:desc' });
    expect(location.search).toBe('?tab=x');
  });

  it('hides the export links from people without AUDITLOG:EXPORT', async () => {
    mockFetch(() => ({ results: [auditItem()], total: 1 }));
    const reader = person({ permissions: { namespaces: { company: { AUDITLOG: ['LIST', 'VIEW'] } } } });
    render(<AuditLogPage context={at('/ui/main/admin/auditlogs', reader)} />);
    await waitFor(() => expect(rows()).toHaveLength(1));
    expect(screen.queryByRole('link', { name: 'Export CSV' })).toBeNull();
  });

  it('is offered to whoever may list audit entries somewhere, and to no one else', () => {
    expect(auditFeature.mayUse(person({ permissions: { namespaces: { company: { AUDITLOG: ['LIST'] } } } }))).toBe(true);
    expect(auditFeature.mayUse(person({ permissions: { tenantWide: { FLOW: ['LIST'] } } }))).toBe(false);
  });
});

describe('audit log page: paging', () => {
  it('"Load more" fetches the next page and appends it', async () => {
    const api = mockFetch(auditLogOf(PAGE_SIZE * 2 + 20));
    render(<AuditLogPage context={at('/ui/main/admin/auditlogs', auditor)} />);
    await waitFor(() => expect(rows()).toHaveLength(PAGE_SIZE));
    expect(screen.getByText(`${PAGE_SIZE} of ${PAGE_SIZE * 2 + 20} entries`)).toBeTruthy();
    fireEvent.click(screen.getByRole('button', { name: 'Load more' }));
    await waitFor(() => expect(rows()).toHaveLength(PAGE_SIZE * 2));
    expect(api.urls()[1]!.searchParams.get('page')).toBe('2');
    // Appended, in order, nothing replaced.
    expect(rows()[0]!.dataset.auditId).toBe('e0');
    expect(rows()[PAGE_SIZE]!.dataset.auditId).toBe(`e${PAGE_SIZE}`);
    fireEvent.click(screen.getByRole('button', { name: 'Load more' }));
    await waitFor(() => expect(rows()).toHaveLength(PAGE_SIZE * 2 + 20));
    expect(screen.queryByRole('button', { name: 'Load more' })).toBeNull();
    expect(api.requests).toHaveLength(3);
  });

  it('scrolling the end of the list into view loads the next page', async () => {
    const api = mockFetch(auditLogOf(PAGE_SIZE + 5));
    render(<AuditLogPage context={at('/ui/main/admin/auditlogs?namespace=company', auditor)} />);
    await waitFor(() => expect(rows()).toHaveLength(PAGE_SIZE));
    await waitFor(() => expect(FakeObserver.all.at(-1)?.target).toBe(screen.getByTestId('audit-sentinel')));
    FakeObserver.scrollIntoView();
    await waitFor(() => expect(rows()).toHaveLength(PAGE_SIZE + 5));
    const next = api.urls()[1]!;
    expect(next.searchParams.get('page')).toBe('2');
    expect(next.searchParams.get('namespace')).toBe('company');
    // Everything loaded: the sentinel stops asking.
    await waitFor(() => expect(FakeObserver.all.filter((o) => o.live)).toHaveLength(0));
    expect(api.requests).toHaveLength(2);
  });

  it('starts from page 1 again when the filters change', async () => {
    const api = mockFetch(auditLogOf(PAGE_SIZE * 3));
    render(<AuditLogPage context={at('/ui/main/admin/auditlogs', auditor)} />);
    await waitFor(() => expect(rows()).toHaveLength(PAGE_SIZE));
    fireEvent.click(screen.getByRole('button', { name: 'Load more' }));
    await waitFor(() => expect(rows()).toHaveLength(PAGE_SIZE * 2));
    fireEvent.input(screen.getByLabelText('Namespace'), { target: { value: 'other' } });
    fireEvent.submit(screen.getByRole('form', { name: 'Audit log filters' }));
    await waitFor(() => expect(api.requests).toHaveLength(3));
    expect(api.urls()[2]!.searchParams.get('page')).toBe('1');
    await waitFor(() => expect(rows()).toHaveLength(PAGE_SIZE));
  });
});

describe('audit log page: detail drawer', () => {
  const entry = auditItem({ id: 'e-role', type: 'UPDATE', resourceType: 'ROLE', resourceId: 'ops', namespace: null });
  const before = JSON.stringify({ id: 'ops', name: 'Operators', permissions: { FLOW: ['LIST', 'VIEW'] } });
  const after = JSON.stringify({ id: 'ops', name: 'Operators', permissions: { FLOW: ['LIST', 'VIEW', 'EXECUTE'], SECRET: ['LIST'] } });

  function serve(items: ApiAuditLogItem[]) {
    return mockFetch((url) => {
      if (url.pathname === SEARCH) return { results: items, total: items.length };
      if (url.pathname === '/api/v1/main/auditlogs/e-role/diff') return { before, after, kind: 'role', unified: '' };
      return new Response('{}', { status: 404 });
    });
  }

  it('a click on a row opens the entry with every field and the before/after diff', async () => {
    serve([entry]);
    render(<AuditLogPage context={at('/ui/main/admin/auditlogs', auditor)} />);
    fireEvent.click(await screen.findByTestId('audit-row'));
    const detail = await waitFor(() => {
      const found = document.getElementById('perch-audit-detail');
      if (!found) throw new Error('no drawer');
      return found;
    });
    const text = detail.textContent!;
    for (const expected of ['Ada Lovelace', 'UPDATE', 'ROLE ops', 'SUCCESS', '200', entry.auditLog.requestId!, '10.0.0.7', 'Mozilla/5.0 test', entry.auditLog.hash]) {
      expect(text).toContain(expected);
    }
    const diff = await within(detail).findByTestId('audit-diff');
    const added = [...diff.querySelectorAll('[data-change=added]')].map((l) => l.textContent);
    const removed = [...diff.querySelectorAll('[data-change=removed]')].map((l) => l.textContent);
    // Pretty-printed JSON, one value per line, with +/- markers readable without colour.
    expect(added.some((l) => l!.includes('+') && l!.includes('"EXECUTE"'))).toBe(true);
    expect(added.some((l) => l!.includes('"SECRET": ['))).toBe(true);
    expect(removed.some((l) => l!.includes('-      "VIEW"'))).toBe(true);
    expect(added.some((l) => l!.includes('+      "VIEW",'))).toBe(true);
    // Unchanged lines are context, not changes.
    expect([...diff.querySelectorAll('[data-change=context]')].some((l) => l.textContent!.includes('"permissions": {'))).toBe(true);
    expect(added.concat(removed).some((l) => l!.includes('Operators'))).toBe(false);
  });

  it('Enter on a focused row opens it too, and the drawer closes', async () => {
    serve([entry]);
    render(<AuditLogPage context={at('/ui/main/admin/auditlogs', auditor)} />);
    const row = await screen.findByTestId('audit-row');
    expect(row.tabIndex).toBe(0);
    fireEvent.keyDown(row, { key: 'Enter' });
    await screen.findByTestId('audit-diff');
    fireEvent.click(screen.getByRole('button', { name: 'Close' }));
    await waitFor(() => expect(document.getElementById('perch-audit-detail')).toBeNull());
  });
});

describe('state diffs', () => {
  it("diffs a flow's YAML as text, line by line", () => {
    const hunks = diffStates('id: hello\nnamespace: company\ntasks: []\n', 'id: hello\nnamespace: company\ntasks:\n  - id: log\n', 'flow-source');
    const lines = hunks.flatMap((h) => h.lines);
    expect(lines.filter((l) => l.kind === 'removed').map((l) => l.text)).toEqual(['-tasks: []']);
    expect(lines.filter((l) => l.kind === 'added').map((l) => l.text)).toEqual(['+tasks:', '+  - id: log']);
  });

  it('keeps a namespace file as written, even when it is JSON', () => {
    const lines = diffStates('{"a":1}\n', '{"a":2}\n', 'namespace-file').flatMap((h) => h.lines);
    expect(lines.map((l) => l.text)).toEqual(['-{"a":1}', '+{"a":2}']);
  });

  it('shows a creation as every line added and no change as no hunk', () => {
    const created = diffStates(null, '{"a":1}', 'group').flatMap((h) => h.lines);
    expect(created.every((l) => l.kind === 'added')).toBe(true);
    expect(created.map((l) => l.text)).toEqual(['+{', '+  "a": 1', '+}']);
    expect(diffStates('{"a":1}', '{ "a": 1 }', 'group')).toEqual([]);
  });
});

describe('audit log page: the instance-wide log', () => {
  it('lets an instance owner switch to the instance log, and keeps the choice in the URL', async () => {
    const api = mockFetch(() => ({ results: [auditItem({ type: 'CREATE', resourceType: 'USER', resourceId: 'u-42' })], total: 1 }));
    render(<AuditLogPage context={at('/ui/main/admin/auditlogs', person({ superAdmin: true }))} />);
    await waitFor(() => expect(rows()).toHaveLength(1));
    expect(api.urls()[0]!.pathname).toBe(SEARCH);
    fireEvent.change(screen.getByLabelText('Log'), { target: { value: 'instance' } });
    await waitFor(() => expect(api.urls().at(-1)!.pathname).toBe('/api/v1/auditlogs/search'));
    // The instance chain alone: narrowed by `chain`.
    expect(api.urls().at(-1)!.searchParams.get('chain')).toBe('_instance');
    expect(new URLSearchParams(location.search).get('log')).toBe('instance');
    expect(screen.getByText('Export CSV').getAttribute('href')).toMatch(/^\/api\/v1\/auditlogs\/export\?.*chain=_instance/);
    // Tenant and instance together: every chain, no `chain`.
    fireEvent.change(screen.getByLabelText('Log'), { target: { value: 'all' } });
    await waitFor(() => expect(api.urls().at(-1)!.searchParams.has('chain')).toBe(false));
    expect(api.urls().at(-1)!.pathname).toBe('/api/v1/auditlogs/search');
    expect(new URLSearchParams(location.search).get('log')).toBe('all');
  });

  it('names resources and actors, with their ids on hover, and marks instance entries', async () => {
    const binding = { ...auditItem({ type: 'CREATE', resourceType: 'BINDING', resourceId: 'b-7', namespace: null }), resourceName: 'ada@acme.io → Admin on company.team' };
    const user = auditItem({ type: 'CREATE', resourceType: 'USER', resourceId: 'u-42', namespace: null });
    const instanceUser = { ...user, auditLog: { ...user.auditLog, tenantId: '_instance' }, resourceName: 'bob@acme.io' };
    mockFetch(() => ({ results: [binding, instanceUser], total: 2 }));
    render(<AuditLogPage context={at('/ui/main/admin/auditlogs?log=all', person({ superAdmin: true }))} />);
    await waitFor(() => expect(rows()).toHaveLength(2));
    const names = screen.getAllByTestId('audit-resource-name');
    expect(names.map((n) => [n.textContent, n.getAttribute('title')])).toEqual([['ada@acme.io → Admin on company.team', 'b-7'], ['bob@acme.io', 'u-42']]);
    expect(rows()[1]!.textContent).toContain('instance');
    expect(rows()[0]!.textContent).not.toContain('instance');
    expect(screen.getAllByText('Ada Lovelace')[0]!.getAttribute('title')).toBe('u-ada');
  });

  it('explains an empty result: which log was searched, with which filters, and offers to clear them', async () => {
    const api = mockFetch(() => ({ results: [], total: 0 }));
    render(<AuditLogPage context={at('/ui/main/admin/auditlogs?namespace=nowhere&startDate=2026-01-01', auditor)} />);
    const empty = await screen.findByTestId('audit-empty');
    expect(empty.textContent).toContain('Searched Tenant main with startDate = 2026-01-01, namespace = nowhere.');
    fireEvent.click(within(empty).getByRole('button', { name: 'Clear the filters' }));
    await waitFor(() => expect(api.urls().at(-1)!.searchParams.has('namespace')).toBe(false));
    expect((await screen.findByTestId('audit-empty')).textContent).toContain('Nothing was recorded yet in: Tenant main.');
  });

  it('offers no log choice to people who are not instance owners', async () => {
    mockFetch(() => ({ results: [], total: 0 }));
    render(<AuditLogPage context={at('/ui/main/admin/auditlogs?log=instance', auditor)} />);
    await screen.findByText('No audit log entry matches these filters.');
    expect(screen.queryByLabelText('Log')).toBeNull();
  });
});
