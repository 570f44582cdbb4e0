import { strToU8, zipSync } from 'fflate';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseConfig } from '../../backend/config/config.js';
import { startKestraDouble, type KestraDouble } from '../kestra-double/kestra-double.js';
import { fileUpload } from '../support/multipart.js';
import { Browser, grantRole, startPerch, type RunningPerch } from '../support/perch.js';

/** A flow of team.a whose task on line 6 carries `message` (lines 1–5 are fixed). */
const messageFlow = (id: string, message: string) =>
  `id: ${id}\nnamespace: team.a\ntasks:\n  - id: t\n    type: io.kestra.plugin.core.log.Log\n    message: ${message}\n`;
/** A flow of team.a whose single task (line 4 onwards) is `task`. */
const taskFlow = (id: string, task: string) => `id: ${id}\nnamespace: team.a\ntasks:\n${task}`;
const yaml = { 'content-type': 'application/x-yaml' };

/**
 * Issue 16.2 through the proxy: an Editor of team.a writes flows that would reach team.b's data (or
 * Kestra itself) in every spelling Kestra accepts. Each write is refused with 403 naming the line,
 * and Kestra's double receives nothing; the same flows aimed at team.a go through.
 */
describe('flow writes that reach another namespace’s data', () => {
  let kestra: KestraDouble;
  let perch: RunningPerch;
  let editor: Browser;

  beforeAll(async () => {
    kestra = await startKestraDouble();
    perch = await startPerch({
      config: { kestra: { url: kestra.url, username: kestra.username, password: kestra.password, internalHosts: 'kestra.internal, 10.0.0.5' } },
    });
    const admin = new Browser(perch);
    await admin.login();
    const created = await admin.fetch('POST', '/api/v1/users', { json: { email: 'dev@example.com', password: 'a good long password' } });
    // Developer: flows and every namespace-file action, in team.a only.
    await grantRole(perch.perch, created.json.id, 'developer', 'team.a');
    editor = new Browser(perch);
    await editor.login('dev@example.com', 'a good long password');
  });
  afterAll(async () => {
    await perch?.close();
    await kestra?.close();
  });

  const escapes: Array<[string, string, number]> = [
    ['read() with namespace=', messageFlow('e1', `"{{ read('data.csv', namespace='team.b') }}"`), 6],
    ['fileExists() with a positional namespace', messageFlow('e2', `"{{ fileExists('data.csv', 'team.b') }}"`), 6],
    ['fileSize() with path= and namespace=', messageFlow('e3', `"{{ fileSize(path='data.csv', namespace='team.b') }}"`), 6],
    ['isFileEmpty() of an nsfile URI', messageFlow('e4', `"{{ isFileEmpty('nsfile://team.b/data.csv') }}"`), 6],
    ['fileURI() with namespace=', messageFlow('e5', `"{{ fileURI('data.csv', namespace='team.b') }}"`), 6],
    ['read() in a filter chain', messageFlow('e6', `"{{ read('data.csv', namespace='team.b') | upper }}"`), 6],
    ['read() of another execution’s file', messageFlow('e7', `"{{ read('kestra:///team/b/payroll/executions/1a/tasks/t/2b/out.ion') }}"`), 6],
    ['a task taking another namespace’s storage URI', taskFlow('e8', '  - id: split\n    type: io.kestra.plugin.core.storage.Split\n    from: kestra:///team/b/payroll/executions/1a/tasks/t/2b/rows.csv\n'), 6],
    ['a namespace built at run time', messageFlow('e9', `"{{ read('data.csv', namespace='team.' ~ 'b') }}"`), 6],
    ['a path from a STRING input', messageFlow('e10', `"{{ read(inputs.path) }}"`), 6],
    ['render() of run-time text', messageFlow('e11', `"{{ render(inputs.expr) }}"`), 6],
    ['a path climbing out of the namespace', messageFlow('e12', `"{{ read('../../team/b/_files/data.csv') }}"`), 6],
    ['a file of the Kestra server', messageFlow('e13', `"{{ read('file:///app/confs/application.yml') }}"`), 6],
    ['kv() hidden behind nested brackets', messageFlow('e14', `"{{ {'a': {'b': 1}} ~ kv('k', 'team.b') }}"`), 6],
    ['subflow() of another namespace', messageFlow('e15', `"{{ subflow('team.b', 'payroll').outputs }}"`), 6],
    ['an HTTP task to Kestra’s upstream host', taskFlow('e16', '  - id: h\n    type: io.kestra.plugin.core.http.Request\n    uri: http://127.1:8080/api/v1/main/flows/team.b/payroll\n'), 6],
    ['a 1.x HTTP task to a configured internal host', taskFlow('e17', '  - id: h\n    type: io.kestra.plugin.fs.http.Request\n    uri: http://KESTRA.internal.:8080/api/v1/main/kv\n'), 6],
    ['http() to an internal address spelled as one number', messageFlow('e18', `"{{ http('http://167772165:8080/api/v1/main/flows/search') }}"`), 6],
    ['http() to an address known only at run time', messageFlow('e19', `"{{ http(inputs.url) }}"`), 6],
    ['a script calling Kestra over IPv4-mapped IPv6', taskFlow('e20', '  - id: sh\n    type: io.kestra.plugin.scripts.shell.Commands\n    commands:\n      - curl http://[::ffff:127.0.0.1]:8080/api/v1/main/flows\n'), 7],
  ];

  it.each(escapes)('refuses %s on create, update and import, naming the line, with nothing sent to Kestra', async (_name, source, line) => {
    kestra.clear();
    const id = /^id: (\w+)/.exec(source)![1]!;
    const answers = [
      await editor.fetch('POST', '/api/v1/main/flows', { body: source, headers: yaml }),
      await editor.fetch('PUT', `/api/v1/main/flows/team.a/${id}`, { body: source, headers: yaml }),
      await editor.fetch('POST', '/api/v1/main/flows/import', fileUpload(zipSync({ 'flow.yml': strToU8(source) }), 'flows.zip')),
      await editor.fetch('POST', '/api/v1/main/flows/import', fileUpload(source, 'flows.yml')),
    ];
    for (const answer of answers) {
      expect(answer.status).toBe(403);
      expect(answer.json.message).toContain(`line ${line}: `);
      expect(answer.json.lines[0]).toMatch(new RegExp(`^line ${line}: .*\\(needs [A-Z_]+ [A-Z_]+ (tenant-wide|in team\\.b)\\)$`));
    }
    expect(kestra.requests).toEqual([]);
  });

  it.each([
    ['read() of its own namespace file', messageFlow('ok1', `"{{ read('data.csv') }} {{ fileExists('data.csv', namespace='team.a') }} {{ fileSize('nsfile:///x') }}"`)],
    ['files the execution stored', `id: ok2\nnamespace: team.a\ninputs:\n  - id: up\n    type: FILE\ntasks:\n  - id: t\n    type: io.kestra.plugin.core.log.Log\n    message: "{{ read(inputs.up) }} {{ read(outputs.dl.uri) }}"\n`],
    ['its own execution’s storage URI', messageFlow('ok3', `"{{ isFileEmpty('kestra:///team/a/ok3/executions/1/tasks/t/2/o.ion') }}"`)],
    ['HTTP to another host', taskFlow('ok4', '  - id: h\n    type: io.kestra.plugin.core.http.Request\n    uri: https://api.example.com/{{ inputs.id }}\n')],
    ['kv() of its own namespace', messageFlow('ok5', `"{{ kv('k') }} {{ kv('k', namespace='team.a.sub') }}"`)],
  ])('lets %s through to Kestra', async (_name, source) => {
    kestra.clear();
    const res = await editor.fetch('POST', '/api/v1/main/flows', { body: source, headers: yaml });
    expect(res.status).toBe(200);
    expect(kestra.requests).toHaveLength(1);
  });
});

/**
 * Issue 21.4: Kestra OSS resolves secret() from one global environment, so at flow save Perch lets a
 * flow name only the secrets of its own namespace and its parents, and no secret name built at run
 * time. The secrets are team.a's, team's (its parent) and team.b's (a sibling).
 */
describe('secret() at flow save', () => {
  let kestra: KestraDouble;
  let perch: RunningPerch;
  let admin: Browser;
  let developer: Browser;

  beforeAll(async () => {
    kestra = await startKestraDouble();
    perch = await startPerch({ config: { kestra: { url: kestra.url, username: kestra.username, password: kestra.password } } });
    admin = new Browser(perch);
    await admin.login();
    for (const [ns, key] of [['team.a', 'TEAM_A_TOKEN'], ['team', 'TEAM_PARENT'], ['team.b', 'PAYROLL_KEY']]) {
      expect((await admin.fetch('PUT', `/api/v1/main/namespaces/${ns}/secrets`, { json: { key, value: `value of ${key}` } })).status).toBe(200);
    }
    const created = await admin.fetch('POST', '/api/v1/users', { json: { email: 'secret-dev@example.com', password: 'a good long password' } });
    await grantRole(perch.perch, created.json.id, 'developer', 'team.a');
    developer = new Browser(perch);
    await developer.login('secret-dev@example.com', 'a good long password');
  });
  afterAll(async () => {
    await perch?.close();
    await kestra?.close();
  });

  it.each([
    ['a sibling namespace’s secret', `"{{ secret('PAYROLL_KEY') }}"`, /secret\('PAYROLL_KEY'\) belongs to namespace team\.b, which is neither team\.a nor one of its parents/],
    ['the same key in another case (Kestra upper-cases keys)', `"{{ secret('payroll_key') }}"`, /belongs to namespace team\.b/],
    ['the key given by name', `"{{ secret(key='PAYROLL_KEY') }}"`, /belongs to namespace team\.b/],
    ['a sibling’s secret with namespace= its own', `"{{ secret('PAYROLL_KEY', namespace='team.a') }}"`, /belongs to namespace team\.b/],
    ['a key from an input', `"{{ secret(inputs.name) }}"`, /names its secret at run time.*refuses secret names built at run time/],
    ['a key built by concatenation', `"{{ secret('PAYROLL' ~ '_KEY') }}"`, /built at run time/],
    ['a namespace known only at run time', `"{{ secret('TEAM_A_TOKEN', namespace=inputs.ns) }}"`, /built at run time/],
  ])('refuses %s, naming the line, with nothing sent to Kestra', async (_name, message, reason) => {
    kestra.clear();
    const source = messageFlow('s1', message);
    for (const browser of [developer, admin]) {
      const res = await browser.fetch('POST', '/api/v1/main/flows', { body: source, headers: yaml });
      expect(res.status, res.text).toBe(403);
      expect(res.json.lines[0]).toMatch(/^line 6: /);
      expect(res.json.message).toMatch(reason);
      const imported = await browser.fetch('POST', '/api/v1/main/flows/import', fileUpload(source, 'flows.yml'));
      expect(imported.status).toBe(403);
    }
    expect(kestra.requests).toEqual([]);
  });

  it('lets a flow name its own namespace’s and its parents’ secrets, without a SECRET permission', async () => {
    kestra.clear();
    const res = await developer.fetch('POST', '/api/v1/main/flows', { body: messageFlow('s2', `"{{ secret('TEAM_A_TOKEN') }} {{ secret('team_parent') }}"`), headers: yaml });
    expect(res.status, res.text).toBe(200);
    expect(kestra.requests).toHaveLength(1);
  });

  it('keeps a secret Perch does not keep (set in Kestra’s environment) to tenant-wide SECRET VIEW', async () => {
    kestra.clear();
    const source = messageFlow('s3', `"{{ secret('OPERATOR_SET') }}"`);
    const refused = await developer.fetch('POST', '/api/v1/main/flows', { body: source, headers: yaml });
    expect(refused.status).toBe(403);
    expect(refused.json.lines[0]).toMatch(/needs SECRET VIEW tenant-wide/);
    expect(kestra.requests).toEqual([]);
    expect((await admin.fetch('POST', '/api/v1/main/flows', { body: source, headers: yaml })).status).toBe(200);
  });

  it('follows the secrets as they move: deleted, then made in team.a', async () => {
    expect((await admin.fetch('DELETE', '/api/v1/main/namespaces/team.b/secrets/PAYROLL_KEY')).status).toBe(200);
    expect((await admin.fetch('PUT', '/api/v1/main/namespaces/team.a/secrets', { json: { key: 'PAYROLL_KEY', value: 'now team.a' } })).status).toBe(200);
    const res = await developer.fetch('POST', '/api/v1/main/flows', { body: messageFlow('s4', `"{{ secret('PAYROLL_KEY') }}"`), headers: yaml });
    expect(res.status, res.text).toBe(200);
  });
});

describe('kestra.internalHosts', () => {
  const base = { kestra: { url: 'http://kestra:8080' } };
  it('takes a list or a comma-separated string (PERCH_KESTRA_INTERNAL_HOSTS)', () => {
    expect(parseConfig({ kestra: { ...base.kestra, internalHosts: ['a.internal', '10.0.0.5'] } }).kestra.internalHosts).toEqual(['a.internal', '10.0.0.5']);
    expect(parseConfig({ kestra: { ...base.kestra, internalHosts: ' a.internal, [::1] ,' } }).kestra.internalHosts).toEqual(['a.internal', '[::1]']);
    expect(parseConfig(base).kestra.internalHosts).toEqual([]);
  });
  it('refuses URLs and paths, naming the key', () => {
    expect(() => parseConfig({ kestra: { ...base.kestra, internalHosts: ['http://a/x'] } })).toThrow(/kestra\.internalHosts\.0.*host names/);
    expect(() => parseConfig({ kestra: { ...base.kestra, internalHosts: 'a.internal, %zz' } })).toThrow(/kestra\.internalHosts\.1.*host names/);
    expect(() => parseConfig({ kestra: { ...base.kestra, internalHosts: ['a b'] } })).toThrow(/host names/);
  });
});
