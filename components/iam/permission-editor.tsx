import { useRef } from 'preact/hooks';
import type { Action, Permissions, Resource } from '../../lib/authz/catalogue';
import { strings } from '../app/strings';

const t = strings.iam.roles;

/** `SERVICE_ACCOUNT` → `Service account`. */
export function humanize(id: string): string {
  const words = id.toLowerCase().replace(/_/g, ' ');
  return words.charAt(0).toUpperCase() + words.slice(1);
}

/**
 * The resource → actions grid of a role, built from the catalogue the server answers
 * (GET /acls/permissions): one row per resource, one labelled checkbox per action it allows, and a
 * "all" checkbox per row. Arrow keys move between checkboxes (left/right in a row, up/down between
 * rows), Space toggles, Tab leaves the grid.
 */
export function PermissionEditor({ catalogue, value, onChange, readOnly = false }: {
  catalogue: Permissions;
  value: Permissions;
  onChange?: (next: Permissions) => void;
  readOnly?: boolean;
}) {
  const grid = useRef<HTMLDivElement>(null);
  const resources = Object.keys(catalogue) as Resource[];
  const has = (r: Resource, a: Action) => value[r]?.includes(a) ?? false;
  const set = (r: Resource, actions: Action[]) => {
    const next: Permissions = { ...value };
    // Keep the catalogue's order so the request reads like the grid.
    const ordered = (catalogue[r] ?? []).filter((a) => actions.includes(a));
    if (ordered.length > 0) next[r] = ordered;
    else delete next[r];
    onChange?.(next);
  };
  const toggle = (r: Resource, a: Action, on: boolean) => set(r, on ? [...(value[r] ?? []), a] : (value[r] ?? []).filter((x) => x !== a));
  const move = (event: KeyboardEvent) => {
    const target = event.target as HTMLElement;
    const row = Number(target.dataset.row);
    const col = Number(target.dataset.col);
    if (Number.isNaN(row) || Number.isNaN(col)) return;
    const delta = { ArrowRight: [0, 1], ArrowLeft: [0, -1], ArrowDown: [1, 0], ArrowUp: [-1, 0] }[event.key];
    if (!delta) return;
    event.preventDefault();
    const nextRow = Math.max(0, Math.min(resources.length - 1, row + delta[0]!));
    const rowSize = (catalogue[resources[nextRow]!]?.length ?? 0) + 1;
    const nextCol = Math.max(0, Math.min(rowSize - 1, delta[0] === 0 ? col + delta[1]! : col));
    grid.current?.querySelector<HTMLInputElement>(`input[data-row="${nextRow}"][data-col="${nextCol}"]`)?.focus();
  };
  return (
    <div ref={grid} role="group" aria-label={t.permissions} class="flex flex-col divide-y divide-zinc-100 rounded-md border border-zinc-200 dark:divide-zinc-800 dark:border-zinc-700" onKeyDown={move} data-testid="permission-editor">
      {resources.map((resource, row) => {
        const actions = catalogue[resource] ?? [];
        const all = actions.length > 0 && actions.every((a) => has(resource, a));
        const some = actions.some((a) => has(resource, a));
        return (
          <fieldset key={resource} class="grid grid-cols-[12rem_1fr] items-start gap-2 px-3 py-2" data-resource={resource}>
            <legend class="sr-only">{humanize(resource)}</legend>
            <label class="flex items-center gap-2 text-sm font-medium">
              <input
                type="checkbox"
                class="size-4 accent-kestra-500"
                data-row={row}
                data-col={0}
                aria-label={t.allOf(humanize(resource))}
                checked={all}
                indeterminate={some && !all}
                disabled={readOnly}
                onChange={(event) => set(resource, event.currentTarget.checked ? [...actions] : [])}
              />
              <span aria-hidden="true">{humanize(resource)}</span>
            </label>
            <div class="flex flex-wrap gap-x-4 gap-y-1">
              {actions.map((action, index) => (
                <label key={action} class="flex items-center gap-1.5 text-sm text-zinc-700 dark:text-zinc-300">
                  <input
                    type="checkbox"
                    class="size-4 accent-kestra-500"
                    data-row={row}
                    data-col={index + 1}
                    aria-label={`${humanize(resource)}: ${humanize(action)}`}
                    checked={has(resource, action)}
                    disabled={readOnly}
                    onChange={(event) => toggle(resource, action, event.currentTarget.checked)}
                  />
                  <span aria-hidden="true">{humanize(action)}</span>
                </label>
              ))}
            </div>
          </fieldset>
        );
      })}
    </div>
  );
}
