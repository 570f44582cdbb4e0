import { fireEvent, render, screen, waitFor } from '@testing-library/preact';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { clearCache } from '../../../components/app/cache';
import appsPage from '../../../components/features/apps-page';
import { at, json, mockFetch, person } from '../shell/fixtures';

/** The Apps page (issue 23, point 4): catalog with tag search, enable/disable, public link; YAML editor with errors at their line and preview. */

const author = person({ permissions: { tenantWide: { APP: ['VIEW', 'LIST', 'CREATE', 'UPDATE'] } } });
const app = (uid: string, name: string, tags: string[], enabled = true) => ({
  uid, id: name, name, type: 'io.kestra.plugin.ee.apps.Execution', namespace: 'company.team', flowId: 'hello', tags, enabled,
  created: '2026-01-01T00:00:00.000Z', updated: '2026-01-01T00:00:00.000Z',
});
const SOURCE = 'id: a\ntype: io.kestra.plugin.ee.apps.Execution\nnamespace: company.team\nflowId: hello\nlayout: []\n';

beforeEach(async () => {
  await clearCache();
  Object.defineProperty(navigator, 'clipboard', { value: { writeText: vi.fn(async () => {}) }, configurable: true });
});
afterEach(() => vi.unstubAllGlobals());

describe('apps page', () => {
  it('lists the apps, searches by tag, toggles one, and copies its public link', async () => {
    let enabled = true;
    const api = mockFetch((url, request) => {
      if (url.pathname === '/api/v1/main/apps/tags') return { tags: ['Finance', 'Reporting'] };
      if (url.pathname === '/api/v1/main/apps/search') {
        const tag = url.searchParams.get('filters[tags][IN]');
        const all = [app('U1', 'Reports', ['Reporting'], enabled), app('U2', 'Budget', ['Finance'])];
        const results = tag ? all.filter((a) => a.tags.includes(tag)) : all;
        return { results, total: results.length };
      }
      if (url.pathname === '/api/v1/main/apps/U1/disable' && request.method === 'POST') {
        enabled = false;
        return app('U1', 'Reports', ['Reporting'], false);
      }
      return json({ message: 'unexpected' }, 500);
    });
    render(<>{appsPage.render(at('/ui/main/apps', author))}</>);
    await waitFor(() => expect(screen.getAllByTestId('app-row')).toHaveLength(2));
    fireEvent.change(screen.getByLabelText('Tag'), { target: { value: 'Reporting' } });
    await waitFor(() => expect(screen.getAllByTestId('app-row').map((r) => r.getAttribute('data-app-uid'))).toEqual(['U1']));
    expect(api.urls().at(-1)!.searchParams.get('filters[tags][IN]')).toBe('Reporting');

    fireEvent.click(screen.getByTestId('app-toggle'));
    await waitFor(() => expect(screen.getByTestId('app-row').textContent).toContain('Disabled'));
    fireEvent.click(screen.getByRole('button', { name: 'Copy link' }));
    expect(navigator.clipboard.writeText).toHaveBeenCalledWith(`${location.origin}/ui/main/apps/U1`);
  });

  it('edits an app: each source error at its line (selecting it), then saves and previews', async () => {
    let saves = 0;
    const api = mockFetch(async (url, request) => {
      if (url.pathname === '/api/v1/main/apps/tags') return { tags: [] };
      if (url.pathname === '/api/v1/main/apps/search') return { results: [app('U1', 'Reports', [])], total: 1 };
      if (url.pathname === '/api/v1/main/apps/U1' && request.method === 'GET') return { uid: 'U1', name: 'Reports', namespace: 'company.team', tags: [], disabled: false, source: SOURCE, created: 'x', updated: 'x' };
      if (url.pathname === '/api/v1/main/apps/U1' && request.method === 'PUT') {
        saves += 1;
        if (saves === 1) return json({ message: 'Invalid app source', errors: [{ path: 'layout', message: 'Too small: expected array to have >=1 items', line: 5, column: 9 }] }, 422);
        return { uid: 'U1', name: 'Reports', namespace: 'company.team', tags: [], disabled: false, source: await request.text(), created: 'x', updated: 'x' };
      }
      if (url.pathname === '/api/v1/main/apps/preview') return { layout: { blocks: [{ type: 'io.kestra.plugin.ee.apps.core.blocks.Markdown', content: 'Hello' }] } };
      return json({ message: 'unexpected' }, 500);
    });
    render(<>{appsPage.render(at('/ui/main/apps', author))}</>);
    fireEvent.click(await screen.findByTestId('app-edit'));
    const area = (await screen.findByTestId('app-source')) as HTMLTextAreaElement;
    await waitFor(() => expect(area.value).toBe(SOURCE));

    fireEvent.click(screen.getByTestId('app-save'));
    const line = await screen.findByTestId('app-error-line');
    expect(line.getAttribute('data-line')).toBe('5');
    expect(screen.getByTestId('app-errors').textContent).toContain('Line 5: layout: Too small');
    fireEvent.click(line);
    expect(area.value.slice(area.selectionStart, area.selectionEnd)).toBe('layout: []');

    fireEvent.input(area, { target: { value: SOURCE.replace('layout: []', 'layout:\n  - on: OPEN\n    blocks: []') } });
    fireEvent.click(screen.getByTestId('app-save'));
    await screen.findByText('Saved.');
    const put = api.requests.filter((r) => r.method === 'PUT').at(-1)!;
    expect(put.headers.get('content-type')).toBe('application/x-yaml');
    expect(screen.queryByTestId('app-errors')).toBeNull();

    fireEvent.click(screen.getByTestId('app-preview'));
    expect((await screen.findByTestId('app-preview-blocks')).textContent).toContain('Markdown: Hello');
  });
});
