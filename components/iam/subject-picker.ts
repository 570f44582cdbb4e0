import { can, type Me } from '../app/session';
import { strings } from '../app/strings';
import type { BindingType } from '../../lib/schemas/iam';
import type { ComboOption } from '../ui/combobox';
import { loadServiceAccounts, suggestGroups, suggestUsers } from './api';

export interface Subject {
  type: BindingType;
  id: string;
  label: string;
}

/** `USER:<id>` / `GROUP:<id>` option ids, so one list can hold both kinds. */
const optionId = (type: BindingType, id: string) => `${type}:${id}`;

export function subjectOf(option: ComboOption): Subject {
  const [type, ...rest] = option.id.split(':');
  return { type: type === 'GROUP' ? 'GROUP' : 'USER', id: rest.join(':'), label: option.label };
}

/**
 * Users (instance owners list them), service accounts and groups matching `q`, for whatever the
 * person may list; a source they may not read adds nothing.
 */
export async function suggestSubjects(me: Me, tenant: string, q: string): Promise<ComboOption[]> {
  const t = strings.iam.bindings;
  const sources: Array<Promise<ComboOption[]>> = [];
  if (me.superAdmin) sources.push(suggestUsers(q).then((list) => list.map((u) => ({ id: optionId('USER', u.id), label: u.label, detail: t.user }))));
  if (can(me, 'SERVICE_ACCOUNT', 'LIST')) {
    sources.push(loadServiceAccounts(tenant, 1, q).then((page) => page.results.map((a) => ({ id: optionId('USER', a.id), label: a.username, detail: t.serviceAccount }))));
  }
  if (can(me, 'GROUP', 'LIST')) sources.push(suggestGroups(tenant, q).then((list) => list.map((g) => ({ id: optionId('GROUP', g.id), label: g.label, detail: t.group }))));
  const settled = await Promise.allSettled(sources);
  const seen = new Set<string>();
  return settled.flatMap((s) => (s.status === 'fulfilled' ? s.value : [])).filter((o) => !seen.has(o.id) && seen.add(o.id));
}

/**
 * What the person typed, when they did not pick a suggestion: an exact (case-insensitive) match
 * among the suggestions, else the text itself as an id of `fallbackType`.
 */
export async function resolveSubject(me: Me, tenant: string, text: string, fallbackType: BindingType): Promise<Subject> {
  const wanted = text.trim();
  const found = (await suggestSubjects(me, tenant, wanted).catch(() => [])).filter((o) => o.label.toLowerCase() === wanted.toLowerCase());
  const preferred = found.find((o) => o.id.startsWith(`${fallbackType}:`)) ?? found[0];
  return preferred ? subjectOf(preferred) : { type: fallbackType, id: wanted, label: wanted };
}
