import { render, waitFor, within } from '@testing-library/preact';
import { afterEach, describe, expect, it } from 'vitest';
import { PerchSidebar } from '../../../components/shell/sidebar';
import { at, person } from './fixtures';

/**
 * A stand-in for Kestra 2.0's left menu as the design system renders it at c94e7743 (KsSideBar: nav.ks-sidebar;
 * KsSideBarItem: `a.ks-sidebar-item`, Enterprise ones `is-locked` with the LockOutline icon `.ks-sidebar-item__lock`).
 * The ids are test handles only: the real items have none.
 */
function stockMenu(items: [string, string, boolean][], options: { collapsed?: boolean } = {}): HTMLElement {
  const menu = document.createElement('nav');
  menu.id = 'side-menu';
  menu.className = options.collapsed ? 'ks-sidebar is-collapsed' : 'ks-sidebar';
  menu.innerHTML = items
    .map(([id, route, locked]) => `<a id="${id}" href="/ui/main/${route}" class="ks-sidebar-item${locked ? ' is-locked' : ''}"><span class="ks-sidebar-item__title">${id}</span>${locked ? '<span class="material-design-icon lock-outline-icon ks-sidebar-item__lock" role="img" aria-label="Lock Outline"></span>' : ''}</a>`)
    .join('');
  document.body.append(menu);
  return menu;
}

const ENTERPRISE: [string, string, boolean][] = [
  ['flows', 'flows', false],
  ['apps', 'apps', true],
  ['audit-logs', 'admin/auditlogs', true],
  ['iam', 'admin/iam', true],
  ['instance', 'admin/instance', true],
  ['tenants', 'admin/tenants/list', false],
];

const locked = (id: string) => document.getElementById(id)!.classList.contains('is-locked');
const badgeShown = (id: string) => document.getElementById(id)!.querySelector<HTMLElement>('.ks-sidebar-item__lock')?.style.display !== 'none';

describe('the stock menu’s Enterprise items become Perch’s', () => {
  afterEach(() => {
    localStorage.clear();
    document.getElementById('side-menu')?.remove();
    history.replaceState(null, '', '/');
  });

  it('unlocks every item an instance owner may use, without the EE badge, and adds no second section', async () => {
    stockMenu(ENTERPRISE);
    render(<PerchSidebar context={at('/ui/main/flows', person({ superAdmin: true }))} />);
    for (const id of ['apps', 'audit-logs', 'iam', 'instance']) {
      expect(locked(id), id).toBe(false);
      expect(badgeShown(id), id).toBe(false);
    }
    expect(document.getElementById('iam')!.dataset.perchScreen).toBe('iam');
    expect(document.getElementById('perch-sidebar')).toBeNull();
  });

  it('leaves locked what the person may not use, and works on the collapsed menu', () => {
    stockMenu(ENTERPRISE, { collapsed: true });
    const auditor = person({ permissions: { namespaces: { company: { AUDITLOG: ['LIST'] } } } });
    render(<PerchSidebar context={at('/ui/main/flows', auditor)} />);
    expect(locked('audit-logs')).toBe(false);
    expect(badgeShown('audit-logs')).toBe(false);
    for (const id of ['apps', 'iam', 'instance']) {
      expect(locked(id), id).toBe(true);
      expect(badgeShown(id), id).toBe(true);
    }
    expect(document.getElementById('perch-sidebar')).toBeNull();
  });

  it('lists in its own section only the screens a customised menu lacks, and unlocks an item the menu re-renders locked', async () => {
    // The person hid IAM and Instance from their menu.
    const menu = stockMenu(ENTERPRISE.filter(([id]) => id !== 'iam' && id !== 'instance'));
    render(<PerchSidebar context={at('/ui/main/flows', person({ superAdmin: true }))} />);
    const section = document.getElementById('perch-sidebar')!;
    expect(within(section).getAllByRole('link').map((a) => a.textContent)).toEqual(['IAM', 'Instance']);
    // Kestra re-renders an item with its lock: Perch takes it again.
    document.getElementById('audit-logs')!.classList.add('is-locked');
    await waitFor(() => expect(locked('audit-logs')).toBe(false));
    // The person shows IAM again: it leaves Perch's section for the stock menu.
    menu.insertAdjacentHTML('beforeend', '<a id="iam" href="/ui/main/admin/iam" class="ks-sidebar-item is-locked"><span class="ks-sidebar-item__title">IAM</span><span class="material-design-icon lock-outline-icon ks-sidebar-item__lock" role="img" aria-label="Lock Outline"></span></a>');
    await waitFor(() => expect(within(document.getElementById('perch-sidebar')!).getAllByRole('link').map((a) => a.textContent)).toEqual(['Instance']));
    expect(locked('iam')).toBe(false);
  });

  it('highlights an item the first time a person meets it as Perch’s, once per browser', () => {
    stockMenu(ENTERPRISE);
    const first = render(<PerchSidebar context={at('/ui/main/flows', person({ superAdmin: true }))} />);
    expect(document.getElementById('iam')!.dataset.perchNew).toBe('true');
    expect(document.getElementById('iam')!.style.boxShadow).not.toBe('');
    expect(document.getElementById('flows')!.dataset.perchNew).toBeUndefined();
    first.unmount();
    document.getElementById('side-menu')!.remove();
    stockMenu(ENTERPRISE);
    render(<PerchSidebar context={at('/ui/main/flows', person({ superAdmin: true }))} />);
    expect(document.getElementById('iam')!.classList.contains('is-locked')).toBe(false);
    expect(document.getElementById('iam')!.dataset.perchNew).toBeUndefined();
    expect(document.getElementById('iam')!.style.boxShadow).toBe('');
  });
});
