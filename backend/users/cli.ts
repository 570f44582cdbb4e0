import { formatJson, formatTable } from '../cli-output.js';
import type { PerchConfig } from '../config/config.js';
import { migrateToLatest, openStore, type OpenStore } from '../store/database.js';
import { searchUsers, toApiUser, type UserRow } from './user-store.js';

type Out = { out: (line: string) => void; err: (line: string) => void };
const stdio: Out = { out: (l) => process.stdout.write(`${l}\n`), err: (l) => process.stderr.write(`${l}\n`) };

/** The longest list `users list` prints; past it, it says how many more there are. */
const LIST_LIMIT = 1000;

/** A read-only command's store: it must exist already, and the command names it on stderr. */
async function openExisting(settings: PerchConfig, io: Out): Promise<OpenStore | null> {
  try {
    const store = await openStore({ ...settings, mustExist: true });
    io.err(`store: ${store.description}`);
    await migrateToLatest(store.db);
    return store;
  } catch (error) {
    io.err(`perch: ${(error as Error).message}`);
    return null;
  }
}

const flags = (row: UserRow) => [row.super_admin ? 'instance-owner' : '', row.disabled ? 'disabled' : '', row.restricted ? 'restricted' : ''].filter(Boolean).join(',');

/** `perch users list [--json]`: every person, as a table or as JSON. */
export async function usersList(settings: PerchConfig, options: { json?: boolean; query?: string }, io: Out = stdio): Promise<number> {
  const store = await openExisting(settings, io);
  if (!store) return 1;
  try {
    const { rows, total } = await searchUsers(store.db, { page: 1, size: LIST_LIMIT, q: options.query });
    if (options.json) {
      io.out(formatJson({ total, results: rows.map((row) => toApiUser(row)) }));
    } else {
      const name = (row: UserRow) => [row.first_name, row.last_name].filter(Boolean).join(' ');
      io.out(formatTable(['email', 'name', 'flags', 'id'], rows.map((row) => [row.email, name(row) || null, flags(row) || null, row.id]), 'no users'));
      if (total > rows.length) io.err(`… and ${total - rows.length} more (use --json and a script for all of them)`);
    }
    return 0;
  } finally {
    await store.close();
  }
}
