import type { Generated } from 'kysely';

/** Flags are 0/1 integers and instants are epoch milliseconds, the same on SQLite and PostgreSQL. */
export interface UsersTable {
  id: string;
  tenant_id: string;
  email: string;
  first_name: string | null;
  last_name: string | null;
  password_hash: string | null;
  super_admin: number;
  restricted: number;
  disabled: number;
  created_at: number;
  updated_at: number;
}

export interface SessionsTable {
  /** SHA-256 of the session id: the id itself is never stored. */
  id_hash: string;
  user_id: string;
  tenant_id: string;
  created_at: number;
  last_seen_at: number;
  expires_at: number;
  ip: string | null;
  user_agent: string | null;
}

export interface LoginFailuresTable {
  email: string;
  failures: number;
  window_started_at: number;
  locked_until: number | null;
}


export interface Database {
  users: UsersTable;
  sessions: SessionsTable;
  login_failures: LoginFailuresTable;
}
