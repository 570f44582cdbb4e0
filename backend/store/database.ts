import { existsSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import SqliteDatabase from 'better-sqlite3';
import { CompiledQuery, Kysely, Migrator, PostgresDialect, SqliteDialect, SqliteDriver, type DatabaseConnection, type Driver, type MigrationProvider, type SqliteDialectConfig, type TransactionSettings } from 'kysely';
import type pg from 'pg';
import { migrations } from './migrations/index.js';
import type { Database } from './schema.js';

export type Store = Kysely<Database>;
export interface OpenStore {
  db: Store;
  dialect: 'sqlite' | 'postgres';
  /** Where the data lives, for messages (never includes a password). */
  description: string;
  close(): Promise<void>;
  /**
   * SQLite only: the connection Kysely drives. The audit log reads its file name and mode from it
   * (its appender is a second connection, on a worker thread) and the background checkpointer
   * turns its automatic checkpoints off.
   */
  sqlite?: SqliteDatabase.Database;
}

/**
 * Kysely's SQLite driver, except that a read-write transaction starts with `begin immediate`
 * (taking the write lock, waiting up to busy_timeout for it) instead of a deferred `begin`. The
 * audit log commits from a second connection (a worker thread's): a deferred transaction that read
 * before that connection committed and writes after would fail at once with SQLITE_BUSY_SNAPSHOT
 * (its snapshot is stale; no busy timeout helps). A transaction asked for as `read only` stays deferred.
 */
class ImmediateSqliteDriver extends SqliteDriver {
  override async beginTransaction(connection: DatabaseConnection, settings?: TransactionSettings): Promise<void> {
    await connection.executeQuery(CompiledQuery.raw(settings?.accessMode === 'read only' ? 'begin' : 'begin immediate'));
  }
}

class ImmediateSqliteDialect extends SqliteDialect {
  constructor(private readonly config: SqliteDialectConfig) {
    super(config);
  }

  override createDriver(): Driver {
    return new ImmediateSqliteDriver(this.config);
  }
}

/** PostgreSQL's int8 arrives as text by default; our instants fit in a JS number. */
function pgTypes(types: typeof pg.types) {
  return {
    getTypeParser(oid: number, format?: 'text' | 'binary') {
      if (oid === 20) return (value: string) => Number(value);
      return types.getTypeParser(oid, format as 'text');
    },
  };
}

/**
 * Opens the store: `postgres://…` goes to PostgreSQL, `sqlite:/path/file.db` or nothing
 * to the embedded SQLite file in dataDir.
 */
/** The SQLite file a configuration points at (`databaseUrl` sqlite:…, else perch.db in the data folder). */
export function sqliteFileOf(options: { databaseUrl?: string; dataDir: string }): string {
  const url = options.databaseUrl;
  if (!url) return path.join(options.dataDir, 'perch.db');
  if (!url.startsWith('sqlite:')) throw new Error(`Unsupported database URL scheme in "${url.split(':')[0]}:": use postgres://… or sqlite:/path/to/file.db`);
  return url.slice('sqlite:'.length);
}

/** Opens the store; `mustExist` (read-only commands): an SQLite file that is not there is an error, not a new empty store. */
export async function openStore(options: { databaseUrl?: string; dataDir: string; mustExist?: boolean }): Promise<OpenStore> {
  const url = options.databaseUrl;
  if (url && /^postgres(ql)?:\/\//.test(url)) {
    // Loaded only when used: the embedded SQLite default should not pay for the PostgreSQL driver.
    const { default: pgModule } = await import('pg');
    const pool = new pgModule.Pool({ connectionString: url, max: 10, types: pgTypes(pgModule.types) as pg.CustomTypesConfig });
    const db = new Kysely<Database>({ dialect: new PostgresDialect({ pool }) });
    const parsed = new URL(url);
    return { db, dialect: 'postgres', description: `PostgreSQL ${parsed.host}${parsed.pathname}`, close: () => db.destroy() };
  }
  const file = sqliteFileOf(options);
  if (options.mustExist && !existsSync(file)) {
    throw new Error(`no Perch store at ${path.resolve(file)} (PERCH_DATA_DIR / PERCH_DATABASE_URL): this command reads a store and never creates one`);
  }
  if (!url) await mkdir(options.dataDir, { recursive: true });
  const sqlite = new SqliteDatabase(file);
  sqlite.pragma('journal_mode = WAL');
  sqlite.pragma('synchronous = NORMAL');
  sqlite.pragma('foreign_keys = ON');
  sqlite.pragma('busy_timeout = 5000');
  const db = new Kysely<Database>({ dialect: new ImmediateSqliteDialect({ database: sqlite }) });
  return { db, dialect: 'sqlite', description: `SQLite ${path.resolve(file)}`, close: () => db.destroy(), sqlite };
}

const provider: MigrationProvider = { getMigrations: async () => migrations };

/** Brings the schema up to date; reports each step so a long upgrade shows progress. */
export async function migrateToLatest(db: Store, progress: (line: string) => void = () => {}): Promise<void> {
  const migrator = new Migrator({ db, provider });
  const { error, results } = await migrator.migrateToLatest();
  for (const result of results ?? []) {
    progress(`migration ${result.migrationName}: ${result.status === 'Success' ? 'applied' : result.status.toLowerCase()}`);
  }
  if (error) throw new Error(`Database migration failed: ${(error as Error).message ?? String(error)}`);
}
