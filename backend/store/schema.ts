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
  /** Migration 004: a person, or a service account (no password, API tokens only). */
  type: 'STANDARD' | 'SERVICE_ACCOUNT';
  /** Migration 004: service accounts' description. */
  description: string | null;
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

/** The audit log (migration 003): append-only, one hash chain per tenant_id. */
export interface AuditLogTable {
  tenant_id: string;
  seq: number;
  id: string;
  date: number;
  actor_type: 'USER' | 'SERVICE_ACCOUNT' | 'SYSTEM' | 'ANONYMOUS';
  actor_id: string | null;
  actor_email: string | null;
  impersonated_by: string | null;
  action: string;
  resource_type: string;
  resource_id: string | null;
  namespace: string | null;
  request_id: string | null;
  ip: string | null;
  user_agent: string | null;
  outcome: 'SUCCESS' | 'FAILURE' | 'REFUSED';
  upstream_status: number | null;
  /** JSON object, secrets removed. */
  details: string;
  prev_hash: string;
  hash: string;
}

/** Before/after state of an audited change (migration 007), keyed by the audit entry's id. */
export interface AuditStatesTable {
  entry_id: string;
  tenant_id: string;
  /** What the states are, e.g. `flow-source`. */
  kind: string;
  before: string | null;
  after: string | null;
}

/** The log shipper's durable cursors (migration 007): the last seq each sink acknowledged, per chain. */
export interface AuditShipCursorsTable {
  sink: string;
  tenant_id: string;
  last_seq: number;
  updated_at: number;
}

/** API tokens (migration 004): only the SHA-256 of the secret is kept. */
export interface ApiTokensTable {
  id: string;
  user_id: string;
  name: string;
  description: string | null;
  secret_hash: string;
  /** The token's first characters, not secret, shown in lists. */
  prefix: string;
  created_at: number;
  created_by: string | null;
  /** null = never expires. */
  expires_at: number | null;
  max_age_ms: number | null;
  /** 1: every use pushes expires_at to now + max_age_ms (sliding expiry). */
  extended: number;
  last_used_at: number | null;
}

/** Invitations (migration 005): only the SHA-256 of the link's token is kept. */
export interface InvitationsTable {
  id: string;
  tenant_id: string;
  email: string;
  token_hash: string;
  /** JSON `[{id, namespaces: string[]}]`: roles bound on acceptance (no namespaces: tenant-wide). */
  roles: string;
  /** JSON `[groupId…]`: groups joined on acceptance. */
  group_ids: string;
  super_admin: number;
  created_by: string | null;
  sent_at: number;
  expires_at: number;
  accepted_at: number | null;
  accepted_user_id: string | null;
  /** 1: the link went out by mail. */
  mailed: number;
}

/** Password reset links (migration 005): single use, hashed token. */
export interface PasswordResetsTable {
  token_hash: string;
  user_id: string;
  created_at: number;
  expires_at: number;
  used_at: number | null;
}

/** Single sign-on (migration 006): a provider's subject linked to a Perch user. */
export interface SsoIdentitiesTable {
  provider_id: string;
  subject: string;
  user_id: string;
  /** The email the provider gave at the last sign-in (informative). */
  email: string | null;
  created_at: number;
  last_login_at: number | null;
}

/** Single sign-on (migration 006): sign-ins in flight, keyed by the SHA-256 of the cookie's handle. */
export interface SsoLoginsTable {
  id_hash: string;
  provider_id: string;
  state: string;
  nonce: string;
  code_verifier: string;
  return_to: string;
  created_at: number;
  expires_at: number;
}

/** Tenants (migration 009): where each keeps its Kestra data; the password is sealed (crypto/envelope.ts). */
export interface TenantsTable {
  id: string;
  name: string;
  mode: 'INSTANCE' | 'NAMESPACE';
  /** INSTANCE: the tenant's own Kestra; null for `main`, which is Perch's configured Kestra. */
  kestra_url: string | null;
  kestra_username: string | null;
  /** Sealed at { table: 'tenants', column: 'kestra_password', id }. */
  kestra_password: string | null;
  /** NAMESPACE: the roots the tenant owns, JSON `string[]`. */
  namespaces: string;
  created_at: number;
  updated_at: number;
}

/** Who may enter a tenant (EE's tenant access). */
export interface TenantAccessTable {
  tenant_id: string;
  user_id: string;
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
  api_tokens: ApiTokensTable;
  audit_log: AuditLogTable;
  invitations: InvitationsTable;
  password_resets: PasswordResetsTable;
  audit_states: AuditStatesTable;
  audit_ship_cursors: AuditShipCursorsTable;
  sso_identities: SsoIdentitiesTable;
  sso_logins: SsoLoginsTable;
  tenants: TenantsTable;
  tenant_access: TenantAccessTable;
}
