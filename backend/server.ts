import fastifyCookie from '@fastify/cookie';
import { randomUUID } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import Fastify, { LogController, type FastifyInstance } from 'fastify';
import { AuditLog } from './audit/audit-log.js';
import { ensureAuditKey, type AuditKey } from './audit/audit-key.js';
import { checkpointFile } from './audit/checkpoint.js';
import { ensureMasterKey } from './crypto/master-key.js';
import { Checkpointer } from './audit/checkpointer.js';
import { installAuditHook } from './audit/http-hook.js';
import { installAuthFailureTrail } from './audit/auth-failures.js';
import { installClientAddress } from './http/client-address.js';
import { installBodyParsers } from './http/body-parsers.js';
import { installBodyDeadline } from './http/body-deadline.js';
import { logsEveryRequest, requestLogOptions } from './http/request-log.js';
import { perchResponses } from './http/perch-response.js';
import { requestIdSource } from './http/request-id.js';
import { PerchMetrics } from './metrics/perch-metrics.js';
import { countAnswer, installRequestMetrics } from './metrics/request-metrics.js';
import { registerMetricsRoutes } from './metrics/routes.js';
import { startRetention } from './audit/retention.js';
import { registerAuditRoutes } from './audit/routes.js';
import { startShipper } from './audit/shipper.js';
import { cookiePolicy } from './auth/cookies.js';
import { installGuard } from './auth/guard.js';
import { DecisionIndex } from './authz/decision-index.js';
import { LoginThrottle } from './auth/login-throttle.js';
import { registerAuthRoutes } from './auth/routes.js';
import { SessionManager } from './auth/sessions.js';
import { ConfigError, type PerchConfig } from './config/config.js';
import type { PerchContext } from './context.js';
import { registerHealthRoutes } from './health/routes.js';
import { ensureManagedRoles, loadAuthzFacts } from './iam/iam-store.js';
import { registerIamRoutes } from './iam/routes.js';
import { installErrorHandling } from './http/errors.js';
import { OwnRoutes, ROUTER_OPTIONS } from './http/own-routes.js';
import { NO_SCHEMA_COMPILERS } from './http/schema-compilers.js';
import type { FastLane } from './proxy/fast-lane.js';
import { registerKestraProxy } from './proxy/kestra-proxy.js';
import { registerUiRoutes } from './ui/routes.js';
import { registerScreenPages } from './ui/screen-pages.js';
import { registerAccountRoutes } from './account/routes.js';
import { registerApps } from './apps/routes.js';
import { registerWorkerGroups } from './worker-groups/routes.js';
import { WorkerGroupPlacement } from './worker-groups/placement-rules.js';
import { registerAi } from './ai/routes.js';
import { loadScreensBundle } from './ui/screens-bundle.js';
import { registerMachineAccess } from './tokens/routes.js';
import { registerOnboarding } from './onboarding/routes.js';
import { registerSsoRoutes } from './sso/routes.js';
import { LocalChangeFeed, PostgresChangeFeed, type ChangeFeed } from './store/change-feed.js';
import { migrateToLatest, openStore } from './store/database.js';
import { DEFAULT_TENANT } from '../lib/tenants.js';
import { FirstAdminGate } from './users/first-admin.js';
import { registerUserRoutes } from './users/routes.js';
import { registerBanners } from './banners/routes.js';
import { registerMaintenance } from './maintenance/routes.js';
import { registerKillSwitches } from './kill-switches/routes.js';
import { registerNamespaces } from './namespaces/routes.js';
import { registerSecrets } from './secrets/routes.js';
import { SecretKeys } from './secrets/secret-keys.js';
import { loadTenantDirectory, registerTenants } from './tenants/routes.js';

/**
 * Re-reads every binding and membership into the decision index, so that no local patch of the
 * index made while reading is lost: a patch made then (after its write committed) may be missing
 * from what was read, so it reads again.
 */
async function reloadAuthorization(ctx: PerchContext): Promise<void> {
  // Who may enter which tenant goes with the authorization facts (a new owner, a replica's change).
  await ctx.tenants.reload();
  for (;;) {
    const version = ctx.authz.version;
    const facts = await loadAuthzFacts(ctx.db);
    if (ctx.authz.version === version) return ctx.authz.load(facts);
  }
}

/** IAM API writes: after one succeeds, the other replicas re-read the authorization facts. */
const IAM_WRITE = /^\/api\/v1\/(?:users(?:\/|$)|[^/]+\/(?:roles|groups|bindings)(?:\/|$))/;

/**
 * Keeps replicas that share a PostgreSQL database in step: session revocations and IAM changes made
 * on one reach the in-memory caches of all the others at once (over LISTEN/NOTIFY).
 */
function installReplicaSync(app: FastifyInstance, ctx: PerchContext): void {
  // This replica's name on the change feed, so it skips its own announcements.
  const REPLICA_ID = randomUUID();
  const fail = (error: unknown) => app.log.error({ err: error }, 'could not announce a change to the other replicas');
  ctx.sessions.announce = (event) => void ctx.changes.publish('sessions', `${REPLICA_ID}|${event}`).catch(fail);
  ctx.changes.subscribe('sessions', (payload) => {
    const [from, event] = payload.split('|');
    if (from !== REPLICA_ID && event) ctx.sessions.forgetLocally(event);
  });
  // One reload at a time; a change announced during a reload triggers one more afterwards.
  let reloading = false;
  let again = false;
  const reload = async (): Promise<void> => {
    if (reloading) {
      again = true;
      return;
    }
    reloading = true;
    try {
      do {
        again = false;
        await reloadAuthorization(ctx);
      } while (again);
    } catch (error) {
      app.log.error({ err: error }, 'could not reload authorization facts');
    } finally {
      reloading = false;
    }
  };
  ctx.changes.subscribe('iam', (from) => {
    if (from !== REPLICA_ID) void reload();
  });
  // The feed's connection dropped and is back: whatever was announced meanwhile is lost, so re-read.
  ctx.changes.onResync(() => {
    void reload();
    ctx.sessions.revalidateAll().catch((error) => app.log.error({ err: error }, 'could not revalidate sessions'));
  });
  app.addHook('onResponse', async (request, reply) => {
    if (request.method === 'GET' || reply.statusCode >= 400 || !IAM_WRITE.test(request.canonical?.path ?? '')) return;
    await ctx.changes.publish('iam', REPLICA_ID).catch(fail);
  });
}

export interface Perch {
  app: FastifyInstance;
  ctx: PerchContext;
  /** Re-reads every binding and membership into the decision index. */
  reloadAuthorization(): Promise<void>;
  /** What the proxy's fast lane forwarded and handed to Fastify (proxy/fast-lane.ts). */
  fastLane: FastLane['counts'];
  /** The audit key the log and its checkpoints are signed with (`perch serve` made and showed it first, if it was new). */
  auditKey: AuditKey;
  close(): Promise<void>;
}

const HSTS = 'max-age=31536000';

/** The certificate and key files of `tls`, read once at start; a file Perch cannot read stops it, naming the key. */
async function readTls(tls: { cert: string; key: string }): Promise<{ cert: Buffer; key: Buffer }> {
  const read = (file: string, key: string) => readFile(file).catch((error: NodeJS.ErrnoException) => {
    throw new ConfigError(`Cannot read ${key} (${file}): ${error.code ?? error.message}`);
  });
  return { cert: await read(tls.cert, 'tls.cert (PERCH_TLS_CERT)'), key: await read(tls.key, 'tls.key (PERCH_TLS_KEY)') };
}

/**
 * Builds a ready-to-listen Perch: store migrated, features registered. `fastLane: false` sends every
 * request through Fastify (tests compare both paths).
 */
export async function buildPerch(config: PerchConfig, options: { logger?: boolean; logStream?: NodeJS.WritableStream; fastLane?: boolean } = {}): Promise<Perch> {
  // Kestra reads may take the proxy's fast lane before Fastify sees them (proxy/fast-lane.ts).
  let fastLane: FastLane | undefined;
  const tls = config.tls && (await readTls(config.tls));
  // Browsers that reached Perch over https keep to it (HSTS); Perch's answers say so, Kestra's too.
  const hsts = config.publicUrl?.startsWith('https:') ? HSTS : null;
  const metrics = new PerchMetrics();
  // Every request's id, given as it arrives (both lanes); its answer's head carries it, and HSTS.
  const requestId = requestIdSource(config.trustedProxies);
  const serverOptions = { ServerResponse: perchResponses({ hsts, onHead: countAnswer(metrics) }) };
  const app = Fastify({
    serverFactory: (fastify, settings) => {
      const handle = (req: IncomingMessage, res: ServerResponse) => {
        requestId(req);
        return fastLane ? fastLane.take(req, res, fastify) : fastify(req, res);
      };
      const server = tls ? createHttpsServer({ ...tls, ...serverOptions }, handle) : createServer(serverOptions, handle);
      // What Fastify sets on a server it creates itself.
      server.keepAliveTimeout = Number(settings.keepAliveTimeout);
      server.requestTimeout = Number(settings.requestTimeout);
      server.setTimeout(Number(settings.connectionTimeout));
      return server;
    },
    logger: options.logger === false ? false : { ...requestLogOptions(config.logLevel), ...(options.logStream ? { stream: options.logStream } : {}) },
    logController: new LogController({ disableRequestLogging: !logsEveryRequest(config.logLevel) }),
    genReqId: requestId,
    routerOptions: ROUTER_OPTIONS,
    schemaController: NO_SCHEMA_COMPILERS,
    bodyLimit: 1024 * 1024,
    requestTimeout: 0,
    forceCloseConnections: true,
    return503OnClosing: true,
  });
  // The key first: a Perch that cannot sign its audit log does not start.
  const auditKey = await ensureAuditKey(config);
  const masterKey = await ensureMasterKey(config);
  const store = await openStore(config);
  try {
    await migrateToLatest(store.db, (line) => app.log.info(line));
  } catch (error) {
    await store.close();
    throw error;
  }
  let changes: ChangeFeed;
  try {
    changes = store.dialect === 'postgres' ? await PostgresChangeFeed.connect(config.databaseUrl!, (error) => app.log.error({ err: error }, 'change feed failed')) : new LocalChangeFeed();
  } catch (error) {
    await store.close();
    throw error;
  }
  let tenants: PerchContext['tenants'];
  try {
    tenants = await loadTenantDirectory({ db: store.db, envelope: masterKey.envelope, log: app.log, changes });
  } catch (error) {
    await changes.close();
    await store.close();
    throw error;
  }
  const ctx: PerchContext = {
    config,
    store,
    db: store.db,
    sessions: new SessionManager(store.db, config.session, (error) => app.log.error({ err: error }, 'session bookkeeping failed')),
    throttle: new LoginThrottle(store.db, config.login),
    cookies: cookiePolicy(config),
    firstAdmin: new FirstAdminGate(store.db),
    authz: new DecisionIndex(),
    changes,
    log: app.log,
    audit: new AuditLog(store, { key: auditKey.key, onCommitted: (seconds) => metrics.auditCommitted(seconds) }),
    envelope: masterKey.envelope,
    metrics,
    secretKeys: new SecretKeys(),
    workerGroups: new WorkerGroupPlacement(),
    tenants,
  };
  metrics.watch({ auditBacklog: () => ctx.audit.backlog, activeSessions: () => ctx.sessions.countActive() });
  installReplicaSync(app, ctx);
  ctx.firstAdmin.onFound = () => reloadAuthorization(ctx);
  try {
    await ensureManagedRoles(ctx.db, DEFAULT_TENANT);
    await reloadAuthorization(ctx);
    await ctx.secretKeys.load(ctx.db);
  } catch (error) {
    ctx.sessions.close();
    await store.close();
    throw error;
  }

  app.decorate('tenantDirectory', ctx.tenants);
  const ownRoutes = new OwnRoutes();
  ownRoutes.install(app);
  installRequestMetrics(app);
  await app.register(fastifyCookie);
  installBodyParsers(app);
  installBodyDeadline(app, config.bodyTimeout);
  installErrorHandling(app);
  installClientAddress(app, { trustedProxies: config.trustedProxies, header: config.trustedProxyHeader });
  installGuard(app, ctx);
  installAuditHook(app, ctx);
  installAuthFailureTrail(app, ctx);
  registerHealthRoutes(app, ctx);
  registerMetricsRoutes(app, ctx);
  registerAuthRoutes(app, ctx);
  registerSsoRoutes(app, ctx);
  registerUserRoutes(app, ctx);
  registerIamRoutes(app, ctx);
  registerTenants(app, ctx);
  registerMachineAccess(app, ctx);
  registerOnboarding(app, ctx);
  registerAuditRoutes(app, ctx);
  registerBanners(app, ctx);
  const maintenance = await registerMaintenance(app, ctx);
  const killSwitches = await registerKillSwitches(app, ctx);
  registerNamespaces(app, ctx);
  registerSecrets(app, ctx);
  // Perch's screens: served always (the extension's users need the config route), injected when on and built.
  const screens = await loadScreensBundle(config.ui.bundle);
  if (config.ui.inject && !screens) app.log.warn(`Perch screens are not built (${config.ui.bundle}): the Kestra UI is served without them; run npm run build:ext`);
  registerUiRoutes(app, ctx, screens);
  registerScreenPages(app, ctx, screens);
  registerAccountRoutes(app, ctx);
  registerApps(app, ctx, [killSwitches, maintenance]);
  registerWorkerGroups(app, ctx);
  const proxy = await registerKestraProxy(app, ctx, { injectScreens: config.ui.inject && screens !== undefined, ownRoutes, admissions: [killSwitches, maintenance] });
  // The copilot reads each tenant's Kestra through the proxy's readers and decisions.
  registerAi(app, ctx, proxy.kestraOf);
  const lane = proxy.fastLane;
  if (options.fastLane !== false) fastLane = lane;

  const stopRetention = startRetention(ctx);
  const shipper = startShipper(ctx.db, config.audit, (sink, error) => app.log.warn({ err: error, sink }, `audit log shipping to ${sink} failed; retrying`));
  const checkpointer = new Checkpointer({
    db: ctx.db,
    key: auditKey.key,
    file: checkpointFile(config),
    intervalMs: config.audit.checkpointInterval,
    sinks: shipper.sinks,
    onRefused: (r) => app.log.error({ event: 'audit.checkpoint.refused', tenantId: r.tenant }, `audit checkpoint: chain ${r.tenant} keeps its previous pin: ${r.reason}`),
    onError: (where, error) => app.log.warn({ err: error, where }, `audit checkpoint to ${where} failed`),
  }).start();
  let closed = false;
  return {
    app,
    ctx,
    reloadAuthorization: () => reloadAuthorization(ctx),
    fastLane: lane.counts,
    auditKey,
    async close() {
      if (closed) return;
      closed = true;
      ctx.sessions.close();
      stopRetention();
      await app.close();
      await ctx.audit.close();
      await checkpointer.close();
      await shipper.close();
      await ctx.changes.close();
      await store.close();
    },
  };
}
