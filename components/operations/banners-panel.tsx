import { useState } from 'preact/hooks';
import type { ApiBanner } from '../../lib/schemas/operations';
import { strings } from '../app/strings';
import { Button } from '../ui/button';
import { SelectField, TextField } from '../ui/field';
import { ErrorNotice, Loading } from '../ui/states';
import { banners, isoOf } from './api';
import { ListEditor } from './list-editor';
import { useEditableList } from './use-load';
import { EditForm } from '../ui/edit-form';

const s = strings.operations;
/** An ISO instant as a `datetime-local` value (local time, minutes). */
const localOf = (iso: string | null) => (iso ? new Date(new Date(iso).getTime() - new Date().getTimezoneOffset() * 60_000).toISOString().slice(0, 16) : '');

/** Create or edit one announcement. */
function BannerForm({ banner, onSaved, onCancel }: { banner?: ApiBanner; onSaved: () => void; onCancel: () => void }) {
  const [message, setMessage] = useState(banner?.message ?? '');
  const [type, setType] = useState<ApiBanner['type']>(banner?.type ?? 'INFO');
  const [start, setStart] = useState(localOf(banner?.startDate ?? null));
  const [end, setEnd] = useState(localOf(banner?.endDate ?? null));
  return (
    <EditForm
      testId="banner-form"
      onSaved={onSaved}
      onCancel={onCancel}
      write={() => {
        const body = { message, type, startDate: isoOf(start), endDate: isoOf(end) };
        return (banner ? banners.update(banner.id, body) : banners.create(body));
      }}
    >
      <div class="md:col-span-2"><TextField label={s.message} value={message} required maxLength={2000} onInput={(e) => setMessage(e.currentTarget.value)} /></div>
      <SelectField label={s.type} value={type} onChange={(e) => setType(e.currentTarget.value as ApiBanner['type'])}>
        {(['INFO', 'WARNING', 'ERROR'] as const).map((t) => <option key={t} value={t}>{t}</option>)}
      </SelectField>
      <div />
      <TextField label={s.startDate} type="datetime-local" value={start} onInput={(e) => setStart(e.currentTarget.value)} />
      <TextField label={s.endDate} type="datetime-local" value={end} onInput={(e) => setEnd(e.currentTarget.value)} />
    </EditForm>
  );
}

/** Announcements managed by API (EE: Instance → Announcements); the config file's stay listed above. */
export function BannersPanel() {
  const state = useEditableList(banners.search);
  const { list, setEditing, setDeleting } = state;
  return (
    <div id="perch-banners">
      {list.error !== undefined ? <ErrorNotice error={list.error} onRetry={list.reload} /> : !list.data ? <Loading /> : list.data.length === 0 ? (
        <p class="text-zinc-500 dark:text-zinc-400">{s.noBanners}</p>
      ) : (
        <table class="w-full text-left">
          <thead class="text-xs text-zinc-500 uppercase dark:text-zinc-400">
            <tr><th scope="col" class="py-1 pr-3">{s.type}</th><th scope="col" class="py-1 pr-3">{s.message}</th><th scope="col" class="py-1 pr-3">{s.window}</th><th scope="col" class="py-1"><span class="sr-only">{s.actions}</span></th></tr>
          </thead>
          <tbody>
            {list.data.map((banner) => (
              <tr key={banner.id} data-testid="managed-banner" class="border-t border-zinc-100 dark:border-zinc-800">
                <td class="py-1 pr-3">{banner.type}</td>
                <td class="py-1 pr-3">{banner.message}</td>
                <td class="py-1 pr-3">{banner.active ? s.showing : s.notShowing}</td>
                <td class="py-1 text-right whitespace-nowrap">
                  <Button variant="ghost" onClick={() => setEditing(banner)}>{strings.common.edit}</Button>
                  <Button variant="ghost" onClick={() => setDeleting(banner)}>{strings.common.delete}</Button>
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      <ListEditor
        state={state}
        newLabel={s.newBanner}
        form={(banner, done) => <BannerForm banner={banner} {...done} />}
        deleteTitle={s.deleteBanner}
        remove={(banner) => banners.remove(banner.id)}
        deleteBody={(banner) => banner.message}
      />
    </div>
  );
}
