import { browser } from 'wxt/browser';
import { PERCH_ORIGIN_KEY, perchOrigin } from './perch-origin';

/**
 * The Perch addresses a person keeps (one per client, say) and the one in use. The active origin
 * stays under PERCH_ORIGIN_KEY in storage.local; the list sits beside it. An address an
 * organisation sets by policy (storage.managed, same key) wins over both: the person cannot switch
 * away from it.
 */
export interface SavedAddress {
  origin: string;
  /** What the person calls it ("Acme", "staging"); may be empty. */
  label: string;
}

export interface ActiveAddress {
  origin: string;
  /** The host permission pattern that covers it. */
  pattern: string;
  label: string;
  /** Set by the organisation's policy (managed storage). */
  managed: boolean;
}

export interface AddressBook {
  saved: SavedAddress[];
  active?: ActiveAddress;
}

/** Where the list of saved addresses is kept (storage.local). */
export const SAVED_ADDRESSES_KEY = 'perchAddresses';

/** Managed storage: the manifest's schema (public/managed-schema.json) names this key too. */
async function managedOrigin(): Promise<string | undefined> {
  try {
    const value = (await browser.storage.managed.get(PERCH_ORIGIN_KEY))[PERCH_ORIGIN_KEY];
    return typeof value === 'string' ? value : undefined;
  } catch {
    // Firefox rejects when no policy names the extension; browsers without managed storage have none.
    return undefined;
  }
}

/** Only well-formed entries: the list is read back from storage another version may have written. */
function savedFrom(value: unknown): SavedAddress[] {
  if (!Array.isArray(value)) return [];
  return value.flatMap((entry) => {
    const origin = (entry as { origin?: unknown })?.origin;
    const label = (entry as { label?: unknown })?.label;
    if (typeof origin !== 'string') return [];
    const parsed = perchOrigin(origin);
    return parsed.ok ? [{ origin: parsed.origin, label: typeof label === 'string' ? label : '' }] : [];
  });
}

export async function readAddressBook(): Promise<AddressBook> {
  const stored = await browser.storage.local.get([PERCH_ORIGIN_KEY, SAVED_ADDRESSES_KEY]);
  const saved = savedFrom(stored[SAVED_ADDRESSES_KEY]);
  const fromPolicy = await managedOrigin();
  const policy = fromPolicy === undefined ? undefined : perchOrigin(fromPolicy);
  // A policy value that is no address is ignored, as if unset.
  const managed = policy?.ok ? policy.origin : undefined;
  const chosen = managed ?? stored[PERCH_ORIGIN_KEY];
  const parsed = typeof chosen === 'string' ? perchOrigin(chosen) : undefined;
  if (!parsed?.ok) return { saved };
  const known = saved.find((entry) => entry.origin === parsed.origin);
  const active = { origin: parsed.origin, pattern: parsed.pattern, label: known?.label ?? '', managed: managed !== undefined };
  // An address chosen before the list existed is listed too.
  return { saved: known || active.managed ? saved : [...saved, { origin: active.origin, label: '' }], active };
}

/** The address the extension works on, if any: the managed one first, then the person's choice. */
export async function activeAddress(): Promise<ActiveAddress | undefined> {
  return (await readAddressBook()).active;
}

/** Adds (or relabels) an address and makes it the active one. */
export async function useAddress(origin: string, label: string): Promise<void> {
  const { saved } = await readAddressBook();
  const previous = saved.find((entry) => entry.origin === origin);
  const entry = { origin, label: label.trim() || previous?.label || '' };
  // A known address keeps its place in the list; a new one goes last.
  const list = previous ? saved.map((e) => (e === previous ? entry : e)) : [...saved, entry];
  await browser.storage.local.set({ [SAVED_ADDRESSES_KEY]: list, [PERCH_ORIGIN_KEY]: origin });
}

/**
 * Drops an address from the list (and as the active one). Returns the host pattern whose permission
 * can go too: none when another kept address still needs that host.
 */
export async function forgetAddress(origin: string): Promise<string | undefined> {
  const book = await readAddressBook();
  const kept = book.saved.filter((entry) => entry.origin !== origin);
  await browser.storage.local.set({ [SAVED_ADDRESSES_KEY]: kept });
  if (book.active?.origin === origin && !book.active.managed) await browser.storage.local.remove(PERCH_ORIGIN_KEY);
  const parsed = perchOrigin(origin);
  if (!parsed.ok) return undefined;
  const stillNeeded = [...kept.map((entry) => entry.origin), ...(book.active?.managed ? [book.active.origin] : [])]
    .some((other) => { const o = perchOrigin(other); return o.ok && o.pattern === parsed.pattern; });
  return stillNeeded ? undefined : parsed.pattern;
}
