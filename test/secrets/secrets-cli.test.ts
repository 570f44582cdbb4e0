import { randomBytes } from 'node:crypto';
import { execFile } from 'node:child_process';
import { copyFile, mkdir, mkdtemp, readdir, readFile, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { promisify } from 'node:util';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import { Envelope } from '../../backend/crypto/envelope.js';
import { secretsRotateKey, secretsSync } from '../../backend/secrets/cli.js';
import { rotateMasterKey } from '../../backend/secrets/rotate-key.js';
import { secretPlace } from '../../backend/secrets/secret-store.js';
import { SWARM_COMPOSE, SWARM_ENTRYPOINT } from '../../backend/secrets/sync-swarm.js';
import { storeTargets } from '../support/databases.js';
import { Browser, startSignedIn, type RunningPerch } from '../support/perch.js';

const execFileAsync = promisify(execFile);

const VALUES: Record<string, string> = { GITHUB_TOKEN: 'ghp-value-1\nwith a line', DB_PASSWORD: 'pässwörd-2', API_KEY: 'api-3', SLACK_HOOK: 'https://hooks/4', S3_KEY: 's3-5' };

function capture() {
  const out: string[] = [];
  const err: string[] = [];
  return { io: { out: (l: string) => out.push(l), err: (l: string) => err.push(l) }, out, err, all: () => [...out, ...err].join('\n') };
}

async function keyFile(dir: string, name: string): Promise<{ file: string; envelope: Envelope }> {
  const key = randomBytes(32);
  const file = path.join(dir, name);
  await writeFile(file, `${key.toString('hex')}\n`, { mode: 0o600 });
  return { file, envelope: new Envelope(key) };
}

for (const target of storeTargets()) {
  describe.skipIf(!target.available)(`perch secrets rotate-key and sync on ${target.name}`, () => {
    let perch: RunningPerch;
    let admin: Browser;
    let dir: string;

    beforeAll(async () => {
      ({ perch, admin } = await startSignedIn({ databaseUrl: await target.url() }));
      dir = await mkdtemp(path.join(tmpdir(), 'perch-secrets-cli-'));
      const namespaces = ['company', 'company.team', 'company.team', 'other', 'other'];
      for (const [i, [key, value]] of Object.entries(VALUES).entries()) {
        const res = await admin.fetch('PUT', `/api/v1/main/namespaces/${namespaces[i]}/secrets`, { json: { key, value } });
        expect(res.status, res.text).toBe(200);
      }
    });
    afterAll(() => perch?.close());

    const rows = () => perch.perch.ctx.db.selectFrom('namespace_secrets').selectAll().orderBy('key').execute();

    it('sync --dry-run names the keys that would change, writes nothing, shows no value', async () => {
      const file = path.join(dir, 'kestra.env');
      const run = capture();
      expect(await secretsSync(perch.perch.ctx.config, { dryRun: true, file }, run.io)).toBe(0);
      expect(run.out).toContain('would add SECRET_GITHUB_TOKEN');
      expect(run.out.filter((l) => l.startsWith('would add'))).toHaveLength(5);
      await expect(stat(file)).rejects.toThrow(/ENOENT/);
      for (const value of Object.values(VALUES)) {
        expect(run.all()).not.toContain(value);
        expect(run.all()).not.toContain(Buffer.from(value).toString('base64'));
      }
    });

    it('sync writes an env file Kestra decodes (SECRET_<KEY>=base64), 0600, and runs the reload command only on change', async () => {
      const file = path.join(dir, 'kestra.env');
      const marker = path.join(dir, 'reloaded');
      const first = capture();
      expect(await secretsSync(perch.perch.ctx.config, { file, reloadCommand: `echo reloaded >> '${marker}'` }, first.io)).toBe(0);
      expect((await stat(file)).mode & 0o777).toBe(0o600);
      const lines = (await readFile(file, 'utf8')).split('\n').filter((l) => l.startsWith('SECRET_'));
      // Read back as Kestra's SecretService does: strip line breaks, base64-decode, key upper-cased without the prefix.
      const decoded = Object.fromEntries(lines.map((l) => [l.slice('SECRET_'.length, l.indexOf('=')), Buffer.from(l.slice(l.indexOf('=') + 1).replace(/\r?\n/g, ''), 'base64').toString('utf8')]));
      expect(decoded).toEqual(VALUES);
      expect(await readFile(marker, 'utf8')).toBe('reloaded\n');

      const again = capture();
      expect(await secretsSync(perch.perch.ctx.config, { file, reloadCommand: `echo reloaded >> '${marker}'` }, again.io)).toBe(0);
      expect(again.out.join('\n')).toMatch(/up to date/);
      expect(await readFile(marker, 'utf8')).toBe('reloaded\n');

      await admin.fetch('PUT', '/api/v1/main/namespaces/company.team/secrets', { json: { key: 'API_KEY', value: 'api-3-rotated' } });
      await admin.fetch('DELETE', '/api/v1/main/namespaces/other/secrets/S3_KEY');
      const dry = capture();
      expect(await secretsSync(perch.perch.ctx.config, { file, dryRun: true }, dry.io)).toBe(0);
      expect(dry.out.slice(0, 2)).toEqual(['would change SECRET_API_KEY', 'would remove SECRET_S3_KEY']);
      expect(dry.all()).not.toContain('api-3-rotated');
      const failing = capture();
      expect(await secretsSync(perch.perch.ctx.config, { file, reloadCommand: 'exit 3' }, failing.io)).toBe(1);
      expect(failing.out.join('\n')).toMatch(/reload command failed \(exit 3\)/);
      await admin.fetch('PUT', '/api/v1/main/namespaces/company.team/secrets', { json: { key: 'API_KEY', value: VALUES.API_KEY } });
      await admin.fetch('PUT', '/api/v1/main/namespaces/other/secrets', { json: { key: 'S3_KEY', value: VALUES.S3_KEY } });
    });

    it('sync writes Docker Swarm secrets: one file each, a Compose fragment with versioned names, an entrypoint that makes them Kestra\'s environment', async () => {
      const out = path.join(dir, 'swarm');
      const first = capture();
      expect(await secretsSync(perch.perch.ctx.config, { file: out, format: 'swarm' }, first.io)).toBe(0);
      expect((await stat(out)).mode & 0o777).toBe(0o700);
      expect((await readdir(out)).sort()).toEqual([SWARM_COMPOSE, SWARM_ENTRYPOINT, ...Object.keys(VALUES).map((k) => `SECRET_${k}`)].sort());
      expect((await stat(path.join(out, 'SECRET_DB_PASSWORD'))).mode & 0o777).toBe(0o600);
      type Compose = { services: Record<string, { entrypoint: string[]; secrets: string[]; configs: Array<{ source: string; target: string }> }>; configs: Record<string, { file: string }>; secrets: Record<string, { name: string; file: string; labels: Record<string, string> }> };
      const compose = () => readFile(path.join(out, SWARM_COMPOSE), 'utf8').then((text) => parseYaml(text) as Compose);
      const v1 = await compose();
      expect(v1.services.kestra!.secrets).toEqual(Object.keys(VALUES).map((k) => `SECRET_${k}`).sort());
      expect(v1.services.kestra!.entrypoint).toEqual(['/bin/sh', v1.services.kestra!.configs[0]!.target]);
      expect(v1.configs[v1.services.kestra!.configs[0]!.source]!.file).toBe(path.join(out, SWARM_ENTRYPOINT));
      expect(v1.secrets.SECRET_API_KEY).toEqual({ name: expect.stringMatching(/^SECRET_API_KEY\.[0-9a-f]{8}$/), file: path.join(out, 'SECRET_API_KEY'), labels: { 'perch.kestra-secret': 'SECRET_API_KEY' } });

      // In the container: Swarm mounts each granted secret at /run/secrets/<its key>; the entrypoint
      // exports them and runs the image's docker-entrypoint.sh (here a stand-in printing its environment).
      const runSecrets = path.join(dir, 'run-secrets');
      const bin = path.join(dir, 'bin');
      await mkdir(runSecrets);
      await mkdir(bin);
      for (const [key, secret] of Object.entries(v1.secrets)) await copyFile(secret.file, path.join(runSecrets, key));
      await writeFile(path.join(bin, 'docker-entrypoint.sh'), '#!/bin/sh\necho "args: $*"\nenv | grep ^SECRET_ || true\n', { mode: 0o755 });
      const container = await execFileAsync('sh', [path.join(out, SWARM_ENTRYPOINT), 'server', 'standalone'], { env: { PATH: `${bin}:/usr/bin:/bin`, PERCH_SECRETS_DIR: runSecrets } });
      const [args, ...envLines] = container.stdout.trim().split('\n');
      expect(args).toBe('args: server standalone');
      // Read as Kestra's SecretService does: line breaks stripped, base64-decoded, the key after SECRET_.
      const decoded = Object.fromEntries(envLines.map((l) => [l.slice('SECRET_'.length, l.indexOf('=')), Buffer.from(l.slice(l.indexOf('=') + 1).replace(/\r?\n/g, ''), 'base64').toString('utf8')]));
      expect(decoded).toEqual(VALUES);

      // A changed value gets a new Swarm name (Swarm secrets cannot change); the others keep theirs; a removed one goes.
      await admin.fetch('PUT', '/api/v1/main/namespaces/company.team/secrets', { json: { key: 'API_KEY', value: 'api-3-rotated' } });
      await admin.fetch('DELETE', '/api/v1/main/namespaces/other/secrets/S3_KEY');
      const dry = capture();
      expect(await secretsSync(perch.perch.ctx.config, { file: out, format: 'swarm', dryRun: true }, dry.io)).toBe(0);
      expect(dry.out.slice(0, 2)).toEqual(['would change SECRET_API_KEY', 'would remove SECRET_S3_KEY']);
      expect(dry.all()).not.toContain('api-3-rotated');
      expect(dry.all()).not.toContain(Buffer.from('api-3-rotated').toString('base64'));
      expect(await secretsSync(perch.perch.ctx.config, { file: out, format: 'swarm' }, capture().io)).toBe(0);
      const v2 = await compose();
      expect(v2.secrets.SECRET_API_KEY!.name).not.toBe(v1.secrets.SECRET_API_KEY!.name);
      expect(v2.secrets.SECRET_DB_PASSWORD!.name).toBe(v1.secrets.SECRET_DB_PASSWORD!.name);
      expect(v2.secrets.SECRET_S3_KEY).toBeUndefined();
      expect(v2.services.kestra!.secrets).not.toContain('SECRET_S3_KEY');
      await expect(stat(path.join(out, 'SECRET_S3_KEY'))).rejects.toThrow(/ENOENT/);
      expect(await readFile(path.join(out, 'SECRET_API_KEY'), 'utf8')).toBe(Buffer.from('api-3-rotated').toString('base64'));
      // Nothing but the value files holds a value.
      for (const name of [SWARM_COMPOSE, SWARM_ENTRYPOINT]) {
        const text = await readFile(path.join(out, name), 'utf8');
        for (const value of [...Object.values(VALUES), 'api-3-rotated']) expect(text.includes(Buffer.from(value).toString('base64'))).toBe(false);
      }
      await admin.fetch('PUT', '/api/v1/main/namespaces/company.team/secrets', { json: { key: 'API_KEY', value: VALUES.API_KEY } });
      await admin.fetch('PUT', '/api/v1/main/namespaces/other/secrets', { json: { key: 'S3_KEY', value: VALUES.S3_KEY } });
    });

    it('sync writes a Kubernetes Secret whose data the container sees as the base64 Kestra decodes', async () => {
      const file = path.join(dir, 'kestra-secrets.yaml');
      expect(await secretsSync(perch.perch.ctx.config, { file, format: 'kubernetes' }, capture().io)).toBe(0);
      const manifest = parseYaml(await readFile(file, 'utf8')) as { kind: string; metadata: { name: string }; data: Record<string, string> };
      expect(manifest).toMatchObject({ kind: 'Secret', metadata: { name: 'kestra-secrets' } });
      const env = Object.fromEntries(Object.entries(manifest.data).map(([k, v]) => [k, Buffer.from(v, 'base64').toString('utf8')]));
      expect(Buffer.from(env.SECRET_DB_PASSWORD!, 'base64').toString('utf8')).toBe(VALUES.DB_PASSWORD);
      expect(Object.keys(env).sort()).toEqual(Object.keys(VALUES).map((k) => `SECRET_${k}`).sort());
    });

    it('rotate-key re-wraps every sealed value in batches with progress, resumes after a stop, then says to switch the key', async () => {
      const old = perch.perch.ctx.envelope;
      const next = await keyFile(dir, 'new.key');
      // Batches of 2 over 5 values: a value no key opens stops the rotation after the batches before it.
      // The rotation walks rows by id: the fourth of them is the one that does not open.
      const before = (await rows()).sort((a, b) => (a.id < b.id ? -1 : 1));
      const broken = before[3]!;
      await perch.perch.ctx.db.updateTable('namespace_secrets').set({ value: `${broken.value!.slice(0, -4)}AAAA` }).where('id', '=', broken.id).execute();
      const progress: string[] = [];
      await expect(rotateMasterKey(perch.perch.ctx.db, old, next.envelope, (l) => progress.push(l), undefined, 2)).rejects.toThrow(/does not open/);
      expect(progress).toEqual(['namespace_secrets.value: 2 of 5']);
      const halfway = await rows();
      expect(halfway.filter((r) => next.envelope.wraps(r.value!, secretPlace(r.id)))).toHaveLength(2);
      await perch.perch.ctx.db.updateTable('namespace_secrets').set({ value: broken.value }).where('id', '=', broken.id).execute();

      const run = capture();
      expect(await secretsRotateKey(perch.perch.ctx.config, { newKeyFile: next.file, env: {} }, run.io)).toBe(0);
      expect(run.out[0]).toBe('re-wrapped 3 values (2 already under the new key)');
      expect(run.out[1]).toMatch(/switch the key.*restart/);
      expect(run.err.some((l) => l === 'namespace_secrets.value: 5 of 5')).toBe(true);
      for (const row of await rows()) {
        expect(next.envelope.wraps(row.value!, secretPlace(row.id))).toBe(true);
        expect(next.envelope.openText(row.value!, secretPlace(row.id))).toBe(VALUES[row.key]);
        expect(() => old.openText(row.value!, secretPlace(row.id))).toThrow(/sealed with master key/);
      }
      // The same key twice is refused; so is a key file others may read.
      const same = capture();
      expect(await secretsRotateKey(perch.perch.ctx.config, { newKeyFile: next.file, env: { PERCH_MASTER_KEY: (await readFile(next.file, 'utf8')).trim() } }, same.io)).toBe(1);
      expect(same.all()).toMatch(/holds the current master key/);
      const loose = path.join(dir, 'loose.key');
      await writeFile(loose, randomBytes(32).toString('hex'), { mode: 0o644 });
      const refused = capture();
      expect(await secretsRotateKey(perch.perch.ctx.config, { newKeyFile: loose, env: {} }, refused.io)).toBe(1);
      expect(refused.all()).toMatch(/may be read by others/);
    });
  });
}
