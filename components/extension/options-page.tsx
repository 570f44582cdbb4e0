import { useEffect, useState } from 'preact/hooks';
import { browser } from 'wxt/browser';
import { strings } from '../app/strings';
import { Button } from '../ui/button';
import { TextField } from '../ui/field';
import { PERCH_ORIGIN_KEY, SYNC_MESSAGE, perchOrigin } from './perch-origin';
import { usePrefersDark } from './prefers-dark';

/** Where a person sets the Perch address; access to that origin (and nothing broader) is asked for here. */
export function OptionsPage() {
  const [address, setAddress] = useState('');
  const [error, setError] = useState<string | undefined>();
  const [status, setStatus] = useState<string | undefined>();
  const dark = usePrefersDark();
  useEffect(() => {
    void browser.storage.local.get(PERCH_ORIGIN_KEY).then((stored) => {
      const origin = stored[PERCH_ORIGIN_KEY];
      if (typeof origin === 'string') {
        setAddress(origin);
        setStatus(strings.options.saved(origin));
      }
    });
  }, []);
  const save = async (event: Event) => {
    event.preventDefault();
    const parsed = perchOrigin(address);
    if (!parsed.ok) return setError(parsed.message);
    setError(undefined);
    // Must run in the click's user gesture, before any other await.
    const granted = await browser.permissions.request({ origins: [parsed.pattern] });
    if (!granted) return setStatus(strings.options.denied);
    await browser.storage.local.set({ [PERCH_ORIGIN_KEY]: parsed.origin });
    const answer = (await browser.runtime.sendMessage(SYNC_MESSAGE)) as { state?: string; error?: string } | undefined;
    if (answer?.state !== 'registered') return setStatus(answer?.error ?? strings.options.denied);
    setAddress(parsed.origin);
    setStatus(strings.options.saved(parsed.origin));
  };
  const forget = async () => {
    const stored = (await browser.storage.local.get(PERCH_ORIGIN_KEY))[PERCH_ORIGIN_KEY];
    const parsed = typeof stored === 'string' ? perchOrigin(stored) : undefined;
    await browser.storage.local.remove(PERCH_ORIGIN_KEY);
    if (parsed?.ok) await browser.permissions.remove({ origins: [parsed.pattern] });
    await browser.runtime.sendMessage(SYNC_MESSAGE);
    setAddress('');
    setStatus(strings.options.removed);
  };
  return (
    <main class={`perch flex min-h-screen justify-center bg-white p-6 dark:bg-zinc-900 ${dark ? 'dark' : ''}`}>
      <div class="flex w-full max-w-lg flex-col gap-4">
      <h1 class="text-xl font-semibold">{strings.options.title}</h1>
      <p class="text-sm text-zinc-600 dark:text-zinc-300">{strings.options.intro}</p>
      <form class="flex flex-col gap-3" onSubmit={(event) => void save(event)}>
        <TextField
          label={strings.options.address}
          name="perch-origin"
          placeholder={strings.options.placeholder}
          value={address}
          error={error}
          onInput={(event) => setAddress(event.currentTarget.value)}
        />
        <div class="flex gap-2">
          <Button type="submit" variant="primary">{strings.options.save}</Button>
          <Button onClick={() => void forget()}>{strings.options.remove}</Button>
        </div>
      </form>
      {status && <p role="status" class="text-sm">{status}</p>}
      </div>
    </main>
  );
}
