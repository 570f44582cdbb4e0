import { randomBytes } from 'node:crypto';
import { createServer } from 'node:http';
import { request } from 'undici';
import { mkdtemp, readFile, rm, stat, truncate, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { auditVerify } from '../../backend/audit/cli.js';
import { backupCreate, backupKeygen, backupRestore } from '../../backend/backup/cli.js';
import { SEEDED_TABLES, TRANSIENT_TABLES, storeTables, tableRows } from '../../backend/backup/store-tables.js';
import { silentProgress } from '../../backend/backup/progress.js';
import { parseConfig, type PerchConfig } from '../../backend/config/config.js';
import { migrateToLatest, openStore } from '../../backend/store/database.js';
import { openArchiveWriter, readArchive, readIdentityFile } from '../../backend/backup/archive.js';
import { createBackup } from '../../backend/backup/create.js';
import { restoreBackup } from '../../backend/backup/restore.js';
import { Envelope } from '../../backend/crypto/envelope.js';
import { ensureMasterKey, loadMasterKey } from '../../backend/crypto/master-key.js';
import { backupManifestSchema } from '../../lib/schemas/backup.js';
import { startKestraDouble, type KestraDouble } from '../kestra-double/kestra-double.js';
import { storeTargets } from '../support/databases.js';
import { fileUpload } from '../support/multipart.js';
import { ADMIN_EMAIL, ADMIN_PASSWORD, Browser, exchange, startPerch, type RunningPerch } from '../support/perch.js';
import { bind, createPerson } from '../iam/iam-helpers.js';

const PASSPHRASE = 'correct horse battery staple backup';
const scheduledFlow = `id: nightly
namespace: company.team
tasks:
  - id: say
    type: io.kestra.plugin.core.log.Log
    message: hi
triggers:
  - id: at-night
    type: io.kestra.plugin.core.trigger.Schedule
    cron: "0 2 * * *"
  - id: at-noon
    type: io.kestra.plugin.core.trigger.Schedule
    cron: "0 12 * * *"
  - id: off-in-yaml
    type: io.kestra.plugin.core.trigger.Schedule
    cron: "0 5 * * *"
    disabled: true
`;
const plainFlow = `id: hello
namespace: company.other
tasks:
  - id: say
    type: io.kestra.plugin.core.log.Log
    message: "{{ kv('greeting') }}"
`;

type Quiet = { out: string[]; err: string[]; io: { out: (l: string) => void; err: (l: string) => void } };
function quiet(): Quiet {
  const out: string[] = [];
  const err: string[] = [];
  return { out, err, io: { out: (l) => out.push(l), err: (l) => err.push(l) } };
}

/** Every row of every table a backup covers, table by table, in primary-key order. */
async function dumpStore(settings: Pick<PerchConfig, 'databaseUrl' | 'dataDir'>): Promise<Record<string, Record<string, unknown>[]>> {
  const store = await openStore(settings);
  try {
    const dump: Record<string, Record<string, unknown>[]> = {};
    for (const table of await storeTables(store)) {
      if (TRANSIENT_TABLES[table.name]) continue;
      dump[table.name] = [];
      for await (const rows of tableRows(store, table)) dump[table.name]!.push(...rows);
    }
    return dump;
  } finally {
    await store.close();
  }
}

// Rows beyond what a fresh store holds: a seeded table's migration rows do not count.
const rowCount = (dump: Record<string, Record<string, unknown>[]>) =>
  Object.entries(dump).reduce((n, [table, rows]) => {
    const seed = SEEDED_TABLES[table]?.seed;
    return n + rows.filter((row) => !seed || String(row[seed.column]) !== String(seed.value)).length;
  }, 0);

/** What a Kestra double holds of what a backup covers: flows' current sources, files, folders, KV, trigger states. */
function kestraState(kestra: KestraDouble) {
  const s = kestra.store;
  return {
    flows: [...s.flows.values()].filter((f) => !f.deleted).map((f) => ({ namespace: f.namespace, id: f.id, source: f.revisions.at(-1)!.source })).sort((a, b) => `${a.namespace}.${a.id}`.localeCompare(`${b.namespace}.${b.id}`)),
    files: [...s.files].flatMap(([ns, files]) => [...files].map(([p, f]) => ({ ns, p, data: f.data.toString('base64') }))).sort((a, b) => `${a.ns}${a.p}`.localeCompare(`${b.ns}${b.p}`)),
    dirs: [...s.dirs].flatMap(([ns, dirs]) => [...dirs].map((d) => `${ns}:${d}`)).sort(),
    kv: [...s.kv].flatMap(([ns, kv]) => [...kv].map(([key, rec]) => ({ ns, key, type: rec.type, value: rec.value, description: rec.description ?? null, expires: rec.expiresAt !== undefined }))).sort((a, b) => `${a.ns}.${a.key}`.localeCompare(`${b.ns}.${b.key}`)),
    kvExpiry: new Map([...s.kv].flatMap(([ns, kv]) => [...kv].map(([key, rec]) => [`${ns}.${key}`, rec.expiresAt] as const))),
    triggers: [...s.triggers].map(([key, t]) => ({ key: key.replaceAll('\u0000', '/'), disabled: t.disabled })).sort((a, b) => a.key.localeCompare(b.key)),
  };
}

const writesTo = (kestra: KestraDouble) => kestra.requests.filter((r) => r.method !== 'GET');

/** A sealed column of a table only these tests make: the production registry (SEALED_COLUMNS) stays as it is. */
const TEST_SEALED = [{ table: 'test_sealed_things', idColumn: 'id', column: 'secret' }] as const;

async function makeSealedTable(settings: Pick<PerchConfig, 'databaseUrl' | 'dataDir'>): Promise<void> {
  const store = await openStore(settings);
  try {
    await migrateToLatest(store.db);
    await store.db.schema.createTable('test_sealed_things').addColumn('id', 'text', (c) => c.primaryKey()).addColumn('secret', 'text').execute();
  } finally {
    await store.close();
  }
}

for (const target of storeTargets()) {
  describe.skipIf(!target.available)(`perch backup on ${target.name}`, () => {
    let source: KestraDouble;
    let perch: RunningPerch;
    let sourceSettings: PerchConfig;
    let work: string;
    let sourceDump: Record<string, Record<string, unknown>[]>;
    let tokenSecret: string;
    let archive: string;
    let keyArchive: string;
    let keyFile: string;

    /** Runs `body` on a fresh, empty Perch (store and data folder) in front of a fresh, empty Kestra double. */
    async function onFreshTarget(body: (fresh: { settings: PerchConfig; kestra: KestraDouble; dataDir: string }) => Promise<void>): Promise<void> {
      const kestra = await startKestraDouble();
      try {
        const dataDir = await mkdtemp(path.join(work, 'target-'));
        const settings = parseConfig({ dataDir, databaseUrl: await target.url(), logLevel: 'silent', kestra: { url: kestra.url, username: kestra.username, password: kestra.password } });
        await body({ settings, kestra, dataDir });
      } finally {
        await kestra.close();
      }
    }

    beforeAll(async () => {
      work = await mkdtemp(path.join(tmpdir(), 'perch-backup-'));
      source = await startKestraDouble();
      perch = await startPerch({ databaseUrl: await target.url(), config: { kestra: { url: source.url, username: source.username, password: source.password } } });
      sourceSettings = perch.perch.ctx.config;
      const admin = new Browser(perch);
      await admin.login();

      // Perch's side: people, a custom role, a group, bindings (tenant-wide and per namespace), an API token.
      const dana = await createPerson(admin, 'dana');
      const eli = await createPerson(admin, 'eli');
      const role = await admin.fetch('POST', '/api/v1/main/roles', { json: { name: 'Flow clerk', description: 'edits flows', permissions: { FLOW: ['VIEW', 'LIST', 'CREATE'] } } });
      expect(role.status, role.text).toBe(200);
      const group = await admin.fetch('POST', '/api/v1/main/groups', { json: { name: 'Data team', description: 'Pipelines', membersId: [eli.id] } });
      expect(group.status, group.text).toBe(200);
      await bind(admin, { type: 'USER', externalId: dana.id, roleId: role.json.id, namespaceId: 'company.team' });
      await bind(admin, { type: 'GROUP', externalId: group.json.id, roleId: 'viewer' });
      const token = await admin.fetch('POST', '/api/v1/me/api-tokens', { json: { name: 'nightly-job', description: 'backups test' } });
      expect(token.status, token.text).toBe(200);
      tokenSecret = token.json.fullToken;
      expect(typeof tokenSecret).toBe('string');

      // Kestra's side, through Perch: flows, trigger states, namespace files and folders, KV of every type.
      const yaml = { 'content-type': 'application/x-yaml' };
      expect((await admin.fetch('POST', '/api/v1/main/flows', { body: scheduledFlow, headers: yaml })).status).toBe(200);
      expect((await admin.fetch('POST', '/api/v1/main/flows', { body: plainFlow, headers: yaml })).status).toBe(200);
      // A second revision: only the current one can be restored.
      expect((await admin.fetch('PUT', '/api/v1/main/flows/company.other/hello', { body: plainFlow.replace('message:', 'description: v2\n    message:'), headers: yaml })).status).toBe(200);
      const disabled = await admin.fetch('PUT', '/api/v1/main/triggers/set-disabled', { json: { namespace: 'company.team', flowId: 'nightly', triggerId: 'at-noon', disabled: true } });
      expect(disabled.status, disabled.text).toBe(200);
      const upload = async (ns: string, p: string, bytes: Uint8Array | string) => {
        const form = fileUpload(bytes, path.basename(p), 'fileContent');
        const res = await admin.fetch('POST', `/api/v1/main/namespaces/${ns}/files?path=${encodeURIComponent(p)}`, form);
        expect(res.status, res.text).toBe(200);
      };
      await upload('company.team', '/scripts/clean.py', 'print("clean")\n');
      await upload('company.team', '/data/blob.bin', new Uint8Array([0, 1, 2, 253, 254, 255]));
      await upload('company.other', '/readme.md', '# other\n');
      // Larger than age's 64 KiB chunks: the archive's end (damaged below) comes well after Kestra's flows and KV entries.
      await upload('company.other', '/data/large.bin', randomBytes(300 * 1024));
      expect((await admin.fetch('POST', '/api/v1/main/namespaces/company.team/files/directory?path=%2Fempty%2Fnested')).status).toBe(200);
      const kv = async (ns: string, key: string, body: string, headers: Record<string, string> = {}) => {
        const res = await admin.fetch('PUT', `/api/v1/main/namespaces/${ns}/kv/${key}`, { body, headers: { 'content-type': 'text/plain', ...headers } });
        expect(res.status, res.text).toBe(200);
      };
      await kv('company.team', 'greeting', '"hello, world"', { description: 'said by hello' });
      await kv('company.team', 'retries', '3');
      await kv('company.team', 'enabled', 'true');
      await kv('company.team', 'settings', '{"mode":"fast","limits":[1,2]}');
      await kv('company.team', 'launch', '2026-03-01T10:00:00Z');
      await kv('company.team', 'holiday', '2026-12-24');
      await kv('company.team', 'window', 'PT2H');
      await kv('company.other', 'session', '"short-lived"', { ttl: 'P7D', description: 'expires' });
      await kv('kv.only', 'orphan', '42');

      // The source Perch closes (its last audit checkpoint written) before its data is backed up.
      await perch.perch.close();
      // Another tenant's rows (tenants are another feature's; the store already keys rows by tenant).
      const store = await openStore(sourceSettings);
      try {
        const now = Date.now();
        await store.db.insertInto('users').values({ id: 'acme-user', tenant_id: 'acme', email: 'ann@acme.test', first_name: null, last_name: null, password_hash: null, super_admin: 0, restricted: 0, disabled: 0, created_at: now, updated_at: now, type: 'STANDARD', description: null }).execute();
        await store.db.insertInto('api_tokens').values({ id: 'acme-token', user_id: 'acme-user', name: 'acme-job', description: null, secret_hash: 'f'.repeat(64), prefix: 'perch_acme', created_at: now, created_by: null, expires_at: null, max_age_ms: null, extended: 0, last_used_at: null }).execute();
        await store.db.insertInto('roles').values({ id: 'acme-role', tenant_id: 'acme', name: 'Acme role', description: null, permissions: '{}', is_default: 0, is_managed: 0, created_at: now, updated_at: now }).execute();
      } finally {
        await store.close();
      }
      sourceDump = await dumpStore(sourceSettings);

      keyFile = path.join(work, 'backup.key');
      expect(await backupKeygen(keyFile, quiet().io)).toBe(0);
      archive = path.join(work, 'perch.age');
      const made = quiet();
      const code = await backupCreate(sourceSettings, { output: archive, perchVersion: 'test', env: { PERCH_BACKUP_PASSPHRASE: PASSPHRASE }, progress: silentProgress }, made.io);
      expect(code, made.err.join('\n')).toBe(0);
      keyArchive = path.join(work, 'perch-key.age');
      expect(await backupCreate(sourceSettings, { output: keyArchive, keyFile, perchVersion: 'test', env: {}, progress: silentProgress }, quiet().io)).toBe(0);
    }, 120_000);

    afterAll(async () => {
      await source?.close();
      // The source Perch was closed without its helper's clean-up, to keep its data folder for the backup.
      if (sourceSettings) await rm(sourceSettings.dataDir, { recursive: true, force: true });
      if (work) await rm(work, { recursive: true, force: true });
    });

    it('the archive is age-encrypted, private to its owner, and holds nothing readable', async () => {
      const bytes = await readFile(archive);
      expect(bytes.subarray(0, 21).toString()).toBe('age-encryption.org/v1');
      expect((await stat(archive)).mode & 0o777).toBe(0o600);
      for (const clear of ['company.team', 'print("clean")', 'hello, world', ADMIN_EMAIL, 'audit_log']) expect(bytes.includes(Buffer.from(clear))).toBe(false);
    });

    it('carries the master key and the audit key inside the encryption only, the master key named by its id in the manifest', async () => {
      const masterHex = (await readFile(path.join(sourceSettings.dataDir, 'master.key'), 'utf8')).trim();
      const auditHex = (await readFile(path.join(sourceSettings.dataDir, 'audit.key'), 'utf8')).trim();
      expect(masterHex).toMatch(/^[0-9a-f]{64}$/);
      for (const file of [archive, keyArchive]) {
        const bytes = await readFile(file);
        for (const hex of [masterHex, auditHex]) {
          for (const clear of [hex, hex.toUpperCase(), Buffer.from(hex, 'hex').toString('base64')]) expect(bytes.includes(Buffer.from(clear)), file).toBe(false);
          expect(bytes.includes(Buffer.from(hex, 'hex')), file).toBe(false);
        }
      }
      // Decrypted, it is there: part perch.master-key, and the manifest names the key's id.
      const entries = new Map<string, Buffer>();
      await readArchive(keyArchive, { identity: await readIdentityFile(keyFile) }, async (name, data) => void entries.set(name, data));
      const manifest = backupManifestSchema.parse(JSON.parse(entries.get('manifest.json')!.toString('utf8')));
      expect(manifest.masterKeyId).toBe(new Envelope(Buffer.from(masterHex, 'hex')).keyId);
      expect(manifest.parts.map((p) => p.name)).toContain('perch.master-key');
      expect(entries.get('perch.master-key/000001.jsonl')!.toString('utf8')).toBe(`${masterHex}\n`);
    });

    it('restores into a fresh Perch and a fresh Kestra: every table row, flow, file, folder, KV entry and trigger state; the audit chain verifies', async () => {
      await onFreshTarget(async ({ settings, kestra, dataDir }) => {
        const dry = quiet();
        expect(await backupRestore(settings, archive, { dryRun: true, env: { PERCH_BACKUP_PASSPHRASE: PASSPHRASE }, progress: silentProgress }, dry.io), dry.err.join('\n')).toBe(0);
        expect(dry.out.join('\n')).toMatch(/perch\.table\.users\s+\d+/);
        expect(dry.out.join('\n')).toMatch(/kestra\.kv\s+9/);
        expect(dry.out.join('\n')).toMatch(/not restorable: Kestra executions/);
        expect(dry.out.at(-1)).toBe('dry run: nothing was written');
        const masterHex = (await readFile(path.join(sourceSettings.dataDir, 'master.key'), 'utf8')).trim();
        const masterId = new Envelope(Buffer.from(masterHex, 'hex')).keyId;
        expect(dry.out).toContain(`note: the master key (${masterId}) goes to ${path.join(dataDir, 'master.key')}`);
        await expect(stat(path.join(dataDir, 'master.key'))).rejects.toThrow(/ENOENT/);
        expect(writesTo(kestra)).toEqual([]);
        expect(rowCount(await dumpStore(settings))).toBe(0);

        const run = quiet();
        expect(await backupRestore(settings, archive, { env: { PERCH_BACKUP_PASSPHRASE: PASSPHRASE }, progress: silentProgress }, run.io), run.err.join('\n')).toBe(0);

        // Perch: every row of every table the backup covers, byte for byte.
        const restored = await dumpStore(settings);
        expect(Object.keys(restored).sort()).toEqual(Object.keys(sourceDump).sort());
        for (const table of Object.keys(sourceDump)) expect(restored[table], table).toEqual(sourceDump[table]);
        expect(sourceDump.users!.length).toBe(4);
        expect(sourceDump.audit_log!.length).toBeGreaterThan(10);
        expect(sourceDump.api_tokens!.length).toBe(2);
        expect(sourceDump.group_members!.length).toBe(1);

        // Kestra: what the API can write back.
        const before = kestraState(source);
        const after = kestraState(kestra);
        expect(after.flows).toEqual(before.flows);
        expect(after.files).toEqual(before.files);
        expect(after.dirs).toEqual(expect.arrayContaining(['company.team:/empty/nested']));
        expect(after.kv).toEqual(before.kv);
        expect(after.kv.map((e) => e.type).sort()).toEqual(['BOOLEAN', 'DATE', 'DATETIME', 'DURATION', 'JSON', 'NUMBER', 'NUMBER', 'STRING', 'STRING']);
        // The expiry survives (to the second).
        expect(Math.abs(after.kvExpiry.get('company.other.session')! - before.kvExpiry.get('company.other.session')!)).toBeLessThan(2000);
        expect(after.triggers).toEqual(before.triggers);
        expect(after.triggers.filter((t) => t.disabled).map((t) => t.key)).toEqual(['company.team/nightly/at-noon', 'company.team/nightly/off-in-yaml']);
        expect(kestra.contractViolations).toEqual([]);
        expect(source.contractViolations).toEqual([]);

        // The audit chain proves itself with the restored key and checkpoint.
        const verify = quiet();
        expect(await auditVerify(settings, verify.io, 0, { env: {} }), verify.err.join('\n')).toBe(0);
        expect(verify.out.join('\n')).toMatch(/chain main: ok, \d+ entries/);
        expect((await stat(path.join(dataDir, 'audit.key'))).mode & 0o777).toBe(0o600);
        // The master key, the source's, in the target's key file (private to its owner).
        expect((await readFile(path.join(dataDir, 'master.key'), 'utf8')).trim()).toBe(masterHex);
        expect((await stat(path.join(dataDir, 'master.key'))).mode & 0o777).toBe(0o600);
        expect((await loadMasterKey(settings, {}))!.envelope.keyId).toBe(masterId);

        // The restored Perch serves: the owner's password and the API token work.
        const restoredPerch = await startPerch({ databaseUrl: settings.databaseUrl, withAdmin: false, config: { audit: { keyFile: path.join(dataDir, 'audit.key'), checkpointFile: path.join(dataDir, 'audit-checkpoints.jsonl') }, kestra: { url: kestra.url, username: kestra.username, password: kestra.password } } });
        try {
          await new Browser(restoredPerch).login(ADMIN_EMAIL, ADMIN_PASSWORD);
          const viaToken = await exchange(`${restoredPerch.url}/api/v1/main/flows/search`, 'GET', { headers: { authorization: `Bearer ${tokenSecret}` } });
          expect(viaToken.status, viaToken.text).toBe(200);
          expect(viaToken.json.total).toBe(2);
        } finally {
          await restoredPerch.close();
        }
      });
    }, 120_000);

    it('an archive made with a key file restores with that key file only', async () => {
      await onFreshTarget(async ({ settings, kestra }) => {
        const wrong = quiet();
        expect(await backupRestore(settings, keyArchive, { env: { PERCH_BACKUP_PASSPHRASE: PASSPHRASE }, progress: silentProgress }, wrong.io)).toBe(1);
        expect(wrong.err.join('\n')).toMatch(/wrong passphrase or key file/);
        const run = quiet();
        expect(await backupRestore(settings, keyArchive, { keyFile, env: {}, progress: silentProgress }, run.io), run.err.join('\n')).toBe(0);
        expect((await dumpStore(settings)).users).toEqual(sourceDump.users);
      });
    }, 60_000);

    it('refuses a target that is not empty unless told, and then replaces the rows', async () => {
      await onFreshTarget(async ({ settings, kestra }) => {
        expect(await backupRestore(settings, keyArchive, { keyFile, env: {}, progress: silentProgress }, quiet().io)).toBe(0);
        kestra.clear();
        const again = quiet();
        expect(await backupRestore(settings, keyArchive, { keyFile, env: {}, progress: silentProgress }, again.io)).toBe(1);
        expect(again.err.join('\n')).toMatch(/the target is not empty: Perch's store .* holds rows in .*users.*; Kestra at .* holds flows or KV entries\. .*--force/);
        expect(writesTo(kestra)).toEqual([]);
        const forced = quiet();
        expect(await backupRestore(settings, keyArchive, { keyFile, force: true, env: {}, progress: silentProgress }, forced.io), forced.err.join('\n')).toBe(0);
        const restored = await dumpStore(settings);
        for (const table of Object.keys(sourceDump)) expect(restored[table], table).toEqual(sourceDump[table]);
      });
    }, 60_000);


    it('a part that does not match its manifest (re-encrypted with the right key): refused before anything is written', async () => {
      // Whoever holds the key could rewrite a part; the manifest's SHA-256 still tells, and the check comes before any write.
      const identity = await readIdentityFile(keyFile);
      const tampered = path.join(work, 'tampered.age');
      const writer = await openArchiveWriter(tampered, { identity });
      await readArchive(keyArchive, { identity }, async (name, data) => {
        const changed = name.startsWith('kestra.kv/') ? Buffer.from(data.toString('utf8').replace('hello, world', 'HELLO, WORLD')) : data;
        await writer.add(name, changed);
      });
      await writer.finish();
      await onFreshTarget(async ({ settings, kestra, dataDir }) => {
        const run = quiet();
        expect(await backupRestore(settings, tampered, { keyFile, env: {}, progress: silentProgress }, run.io)).toBe(1);
        expect(run.err.at(-1)).toMatch(/part kestra\.kv does not match its manifest .*nothing was restored/);
        expect(rowCount(await dumpStore(settings))).toBe(0);
        expect(writesTo(kestra)).toEqual([]);
        await expect(stat(path.join(dataDir, 'audit.key'))).rejects.toThrow(/ENOENT/);
        await expect(stat(path.join(dataDir, 'master.key'))).rejects.toThrow(/ENOENT/);
      });
    }, 60_000);

    it("a tenant backup holds that tenant's rows, and rows that belong to them, only; its chain verifies after restore", async () => {
      const tenantArchive = path.join(work, 'tenant.age');
      const made = quiet();
      expect(await backupCreate(sourceSettings, { output: tenantArchive, keyFile, tenant: 'main', perchVersion: 'test', env: {}, progress: silentProgress }, made.io), made.err.join('\n')).toBe(0);
      expect(made.out.join('\n')).toContain('wrote ' + tenantArchive + ' (tenant main)');
      await onFreshTarget(async ({ settings, kestra }) => {
        const run = quiet();
        expect(await backupRestore(settings, tenantArchive, { keyFile, env: {}, progress: silentProgress }, run.io), run.err.join('\n')).toBe(0);
        expect(run.out[0]).toMatch(/^tenant main, backed up /);
        const restored = await dumpStore(settings);
        // Rows keyed to the tenant; a token follows its user. Other tenants' rows, and the instance's own
        // audit chain (`_instance`), are not part of a tenant backup.
        const mains = (table: string) => sourceDump[table]!.filter((row) => row.tenant_id === 'main');
        expect(sourceDump.users!.some((u) => u.tenant_id === 'acme')).toBe(true);
        expect(sourceDump.audit_log!.some((e) => e.tenant_id === '_instance')).toBe(true);
        for (const table of ['users', 'roles', 'bindings', 'groups', 'group_members', 'audit_log']) expect(restored[table], table).toEqual(mains(table));
        expect(restored.api_tokens).toEqual(sourceDump.api_tokens!.filter((t) => t.user_id !== 'acme-user'));
        expect(restored.users!.length).toBe(3);
        expect(restored.api_tokens!.length).toBe(1);
        const verify = quiet();
        expect(await auditVerify(settings, verify.io, 0, { env: {} }), verify.err.join('\n')).toBe(0);
      });
    }, 60_000);

    it('reads a table larger than a page once, row by row, in key order (single and composite keys)', async () => {
      const store = await openStore({ databaseUrl: await target.url(), dataDir: work });
      try {
        await migrateToLatest(store.db);
        const now = Date.now();
        const ids = Array.from({ length: 2345 }, (_, i) => `user-${String((i * 7919) % 2345).padStart(5, '0')}`);
        for (let i = 0; i < ids.length; i += 200) {
          await store.db.insertInto('users').values(ids.slice(i, i + 200).map((id) => ({ id, tenant_id: 'main', email: `${id}@x.test`, first_name: null, last_name: null, password_hash: null, super_admin: 0, restricted: 0, disabled: 0, created_at: now, updated_at: now, type: 'STANDARD' as const, description: null }))).execute();
        }
        const roles = Array.from({ length: 1201 }, (_, i) => ({ id: `r${i % 600}`, tenant_id: `t${Math.floor(i / 600)}`, name: `role ${i}`, description: null, permissions: '{}', is_default: 0, is_managed: 0, created_at: now, updated_at: now }));
        for (let i = 0; i < roles.length; i += 200) await store.db.insertInto('roles').values(roles.slice(i, i + 200)).execute();
        const tables = new Map((await storeTables(store)).map((t) => [t.name, t]));
        const read = async (name: string) => {
          const rows: Record<string, unknown>[] = [];
          for await (const page of tableRows(store, tables.get(name)!)) rows.push(...page);
          return rows;
        };
        expect((await read('users')).map((u) => u.id)).toEqual([...ids].sort());
        const readRoles = (await read('roles')).map((r) => `${r.tenant_id}/${r.id}`);
        expect(readRoles).toHaveLength(1201);
        expect(new Set(readRoles).size).toBe(1201);
        expect(tables.get('roles')!.primaryKey).toEqual(['tenant_id', 'id']);
        // Parents come before the tables that reference them.
        const order = [...tables.keys()];
        expect(order.indexOf('users')).toBeLessThan(order.indexOf('api_tokens'));
        expect(order.indexOf('groups')).toBeLessThan(order.indexOf('group_members'));
      } finally {
        await store.close();
      }
    }, 60_000);


    it('refuses a target that has another audit key (its restored chain would not verify), writing nothing', async () => {
      await onFreshTarget(async ({ settings, kestra, dataDir }) => {
        await writeFile(path.join(dataDir, 'audit.key'), `${'b2'.repeat(32)}\n`, { mode: 0o600 });
        const run = quiet();
        expect(await backupRestore(settings, keyArchive, { keyFile, env: {}, progress: silentProgress }, run.io)).toBe(1);
        expect(run.err.at(-1)).toMatch(/this Perch already has another audit key \(.*audit\.key\): the restored audit log would not verify with it/);
        expect(rowCount(await dumpStore(settings))).toBe(0);
        expect(writesTo(kestra)).toEqual([]);
        // With the archive's key given instead, it goes through.
        const keyHex = (await readFile(path.join(sourceSettings.dataDir, 'audit.key'), 'utf8')).trim();
        await rm(path.join(dataDir, 'audit.key'));
        const ok = quiet();
        expect(await backupRestore(settings, keyArchive, { keyFile, env: { PERCH_AUDIT_KEY: keyHex }, progress: silentProgress }, ok.io), ok.err.join('\n')).toBe(0);
        expect(ok.out).toContain('note: the audit key is already this Perch’s');
      });
    }, 60_000);

    it('refuses a target that has another master key (file or PERCH_MASTER_KEY), writing nothing; the same key goes through', async () => {
      const masterHex = (await readFile(path.join(sourceSettings.dataDir, 'master.key'), 'utf8')).trim();
      const masterId = new Envelope(Buffer.from(masterHex, 'hex')).keyId;
      await onFreshTarget(async ({ settings, kestra, dataDir }) => {
        const otherHex = 'c3'.repeat(32);
        const otherId = new Envelope(Buffer.from(otherHex, 'hex')).keyId;
        await writeFile(path.join(dataDir, 'master.key'), `${otherHex}\n`, { mode: 0o600 });
        const run = quiet();
        expect(await backupRestore(settings, keyArchive, { keyFile, env: {}, progress: silentProgress }, run.io)).toBe(1);
        expect(run.err).toHaveLength(2);
        expect(run.err.at(-1)).toBe(
          `perch: restore failed: this Perch already has another master key (${path.join(dataDir, 'master.key')}, key id ${otherId}; the archive's is ${masterId}): the restored credentials and secrets would not open with it. Move it away (when nothing this Perch keeps is sealed with it) or set PERCH_MASTER_KEY to the archive's key, then restore again`,
        );
        // The dry run says the same.
        expect(await backupRestore(settings, keyArchive, { keyFile, dryRun: true, env: {}, progress: silentProgress }, quiet().io)).toBe(1);
        expect(rowCount(await dumpStore(settings))).toBe(0);
        expect(writesTo(kestra)).toEqual([]);
        await expect(stat(path.join(dataDir, 'audit.key'))).rejects.toThrow(/ENOENT/);
        expect((await readFile(path.join(dataDir, 'master.key'), 'utf8')).trim()).toBe(otherHex);

        // PERCH_MASTER_KEY is the target's key as much as the file.
        await rm(path.join(dataDir, 'master.key'));
        const viaEnv = quiet();
        expect(await backupRestore(settings, keyArchive, { keyFile, env: { PERCH_MASTER_KEY: otherHex }, progress: silentProgress }, viaEnv.io)).toBe(1);
        expect(viaEnv.err.at(-1)).toMatch(/another master key \(PERCH_MASTER_KEY, key id [0-9a-f]{16}; the archive's is [0-9a-f]{16}\)/);
        expect(rowCount(await dumpStore(settings))).toBe(0);
        expect(writesTo(kestra)).toEqual([]);

        // The archive's key in PERCH_MASTER_KEY: the same key, so nothing to write; the dry run says so.
        const dry = quiet();
        expect(await backupRestore(settings, keyArchive, { keyFile, dryRun: true, env: { PERCH_MASTER_KEY: masterHex }, progress: silentProgress }, dry.io), dry.err.join('\n')).toBe(0);
        expect(dry.out).toContain(`note: the master key (${masterId}) is already this Perch’s`);
        const ok = quiet();
        expect(await backupRestore(settings, keyArchive, { keyFile, env: { PERCH_MASTER_KEY: masterHex }, progress: silentProgress }, ok.io), ok.err.join('\n')).toBe(0);
        expect(ok.out).toContain(`note: the master key (${masterId}) is already this Perch’s`);
        await expect(stat(path.join(dataDir, 'master.key'))).rejects.toThrow(/ENOENT/);
        expect((await dumpStore(settings)).users).toEqual(sourceDump.users);
      });
    }, 60_000);

    it('a sealed value round-trips: it opens on the restored side with the restored master key; one that does not open rolls the restore back', async () => {
      // A small source of its own: a store with a sealed column, its master key, and one KV entry in its Kestra.
      const sourceKestra = await startKestraDouble();
      const sourceDir = await mkdtemp(path.join(work, 'sealed-source-'));
      try {
        const settings = parseConfig({ dataDir: sourceDir, databaseUrl: await target.url(), logLevel: 'silent', kestra: { url: sourceKestra.url, username: sourceKestra.username, password: sourceKestra.password } });
        await makeSealedTable(settings);
        const master = await ensureMasterKey(settings, {});
        const place = (id: string) => ({ table: 'test_sealed_things', column: 'secret', id });
        const kv = await request(`${sourceKestra.url}/api/v1/main/namespaces/company.team/kv/colour`, {
          method: 'PUT',
          headers: { authorization: `Basic ${Buffer.from(`${sourceKestra.username}:${sourceKestra.password}`).toString('base64')}`, 'content-type': 'text/plain' },
          body: '"blue"',
        });
        expect(kv.statusCode, await kv.body.text()).toBe(200);

        const backUp = async (rows: { id: string; secret: string | null }[], file: string) => {
          const store = await openStore(settings);
          try {
            await store.db.deleteFrom('test_sealed_things' as never).execute();
            await store.db.insertInto('test_sealed_things' as never).values(rows as never).execute();
            await createBackup(settings, store, { file, secret: { passphrase: PASSPHRASE }, perchVersion: 'test', progress: silentProgress });
          } finally {
            await store.close();
          }
        };
        const good = path.join(work, 'sealed-good.age');
        await backUp([{ id: 'cred-1', secret: master.envelope.seal('s3cret-value', place('cred-1')) }, { id: 'cred-2', secret: null }], good);
        // A value moved to another row: sealed to cred-1's place, it does not open as cred-3's.
        const bad = path.join(work, 'sealed-bad.age');
        await backUp([{ id: 'cred-1', secret: master.envelope.seal('s3cret-value', place('cred-1')) }, { id: 'cred-3', secret: master.envelope.seal('other', place('cred-1')) }], bad);

        const restore = async (targetSettings: PerchConfig, file: string) => {
          const store = await openStore(targetSettings);
          try {
            return await restoreBackup(targetSettings, store, { file, secret: { passphrase: PASSPHRASE }, env: {}, progress: silentProgress, sealedColumns: TEST_SEALED });
          } finally {
            await store.close();
          }
        };
        const restoredSecrets = async (targetSettings: PerchConfig) => {
          const store = await openStore(targetSettings);
          try {
            return (await store.db.selectFrom('test_sealed_things' as never).selectAll().orderBy('id' as never).execute()) as { id: string; secret: string | null }[];
          } finally {
            await store.close();
          }
        };

        await onFreshTarget(async ({ settings: targetSettings, kestra, dataDir }) => {
          await makeSealedTable(targetSettings);
          const report = await restore(targetSettings, good);
          expect(report.notes).toContain(`the master key (${master.envelope.keyId}) goes to ${path.join(dataDir, 'master.key')}`);
          const restored = await loadMasterKey(targetSettings, {});
          expect(restored!.envelope.keyId).toBe(master.envelope.keyId);
          const rows = await restoredSecrets(targetSettings);
          expect(rows.map((r) => r.id)).toEqual(['cred-1', 'cred-2']);
          expect(restored!.envelope.openText(rows[0]!.secret!, place('cred-1'))).toBe('s3cret-value');
          expect(kestra.store.kv.get('company.team')?.has('colour')).toBe(true);
        });

        await onFreshTarget(async ({ settings: targetSettings, kestra, dataDir }) => {
          await makeSealedTable(targetSettings);
          await expect(restore(targetSettings, bad)).rejects.toThrow(
            `a restored sealed value does not open with master key ${master.envelope.keyId}: test_sealed_things.secret of cred-3 does not open: it was altered or belongs elsewhere; nothing was restored`,
          );
          // Checked before Kestra is written to; Perch's rows rolled back; no key file written.
          expect(await restoredSecrets(targetSettings)).toEqual([]);
          expect(rowCount(await dumpStore(targetSettings))).toBe(0);
          expect(writesTo(kestra)).toEqual([]);
          await expect(stat(path.join(dataDir, 'master.key'))).rejects.toThrow(/ENOENT/);
          await expect(stat(path.join(dataDir, 'audit.key'))).rejects.toThrow(/ENOENT/);
        });

        // An archive made without a master key, of a store that holds sealed values, into a target without one: nothing could open them.
        const keyless = path.join(work, 'sealed-keyless.age');
        await rm(path.join(sourceDir, 'master.key'));
        await backUp([{ id: 'cred-1', secret: master.envelope.seal('s3cret-value', place('cred-1')) }], keyless);
        await onFreshTarget(async ({ settings: targetSettings, kestra, dataDir }) => {
          await makeSealedTable(targetSettings);
          await expect(restore(targetSettings, keyless)).rejects.toThrow(
            'the restored test_sealed_things.secret holds sealed values, and neither the archive nor this Perch has a master key to open them (PERCH_MASTER_KEY or the master key file); nothing was restored',
          );
          expect(await restoredSecrets(targetSettings)).toEqual([]);
          expect(writesTo(kestra)).toEqual([]);
          await expect(stat(path.join(dataDir, 'master.key'))).rejects.toThrow(/ENOENT/);
        });
      } finally {
        await sourceKestra.close();
      }
    }, 60_000);


    it("Kestra refusing a write half-way: the restore stops with Kestra's answer and Perch's rows roll back", async () => {
      await onFreshTarget(async ({ settings, kestra, dataDir }) => {
        // In front of the double: every call passes except setting a trigger's state, the last part written.
        const front = createServer(async (req, res) => {
          const chunks: Buffer[] = [];
          for await (const chunk of req) chunks.push(chunk as Buffer);
          if (req.method === 'PUT' && req.url?.includes('/triggers/set-disabled')) {
            res.writeHead(500, { 'content-type': 'application/json' }).end('{"message":"scheduler unavailable"}');
            return;
          }
          const answer = await request(`${kestra.url}${req.url}`, { method: req.method as 'GET', headers: req.headers, body: chunks.length ? Buffer.concat(chunks) : undefined });
          res.writeHead(answer.statusCode, answer.headers as Record<string, string>).end(Buffer.from(await answer.body.arrayBuffer()));
        });
        await new Promise<void>((r) => front.listen(0, '127.0.0.1', r));
        try {
          const url = `http://127.0.0.1:${(front.address() as { port: number }).port}`;
          const run = quiet();
          expect(await backupRestore({ ...settings, kestra: { ...settings.kestra, url } }, keyArchive, { keyFile, env: {}, progress: silentProgress }, run.io)).toBe(1);
          expect(run.err.at(-1)).toMatch(/^perch: restore failed: Kestra answered 500 to PUT \/api\/v1\/main\/triggers\/set-disabled: .*scheduler unavailable/);
          expect(rowCount(await dumpStore(settings))).toBe(0);
          await expect(stat(path.join(dataDir, 'audit.key'))).rejects.toThrow(/ENOENT/);
          await expect(stat(path.join(dataDir, 'master.key'))).rejects.toThrow(/ENOENT/);
          // What Kestra took before the refusal stays (its API has no transaction): the flows, for one.
          expect(kestra.store.flows.size).toBe(2);
        } finally {
          front.closeAllConnections();
          await new Promise((r) => front.close(r));
        }
      });
    }, 60_000);


    it("reading an archive passes the caller's own failure on as it is: only the archive's are called damaged", async () => {
      const identity = await readIdentityFile(keyFile);
      const own = new Error('UNIQUE constraint failed: users.id');
      await expect(readArchive(keyArchive, { identity }, async () => { throw own; })).rejects.toBe(own);
    });


    it('a backup that cannot reach Kestra fails with one line and leaves no file, whole or partial', async () => {
      const output = path.join(work, 'unreachable.age');
      const run = quiet();
      const unreachable = { ...sourceSettings, kestra: { ...sourceSettings.kestra, url: 'http://127.0.0.1:9' } };
      expect(await backupCreate(unreachable, { output, keyFile, perchVersion: 'test', env: {}, progress: silentProgress }, run.io)).toBe(1);
      expect(run.err.at(-1)).toMatch(/^perch: backup failed: Kestra is unreachable at http:\/\/127\.0\.0\.1:9 \(ECONNREFUSED\) for GET \/api\/v1\/main\/flows\/search/);
      await expect(stat(output)).rejects.toThrow(/ENOENT/);
      await expect(stat(`${output}.partial`)).rejects.toThrow(/ENOENT/);
    });

    const damaged: [string, (file: string) => Promise<void>, { passphrase?: string }, RegExp][] = [
      ['a corrupted archive', async (file) => {
        const bytes = await readFile(file);
        bytes[bytes.length - 300]! ^= 0x5a;
        await writeFile(file, bytes);
      }, {}, /is damaged: corrupted or truncated/],
      ['a truncated archive', async (file) => truncate(file, (await stat(file)).size - 700), {}, /is damaged: corrupted or truncated|ends before its manifest/],
      ['a wrong passphrase', async () => {}, { passphrase: 'not the passphrase at all' }, /wrong passphrase or key file/],
    ];
    for (const [what, spoil, secret, message] of damaged) {
      it(`${what}: a clear error, and nothing written to Perch or Kestra`, async () => {
        const copy = path.join(work, `spoiled-${what.replaceAll(' ', '-')}.age`);
        await writeFile(copy, await readFile(archive));
        await spoil(copy);
        await onFreshTarget(async ({ settings, kestra, dataDir }) => {
          const run = quiet();
          expect(await backupRestore(settings, copy, { env: { PERCH_BACKUP_PASSPHRASE: secret.passphrase ?? PASSPHRASE }, progress: silentProgress }, run.io)).toBe(1);
          expect(run.err.at(-1)).toMatch(/^perch: restore failed: /);
          expect(run.err.at(-1)).toMatch(message);
          expect(rowCount(await dumpStore(settings))).toBe(0);
          expect(writesTo(kestra)).toEqual([]);
          await expect(stat(path.join(dataDir, 'audit.key'))).rejects.toThrow(/ENOENT/);
          await expect(stat(path.join(dataDir, 'master.key'))).rejects.toThrow(/ENOENT/);
        });
      }, 60_000);
    }
  });
}
