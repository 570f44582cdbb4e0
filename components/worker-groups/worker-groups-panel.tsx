import { useState } from 'preact/hooks';
import type { ApiTargetHealth, ApiWorkerGroup } from '../../lib/schemas/worker-groups';
import { ApiError } from '../app/api';
import { strings } from '../app/strings';
import { ListEditor } from '../operations/list-editor';
import { useEditableList } from '../operations/use-load';
import { Button } from '../ui/button';
import { TextField } from '../ui/field';
import { ErrorNotice, Loading } from '../ui/states';
import { workerGroups } from './api';
import { useSaving } from '../ui/use-saving';

const s = strings.workerGroups;
const OK = 'bg-green-100 text-green-800 dark:bg-green-950 dark:text-green-200';
const BAD = 'bg-red-100 text-red-800 dark:bg-red-950 dark:text-red-200';
const NEUTRAL = 'bg-zinc-100 text-zinc-700 dark:bg-zinc-800 dark:text-zinc-300';

/** The API's 422 names each wrong field (`errors: [{path, message}]`): shown next to that field. */
function fieldErrorsOf(error: unknown): Record<string, string> {
  if (!(error instanceof ApiError)) return {};
  const listed = (error.details as { errors?: Array<{ path?: unknown; message?: unknown }> } | undefined)?.errors;
  const out: Record<string, string> = {};
  for (const e of Array.isArray(listed) ? listed : []) {
    if (typeof e.path === 'string' && typeof e.message === 'string') out[e.path] ??= e.message;
  }
  return out;
}

/** The first error of a field or of any of its items (`namespaces.2` → `namespaces`). */
const errorAt = (errors: Record<string, string>, path: string) => errors[path] ?? Object.entries(errors).find(([p]) => p.startsWith(`${path}.`))?.[1];

const splitList = (text: string) => text.split(',').map((part) => part.trim()).filter(Boolean);

function HealthBadge({ health }: { health?: ApiTargetHealth }) {
  if (!health) return <span class={`rounded px-1.5 py-0.5 text-xs font-medium ${NEUTRAL}`}>{s.notChecked}</span>;
  const up = health.state === 'RUNNING';
  return (
    <span>
      <span class={`rounded px-1.5 py-0.5 text-xs font-medium ${up ? OK : BAD}`}>{up ? s.running : s.unreachable}</span>
      <span class="ml-2 text-zinc-500 dark:text-zinc-400">
        {[health.engine && s.engine(health.engine.version, health.engine.apiVersion), health.problem, s.checkedAt(new Date(health.checkedAt).toLocaleString())].filter(Boolean).join(' · ')}
      </span>
    </span>
  );
}

/** Create or edit one group: the whole desired state is sent, as EE's PUT replaces it. */
function GroupForm({ group, onSaved, onCancel }: { group?: ApiWorkerGroup; onSaved: () => void; onCancel: () => void }) {
  const [id, setId] = useState(group?.id ?? '');
  const [name, setName] = useState(group?.name ?? '');
  const [description, setDescription] = useState(group?.description ?? '');
  const [namespaces, setNamespaces] = useState(group?.namespaces.join(', ') ?? '');
  const [targets, setTargets] = useState(group?.targets.map((t) => ({ id: t.id, host: t.host })) ?? [{ id: '', host: '' }]);
  const { busy, error, save } = useSaving();
  const errors = fieldErrorsOf(error);
  const setTarget = (index: number, change: Partial<{ id: string; host: string }>) => setTargets(targets.map((t, i) => (i === index ? { ...t, ...change } : t)));
  return (
    <form
      data-testid="worker-group-form"
      class="mt-3 grid gap-3 rounded-md border border-zinc-200 p-3 md:grid-cols-2 dark:border-zinc-700"
      onSubmit={(event) => {
        const body = {
          name, ...(description.trim() ? { description } : {}), subscriptions: [],
          namespaces: splitList(namespaces), targets: targets.map((t) => ({ id: t.id.trim(), kind: 'docker' as const, host: t.host.trim() })),
        };
        save(event, () => (group ? workerGroups.update(group.id, body) : workerGroups.create({ id: id.trim(), ...body })), onSaved);
      }}
    >
      {group ? <div /> : <TextField label={s.id} value={id} hint={s.idHint} error={errors.id} onInput={(e) => setId(e.currentTarget.value)} />}
      <TextField label={s.name} value={name} error={errors.name} onInput={(e) => setName(e.currentTarget.value)} />
      <div class="md:col-span-2"><TextField label={s.description} value={description} error={errors.description} onInput={(e) => setDescription(e.currentTarget.value)} /></div>
      <div class="md:col-span-2"><TextField label={s.namespaces} value={namespaces} hint={s.namespacesHint} error={errorAt(errors, 'namespaces')} onInput={(e) => setNamespaces(e.currentTarget.value)} /></div>
      <fieldset class="flex flex-col gap-2 md:col-span-2">
        <legend class="text-sm font-medium">{s.targets}</legend>
        {targets.map((target, index) => (
          <div key={index} data-testid="worker-target-fields" class="grid items-end gap-2 md:grid-cols-[12rem_1fr_auto]">
            <TextField label={s.targetId} value={target.id} error={errors[`targets.${index}.id`]} onInput={(e) => setTarget(index, { id: e.currentTarget.value })} />
            <TextField label={s.host} value={target.host} hint={s.hostHint} error={errors[`targets.${index}.host`]} onInput={(e) => setTarget(index, { host: e.currentTarget.value })} />
            <Button variant="ghost" aria-label={`${s.removeTarget} ${index + 1}`} onClick={() => setTargets(targets.filter((_, i) => i !== index))}>{s.removeTarget}</Button>
          </div>
        ))}
        {errors.targets && <p class="text-xs text-red-600 dark:text-red-400">{errors.targets}</p>}
        <div><Button onClick={() => setTargets([...targets, { id: '', host: '' }])}>{s.addTarget}</Button></div>
      </fieldset>
      {error !== undefined && <div class="md:col-span-2"><ErrorNotice error={error} /></div>}
      <div class="flex justify-end gap-2 md:col-span-2">
        <Button onClick={onCancel}>{strings.common.cancel}</Button>
        <Button type="submit" variant="primary" disabled={busy}>{strings.common.save}</Button>
      </div>
    </form>
  );
}

function GroupCard({ group, onEdit, onDelete, onChecked }: { group: ApiWorkerGroup; onEdit: () => void; onDelete: () => void; onChecked: () => void }) {
  const [checking, setChecking] = useState(false);
  const [error, setError] = useState<unknown>(undefined);
  return (
    <li data-testid="worker-group" data-group-id={group.id} class="border-t border-zinc-100 py-3 dark:border-zinc-800">
      <div class="flex flex-wrap items-center justify-between gap-2">
        <div>
          <span class="font-medium">{group.name}</span> <code class="text-xs text-zinc-500 dark:text-zinc-400">{group.id}</code>
          {group.description && <p class="text-zinc-600 dark:text-zinc-400">{group.description}</p>}
        </div>
        <div class="whitespace-nowrap">
          <Button
            variant="ghost"
            disabled={checking}
            onClick={() => {
              setChecking(true);
              setError(undefined);
              workerGroups.checkNow(group.id).then(onChecked, setError).finally(() => setChecking(false));
            }}
          >
            {s.checkNow}
          </Button>
          <Button variant="ghost" onClick={onEdit}>{strings.common.edit}</Button>
          <Button variant="ghost" onClick={onDelete}>{strings.common.delete}</Button>
        </div>
      </div>
      <p class="mt-1"><span class="text-zinc-500 dark:text-zinc-400">{s.namespaces}:</span> <span data-testid="worker-group-namespaces">{group.namespaces.length ? group.namespaces.join(', ') : s.noNamespaces}</span></p>
      <table class="mt-2 w-full text-left">
        <thead class="text-xs text-zinc-500 uppercase dark:text-zinc-400">
          <tr><th scope="col" class="py-1 pr-3">{s.targetId}</th><th scope="col" class="py-1 pr-3">{s.host}</th><th scope="col" class="py-1">{s.health}</th></tr>
        </thead>
        <tbody>
          {group.targets.map((target) => (
            <tr key={target.id} data-testid="worker-target" class="border-t border-zinc-100 dark:border-zinc-800">
              <td class="py-1 pr-3">{target.id}</td>
              <td class="py-1 pr-3"><code>{target.host}</code></td>
              <td class="py-1" data-testid="worker-target-health"><HealthBadge health={target.health} /></td>
            </tr>
          ))}
        </tbody>
      </table>
      {error !== undefined && <div class="mt-2"><ErrorNotice error={error} /></div>}
    </li>
  );
}

/** Worker groups on the Instance page (issue 25): the registry, its targets' health, and its editing. */
export function WorkerGroupsPanel() {
  const state = useEditableList(workerGroups.list);
  const { list, setEditing, setDeleting } = state;
  return (
    <div id="perch-worker-groups">
      <p class="text-zinc-600 dark:text-zinc-400">{s.intro}</p>
      {list.error !== undefined ? <ErrorNotice error={list.error} onRetry={list.reload} /> : !list.data ? <Loading /> : list.data.length === 0 ? (
        <p class="mt-2 text-zinc-500 dark:text-zinc-400">{s.empty}</p>
      ) : (
        <ul class="mt-2">
          {list.data.map((group) => (
            <GroupCard key={group.id} group={group} onEdit={() => setEditing(group)} onDelete={() => setDeleting(group)} onChecked={list.reload} />
          ))}
        </ul>
      )}
      <ListEditor
        state={state}
        newLabel={s.newGroup}
        form={(group, done) => <GroupForm group={group} {...done} />}
        deleteTitle={s.deleteGroup}
        remove={(group) => workerGroups.remove(group.id)}
        deleteBody={(group) => (
          <>
            <p class="font-medium">{group.name} ({group.id})</p>
            <p class="mt-1">{s.deleteExplained(group.namespaces)}</p>
          </>
        )}
      />
    </div>
  );
}
