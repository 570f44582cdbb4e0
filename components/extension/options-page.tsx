import { useEffect, useState } from 'preact/hooks';
import { browser } from 'wxt/browser';
import { strings } from '../app/strings';
import { Button } from '../ui/button';
import { TextField } from '../ui/field';
import { forgetAddress, readAddressBook, useAddress, type AddressBook } from './perch-addresses';
import { SYNC_MESSAGE, perchOrigin } from './perch-origin';
import { usePrefersDark } from './prefers-dark';

/** Asks the background to (re)register the content script; true once it runs for the active address. */
async function syncScreens(): Promise<{ registered: boolean; error?: string }> {
  const answer = (await browser.runtime.sendMessage(SYNC_MESSAGE)) as { state?: string; error?: string } | undefined;
  return { registered: answer?.state === 'registered', error: answer?.error };
}

/**
 * Where a person keeps the Perch addresses (one per client) and picks the one in use; access to
 * that origin (and nothing broader) is asked for here. An address set by the organisation's policy
 * is shown instead of the choice.
 */
export function OptionsPage() {
  const [book, setBook] = useState<AddressBook>({ saved: [] });
  const [address, setAddress] = useState('');
  const [label, setLabel] = useState('');
  const [error, setError] = useState<string | undefined>();
  const [status, setStatus] = useState<string | undefined>();
  const dark = usePrefersDark();
  const reload = async () => {
    const next = await readAddressBook();
    setBook(next);
    return next;
  };
  useEffect(() => {
    void reload().then(async (loaded) => {
      if (!loaded.active) return;
      const granted = await browser.permissions.contains({ origins: [loaded.active.pattern] });
      setStatus(granted ? strings.options.saved(loaded.active.origin) : strings.options.notGranted(loaded.active.origin));
    });
  }, []);

  /** Grants access to `origin` and makes it the active address. Runs in the click's user gesture. */
  const activate = async (origin: string, pattern: string, name: string): Promise<boolean> => {
    // permissions.request must come first: any other await before it loses the user gesture.
    const granted = await browser.permissions.request({ origins: [pattern] });
    if (!granted) {
      setStatus(strings.options.denied(origin));
      return false;
    }
    if (!book.active?.managed) await useAddress(origin, name);
    const { registered, error: problem } = await syncScreens();
    await reload();
    setStatus(registered ? strings.options.saved(origin) : (problem ?? strings.options.notGranted(origin)));
    return true;
  };
  const save = async (event: Event) => {
    event.preventDefault();
    const parsed = perchOrigin(address);
    if (!parsed.ok) return setError(parsed.message);
    setError(undefined);
    // A refused prompt leaves the typed address in place, to save again.
    if (!(await activate(parsed.origin, parsed.pattern, label))) return;
    setAddress('');
    setLabel('');
  };
  const forget = async (origin: string) => {
    const revoke = await forgetAddress(origin);
    if (revoke) await browser.permissions.remove({ origins: [revoke] });
    await syncScreens();
    const next = await reload();
    setStatus(next.active ? strings.options.saved(next.active.origin) : strings.options.removed);
  };

  const managed = book.active?.managed ? book.active : undefined;
  return (
    <main class={`perch flex min-h-screen justify-center bg-white p-6 dark:bg-zinc-900 ${dark ? 'dark' : ''}`}>
      <div class="flex w-full max-w-lg flex-col gap-4">
        <h1 class="text-xl font-semibold">{strings.options.title}</h1>
        <p class="text-sm text-zinc-600 dark:text-zinc-300">{strings.options.intro}</p>
        {managed ? (
          <section aria-label={strings.options.managedTitle} class="flex flex-col gap-2 rounded-md border border-zinc-300 p-3 dark:border-zinc-600">
            <p class="text-sm">{strings.options.managed(managed.origin)}</p>
            <div>
              <Button variant="primary" onClick={() => void activate(managed.origin, managed.pattern, '')}>{strings.options.allow}</Button>
            </div>
          </section>
        ) : (
          <>
            <form class="flex flex-col gap-3" onSubmit={(event) => void save(event)}>
              <TextField
                label={strings.options.address}
                name="perch-origin"
                placeholder={strings.options.placeholder}
                value={address}
                error={error}
                onInput={(event) => setAddress(event.currentTarget.value)}
              />
              <TextField
                label={strings.options.label}
                name="perch-label"
                hint={strings.options.labelHint}
                value={label}
                onInput={(event) => setLabel(event.currentTarget.value)}
              />
              <div>
                <Button type="submit" variant="primary">{strings.options.save}</Button>
              </div>
            </form>
            {book.saved.length > 0 && (
              <section aria-label={strings.options.savedTitle} class="flex flex-col gap-2">
                <h2 class="text-sm font-semibold">{strings.options.savedTitle}</h2>
                <ul class="flex flex-col gap-2">
                  {book.saved.map((entry) => {
                    const active = book.active?.origin === entry.origin;
                    const parsed = perchOrigin(entry.origin);
                    return (
                      <li key={entry.origin} aria-current={active ? 'true' : undefined} class="flex items-center gap-2 rounded-md border border-zinc-300 p-2 text-sm dark:border-zinc-600">
                        <span class="flex-1">
                          {entry.label && <span class="font-medium">{entry.label} · </span>}
                          {entry.origin}
                          {active && <span class="ml-2 rounded bg-kestra-500 px-1.5 py-0.5 text-xs text-white">{strings.options.active}</span>}
                        </span>
                        {!active && parsed.ok && (
                          <Button onClick={() => void activate(entry.origin, parsed.pattern, entry.label)} aria-label={strings.options.use(entry.label || entry.origin)}>{strings.options.useShort}</Button>
                        )}
                        <Button variant="ghost" onClick={() => void forget(entry.origin)} aria-label={strings.options.forget(entry.label || entry.origin)}>{strings.options.forgetShort}</Button>
                      </li>
                    );
                  })}
                </ul>
              </section>
            )}
          </>
        )}
        {status && <p role="status" class="text-sm">{status}</p>}
      </div>
    </main>
  );
}
