import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { parse as parseYaml } from 'yaml';
import { z } from 'zod';
import { aiConfigSchema } from '../../lib/schemas/ai.js';
import { ssoConfigSchema } from '../../lib/schemas/sso.js';
import { hostOfEntry } from '../authz/kestra-hosts.js';
import { PROJECT_ROOT } from '../project-root.js';

/** ISO-8601 durations such as PT30M or P7D, turned into milliseconds. */
const durationMs = z.string().transform((text, ctx) => {
  const ms = parseIsoDuration(text);
  if (ms === null) {
    ctx.addIssue({ code: 'custom', message: `"${text}" is not an ISO-8601 duration such as PT30M or P7D` });
    return z.NEVER;
  }
  return ms;
});

/** The longest duration Perch takes (100 years): anything longer is a typo, and dates past it overflow. */
const MAX_DURATION_MS = 100 * 365 * 86_400_000;

/** An ISO-8601 duration in whole milliseconds (fractions of a millisecond dropped), or null. */
export function parseIsoDuration(text: string): number | null {
  const m = /^P(?:(\d+)D)?(?:T(?:(\d+)H)?(?:(\d+)M)?(?:(\d+(?:\.\d+)?)S)?)?$/.exec(text);
  if (!m || text === 'P' || text.endsWith('T')) return null;
  const [, d, h, min, s] = m;
  const ms = Math.floor(((Number(d ?? 0) * 24 + Number(h ?? 0)) * 60 + Number(min ?? 0)) * 60_000 + Number(s ?? 0) * 1000);
  return Number.isSafeInteger(ms) && ms <= MAX_DURATION_MS ? ms : null;
}

export { PROJECT_ROOT } from '../project-root.js';

/**
 * The configuration's schema, built for each read and dropped after it: it is used once at start, and
 * its few hundred zod schemas would otherwise stay in the heap for the process's life (~0.7 MB).
 */
function configSchema() {
  const port = z.coerce.number().int().min(0).max(65535);
  // abort: a value that is no URL at all is not handed to the refinements below.
  const httpUrl = z.url({ protocol: /^https?$/, abort: true });
  const withoutCredentials = (url: string) => {
    const parsed = new URL(url);
    return !parsed.username && !parsed.password;
  };
  /** An address Perch prints in its log and its mails: credentials in it would be printed too. */
  const addressUrl = httpUrl.refine(withoutCredentials, 'must not contain a user name or password');
  /** A log shipper's endpoint: undici would drop a user and password given in it without a word. */
  const sinkUrl = httpUrl.refine(withoutCredentials, 'must not contain a user name or password: send credentials in headers (Authorization)');
  /** Kestra's origin: Perch forwards every path to Kestra's root, and Kestra's account has its own keys. */
  const kestraUrl = httpUrl
    .refine(withoutCredentials, 'must not contain a user name or password: set kestra.username and kestra.password (PERCH_KESTRA_USERNAME, PERCH_KESTRA_PASSWORD)')
    .refine((url) => { const parsed = new URL(url); return parsed.pathname === '/' && !parsed.search && !parsed.hash; }, 'give only the scheme, host and port: Perch reaches Kestra at its root');

  return z
    .object({
      port: port.default(8090),
      host: z.string().min(1).default('127.0.0.1'),
      /** Public address people use (https:// turns on Secure cookies). */
      publicUrl: addressUrl.optional(),
      dataDir: z.string().min(1).default('./data'),
      databaseUrl: z.string().regex(/^(postgres(ql)?:\/\/|sqlite:)./, 'use postgres://user:password@host/database or sqlite:/path/to/file.db').optional(),
      logLevel: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
      /**
       * Reverse proxies whose forwarding header names the client (addresses or CIDR ranges; a list, or
       * comma-separated in the environment). None by default: the socket's address is the client's.
       */
      trustedProxies: z
        .union([z.array(z.string()), z.string().transform((text) => text.split(',').map((part) => part.trim()).filter(Boolean))])
        .pipe(z.array(z.union([z.ipv4(), z.ipv6(), z.cidrv4(), z.cidrv6()], { error: 'give IP addresses or CIDR ranges such as 10.0.0.0/8' })))
        .default([]),
      /** The header those proxies write: X-Forwarded-For, or RFC 7239 Forwarded (its `for=`). Only this one is read. */
      trustedProxyHeader: z.enum(['x-forwarded-for', 'forwarded']).default('x-forwarded-for'),
      /** How long a caller has to send a body Perch reads itself (its API, sign-in); uploads to Kestra stream and are not bounded. */
      bodyTimeout: durationMs.default(30_000),
      /** Serve https directly: PEM files of the certificate (with its chain) and its private key. */
      tls: z.strictObject({ cert: z.string().min(1), key: z.string().min(1) }).optional(),
      kestra: z
        .strictObject({
          url: kestraUrl.default('http://localhost:8080'),
          username: z.string().min(1).optional(),
          password: z.string().min(1).optional(),
          /** How long Perch waits for Kestra's response headers before answering 504. */
          timeout: durationMs.default(30_000),
          /**
           * The largest multipart upload (namespace files, flow imports, execution inputs with files) Perch
           * takes: it reads each whole, in memory, to check its one form before anything is forwarded.
           */
          maxUploadSize: z.coerce.number().int().min(1024).max(2 ** 31 - 1).default(100 * 1024 * 1024),
          /**
           * Other names and addresses of Kestra (its service name, its node's IP, a load balancer) besides
           * `url`'s host and loopback: a flow calling any of them directly is refused (issue 16.2). A list, or
           * one comma-separated string (PERCH_KESTRA_INTERNAL_HOSTS).
           */
          internalHosts: z
            .preprocess((v) => (typeof v === 'string' ? v.split(',').map((h) => h.trim()).filter(Boolean) : v), z.array(z.string().refine((h) => !h.includes('://') && hostOfEntry(h) !== null, 'give host names or addresses, without scheme or path')))
            .default([]),
        })
        .prefault({}),
      /** Apps' pages (issue 23): what one visitor may send, signed in or not. */
      apps: z
        .strictObject({
          /** The largest form an app takes (its files included), in bytes. */
          maxUploadSize: z.coerce.number().int().min(1024).max(2 ** 31 - 1).default(10 * 1024 * 1024),
          /** Form submissions, resumes and kills per client address per minute, over all apps. */
          submissionsPerMinute: z.coerce.number().int().min(1).default(10),
        })
        .prefault({}),
      admin: z
        .strictObject({ email: z.email().optional(), password: z.string().optional() })
        .prefault({}),
      session: z
        .strictObject({
          idleTimeout: durationMs.default(30 * 60_000),
          absoluteTimeout: durationMs.default(12 * 3_600_000),
        })
        .prefault({}),
      login: z
        .strictObject({
          maxFailures: z.coerce.number().int().min(1).default(5),
          failureWindow: durationMs.default(15 * 60_000),
          lockDuration: durationMs.default(15 * 60_000),
          /** Attempts per client IP per minute, whatever the account. */
          perIpPerMinute: z.coerce.number().int().min(1).default(30),
        })
        .prefault({}),
      password: z
        .strictObject({
          minLength: z.coerce.number().int().min(8).max(128).default(12),
          /** Character classes a password must contain, at least this many of each (0: not required). */
          minDigits: z.coerce.number().int().min(0).max(32).default(0),
          minLowerCase: z.coerce.number().int().min(0).max(32).default(0),
          minUpperCase: z.coerce.number().int().min(0).max(32).default(0),
          minSpecial: z.coerce.number().int().min(0).max(32).default(0),
        })
        .prefault({}),
      /** Outgoing mail (invitations, password resets); without `smtp.host`, links are shown to the admin instead. */
      mail: z
        .strictObject({
          smtp: z
            .strictObject({
              host: z.string().min(1).optional(),
              port: port.default(587),
              /** true: TLS from the first byte (port 465); false: STARTTLS when the server offers it. */
              secure: z.stringbool().or(z.boolean()).default(false),
              user: z.string().min(1).optional(),
              password: z.string().min(1).optional(),
              from: z.string().min(1).default('Perch <perch@localhost>'),
            })
            .prefault({}),
        })
        .prefault({}),
      invitations: z.strictObject({ expireAfter: durationMs.default(7 * 24 * 3_600_000) }).prefault({}),
      passwordReset: z
        .strictObject({
          /** How long a reset link works. */
          validFor: durationMs.default(3_600_000),
          /** At most one reset mail per account in this period. */
          cooldown: durationMs.default(5 * 60_000),
          /** Reset requests per client IP per window, whatever the account. */
          maxRequestsPerIp: z.coerce.number().int().min(1).default(10),
          window: durationMs.default(3_600_000),
        })
        .prefault({}),
      /** Single sign-on with OpenID Connect: one button per provider on the login page. */
      sso: ssoConfigSchema.prefault({}),
      auth: z
        .strictObject({
          /** `Authorization: Basic base64(email:password)` for scripts; off unless turned on. */
          basic: z.strictObject({ enabled: z.stringbool().or(z.boolean()).default(false) }).prefault({}),
        })
        .prefault({}),
      audit: z
        .strictObject({
          /** Entries older than this are purged daily (ISO-8601, e.g. P90D); unset keeps everything. */
          retention: durationMs.optional(),
          /** Log shipper (issue 6): external sinks every entry is forwarded to, at least once, in order. */
          sinks: z
            .array(
              z.discriminatedUnion('type', [
                z.strictObject({
                  type: z.literal('webhook'),
                  /** The cursor's key; defaults to `webhook:<url>`. */
                  name: z.string().min(1).max(100).optional(),
                  url: sinkUrl,
                  headers: z.record(z.string(), z.string()).optional(),
                }),
                z.strictObject({
                  type: z.literal('file'),
                  name: z.string().min(1).max(100).optional(),
                  path: z.string().min(1),
                  /** Rotated (`path.1`, `path.2`, …) before it would grow past this. */
                  maxBytes: z.number().int().min(1024).default(100 * 1024 * 1024),
                  /** Rotated files kept. */
                  keep: z.number().int().min(1).max(100).default(5),
                }),
                z.strictObject({
                  /** OpenTelemetry logs over OTLP/HTTP with JSON encoding: `url` is the full endpoint, e.g. http://collector:4318/v1/logs. */
                  type: z.literal('otlp'),
                  name: z.string().min(1).max(100).optional(),
                  url: sinkUrl,
                  headers: z.record(z.string(), z.string()).optional(),
                }),
                z.strictObject({
                  type: z.literal('syslog'),
                  name: z.string().min(1).max(100).optional(),
                  host: z.string().min(1),
                  port: z.number().int().min(1).max(65535),
                  appName: z.string().min(1).max(48).regex(/^[!-~]+$/).default('perch'),
                }),
              ]),
            )
            .default([]),
          /** How often the shipper looks for new entries. */
          shipInterval: durationMs.default(1000),
          /** Entries per delivery. */
          shipBatch: z.number().int().min(1).max(10_000).default(500),
          /** The audit key's file (hex, mode 0600), made at first start; default `<dataDir>/audit.key`. PERCH_AUDIT_KEY (the key itself) wins. */
          keyFile: z.string().min(1).optional(),
          /** How often every chain's head is signed into a checkpoint (file and sinks): the window a cut tail can go unseen. */
          checkpointInterval: durationMs.default(60_000),
          /** The checkpoints' file (JSON lines, appended); default `<dataDir>/audit-checkpoints.jsonl`. Keep it off the database's disk. */
          checkpointFile: z.string().min(1).optional(),
        })
        .prefault({}),
      /** Encryption at rest of what Perch stores and must read back (backend/crypto/envelope.ts). */
      encryption: z
        .strictObject({
          /** The master key's file (hex, mode 0600), made at first start; default `<dataDir>/master.key`. PERCH_MASTER_KEY (the key itself) wins. */
          masterKeyFile: z.string().min(1).optional(),
        })
        .prefault({}),
      /** `/perch/metrics` (Prometheus): readable only with this token as `Authorization: Bearer …`; unset, nobody reads it. */
      metrics: z
        .strictObject({ token: z.string().regex(/^[\x21-\x7e]{32,}$/, 'must be at least 32 printable characters without spaces (e.g. openssl rand -hex 32)').optional() })
        .prefault({}),
      /** The AI copilot's providers and limits (issue 24, docs/ai.md). */
      ai: aiConfigSchema.prefault({}),
      /** Maintenance mode (issue 22): what happens to new executions while the instance is in maintenance. */
      maintenance: z
        .strictObject({
          /** `refuse`: answered 503 with Retry-After; `hold`: queued in Perch's store and sent to Kestra, in order, when maintenance ends. */
          onExecution: z.enum(['refuse', 'hold']).default('refuse'),
          /** The Retry-After of a refusal. */
          retryAfter: durationMs.default(300_000),
        })
        .prefault({}),
      /** Worker groups (issue 25): how often this replica checks every Docker target of the registry. */
      workerGroups: z
        .strictObject({ healthCheckInterval: durationMs.pipe(z.number().min(1000, 'must be at least PT1S')).default(30_000) })
        .prefault({}),
      /** Delivery of namespace secrets to Kestra OSS (`perch secrets sync`, docs/secrets.md). */
      secrets: z
        .strictObject({
          /** Where new secret values go (docs/secrets.md): Perch's store or an external manager. */
          backend: z
            .strictObject({
              type: z.enum(['internal', 'aws', 'vault', 'azure', 'google', 'doppler', 'onepassword']).default('internal'),
              /** Perch lists and delivers, but never writes to the manager. */
              readOnly: z.stringbool().or(z.boolean()).default(false),
              /** Names in the manager start with it: `<prefix><tenant>/<namespace…>/<KEY>`. */
              prefix: z.string().max(200).regex(/^[A-Za-z0-9/_+=.@-]*$/).default('perch/'),
              /** Values read from an external manager are kept this long (PT0S: not at all), at most maxEntries of them. */
              cache: z.strictObject({ ttl: durationMs.default(30_000), maxEntries: z.coerce.number().int().min(0).max(1_000_000).default(1000) }).prefault({}),
              aws: z.strictObject({
                region: z.string().min(1),
                endpoint: z.url().optional(),
                accessKeyId: z.string().min(1).optional(),
                secretAccessKey: z.string().min(1).optional(),
              }).optional(),
              vault: z.strictObject({
                address: z.url(),
                token: z.string().min(1).optional(),
                appRole: z.strictObject({ path: z.string().min(1).default('approle'), roleId: z.string().min(1), secretId: z.string().min(1) }).optional(),
                namespace: z.string().min(1).optional(),
                mount: z.string().min(1).default('secret'),
                timeout: durationMs.default(10_000),
              }).optional(),
              azure: z.strictObject({
                vaultUrl: z.url(),
                tenantId: z.string().min(1).optional(),
                clientId: z.string().min(1).optional(),
                clientSecret: z.string().min(1).optional(),
              }).optional(),
              google: z.strictObject({
                projectId: z.string().regex(/^[a-z][a-z0-9-]{4,28}[a-z0-9]$/),
                credentialsFile: z.string().min(1).optional(),
                endpoint: z.url().optional(),
              }).optional(),
              doppler: z.strictObject({
                token: z.string().min(1),
                project: z.string().min(1),
                config: z.string().min(1),
                apiUrl: z.url().optional(),
                timeout: durationMs.default(10_000),
              }).optional(),
              onepassword: z.strictObject({
                /** The Connect server. */
                url: z.url(),
                token: z.string().min(1),
                vault: z.string().regex(/^[0-9a-z]{26}$/, "the vault's UUID (26 lower-case letters and digits)"),
                timeout: durationMs.default(10_000),
              }).optional(),
            })
            .prefault({})
            .check((ctx) => {
              const b = ctx.value;
              if (b.type === 'aws' && !b.aws) ctx.issues.push({ code: 'custom', input: b, path: ['aws'], message: 'secrets.backend.aws.region is required for type aws' });
              if (b.type === 'onepassword' && !b.onepassword) ctx.issues.push({ code: 'custom', input: b, path: ['onepassword'], message: 'secrets.backend.onepassword needs a Connect url, a token and a vault for type onepassword' });
              if (b.type === 'doppler' && !b.doppler) ctx.issues.push({ code: 'custom', input: b, path: ['doppler'], message: 'secrets.backend.doppler needs a token, a project and a config for type doppler' });
              if (b.type === 'google' && !b.google) ctx.issues.push({ code: 'custom', input: b, path: ['google'], message: 'secrets.backend.google.projectId is required for type google' });
              if (b.type === 'azure' && !b.azure) ctx.issues.push({ code: 'custom', input: b, path: ['azure'], message: 'secrets.backend.azure.vaultUrl is required for type azure' });
              if (b.type === 'vault' && !(b.vault && (b.vault.token || b.vault.appRole))) ctx.issues.push({ code: 'custom', input: b, path: ['vault'], message: 'secrets.backend.vault needs an address and a token or an appRole for type vault' });
            }),
          sync: z
            .strictObject({
              /** `env`: an env file (Docker Compose `env_file`, systemd); `kubernetes`: a Secret manifest; `swarm`: Docker Swarm secrets (a directory). */
              format: z.enum(['env', 'kubernetes', 'swarm']).default('env'),
              /** Where the file is written (mode 0600); default `<dataDir>/kestra-secrets.env` or `.yaml` (the directory `kestra-secrets` for swarm). */
              file: z.string().min(1).optional(),
              /** The Kubernetes Secret's name (format kubernetes). */
              kubernetesName: z.string().regex(/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/).default('kestra-secrets'),
              /** Kestra's service in the Swarm stack (format swarm): the Compose fragment grants it the secrets. */
              swarmService: z.string().regex(/^[a-zA-Z0-9][a-zA-Z0-9_.-]*$/).default('kestra'),
              /** Run (by `sh -c`) after a changed file is written, e.g. a rolling restart of Kestra. */
              reloadCommand: z.string().min(1).optional(),
            })
            .prefault({}),
        })
        .prefault({}),
      /** Perch's screens in the Kestra UI (issue 5). */
      ui: z
        .strictObject({
          /** Add Perch's screens to the Kestra UI pages Perch serves, so nobody needs the browser extension. */
          inject: z.stringbool().or(z.boolean()).default(true),
          /** The built screens bundle (npm run build:ext); relative paths are from the working directory. */
          bundle: z.string().min(1).default(path.join(PROJECT_ROOT, '.output/chrome-mv3/content-scripts/perch.js')),
          /** Announcements shown at the top of every page between their start and end dates. */
          banners: z
            .array(
              z.strictObject({
                id: z.string().min(1).max(100).optional(),
                message: z.string().min(1).max(2000),
                type: z.enum(['INFO', 'WARNING', 'ERROR']).default('INFO'),
                startDate: z.iso.datetime({ offset: true }).optional(),
                endDate: z.iso.datetime({ offset: true }).optional(),
              }),
            )
            .default([]),
          /** Links in the top bar's menu (EE: kestra.ee.right-sidebar.custom-links). */
          links: z.record(z.string().min(1), z.strictObject({ title: z.string().min(1), url: httpUrl })).default({}),
          /** Shows the maintenance notice on every page. */
          maintenance: z
            .strictObject({ active: z.stringbool().or(z.boolean()).default(false), message: z.string().min(1).max(2000).optional() })
            .prefault({}),
        })
        .prefault({}),
    })
    .strict()
    // A mailed link must not follow the Host header of whoever asked for the mail (a reset link pointing
    // at an attacker's host): with mail on, links are built from publicUrl only.
    .refine((config) => !config.mail.smtp.host || config.publicUrl, {
      path: ['publicUrl'],
      message: 'is required when mail.smtp.host is set: links in mails are built from it, never from a request',
    })
    // Served over https, cookies must be Secure and the CSRF origin https: both follow publicUrl.
    .refine((config) => !config.tls || config.publicUrl?.startsWith('https:'), {
      path: ['publicUrl'],
      message: 'must be the https:// address people use when tls.cert and tls.key are set',
    });
}

export type PerchConfig = z.output<ReturnType<typeof configSchema>>;
export type PerchConfigInput = z.input<ReturnType<typeof configSchema>>;

/** Environment variables and the config key each one overrides. */
export const ENV_KEYS: Record<string, string> = {
  PERCH_PORT: 'port',
  PERCH_HOST: 'host',
  PERCH_PUBLIC_URL: 'publicUrl',
  PERCH_DATA_DIR: 'dataDir',
  PERCH_DATABASE_URL: 'databaseUrl',
  PERCH_LOG_LEVEL: 'logLevel',
  PERCH_BODY_TIMEOUT: 'bodyTimeout',
  PERCH_TLS_CERT: 'tls.cert',
  PERCH_TLS_KEY: 'tls.key',
  PERCH_TRUSTED_PROXIES: 'trustedProxies',
  PERCH_TRUSTED_PROXY_HEADER: 'trustedProxyHeader',
  PERCH_KESTRA_URL: 'kestra.url',
  PERCH_KESTRA_USERNAME: 'kestra.username',
  PERCH_KESTRA_PASSWORD: 'kestra.password',
  PERCH_KESTRA_TIMEOUT: 'kestra.timeout',
  PERCH_KESTRA_MAX_UPLOAD_SIZE: 'kestra.maxUploadSize',
  PERCH_KESTRA_INTERNAL_HOSTS: 'kestra.internalHosts',
  PERCH_APPS_MAX_UPLOAD_SIZE: 'apps.maxUploadSize',
  PERCH_APPS_SUBMISSIONS_PER_MINUTE: 'apps.submissionsPerMinute',
  PERCH_ADMIN_EMAIL: 'admin.email',
  PERCH_ADMIN_PASSWORD: 'admin.password',
  PERCH_SESSION_IDLE_TIMEOUT: 'session.idleTimeout',
  PERCH_SESSION_ABSOLUTE_TIMEOUT: 'session.absoluteTimeout',
  PERCH_LOGIN_MAX_FAILURES: 'login.maxFailures',
  PERCH_LOGIN_LOCK_DURATION: 'login.lockDuration',
  PERCH_PASSWORD_MIN_LENGTH: 'password.minLength',
  PERCH_PASSWORD_MIN_DIGITS: 'password.minDigits',
  PERCH_PASSWORD_MIN_LOWER_CASE: 'password.minLowerCase',
  PERCH_PASSWORD_MIN_UPPER_CASE: 'password.minUpperCase',
  PERCH_PASSWORD_MIN_SPECIAL: 'password.minSpecial',
  PERCH_MAIL_SMTP_HOST: 'mail.smtp.host',
  PERCH_MAIL_SMTP_PORT: 'mail.smtp.port',
  PERCH_MAIL_SMTP_SECURE: 'mail.smtp.secure',
  PERCH_MAIL_SMTP_USER: 'mail.smtp.user',
  PERCH_MAIL_SMTP_PASSWORD: 'mail.smtp.password',
  PERCH_MAIL_SMTP_FROM: 'mail.smtp.from',
  PERCH_INVITATIONS_EXPIRE_AFTER: 'invitations.expireAfter',
  PERCH_PASSWORD_RESET_VALID_FOR: 'passwordReset.validFor',
  PERCH_PASSWORD_RESET_COOLDOWN: 'passwordReset.cooldown',
  PERCH_AUTH_BASIC_ENABLED: 'auth.basic.enabled',
  PERCH_AUDIT_RETENTION: 'audit.retention',
  PERCH_AUDIT_KEY_FILE: 'audit.keyFile',
  PERCH_MASTER_KEY_FILE: 'encryption.masterKeyFile',
  PERCH_SECRETS_SYNC_RELOAD_COMMAND: 'secrets.sync.reloadCommand',
  PERCH_SECRETS_BACKEND: 'secrets.backend.type',
  PERCH_SECRETS_AWS_SECRET_ACCESS_KEY: 'secrets.backend.aws.secretAccessKey',
  PERCH_SECRETS_VAULT_TOKEN: 'secrets.backend.vault.token',
  PERCH_SECRETS_AZURE_CLIENT_SECRET: 'secrets.backend.azure.clientSecret',
  PERCH_SECRETS_DOPPLER_TOKEN: 'secrets.backend.doppler.token',
  PERCH_SECRETS_ONEPASSWORD_TOKEN: 'secrets.backend.onepassword.token',
  PERCH_AUDIT_CHECKPOINT_INTERVAL: 'audit.checkpointInterval',
  PERCH_AUDIT_CHECKPOINT_FILE: 'audit.checkpointFile',
  PERCH_METRICS_TOKEN: 'metrics.token',
  PERCH_UI_INJECT: 'ui.inject',
  PERCH_UI_BUNDLE: 'ui.bundle',
  PERCH_UI_MAINTENANCE: 'ui.maintenance.active',
  PERCH_MAINTENANCE_ON_EXECUTION: 'maintenance.onExecution',
  PERCH_MAINTENANCE_RETRY_AFTER: 'maintenance.retryAfter',
  PERCH_WORKER_GROUPS_HEALTH_CHECK_INTERVAL: 'workerGroups.healthCheckInterval',
};

export class ConfigError extends Error {}

function setPath(target: Record<string, unknown>, dotted: string, value: unknown): void {
  const keys = dotted.split('.');
  let node = target;
  for (const key of keys.slice(0, -1)) {
    const next = node[key];
    node = (typeof next === 'object' && next !== null ? next : (node[key] = {})) as Record<string, unknown>;
  }
  node[keys[keys.length - 1]!] = value;
}

/** Validates raw settings; a bad value becomes one line naming the key. */
export function parseConfig(raw: unknown): PerchConfig {
  const result = configSchema().safeParse(raw ?? {});
  if (result.success) return result.data;
  const issue = result.error.issues[0]!;
  const key = issue.path.join('.');
  const envName = Object.entries(ENV_KEYS).find(([, k]) => k === key)?.[0];
  if (issue.code === 'unrecognized_keys') {
    throw new ConfigError(`Invalid configuration: unknown key ${issue.keys.map((k) => (key ? `${key}.${k}` : k)).join(', ')}`);
  }
  const message = issue.message;
  throw new ConfigError(`Invalid configuration: ${key || 'file'}${envName ? ` (${envName})` : ''}: ${message}`);
}

/**
 * `PERCH_X_FILE`: the value of `PERCH_X` read from a file (Docker and Swarm secrets, Kubernetes secret
 * volumes), without its final line break. Both set is ambiguous, so refused.
 */
async function fromSecretFile(env: NodeJS.ProcessEnv, name: string): Promise<string | undefined> {
  const file = env[`${name}_FILE`];
  if (!file) return undefined;
  if (env[name]) throw new ConfigError(`Invalid configuration: both ${name} and ${name}_FILE are set: keep one`);
  try {
    return (await readFile(file, 'utf8')).replace(/\r?\n$/, '');
  } catch (error) {
    throw new ConfigError(`Cannot read ${name}_FILE (${file}): ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`);
  }
}

/** Reads the YAML file (if any), applies PERCH_* overrides (or PERCH_*_FILE), validates. */
export async function loadConfig(options: { file?: string; env?: NodeJS.ProcessEnv } = {}): Promise<PerchConfig> {
  const env = options.env ?? process.env;
  const file = options.file ?? env.PERCH_CONFIG;
  let raw: Record<string, unknown> = {};
  if (file) {
    let text: string;
    try {
      text = await readFile(path.resolve(file), 'utf8');
    } catch (error) {
      throw new ConfigError(`Cannot read configuration file ${file}: ${(error as Error).message}`);
    }
    try {
      raw = (parseYaml(text) as Record<string, unknown> | null) ?? {};
    } catch (error) {
      throw new ConfigError(`Configuration file ${file} is not valid YAML: ${(error as Error).message.split('\n')[0]}`);
    }
    if (typeof raw !== 'object' || Array.isArray(raw)) throw new ConfigError(`Configuration file ${file} must hold a YAML mapping`);
  }
  for (const [name, key] of Object.entries(ENV_KEYS)) {
    const fromFile = await fromSecretFile(env, name);
    const value = fromFile ?? env[name];
    if (value !== undefined && value !== '') setPath(raw, key, value);
  }
  return parseConfig(raw);
}
