import { useRef, useState } from 'preact/hooks';
import type { ApiApp, AppSourceError } from '../../lib/schemas/apps';
import { ApiError } from '../app/api';
import { can, type Me } from '../app/session';
import { strings } from '../app/strings';
import { Button } from '../ui/button';
import { CopyButton } from '../ui/copy-button';
import { SelectField, TextField } from '../ui/field';
import { Page } from '../ui/page';
import { Empty, ErrorNotice, Loading } from '../ui/states';
import { useCached } from '../ui/use-cached';
import { useDebounced } from '../ui/use-debounced';
import { loadSource, loadTags, previewSource, publicLinkOf, saveSource, searchApps, setEnabled, sourceErrorsOf } from './api';

const t = strings.apps;

const TEMPLATE = `id: request-form
type: io.kestra.plugin.ee.apps.Execution
displayName: Request form
namespace: company.team
flowId: my-flow
access:
  type: PRIVATE
tags:
  - Requests
layout:
  - on: OPEN
    blocks:
      - type: io.kestra.plugin.ee.apps.core.blocks.Markdown
        content: Fill in the form and send it.
      - type: io.kestra.plugin.ee.apps.execution.blocks.CreateExecutionForm
      - type: io.kestra.plugin.ee.apps.execution.blocks.CreateExecutionButton
        text: Send
  - on: SUCCESS
    blocks:
      - type: io.kestra.plugin.ee.apps.core.blocks.Alert
        style: SUCCESS
        content: Done.
      - type: io.kestra.plugin.ee.apps.execution.blocks.Outputs
`;

type Editing = { uid?: string; name: string } | null;

/** The Apps page: the catalog of the tenant's apps (search, tags, enable/disable, links) and their YAML editor. */
export function AppsScreen({ tenant, me }: { tenant: string; me: Me }) {
  const [editing, setEditing] = useState<Editing>(null);
  if (editing) return <AppEditor tenant={tenant} uid={editing.uid} name={editing.name} onBack={() => setEditing(null)} />;
  return <AppCatalog tenant={tenant} me={me} onEdit={setEditing} />;
}

function AppCatalog({ tenant, me, onEdit }: { tenant: string; me: Me; onEdit: (e: Editing) => void }) {
  const [query, setQuery] = useState('');
  const [tag, setTag] = useState('');
  const q = useDebounced(query, 250);
  const apps = useCached(`apps:${tenant}:${q}:${tag}`, () => searchApps(tenant, q, tag));
  const tags = useCached(`apps:tags:${tenant}`, () => loadTags(tenant));
  const [failure, setFailure] = useState<unknown>(undefined);
  const toggle = (app: ApiApp) => setEnabled(tenant, app.uid, !app.enabled).then(apps.reload, setFailure);
  return (
    <Page title={t.title} actions={can(me, 'APP', 'CREATE') && <Button variant="primary" data-testid="app-create" onClick={() => onEdit({ name: t.newTitle })}>{t.create}</Button>}>
      <div class="mb-4 flex flex-wrap items-end gap-3">
        <TextField label={t.search} value={query} onInput={(e) => setQuery((e.target as HTMLInputElement).value)} />
        <SelectField label={t.tag} value={tag} onChange={(e) => setTag((e.target as HTMLSelectElement).value)}>
          <option value="">{t.allTags}</option>
          {(tags.data?.tags ?? []).map((name) => <option key={name} value={name}>{name}</option>)}
        </SelectField>
      </div>
      {failure !== undefined && <ErrorNotice error={failure} />}
      {apps.error !== undefined && <ErrorNotice error={apps.error} onRetry={apps.reload} />}
      {apps.data === undefined && apps.loading && <Loading />}
      {apps.data?.results.length === 0 && <Empty text={t.empty} />}
      {apps.data && apps.data.results.length > 0 && (
        <table class="w-full text-left text-sm">
          <thead>
            <tr class="border-b border-zinc-200 dark:border-zinc-700">
              <th class="py-2">{t.name}</th><th>{t.flow}</th><th>{t.tags}</th><th>{t.status}</th><th />
            </tr>
          </thead>
          <tbody>
            {apps.data.results.map((app) => (
              <tr key={app.uid} data-testid="app-row" data-app-uid={app.uid} class="border-b border-zinc-100 dark:border-zinc-800">
                <td class="py-2 font-medium">{app.name}</td>
                <td>{app.namespace}.{app.flowId}</td>
                <td>{app.tags.join(', ')}</td>
                <td>{app.enabled ? t.enabled : t.disabled}</td>
                <td class="flex justify-end gap-1 py-1">
                  <a class="px-2 py-1.5 text-sm text-kestra-600 hover:underline" href={publicLinkOf(tenant, app.uid)} target="_blank" rel="noopener">{t.open}</a>
                  <CopyButton text={publicLinkOf(tenant, app.uid)} label={t.copyLink} />
                  {can(me, 'APP', 'UPDATE') && <Button variant="ghost" data-testid="app-toggle" onClick={() => void toggle(app)}>{app.enabled ? t.disable : t.enable}</Button>}
                  {can(me, 'APP', 'VIEW') && <Button variant="ghost" data-testid="app-edit" onClick={() => onEdit({ uid: app.uid, name: app.name })}>{t.edit}</Button>}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </Page>
  );
}

/** The YAML of one app (or a new one), saved as EE takes it; each source error is listed at its line and selects it. */
function AppEditor({ tenant, uid, name, onBack }: { tenant: string; uid?: string; name: string; onBack: () => void }) {
  const source = useCached(`apps:source:${tenant}:${uid ?? 'new'}`, () => (uid ? loadSource(tenant, uid).then((s) => s.source) : Promise.resolve(TEMPLATE)));
  const [text, setText] = useState<string | undefined>(undefined);
  const [savedUid, setSavedUid] = useState(uid);
  const [errors, setErrors] = useState<AppSourceError[]>([]);
  const [failure, setFailure] = useState<unknown>(undefined);
  const [notice, setNotice] = useState('');
  const [preview, setPreview] = useState<{ type: string; [k: string]: unknown }[] | null>(null);
  const area = useRef<HTMLTextAreaElement>(null);
  const yaml = text ?? source.data ?? '';

  const handle = (error: unknown) => {
    const listed = error instanceof ApiError && error.status === 422 ? sourceErrorsOf(error.details) : [];
    setErrors(listed);
    setFailure(listed.length > 0 ? undefined : error);
  };
  const reset = () => {
    setErrors([]);
    setFailure(undefined);
    setNotice('');
  };
  const save = () => {
    reset();
    saveSource(tenant, savedUid, yaml).then((saved) => {
      setSavedUid(saved.uid);
      setNotice(t.saved);
    }, handle);
  };
  const showPreview = () => {
    reset();
    previewSource(tenant, yaml).then((answer) => setPreview(answer.layout.blocks), handle);
  };
  /** Selects an error's line in the source. */
  const goTo = (line: number | null) => {
    const el = area.current;
    if (!el || line === null) return;
    const lines = yaml.split('\n');
    const start = lines.slice(0, line - 1).reduce((n, l) => n + l.length + 1, 0);
    el.focus();
    el.setSelectionRange(start, start + (lines[line - 1]?.length ?? 0));
  };

  return (
    <Page title={uid ? t.editorTitle(name) : t.newTitle} actions={<Button onClick={onBack}>{t.back}</Button>}>
      {source.error !== undefined && <ErrorNotice error={source.error} onRetry={source.reload} />}
      {failure !== undefined && <ErrorNotice error={failure} />}
      {errors.length > 0 && (
        <div role="alert" data-testid="app-errors" class="mb-3 rounded-md border border-red-300 bg-red-50 p-3 text-sm text-red-800 dark:border-red-800 dark:bg-red-950 dark:text-red-200">
          <strong>{t.errorsTitle}</strong>
          <ul class="mt-1">
            {errors.map((e, i) => (
              <li key={i}>
                <button type="button" class="underline" data-testid="app-error-line" data-line={e.line ?? ''} onClick={() => goTo(e.line)}>{t.lineOf(e.line)}</button>: {e.path ? `${e.path}: ` : ''}{e.message}
              </li>
            ))}
          </ul>
        </div>
      )}
      {notice && <p role="status" class="mb-3 text-sm text-green-700 dark:text-green-300">{notice}</p>}
      {savedUid && (
        <p class="mb-3 flex items-center gap-2 text-sm">
          <a class="text-kestra-600 hover:underline" href={publicLinkOf(tenant, savedUid)} target="_blank" rel="noopener">{publicLinkOf(tenant, savedUid)}</a>
          <CopyButton text={publicLinkOf(tenant, savedUid)} label={t.copyLink} />
        </p>
      )}
      {source.data === undefined && source.loading ? <Loading /> : (
        <label class="block text-sm font-medium">
          {t.source}
          <textarea
            ref={area}
            data-testid="app-source"
            class="mt-1 h-[28rem] w-full rounded-md border border-zinc-300 bg-white p-2 font-mono text-xs dark:border-zinc-600 dark:bg-zinc-900"
            spellcheck={false}
            value={yaml}
            onInput={(e) => setText((e.target as HTMLTextAreaElement).value)}
          />
        </label>
      )}
      <div class="mt-3 flex gap-2">
        <Button variant="primary" data-testid="app-save" onClick={save}>{t.save}</Button>
        <Button data-testid="app-preview" onClick={showPreview}>{t.preview}</Button>
      </div>
      {preview && (
        <section data-testid="app-preview-blocks" class="mt-4 rounded-md border border-zinc-200 p-3 text-sm dark:border-zinc-700">
          <h2 class="mb-2 font-semibold">{t.previewTitle}</h2>
          <ol class="list-decimal pl-5">
            {preview.map((block, i) => (
              <li key={i}>{block.type.split('.').pop()}{typeof block.content === 'string' ? `: ${block.content}` : typeof block.text === 'string' ? `: ${block.text}` : ''}</li>
            ))}
          </ol>
        </section>
      )}
    </Page>
  );
}
