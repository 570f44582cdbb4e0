import { request as undiciRequest } from 'undici';
import type { PerchConfig } from '../config/config.js';

/** How long a probe waits for Kestra: a health check must answer even when Kestra hangs. */
const PROBE_TIMEOUT_MS = 2000;

export interface KestraReachability {
  reachable: boolean;
  status?: number;
  latencyMs?: number;
  error?: string;
}

/** Kestra's readiness as Perch needs it: answering, and accepting Perch's own credentials. */
export interface KestraReadiness {
  ready: boolean;
  /** Why Kestra is not ready, in words an administrator can act on. */
  reason?: string;
  status?: number;
  latencyMs?: number;
}

async function get(url: string, path: string, headers: Record<string, string> = {}): Promise<KestraReachability> {
  const started = performance.now();
  try {
    const res = await undiciRequest(new URL(path, url), { method: 'GET', headers, headersTimeout: PROBE_TIMEOUT_MS, bodyTimeout: PROBE_TIMEOUT_MS });
    await res.body.dump();
    return { reachable: res.statusCode < 500, status: res.statusCode, latencyMs: Math.round(performance.now() - started) };
  } catch (error) {
    const err = error as { code?: string; message: string };
    return { reachable: false, error: err.code ?? err.message };
  }
}

/** Is Kestra answering? Asked of its one unauthenticated endpoint. */
export function probeKestraReachable(config: PerchConfig['kestra']): Promise<KestraReachability> {
  return get(config.url, '/api/v1/configs/login');
}

/**
 * Is Kestra ready to serve Perch? Asks `GET /api/v1/configs`, which Kestra 2.0 serves only to a
 * signed-in caller, with Perch's own account: a 401 means the credentials are refused.
 */
export async function probeKestraReady(config: Pick<PerchConfig['kestra'], 'url' | 'username' | 'password'>): Promise<KestraReadiness> {
  if (!config.username || !config.password) {
    return { ready: false, reason: 'PERCH_KESTRA_USERNAME / PERCH_KESTRA_PASSWORD are not set: Kestra will refuse every proxied call' };
  }
  const authorization = `Basic ${Buffer.from(`${config.username}:${config.password}`).toString('base64')}`;
  const answer = await get(config.url, '/api/v1/configs', { authorization, accept: 'application/json' });
  const { status, latencyMs } = answer;
  if (answer.error) return { ready: false, reason: `Kestra is unreachable at ${new URL(config.url).origin} (${answer.error})` };
  if (status === 401 || status === 403) {
    return { ready: false, status, latencyMs, reason: `Kestra refused Perch's credentials (${status}): check PERCH_KESTRA_USERNAME and PERCH_KESTRA_PASSWORD against Kestra's basic-auth settings` };
  }
  if (status !== undefined && status >= 200 && status < 300) return { ready: true, status, latencyMs };
  return { ready: false, status, latencyMs, reason: `Kestra answered ${status} to GET /api/v1/configs` };
}

/**
 * At start: asks Kestra once whether it is ready for Perch and, when not, says so loudly (a framed
 * warning on stderr and in the log) with the reason; Perch still starts, its own screens work.
 */
export async function warnWhenKestraNotReady(config: PerchConfig['kestra'], warn: (message: string) => void, stderr: (text: string) => void): Promise<KestraReadiness> {
  const readiness = await probeKestraReady(config);
  if (!readiness.ready) {
    const message = `Kestra is not ready for Perch: ${readiness.reason}`;
    warn(message);
    const rule = '!'.repeat(72);
    stderr(`\n${rule}\n  ${message}\n  Kestra's pages will show an error until this is fixed; Perch's own screens (/perch/iam, /perch/audit, /perch/account) work.\n  Check again at /perch/health/ready\n${rule}\n\n`);
  }
  return readiness;
}
