import { useLayoutEffect, useState } from 'preact/hooks';
import { uiPath } from '../app/routes';

/**
 * The stock menu's Enterprise items (IAM, Audit Logs, Tenants, Instance, Apps) made Perch's: for a
 * person allowed to use a screen, its stock item is unlocked (no `is-locked` / `locked` class, no EE
 * badge) instead of a second entry repeating it. Items are found by where they link, not by their
 * (locale-dependent) id or text, in the 2.0 sidebar (`.ks-sidebar-item`, collapsed or not) and the
 * ≤1.x one (`.vsm--link`); an item a person hid from a customised menu is simply not found, and its
 * screen stays in Perch's own section.
 */
const ITEM = '.ks-sidebar-item, .vsm--link';
const LOCK_CLASSES = ['is-locked', 'locked', 'vsm--link_disabled'];
// 2.0: KsSideBarItem's LockOutline icon (design system @ c94e7743); ≤1.x: vue-sidebar-menu's lock badge.
const BADGE = '.ks-sidebar-item__lock, .lock-badge, .lock-icon, [title="Enterprise Edition"]';

export interface MenuEntry {
  id: string;
  route: string;
}

/** Which items a person has already been shown as newly Perch's (once per browser, per item). */
export interface FirstSight {
  seen(id: string): boolean;
  mark(id: string): void;
}

const FIRST_SIGHT_KEY = 'perch.menu.shown';
const HIGHLIGHT_MS = 8000;
const HIGHLIGHT = 'inset 3px 0 0 #8405ff';

/** Remembered in the browser's storage; in memory where storage is refused. */
export function browserFirstSight(storage: Pick<Storage, 'getItem' | 'setItem'> | null = globalThis.localStorage ?? null): FirstSight {
  let shown: Set<string>;
  try {
    shown = new Set(JSON.parse(storage?.getItem(FIRST_SIGHT_KEY) ?? '[]') as string[]);
  } catch {
    shown = new Set();
  }
  return {
    seen: (id) => shown.has(id),
    mark(id) {
      shown.add(id);
      try {
        storage?.setItem(FIRST_SIGHT_KEY, JSON.stringify([...shown]));
      } catch {
        /* private mode: highlighted again next time, nothing worse */
      }
    },
  };
}

/** The first time a person meets an item Perch took over, it stands out for a few seconds. */
function highlightOnce(item: HTMLElement, id: string, firstSight: FirstSight | undefined): void {
  if (!firstSight || firstSight.seen(id)) return;
  firstSight.mark(id);
  item.dataset.perchNew = 'true';
  item.style.setProperty('box-shadow', HIGHLIGHT);
  setTimeout(() => {
    delete item.dataset.perchNew;
    item.style.removeProperty('box-shadow');
  }, HIGHLIGHT_MS);
}

/** The route a stock item links to, below the tenant: `admin/iam` for `/ui/main/admin/iam`. */
function linkedRoute(item: Element, tenant: string | undefined): string | null {
  const anchor = item.matches('a[href]') ? item : item.querySelector('a[href]');
  const href = anchor?.getAttribute('href');
  if (!href) return null;
  const path = new URL(href, location.origin).pathname.replace(/\/+$/, '');
  const prefix = uiPath('', tenant).replace(/\/+$/, '');
  if (path.startsWith(`${prefix}/`)) return path.slice(prefix.length + 1);
  return path.startsWith('/ui/') ? path.slice('/ui/'.length) : null;
}

/**
 * Unlocks the stock items of `entries` found under `root`; returns the ids found. Touches an item
 * only when it is still locked, so that running it again on its own changes does nothing.
 */
export function adoptStockItems(root: ParentNode, entries: readonly MenuEntry[], tenant: string | undefined, firstSight?: FirstSight): Set<string> {
  const found = new Set<string>();
  for (const item of root.querySelectorAll<HTMLElement>(ITEM)) {
    if (item.closest('perch-root')) continue;
    const route = linkedRoute(item, tenant);
    const entry = route && entries.find((e) => route === e.route || route.startsWith(`${e.route}/`) || e.route.startsWith(`${route}/`));
    if (!entry) continue;
    found.add(entry.id);
    const box = item.closest<HTMLElement>('.ks-sidebar-item, .vsm--item') ?? item;
    for (const element of new Set([item, box])) {
      for (const name of LOCK_CLASSES) if (element.classList.contains(name)) element.classList.remove(name);
      if (element.getAttribute('aria-disabled') === 'true') element.removeAttribute('aria-disabled');
      if (element.dataset.perchScreen !== entry.id) element.dataset.perchScreen = entry.id;
    }
    for (const badge of box.querySelectorAll<HTMLElement>(BADGE)) if (badge.style.display !== 'none') badge.style.setProperty('display', 'none');
    highlightOnce(item, entry.id, firstSight);
  }
  return found;
}

/** Keeps the stock items of `entries` unlocked while mounted (the menu re-renders); returns the ids found. */
export function useAdoptedStockItems(entries: readonly MenuEntry[], tenant: string | undefined): Set<string> {
  const [firstSight] = useState(() => browserFirstSight());
  const [found, setFound] = useState<Set<string>>(() => adoptStockItems(document, entries, tenant, firstSight));
  const key = entries.map((e) => e.id).join(',');
  useLayoutEffect(() => {
    const same = (a: Set<string>, b: Set<string>) => a.size === b.size && [...a].every((id) => b.has(id));
    const run = () => {
      const next = adoptStockItems(document, entries, tenant, firstSight);
      setFound((previous) => (same(previous, next) ? previous : next));
    };
    run();
    const observer = new MutationObserver(run);
    observer.observe(document.body, { childList: true, subtree: true, attributes: true, attributeFilter: ['class'] });
    return () => observer.disconnect();
  }, [key, tenant]);
  return found;
}
