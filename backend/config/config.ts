import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { parse as parseYaml } from 'yaml';
import { z } from 'zod';

/** ISO-8601 durations such as PT30M or P7D, turned into milliseconds. */
const durationMs = z.string().transform((text, ctx) => {
  const ms = parseIsoDuration(text);
  if (ms === null) {
    ctx.addIssue({ code: 'custom', message: `"${text}" is not an ISO-8601 duration such as PT30M or P7D` });
    return z.NEVER;
  }
  return ms;
});

export function parseIsoDuration(text: string): number | null {
  const m = /^P(?:(\d+)D)?(?:T(?:(\d+)H)?(?:(\d+)M)?(?:(\d+(?:\.\d+)?)S)?)?$/.exec(text);
  if (!m || text === 'P' || text.endsWith('T')) return null;
  const [, d, h, min, s] = m;
  return ((Number(d ?? 0) * 24 + Number(h ?? 0)) * 60 + Number(min ?? 0)) * 60_000 + Number(s ?? 0) * 1000;
}

const port = z.coerce.number().int().min(0).max(65535);
const httpUrl = z.url({ protocol: /^https?$/ });

export const configSchema = z
  .object({
    port: port.default(8090),
    host: z.string().min(1).default('127.0.0.1'),
    /** Public address people use (https:// turns on Secure cookies). */
    publicUrl: httpUrl.optional(),
    dataDir: z.string().min(1).default('./data'),
    databaseUrl: z.string().min(1).optional(),
    logLevel: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
    kestra: z
      .strictObject({
        url: httpUrl.default('http://localhost:8080'),
        username: z.string().min(1).optional(),
        password: z.string().min(1).optional(),
        /** How long Perch waits for Kestra's response headers before answering 504. */
        timeout: durationMs.default(30_000),
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
      .strictObject({ minLength: z.coerce.number().int().min(8).max(128).default(12) })
      .prefault({}),
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
      })
      .prefault({}),
  })
  .strict();

export type PerchConfig = z.output<typeof configSchema>;
export type PerchConfigInput = z.input<typeof configSchema>;

/** Environment variables and the config key each one overrides. */
export const ENV_KEYS: Record<string, string> = {
  PERCH_PORT: 'port',
  PERCH_HOST: 'host',
  PERCH_PUBLIC_URL: 'publicUrl',
  PERCH_DATA_DIR: 'dataDir',
  PERCH_DATABASE_URL: 'databaseUrl',
  PERCH_LOG_LEVEL: 'logLevel',
  PERCH_KESTRA_URL: 'kestra.url',
  PERCH_KESTRA_USERNAME: 'kestra.username',
  PERCH_KESTRA_PASSWORD: 'kestra.password',
  PERCH_KESTRA_TIMEOUT: 'kestra.timeout',
  PERCH_ADMIN_EMAIL: 'admin.email',
  PERCH_ADMIN_PASSWORD: 'admin.password',
  PERCH_SESSION_IDLE_TIMEOUT: 'session.idleTimeout',
  PERCH_SESSION_ABSOLUTE_TIMEOUT: 'session.absoluteTimeout',
  PERCH_LOGIN_MAX_FAILURES: 'login.maxFailures',
  PERCH_LOGIN_LOCK_DURATION: 'login.lockDuration',
  PERCH_PASSWORD_MIN_LENGTH: 'password.minLength',
  PERCH_AUTH_BASIC_ENABLED: 'auth.basic.enabled',
  PERCH_AUDIT_RETENTION: 'audit.retention',
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
  const result = configSchema.safeParse(raw ?? {});
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

/** Reads the YAML file (if any), applies PERCH_* overrides, validates. */
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
    const value = env[name];
    if (value !== undefined && value !== '') setPath(raw, key, value);
  }
  return parseConfig(raw);
}
