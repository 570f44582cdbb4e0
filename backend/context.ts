import type { FastifyBaseLogger } from 'fastify';
import type { AuditLog } from './audit/audit-log.js';
import type { CookiePolicy } from './auth/cookies.js';
import type { DecisionIndex } from './authz/decision-index.js';
import type { LoginThrottle } from './auth/login-throttle.js';
import type { SessionManager } from './auth/sessions.js';
import type { PerchConfig } from './config/config.js';
import type { Envelope } from './crypto/envelope.js';
import type { PerchMetrics } from './metrics/perch-metrics.js';
import type { SecretKeys } from './secrets/secret-keys.js';
import type { ChangeFeed } from './store/change-feed.js';
import type { WorkerGroupPlacement } from './worker-groups/placement-rules.js';
import type { OpenStore, Store } from './store/database.js';

/**
 * Whether Perch has an instance owner yet (users/first-admin.ts keeps it): until it does, Perch
 * serves nothing but its health. Declared here so that the context, which every feature imports,
 * imports no feature.
 */
export interface FirstAdminStatus {
  /** True once an instance owner exists; answered from memory from then on. */
  readonly known: boolean;
  isReady(): Promise<boolean>;
  /** Runs when an owner shows up that this process did not create. */
  onFound: () => Promise<void>;
  /** On start: creates the configured admin when the store has none. */
  bootstrap(config: PerchConfig): Promise<'ready' | 'created' | 'waiting'>;
}

/** A tenant as routes and the proxy need it, answered from memory (tenants/tenant-directory.ts keeps it). */
export interface KnownTenant {
  id: string;
  name: string;
  mode: 'INSTANCE' | 'NAMESPACE';
  /** INSTANCE: the tenant's own Kestra; null: Perch's configured Kestra (`main`). */
  kestraUrl: string | null;
  /** Basic Authorization for the tenant's own Kestra, opened from its sealed password; null without one. */
  authorization: string | null;
  /** NAMESPACE: the roots the tenant owns. */
  namespaces: readonly string[];
}

/** Every tenant and who may enter it, in memory: no request reads the database for them. */
export interface TenantDirectory {
  get(id: string): KnownTenant | undefined;
  /** Instance owners enter every tenant; anyone else needs tenant access. */
  mayEnter(principal: { userId: string; superAdmin: boolean }, tenantId: string): boolean;
  /** The tenants a user has access to, by id. */
  tenantsOf(userId: string): KnownTenant[];
  /** The tenants a person may enter (an instance owner: every one), by id: what a tenant switcher lists. */
  enterable(principal: { userId: string; superAdmin: boolean }): KnownTenant[];
  /**
   * A user was just given access to a tenant (their new account's own tenant): patched in memory at
   * once, the other replicas told to re-read. Call once the write committed.
   */
  granted(tenantId: string, userId: string): void;
  /** Re-reads tenants and access from the store (after a change here or on another replica). */
  reload(): Promise<void>;
}

/** What every feature of the backend is handed: built once at start. */
export interface PerchContext {
  config: PerchConfig;
  store: OpenStore;
  db: Store;
  sessions: SessionManager;
  throttle: LoginThrottle;
  cookies: CookiePolicy;
  firstAdmin: FirstAdminStatus;
  /** Every authorization decision comes from this in-memory index, rebuilt or patched on IAM changes. */
  authz: DecisionIndex;
  /** Carries IAM and session changes to the other Perch replicas sharing the database. */
  changes: ChangeFeed;
  log: FastifyBaseLogger;
  /** The append-only audit log: `record` resolves once the entry is committed. */
  audit: AuditLog;
  /** Seals what Perch stores encrypted (credentials, secrets) with the master key; opens it back. */
  envelope: Envelope;
  /** What `/perch/metrics` reports: counted on the hot path without allocating. */
  metrics: PerchMetrics;
  /** Which namespace owns each secret key, in memory (the flow-save check reads it on the proxy's path). */
  secretKeys: SecretKeys;
  /** Where each namespace's scripts may run (worker groups), held in memory for the proxy's flow checks. */
  workerGroups: WorkerGroupPlacement;
  /** Tenants and tenant access, from memory. */
  tenants: TenantDirectory;
}
