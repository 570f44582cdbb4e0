import { createHash } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MAX_TEXT_FILE_BYTES } from '../../backend/proxy/resource-states.js';
import type { KestraDouble } from '../kestra-double/kestra-double.js';
import { Browser, startBehindKestra, type RunningPerch } from '../support/perch.js';

const sha256 = (data: string | Buffer) => createHash('sha256').update(data).digest('hex');

function multipart(data: Buffer): { body: Buffer; headers: Record<string, string> } {
  const boundary = 'perch-test-boundary-7d1f';
  const body = Buffer.concat([
    Buffer.from(`--${boundary}\r\nContent-Disposition: form-data; name="fileContent"; filename="upload"\r\nContent-Type: application/octet-stream\r\n\r\n`),
    data,
    Buffer.from(`\r\n--${boundary}--\r\n`),
  ]);
  return { body, headers: { 'content-type': `multipart/form-data; boundary=${boundary}` } };
}

const TIMED = `id: timed
namespace: company.ops
tasks:
  - id: a
    type: io.kestra.plugin.core.debug.Return
    format: x
triggers:
  - id: nightly
    type: io.kestra.plugin.core.trigger.Schedule
    cron: "0 2 * * *"
`;

describe('audit log: before/after states of KV entries, triggers and namespace files', () => {
  let kestra: KestraDouble;
  let perch: RunningPerch;
  let admin: Browser;
  let close: () => Promise<void>;

  beforeAll(async () => ({ kestra, perch, admin, close } = await startBehindKestra()));
  afterAll(() => close?.());

  const entries = (resource: string) =>
    perch.perch.ctx.db.selectFrom('audit_log').selectAll().where('tenant_id', '=', 'main').where('resource_type', '=', resource).orderBy('seq', 'asc').execute();
  const diffOf = async (id: string) => {
    const res = await admin.fetch('GET', `/api/v1/main/auditlogs/${id}/diff`);
    expect(res.status, res.text).toBe(200);
    return res.json as { before: string | null; after: string | null; kind: string; unified: string };
  };
  const kvState = (type: string, value: unknown) => `${JSON.stringify({ type, value }, null, 2)}\n`;

  it('KV: the type and value before and after each PUT and DELETE, digests in the chain, values nowhere else', async () => {
    const put = (value: string) => admin.fetch('PUT', '/api/v1/main/namespaces/company.ops/kv/greeting', { body: value, headers: { 'content-type': 'text/plain' } });
    expect((await put('"hello there"')).status).toBe(200);
    expect((await put('"general kenobi"')).status).toBe(200);
    expect((await put('42')).status).toBe(200);
    expect((await admin.fetch('DELETE', '/api/v1/main/namespaces/company.ops/kv/greeting')).status).toBe(200);

    const [created, updated, retyped, deleted] = await entries('KVSTORE');
    expect(created).toMatchObject({ resource_id: 'greeting', namespace: 'company.ops', action: 'UPDATE' });
    expect(await diffOf(created!.id)).toMatchObject({ kind: 'kv-value', before: null, after: kvState('STRING', 'hello there') });
    const diff = await diffOf(updated!.id);
    expect(diff).toMatchObject({ before: kvState('STRING', 'hello there'), after: kvState('STRING', 'general kenobi') });
    expect(diff.unified).toContain('-  "value": "hello there"');
    expect(diff.unified).toContain('+  "value": "general kenobi"');
    expect(await diffOf(retyped!.id)).toMatchObject({ before: kvState('STRING', 'general kenobi'), after: kvState('NUMBER', 42) });
    expect(await diffOf(deleted!.id)).toMatchObject({ before: kvState('NUMBER', 42), after: null });

    // The chain covers the states through their digests; the value itself is only in audit_states.
    expect(JSON.parse(updated!.details).states).toEqual({ kind: 'kv-value', before: sha256(kvState('STRING', 'hello there')), after: sha256(kvState('STRING', 'general kenobi')) });
    for (const row of [created, updated, retyped, deleted]) expect(JSON.stringify(row)).not.toMatch(/hello there|general kenobi/);
  });

  it('triggers: the trigger state before and after disable, enable, unlock and delete', async () => {
    kestra.addFlow(TIMED);
    const setDisabled = (disabled: boolean) =>
      admin.fetch('PUT', '/api/v1/main/triggers/set-disabled', { json: { namespace: 'company.ops', flowId: 'timed', triggerId: 'nightly', disabled } });
    const disabled = await setDisabled(true);
    expect(disabled.status).toBe(200);
    // The client still gets Kestra's answer.
    expect(disabled.json).toMatchObject({ triggerId: 'nightly', disabled: true });
    expect((await setDisabled(false)).status).toBe(200);
    kestra.lockTrigger('company.ops', 'timed', 'nightly');
    expect((await admin.fetch('POST', '/api/v1/main/triggers/company.ops/timed/nightly/unlock')).status).toBe(200);
    expect((await admin.fetch('DELETE', '/api/v1/main/triggers/company.ops/timed/nightly')).status).toBe(204);

    const [disable, enable, unlock, remove] = await entries('TRIGGER');
    expect(disable).toMatchObject({ action: 'UPDATE', resource_id: 'nightly', namespace: 'company.ops' });
    expect(JSON.parse(disable!.details)).toMatchObject({ flowId: 'timed', triggerId: 'nightly', states: { kind: 'trigger' } });
    const off = await diffOf(disable!.id);
    expect(JSON.parse(off.before!)).toMatchObject({ namespace: 'company.ops', flowId: 'timed', triggerId: 'nightly', disabled: false });
    expect(JSON.parse(off.after!)).toMatchObject({ triggerId: 'nightly', disabled: true });
    expect(off.unified).toContain('-  "disabled": false,');
    expect(off.unified).toContain('+  "disabled": true,');
    const on = await diffOf(enable!.id);
    expect([JSON.parse(on.before!).disabled, JSON.parse(on.after!).disabled]).toEqual([true, false]);
    const unlocked = await diffOf(unlock!.id);
    expect([JSON.parse(unlocked.before!).locked, JSON.parse(unlocked.after!).locked]).toEqual([true, false]);
    const removed = await diffOf(remove!.id);
    expect(JSON.parse(removed.before!)).toMatchObject({ triggerId: 'nightly', disabled: false });
    expect(removed.after).toBeNull();
  });

  it('namespace files: text content before and after with a unified diff; binary and oversized files as size and SHA-256', async () => {
    const upload = (path: string, data: Buffer) => {
      const { body, headers } = multipart(data);
      return admin.fetch('POST', `/api/v1/main/namespaces/company.ops/files?path=${encodeURIComponent(path)}`, { body, headers });
    };
    const v1 = 'print("hello")\nprint("one")\n';
    const v2 = 'print("hello")\nprint("two")\n';
    expect((await upload('/scripts/run.py', Buffer.from(v1))).status).toBe(200);
    expect((await upload('/scripts/run.py', Buffer.from(v2))).status).toBe(200);
    const binary = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x00, 0x01, 0xff, 0xfe]);
    expect((await upload('/img/logo.png', binary)).status).toBe(200);
    const big = Buffer.alloc(MAX_TEXT_FILE_BYTES + 1, 'a');
    expect((await upload('/data/big.txt', big)).status).toBe(200);
    expect((await admin.fetch('PUT', '/api/v1/main/namespaces/company.ops/files?from=%2Fscripts%2Frun.py&to=%2Fscripts%2Fmain.py')).status).toBe(200);
    expect((await admin.fetch('DELETE', '/api/v1/main/namespaces/company.ops/files?path=%2Fscripts%2Fmain.py')).status).toBe(200);

    const [first, second, png, large, moved, deleted] = await entries('NAMESPACE');
    expect(first).toMatchObject({ resource_id: '/scripts/run.py', namespace: 'company.ops' });
    expect(await diffOf(first!.id)).toMatchObject({ kind: 'namespace-file', before: null, after: v1 });
    const diff = await diffOf(second!.id);
    expect(diff).toMatchObject({ before: v1, after: v2 });
    expect(diff.unified).toContain('-print("one")');
    expect(diff.unified).toContain('+print("two")');

    const pngState = JSON.parse((await diffOf(png!.id)).after!);
    expect(pngState).toEqual({ content: 'not kept (binary)', sha256: sha256(binary), size: binary.length });
    const largeDiff = await diffOf(large!.id);
    expect(JSON.parse(largeDiff.after!)).toEqual({ content: `not kept (over ${MAX_TEXT_FILE_BYTES} bytes)`, sha256: sha256(big), size: big.length });
    expect(largeDiff.after!.length).toBeLessThan(200);

    expect(moved).toMatchObject({ resource_id: '/scripts/main.py' });
    expect(JSON.parse(moved!.details)).toMatchObject({ from: '/scripts/run.py', to: '/scripts/main.py' });
    expect(await diffOf(moved!.id)).toMatchObject({ before: v2, after: v2 });
    expect(await diffOf(deleted!.id)).toMatchObject({ before: v2, after: null });
  });

  it('keeps no states for a change Kestra refused', async () => {
    const before = (await entries('TRIGGER')).length;
    const res = await admin.fetch('POST', '/api/v1/main/triggers/company.ops/timed/nightly/unlock'); // not locked: 409
    expect(res.status).toBe(409);
    const [refused] = (await entries('TRIGGER')).slice(before);
    expect(refused).toMatchObject({ upstream_status: 409, outcome: 'FAILURE' });
    expect(JSON.parse(refused!.details).states).toBeUndefined();
    expect(await perch.perch.ctx.db.selectFrom('audit_states').selectAll().where('entry_id', '=', refused!.id).executeTakeFirst()).toBeUndefined();
  });

  it('sent Kestra nothing outside its OpenAPI contract', () => {
    expect(kestra.contractViolations).toEqual([]);
  });
});
