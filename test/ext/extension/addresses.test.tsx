/**
 * Several Perch addresses (one per client) on the options page, the one in use shown in the popup,
 * and an organisation's address (managed storage, set by policy) preferred over the person's.
 * The extension APIs are WXT's in-memory fake browser; permissions are a small fake that answers
 * the prompt as the test says.
 */
import { fireEvent, render, screen, waitFor } from '@testing-library/preact';
import { fakeBrowser } from 'wxt/testing';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';

// wxt/browser picks `globalThis.browser` when it has a runtime id: the fake, set before the modules load.
(globalThis as { browser?: unknown }).browser = fakeBrowser;
const { forgetAddress, readAddressBook, useAddress } = await import('../../../components/extension/perch-addresses');
const { OptionsPage } = await import('../../../components/extension/options-page');
const { Popup } = await import('../../../components/extension/popup');

type Areas = { managed: { get: (key: string) => Promise<Record<string, unknown>> } };

/** Granted host patterns, and how the next prompt is answered. */
const granted = new Set<string>();
let answer = true;
const prompts: string[][] = [];

beforeEach(() => {
  fakeBrowser.reset();
  granted.clear();
  answer = true;
  prompts.length = 0;
  Object.assign(fakeBrowser.permissions, {
    contains: async ({ origins = [] }: { origins?: string[] }) => origins.every((o) => granted.has(o)),
    request: async ({ origins = [] }: { origins?: string[] }) => {
      prompts.push(origins);
      if (answer) origins.forEach((o) => granted.add(o));
      return answer;
    },
    remove: async ({ origins = [] }: { origins?: string[] }) => { origins.forEach((o) => granted.delete(o)); return true; },
  });
  // No policy: Firefox rejects managed reads then.
  (fakeBrowser.storage as unknown as Areas).managed.get = () => Promise.reject(new Error('Managed storage manifest not found'));
  // The background's answer to the options page.
  fakeBrowser.runtime.onMessage.addListener(() => Promise.resolve({ state: 'registered' }));
  // The popup asks the Perch whether it is up: no network here.
  vi.stubGlobal('fetch', () => Promise.reject(new TypeError('offline')));
  vi.stubGlobal('matchMedia', () => ({ matches: false, addEventListener() {}, removeEventListener() {} }));
});
afterEach(() => vi.unstubAllGlobals());

const setManaged = (origin: string) => {
  (fakeBrowser.storage as unknown as Areas).managed.get = async (key: string) => (key === 'perchOrigin' ? { perchOrigin: origin } : {});
};

describe('the address book', () => {
  it('keeps several addresses and one active; an address chosen before the list existed is listed', async () => {
    await fakeBrowser.storage.local.set({ perchOrigin: 'https://old.example.com' });
    expect(await readAddressBook()).toEqual({
      saved: [{ origin: 'https://old.example.com', label: '' }],
      active: { origin: 'https://old.example.com', pattern: 'https://old.example.com/*', label: '', managed: false },
    });
    await useAddress('https://perch.acme.io', 'Acme');
    await useAddress('https://perch.globex.io:8443', 'Globex');
    const book = await readAddressBook();
    expect(book.saved.map((e) => e.label)).toEqual(['', 'Acme', 'Globex']);
    expect(book.active).toMatchObject({ origin: 'https://perch.globex.io:8443', label: 'Globex', managed: false });
  });

  it('prefers the organisation’s managed address over the stored one', async () => {
    await useAddress('https://perch.acme.io', 'Acme');
    setManaged('https://perch.corp.example/ui/main/flows');
    expect((await readAddressBook()).active).toEqual({ origin: 'https://perch.corp.example', pattern: 'https://perch.corp.example/*', label: '', managed: true });
    // Forgetting a saved address keeps the managed one active (and its host granted).
    expect(await forgetAddress('https://perch.acme.io')).toBe('https://perch.acme.io/*');
    expect((await readAddressBook()).active?.origin).toBe('https://perch.corp.example');
  });

  it('ignores a managed value that is no address, and a missing managed area', async () => {
    await useAddress('https://perch.acme.io', 'Acme');
    setManaged('ftp://nope');
    expect((await readAddressBook()).active).toMatchObject({ origin: 'https://perch.acme.io', managed: false });
  });

  it('revokes a host only when no kept address still needs it', async () => {
    await useAddress('http://127.0.0.1:8080', 'one');
    await useAddress('http://127.0.0.1:9090', 'two');
    expect(await forgetAddress('http://127.0.0.1:9090')).toBeUndefined();
    expect(await forgetAddress('http://127.0.0.1:8080')).toBe('http://127.0.0.1/*');
    expect(await readAddressBook()).toEqual({ saved: [] });
  });
});

describe('the options page', () => {
  const add = async (address: string, name: string) => {
    fireEvent.input(screen.getByLabelText('Perch address'), { target: { value: address } });
    fireEvent.input(screen.getByLabelText('Name (optional)'), { target: { value: name } });
    fireEvent.click(screen.getByRole('button', { name: 'Save and allow access' }));
  };
  const rows = () => screen.queryAllByRole('listitem').map((li) => `${li.getAttribute('aria-current') === 'true' ? '* ' : ''}${li.querySelector('span')?.textContent}`);

  it('adds addresses, switches the active one (asking for its host) and forgets one', async () => {
    render(<OptionsPage />);
    await add('perch.acme.io/ui/main/flows', 'Acme');
    await waitFor(() => expect(screen.getByRole('status').textContent).toBe('Perch screens are active on https://perch.acme.io.'));
    await add('http://127.0.0.1:9090', 'Globex');
    await waitFor(() => expect(rows()).toEqual(['Acme · https://perch.acme.io', '* Globex · http://127.0.0.1:9090Active']));
    expect(prompts).toEqual([['https://perch.acme.io/*'], ['http://127.0.0.1/*']]);

    fireEvent.click(screen.getByRole('button', { name: 'Use Acme' }));
    await waitFor(() => expect(rows()).toEqual(['* Acme · https://perch.acme.io' + 'Active', 'Globex · http://127.0.0.1:9090']));
    expect(prompts.at(-1)).toEqual(['https://perch.acme.io/*']);
    expect(await fakeBrowser.storage.local.get('perchOrigin')).toEqual({ perchOrigin: 'https://perch.acme.io' });

    fireEvent.click(screen.getByRole('button', { name: 'Forget Acme' }));
    await waitFor(() => expect(rows()).toEqual(['Globex · http://127.0.0.1:9090']));
    expect(screen.getByRole('status').textContent).toBe('No Perch address is active: the extension is inactive.');
    expect([...granted]).toEqual(['http://127.0.0.1/*']);
  });

  it('says clearly when the browser’s prompt was refused, and keeps the previous address active', async () => {
    render(<OptionsPage />);
    await add('https://perch.acme.io', 'Acme');
    await waitFor(() => expect(rows()).toEqual(['* Acme · https://perch.acme.ioActive']));
    answer = false;
    await add('https://perch.globex.io', 'Globex');
    await waitFor(() => expect(screen.getByRole('status').textContent).toBe("Access to https://perch.globex.io was refused in the browser's prompt, so Perch's screens are not shown there. Save the address again and choose Allow to turn them on."));
    expect(rows()).toEqual(['* Acme · https://perch.acme.ioActive']);
    expect(await fakeBrowser.storage.local.get('perchOrigin')).toEqual({ perchOrigin: 'https://perch.acme.io' });
  });

  it('shows the organisation’s address instead of the choice, and asks for its host', async () => {
    await useAddress('https://perch.acme.io', 'Acme');
    setManaged('https://perch.corp.example');
    render(<OptionsPage />);
    await screen.findByText('Your organisation set the Perch address: https://perch.corp.example. Allow access to it to see Perch\'s screens.');
    expect(screen.queryByLabelText('Perch address')).toBeNull();
    expect(screen.getByRole('status').textContent).toMatch(/^Access to https:\/\/perch\.corp\.example is not granted/);
    fireEvent.click(screen.getByRole('button', { name: 'Allow access' }));
    await waitFor(() => expect(screen.getByRole('status').textContent).toBe('Perch screens are active on https://perch.corp.example.'));
    expect(prompts).toEqual([['https://perch.corp.example/*']]);
    // The person's own choice is untouched.
    expect(await fakeBrowser.storage.local.get('perchOrigin')).toEqual({ perchOrigin: 'https://perch.acme.io' });
  });
});

describe('the popup', () => {
  it('names the active address among several', async () => {
    await useAddress('https://perch.acme.io', 'Acme');
    await useAddress('https://perch.globex.io', 'Globex');
    granted.add('https://perch.globex.io/*');
    render(<Popup />);
    await waitFor(() => expect(screen.getByRole('status').textContent).toContain('Active Perch: Globex (https://perch.globex.io).'));
  });

  it('says when the organisation set it', async () => {
    setManaged('https://perch.corp.example');
    render(<Popup />);
    await waitFor(() => expect(screen.getByRole('status').textContent).toContain('Active Perch: https://perch.corp.example, set by your organisation.'));
  });
});
