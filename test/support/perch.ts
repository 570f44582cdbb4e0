import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { request } from 'undici';
import { MANAGED_ROLES } from '../../lib/authz/catalogue.js';
import { parseConfig, type PerchConfigInput } from '../../backend/config/config.js';
import { insertBinding, toBindingFact } from '../../backend/iam/iam-store.js';
import { startKestraDouble, type KestraDouble } from '../kestra-double/kestra-double.js';
import { freePort } from './postgres.js';
import { buildPerch, type Perch } from '../../backend/server.js';
import { createInstanceOwner } from '../../backend/users/first-admin.js';

export const ADMIN_EMAIL = 'admin@perch.test';
export const ADMIN_PASSWORD = 'correct horse battery staple';

export interface RunningPerch {
  url: string;
  origin: string;
  perch: Perch;
  close(): Promise<void>;
}

/** A Perch on a free loopback port, with its own store and an instance owner already created. */
export async function startPerch(options: { databaseUrl?: string; config?: PerchConfigInput; withAdmin?: boolean; fastLane?: boolean; logStream?: NodeJS.WritableStream } = {}): Promise<RunningPerch> {
  const dataDir = await mkdtemp(path.join(tmpdir(), 'perch-test-'));
  // With mail on, Perch builds links from publicUrl only: such a Perch knows its port before it starts.
  const port = options.config?.mail?.smtp?.host && !options.config.publicUrl ? await freePort() : 0;
  const config = parseConfig({
    port,
    ...(port ? { publicUrl: `http://127.0.0.1:${port}` } : {}),
    dataDir,
    databaseUrl: options.databaseUrl,
    logLevel: 'silent',
    ...options.config,
    kestra: { url: 'http://127.0.0.1:9', ...options.config?.kestra },
  });
  // Logs are off unless a test reads them.
  const perch = await buildPerch(config, { logger: options.logStream !== undefined, logStream: options.logStream, fastLane: options.fastLane });
  if (options.withAdmin !== false) {
    await createInstanceOwner(perch.ctx.db, config, ADMIN_EMAIL, ADMIN_PASSWORD);
    await perch.reloadAuthorization();
  }
  await perch.app.listen({ port: config.port, host: '127.0.0.1' });
  const address = perch.app.server.address() as { port: number };
  const url = `http://127.0.0.1:${address.port}`;
  return {
    url,
    origin: url,
    perch,
    async close() {
      await perch.close();
      await rm(dataDir, { recursive: true, force: true });
    },
  };
}

/**
 * Two Perch replicas on one PostgreSQL database in front of one Kestra, as deploy/swarm runs them:
 * the second starts without creating the owner, and both share the audit key and the master key.
 */
export async function startReplicaPair(databaseUrl: string, kestra: { url: string; username: string; password: string }): Promise<[RunningPerch, RunningPerch]> {
  const keys = await mkdtemp(path.join(tmpdir(), 'perch-keys-'));
  const config = { kestra, audit: { keyFile: path.join(keys, 'audit.key') }, encryption: { masterKeyFile: path.join(keys, 'master.key') } };
  const a = await startPerch({ databaseUrl, config });
  const b = await startPerch({ databaseUrl, withAdmin: false, config });
  const closeB = b.close;
  b.close = async () => {
    await closeB();
    await rm(keys, { recursive: true, force: true });
  };
  return [a, b];
}

export interface Answer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  text: string;
  json: any;
}

/** One HTTP exchange as a test sees it: the body as text, and as JSON when it parses. */
export async function exchange(url: string, method: string, init: { headers?: Record<string, string>; body?: string | Buffer; json?: unknown } = {}): Promise<Answer> {
  const headers: Record<string, string> = { ...init.headers };
  let body = init.body;
  if (init.json !== undefined) {
    body = JSON.stringify(init.json);
    headers['content-type'] = 'application/json';
  }
  const res = await request(url, { method: method as 'GET', headers, body });
  const text = await res.body.text();
  let json: any;
  try {
    json = text ? JSON.parse(text) : undefined;
  } catch {
    json = undefined;
  }
  return { status: res.statusCode, headers: res.headers, text, json };
}

/** A flow of one Log task, as YAML: the smallest flow most suites need. */
export const logFlow = (namespace: string, id: string) => `id: ${id}\nnamespace: ${namespace}\ntasks:\n  - id: say\n    type: io.kestra.plugin.core.log.Log\n    message: hi\n`;

/** Binds a managed role to a user, in the store and the decision index (for tests not about the IAM API). */
export async function grantRole(perch: Perch, userId: string, role: (typeof MANAGED_ROLES)[number]['id'], namespace: string | null): Promise<void> {
  const permissions = MANAGED_ROLES.find((r) => r.id === role)!.permissions;
  const binding = await insertBinding(perch.ctx.db, 'main', { type: 'USER', subjectId: userId, roleId: role, namespace });
  perch.ctx.authz.addBinding(toBindingFact(binding, permissions));
}

/** A new person, created by the instance owner, holding `role` in `namespace`, signed in. */
export async function signedInWithRole(perch: RunningPerch, admin: Browser, email: string, role: (typeof MANAGED_ROLES)[number]['id'], namespace: string | null): Promise<Browser> {
  const password = 'a good long password';
  const user = await admin.fetch('POST', '/api/v1/users', { json: { email, password } });
  if (user.status !== 201) throw new Error(`creating ${email} failed: ${user.status} ${user.text}`);
  await grantRole(perch.perch, user.json.id, role, namespace);
  const browser = new Browser(perch);
  await browser.login(email, password);
  return browser;
}

/**
 * Starts flow `namespace`.`id` on the Kestra double itself, as Kestra's own account (with `form` as its inputs),
 * and waits for the execution to end: its id.
 */
export async function finishedExecution(kestra: KestraDouble, namespace: string, id: string, form?: { body: Buffer | string; headers: Record<string, string> }): Promise<string> {
  const res = await fetch(`${kestra.url}/api/v1/main/executions/${namespace}/${id}`, {
    method: 'POST',
    body: form === undefined ? '' : typeof form.body === 'string' ? form.body : new Uint8Array(form.body),
    headers: { ...form?.headers, authorization: kestra.authorization, ...(form === undefined ? { 'content-type': 'application/json' } : {}) },
  });
  if (res.status !== 200) throw new Error(`starting ${namespace}.${id} on the double failed: ${res.status} ${await res.text()}`);
  const executionId = ((await res.json()) as { id: string }).id;
  await kestra.waitForExecution(executionId);
  return executionId;
}

/** A Perch and its instance owner, signed in: the starting point of most API suites. */
export async function startSignedIn(options: Parameters<typeof startPerch>[0] = {}): Promise<{ perch: RunningPerch; admin: Browser }> {
  const perch = await startPerch(options);
  const admin = new Browser(perch);
  await admin.login();
  return { perch, admin };
}

/** The Kestra API double, a Perch in front of it with Perch's Kestra account, and its owner signed in. */
export async function startBehindKestra(
  kestraTimeout = 'PT2S',
  config: Omit<PerchConfigInput, 'kestra'> = {},
  kestraConfig: Omit<NonNullable<PerchConfigInput['kestra']>, 'url' | 'username' | 'password' | 'timeout'> = {},
  options: { logStream?: NodeJS.WritableStream } = {},
): Promise<{ kestra: KestraDouble; perch: RunningPerch; admin: Browser; close(): Promise<void> }> {
  const kestra = await startKestraDouble();
  const { perch, admin } = await startSignedIn({ ...options, config: { ...config, kestra: { ...kestraConfig, url: kestra.url, username: kestra.username, password: kestra.password, timeout: kestraTimeout } } });
  return {
    kestra,
    perch,
    admin,
    async close() {
      await perch.close();
      await kestra.close();
    },
  };
}

/**
 * A bare node:http server standing in for Kestra where a test needs one that misbehaves on purpose,
 * a Perch in front of it with Perch's Kestra account, and its owner signed in. `close` drops Kestra's
 * connections first (a request Perch left paused would otherwise hold its shutdown), and waits for
 * Perch's shutdown at most 5 s.
 */
export async function startBehindUpstream(
  handler: (req: IncomingMessage, res: ServerResponse) => void,
  kestraTimeout = 'PT5S',
): Promise<{ upstream: Server; perch: RunningPerch; browser: Browser; close(): Promise<void> }> {
  const upstream = createServer(handler);
  await new Promise<void>((r) => upstream.listen(0, '127.0.0.1', r));
  const url = `http://127.0.0.1:${(upstream.address() as { port: number }).port}`;
  const perch = await startPerch({ config: { kestra: { url, username: 'perch@kestra.test', password: 'kestra-secret', timeout: kestraTimeout } } });
  const browser = new Browser(perch);
  await browser.login();
  return {
    upstream,
    perch,
    browser,
    async close() {
      upstream.closeAllConnections();
      await Promise.race([perch.close(), new Promise((r) => setTimeout(r, 5000))]);
      await new Promise((r) => upstream.close(r));
    },
  };
}

/** Keeps the cookies a browser would keep for one Perch origin. */
export class Browser {
  readonly cookies = new Map<string, string>();
  constructor(readonly perch: { url: string; origin: string }) {}

  cookieHeader(): string | undefined {
    return this.cookies.size ? [...this.cookies].map(([k, v]) => `${k}=${v}`).join('; ') : undefined;
  }

  absorb(setCookie: string | string[] | undefined): void {
    for (const line of [setCookie ?? []].flat()) {
      const [pair] = line.split(';');
      const index = pair!.indexOf('=');
      const name = pair!.slice(0, index).trim();
      const value = pair!.slice(index + 1).trim();
      if (value === '' || /max-age=0|expires=thu, 01 jan 1970/i.test(line)) this.cookies.delete(name);
      else this.cookies.set(name, value);
    }
  }

  /** Same-origin request as a browser page would send it (Origin on writes). */
  async fetch(method: string, pathAndQuery: string, init: { body?: string | Buffer; headers?: Record<string, string>; json?: unknown } = {}) {
    const headers: Record<string, string> = { ...init.headers };
    const cookie = this.cookieHeader();
    if (cookie) headers.cookie = cookie;
    if (!['GET', 'HEAD'].includes(method) && !('origin' in headers)) headers.origin = this.perch.origin;
    const answer = await exchange(`${this.perch.url}${pathAndQuery}`, method, { headers, body: init.body, json: init.json });
    this.absorb(answer.headers['set-cookie']);
    return answer;
  }

  async login(email = ADMIN_EMAIL, password = ADMIN_PASSWORD) {
    const res = await this.fetch('POST', '/perch/api/login', { json: { username: email, password } });
    if (res.status !== 204) throw new Error(`login failed: ${res.status} ${res.text}`);
    return res;
  }
}
