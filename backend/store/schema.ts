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

/** Rate-limit counters (migration 015): one row per bucket and client address, for its current window. */
export interface RateLimitsTable {
  bucket: string;
  client: string;
  window_start: number;
  count: number;
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

/** Apps (migration 012): the YAML source and what is read out of it. */
export interface AppsTable {
  uid: string;
  tenant_id: string;
  id: string;
  name: string;
  type: string;
  namespace: string;
  flow_id: string;
  /** JSON array of strings. */
  tags: string;
  enabled: number;
  source: string;
  created_at: number;
  updated_at: number;
}

/** An execution an app started (migration 012), named by the SHA-256 of its run token. */
export interface AppRunsTable {
  token_hash: string;
  app_uid: string;
  execution_id: string;
  submitted_by: string | null;
  created_at: number;
}

/** A namespace created as an EE entity (migration 010); `settings` is its EE fields as JSON. */
export interface NamespacesTable {
  tenant_id: string;
  id: string;
  settings: string;
  created_at: number;
  updated_at: number;
}

/** A namespace secret (migration 010): `value` is sealed (crypto/envelope.ts) for the internal backend, null for a manager; never returned. */
export interface NamespaceSecretsTable {
  id: string;
  tenant_id: string;
  namespace: string;
  key: string;
  env_key: string;
  description: string | null;
  tags: string;
  backend: string;
  value: string | null;
  created_at: number;
  updated_at: number;
}

/** The secret backend an instance owner picked for a tenant (migration 010). */
export interface SecretBackendsTable {
  tenant_id: string;
  type: string;
  updated_at: number;
}

/** Worker groups (migration 014); their targets and namespaces are in the two tables below. */
export interface WorkerGroupsTable {
  id: string;
  name: string;
  description: string | null;
  created_at: number;
  updated_at: number;
}

/** A group's execution target, keyed by its Docker host: one group per host. */
export interface WorkerGroupTargetsTable {
  host: string;
  group_id: string;
  target_id: string;
  kind: string;
  position: number;
}

/** A namespace bound to a group (with its descendants): one group per namespace. */
export interface WorkerGroupNamespacesTable {
  namespace: string;
  group_id: string;
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

/** A tenant's own AI provider (migration 018); `id` is `{tenant}:{provider}`, the key is sealed at { table: 'ai_providers', column: 'api_key', id } and never returned. */
export interface AiProvidersTable {
  id: string;
  tenant_id: string;
  provider_id: string;
  display_name: string | null;
  kind: string;
  base_url: string | null;
  model: string;
  api_key: string | null;
  is_default: number;
  timeout_seconds: number;
  max_output_tokens: number;
  created_at: number;
  updated_at: number;
}

/** Tokens AI providers reported (migration 018), per tenant, person (`''`: the whole tenant) and period. */
export interface AiTokenUsageTable {
  tenant_id: string;
  person_id: string;
  period: string;
  tokens: number;
}

/** An instance owner's overrides of a tenant's AI limits (migration 019); null: the instance's setting. */
export interface AiTenantLimitsTable {
  tenant_id: string;
  tenant_requests_per_minute: number | null;
  tokens_per_tenant: number | null;
  tokens_per_person: number | null;
  updated_at: number;
}

export interface Database {
  users: UsersTable;
  sessions: SessionsTable;
  login_failures: LoginFailuresTable;
  rate_limits: RateLimitsTable;
  ai_providers: AiProvidersTable;
  ai_token_usage: AiTokenUsageTable;
  ai_tenant_limits: AiTenantLimitsTable;
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
  namespaces: NamespacesTable;
  namespace_secrets: NamespaceSecretsTable;
  secret_backends: SecretBackendsTable;
  worker_groups: WorkerGroupsTable;
  worker_group_targets: WorkerGroupTargetsTable;
  worker_group_namespaces: WorkerGroupNamespacesTable;
  apps: AppsTable;
  app_runs: AppRunsTable;
  banners: BannersTable;
  maintenance_state: MaintenanceStateTable;
  maintenance_held: MaintenanceHeldTable;
  kill_switches: KillSwitchesTable;
}

/** Operations (migration 011): announcements, maintenance mode and its held requests, kill switches. */
export interface BannersTable {
  id: string;
  message: string;
  type: 'INFO' | 'WARNING' | 'ERROR';
  start_date: number | null;
  end_date: number | null;
  created_at: number;
  updated_at: number;
}

export interface MaintenanceStateTable {
  id: number;
  phase: 'off' | 'entering' | 'on' | 'exiting';
  message: string | null;
  changed_by: string | null;
  changed_at: number;
  /** JSON `[{namespace, flowId, triggerId}]`: the schedule triggers Perch disabled on entering. */
  disabled_triggers: string;
  held_seq: number;
}

export interface MaintenanceHeldTable {
  seq: number;
  received_at: number;
  method: string;
  path: string;
  query: string;
  /** JSON of the headers forwarded with it. */
  headers: string;
  /** Base64 of the body. */
  body: string;
  /** JSON: who asked and from where, for the audit entry of the replay. */
  caller: string;
}

export interface KillSwitchesTable {
  id: string;
  name: string;
  tenant_id: string | null;
  namespace: string | null;
  flow_id: string | null;
  /** JSON array of execution ids. */
  execution_ids: string;
  start_date: number;
  end_date: number | null;
  description: string | null;
  evaluation_type: 'PASS' | 'KILL' | 'CANCEL' | 'IGNORE';
  enabled: number;
  deleted: number;
  created_at: number;
  updated_at: number;
}
