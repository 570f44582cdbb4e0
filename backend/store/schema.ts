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

/** IAM (migration 002). Role ids are unique per tenant; permissions are JSON `{RESOURCE: [ACTION…]}`. */
export interface RolesTable {
  id: string;
  tenant_id: string;
  name: string;
  description: string | null;
  permissions: string;
  is_default: number;
  is_managed: number;
  created_at: number;
  updated_at: number;
}

export interface GroupsTable {
  id: string;
  tenant_id: string;
  name: string;
  description: string | null;
  created_at: number;
  updated_at: number;
}

export interface GroupMembersTable {
  tenant_id: string;
  group_id: string;
  user_id: string;
  membership: 'OWNER' | 'MEMBER';
  created_at: number;
}

export interface BindingsTable {
  id: string;
  tenant_id: string;
  subject_type: 'USER' | 'GROUP';
  subject_id: string;
  role_id: string;
  /** null = tenant-wide. */
  namespace: string | null;
  created_at: number;
}

export interface Database {
  users: UsersTable;
  sessions: SessionsTable;
  login_failures: LoginFailuresTable;
  roles: RolesTable;
  groups: GroupsTable;
  group_members: GroupMembersTable;
  bindings: BindingsTable;
}
