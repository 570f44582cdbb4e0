import { openDB, type IDBPDatabase } from 'idb';

/**
 * Lists seen before are kept in IndexedDB (per signed-in person) so going back to a screen shows
 * them at once while a fresh copy loads. Any write through the API client clears the cache.
 */
const DB_NAME = 'perch-cache';
const STORE = 'lists';
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

/** Entries are keyed by the signed-in person, so one person never sees another's cached lists. */
export function setCacheOwner(id: string): void {
  owner = id;
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
