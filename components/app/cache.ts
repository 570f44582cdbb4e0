import { openDB, type IDBPDatabase } from 'idb';

/**
 * Lists seen before are kept in IndexedDB (per signed-in person) so going back to a screen shows
 * them at once while a fresh copy loads. Any write through the API client clears the cache, and so
 * does the end of the session that filled it (see {@link adoptCacheOwner}).
 */
const DB_NAME = 'perch-cache';
const STORE = 'lists';
/** Whose lists the store holds (keys of lists all have a `|`). */
const OWNER_KEY = '#owner';
let owner = 'anonymous';
let db: Promise<IDBPDatabase> | undefined;

function open(): Promise<IDBPDatabase> | undefined {
  if (typeof indexedDB === 'undefined') return undefined;
  db ??= openDB(DB_NAME, 1, {
    upgrade(database) {
      database.createObjectStore(STORE);
    },
  }).catch((error: unknown) => {
    db = undefined;
    throw error;
  });
  return db;
}

/**
 * The cache now serves `id` (null: nobody is signed in). Lists left by anyone else, or by a session
 * that has ended since, are dropped: audit diffs and user lists must not stay at rest in a browser
 * where the next person signs in. Entries are keyed by person too, so none is ever served to another.
 */
export async function adoptCacheOwner(id: string | null): Promise<void> {
  owner = id ?? 'anonymous';
  try {
    const database = await open();
    if (!database || (await database.get(STORE, OWNER_KEY)) === (id ?? undefined)) return;
    await database.clear(STORE);
    if (id) await database.put(STORE, id, OWNER_KEY);
  } catch {
    // No IndexedDB, nothing kept.
  }
}

export async function readCache<T>(key: string): Promise<T | undefined> {
  try {
    return (await (await open())?.get(STORE, `${owner}|${key}`)) as T | undefined;
  } catch {
    return undefined;
  }
}

export async function writeCache(key: string, value: unknown): Promise<void> {
  try {
    await (await open())?.put(STORE, value, `${owner}|${key}`);
  } catch {
    // A full or blocked IndexedDB only costs the instant back-navigation.
  }
}

export async function clearCache(): Promise<void> {
  try {
    await (await open())?.clear(STORE);
  } catch {
    // Nothing cached, nothing to clear.
  }
}
