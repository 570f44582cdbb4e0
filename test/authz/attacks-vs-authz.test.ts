import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { MANAGED_ROLES } from '../../lib/authz/catalogue.js';
import { DecisionIndex } from '../../backend/authz/decision-index.js';
import type { ExecutionNamespaceLookup } from '../../backend/authz/execution-lookup.js';
import { KestraAuthorizer } from '../../backend/authz/kestra-authorizer.js';
import { KestraHosts } from '../../backend/authz/kestra-hosts.js';
import { canonicalizeRequest } from '../../backend/proxy/canonical-request.js';
import { posix } from 'node:path';
import { strToU8, zipSync } from 'fflate';
import { fileUpload, multipartForm } from '../support/multipart.js';

/**
 * The attack cases of anchors.md §4.4 replayed against the gate and the authorizer together: a
 * Viewer bound on `company.team` must never get a yes for anything that Kestra, decoding the
 * path once, would read as another namespace.
 */
const viewer = MANAGED_ROLES.find((r) => r.id === 'viewer')!.permissions;
const index = new DecisionIndex({
  bindings: [{ id: 'b1', tenantId: 'main', subjectType: 'USER', subjectId: 'u1', namespace: 'company.team', permissions: viewer }],
  memberships: [],
});
const executions = { namespaceOf: async (id: string) => (id === 'exec-team' ? 'company.team' : id === 'exec-finance' ? 'company.finance' : null) } as unknown as ExecutionNamespaceLookup;
const authorizer = new KestraAuthorizer(index, executions);
const principal = { userId: 'u1', tenantId: 'main', email: 'v@example.com', superAdmin: false, sessionHash: 'x' };

async function decide(method: string, url: string): Promise<{ allowed: boolean; status: number }> {
  const checked = canonicalizeRequest({ method, url, rawHeaders: ['Host', 'perch'] });
  if (!checked.ok) return { allowed: false, status: checked.status };
  const verdict = await authorizer.authorize({ method, path: checked.path, query: checked.query, contentType: undefined, principal, readBody: async () => Buffer.alloc(0) });
  return verdict.ok ? { allowed: true, status: 200 } : { allowed: false, status: verdict.status };
}

describe('attack cases against authorization', () => {
  it.each([
    ['the control case', '/api/v1/main/flows/company.team/hello', true],
    ['another namespace', '/api/v1/main/flows/company.finance/payroll', false],
    ['a look-alike prefix', '/api/v1/main/flows/company.teamX/hello', false],
    ['encoded letters', '/api/v1/main/flows/%63ompany.finance/payroll', false],
    ['dot segments', '/api/v1/main/flows/company.team/../company.finance/payroll', false],
    ['encoded dot segments', '/api/v1/main/flows/company.team/%2e%2e/company.finance/payroll', false],
    ['encoded slash', '/api/v1/main/flows/company.team%2F..%2Fcompany.finance/payroll', false],
    ['double slash', '/api/v1/main//flows/company.finance/payroll', false],
    ['matrix parameter', '/api/v1/main/flows/company.team;x=/company.finance/payroll', false],
    ['upper-case namespace', '/api/v1/main/flows/COMPANY.TEAM/hello', false],
    ['another tenant', '/api/v1/other/flows/company.team/hello', false],
    ['no tenant (legacy path)', '/api/v1/flows/company.team/hello', false],
    ['an execution of another namespace', '/api/v1/main/executions/exec-finance', false],
    ['an execution of its namespace', '/api/v1/main/executions/exec-team', true],
    ['an unknown execution', '/api/v1/main/executions/exec-nobody', false],
    ['a file of another execution’s namespace', '/api/v1/main/executions/exec-finance/file?path=kestra:///company/finance/x', false],
    ['a storage URI escaping the execution', '/api/v1/main/executions/exec-team/file?path=kestra:///company/finance/payroll/x', false],
    ['an encoded storage URI escaping the execution', '/api/v1/main/executions/exec-team/file/preview?path=kestra%3A%2F%2F%2Fcompany%2Ffinance%2Fx', false],
    ['a storage URI climbing out with dots', '/api/v1/main/executions/exec-team/file?path=kestra:///company/team/../finance/x', false],
    ['a file of the execution’s own namespace', '/api/v1/main/executions/exec-team/file?path=kestra:///company/team/hello/executions/exec-team/o.txt', true],
    ['a search widened by filter', '/api/v1/main/flows/search?filters[namespace][PREFIX]=company', true],
    ['a route Perch does not know', '/api/v1/main/flows/company.team/hello/secret-route', false],
  ])('%s', async (_name, url, allowed) => {
    expect((await decide('GET', url)).allowed).toBe(allowed);
  });

  it('never allows a path whose once-decoded form names a namespace outside company.team', async () => {
    const piece = fc.constantFrom('company', '.', 'team', 'finance', '%2e', '%2E', '%2f', '/', '..', '%63', 'X', ';', '%3b', '\\', '%5c', '-', '_', '%20', 'prod');
    // Start from the allowed namespace, a parent or nothing, then bolt on tricky pieces.
    const namespace = fc
      .tuple(fc.constantFrom('company.team', 'company.team.', 'company', ''), fc.array(piece, { maxLength: 5 }))
      .map(([head, parts]) => head + parts.join(''))
      .filter((ns) => ns.length > 0);
    const template = fc.constantFrom(
      (ns: string) => `/api/v1/main/flows/${ns}/hello`,
      (ns: string) => `/api/v1/main/namespaces/${ns}/kv/key`,
      (ns: string) => `/api/v1/main/namespaces/${ns}`,
      (ns: string) => `/api/v1/main/executions/flows/${ns}/hello`,
      (ns: string) => `/api/v1/main/triggers/${ns}/hello`,
    );
    let allowedCount = 0;
    await fc.assert(
      fc.asyncProperty(template, namespace, async (build, ns) => {
        const url = build(ns);
        const { allowed } = await decide('GET', url);
        if (!allowed) return;
        allowedCount++;
        // What Kestra would read: the path decoded once, then split into segments.
        const segments = decodeURIComponent(url).split('/');
        const touched = segments.filter((s) => s.startsWith('company') || s.startsWith('prod'));
        for (const seg of touched) expect(seg === 'company.team' || seg.startsWith('company.team.')).toBe(true);
      }),
      { numRuns: 3000 },
    );
    expect(allowedCount).toBeGreaterThan(0);
  });
});

/**
 * Query strings read the way Kestra's server reads them (names decoded, `;` a separator, `filters[`
 * spelled exactly): whatever the spelling, an Editor bound on `company.team` acts there only.
 */
describe('query strings that Kestra would read otherwise', () => {
  const editor = MANAGED_ROLES.find((r) => r.id === 'editor')!.permissions;
  const editors = new KestraAuthorizer(
    new DecisionIndex({ bindings: [{ id: 'b2', tenantId: 'main', subjectType: 'USER', subjectId: 'u2', namespace: 'company.team', permissions: editor }], memberships: [] }),
    executions,
  );
  const who = { ...principal, userId: 'u2' };
  async function verdictOf(method: string, url: string, body = '') {
    const checked = canonicalizeRequest({ method, url, rawHeaders: ['Host', 'perch'] });
    if (!checked.ok) return { ok: false as const, status: checked.status };
    return editors.authorize({ method, path: checked.path, query: checked.query, contentType: body ? 'application/json' : undefined, principal: who, readBody: async () => Buffer.from(body) });
  }
  const SCOPE = 'filters[namespace][PREFIX]=company.team';

  it.each([
    // Kestra only reads `filters[`: this spelling would be no filter at all, i.e. the whole tenant.
    ['an upper-case FILTERS', 'DELETE', '/api/v1/main/executions/by-query?FILTERS[namespace][EQUALS]=company.team', 400],
    ['a mixed-case Filters', 'DELETE', '/api/v1/main/flows/delete/by-query?Filters[namespace][PREFIX]=company.team', 400],
    // Kestra decodes IN values once more: two namespaces to it, one to a single decoding.
    ['a doubly encoded IN list', 'DELETE', '/api/v1/main/executions/by-query?filters[namespace][IN]=company.team.x%252Ccompany.finance', 400],
    // Names are decoded and `;` splits parameters, as Kestra's server does.
    ['an encoded parameter name', 'GET', '/api/v1/main/executions?n%61mespace=company.finance&flowId=payroll', 403],
    ['a parameter after ;', 'GET', '/api/v1/main/executions?flowId=payroll;namespace=company.finance', 403],
    ['the same parameter twice, one encoded', 'GET', '/api/v1/main/executions?n%61mespace=company.finance&namespace=company.team&flowId=payroll', 400],
    ['a sync deleting another namespace’s flows', 'POST', '/api/v1/main/flows/bulk?n%61mespace=company.finance&namespace=company.team&delete=true', 400],
  ])('refuses %s', async (_name, method, url, status) => {
    const verdict = await verdictOf(method, url);
    expect(verdict.ok).toBe(false);
    expect(verdict.ok === false && verdict.status).toBe(status);
  });

  const SEARCH = '/api/v1/main/executions/search';
  const BY_QUERY = '/api/v1/main/executions/by-query';
  it.each([
    ['no filter', 'GET', SEARCH, SCOPE],
    ['its own namespace', 'DELETE', `${BY_QUERY}?filters[namespace][EQUALS]=company.team`, 'filters[namespace][EQUALS]=company.team'],
    ['an encoded filter name', 'DELETE', `${BY_QUERY}?filters%5Bnamespace%5D%5BEQUALS%5D=company.team`, 'filters[namespace][EQUALS]=company.team'],
    ['a wider prefix', 'GET', `${SEARCH}?filters[namespace][PREFIX]=company`, SCOPE],
    ['a narrower prefix', 'GET', `${SEARCH}?filters[namespace][PREFIX]=company.team.x`, 'filters[namespace][PREFIX]=company.team.x'],
    ['a start inside the scope', 'GET', `${SEARCH}?filters[namespace][STARTS_WITH]=company.team.x`, 'filters[namespace][STARTS_WITH]=company.team.x'],
    ['a start around the scope', 'GET', `${SEARCH}?filters[namespace][STARTS_WITH]=comp`, SCOPE],
    ['an IN list, half outside', 'DELETE', `${BY_QUERY}?filters[namespace][IN]=company.finance,company.team.a`, 'filters[namespace][EQUALS]=company.team.a'],
    ['an IN list in brackets', 'DELETE', `${BY_QUERY}?filters[namespace][IN]=[company.team.a,company.team,company.teamx]`, 'filters[namespace][IN]=company.team.a,company.team'],
    ['repeated filters that agree', 'DELETE', `${BY_QUERY}?filters[namespace][PREFIX]=company&filters[namespace][EQUALS]=company.team.b`, 'filters[namespace][EQUALS]=company.team.b'],
    ['an exclusion over a list', 'DELETE', `${BY_QUERY}?filters[namespace][IN]=company.team.a,company.team.b&filters[namespace][NOT_EQUALS]=company.team.a`, 'filters[namespace][EQUALS]=company.team.b'],
    ['other filters, kept as sent', 'DELETE', `${BY_QUERY}?filters[state][IN]=FAILED;filters[namespace][IN]=company.team&deleteLogs=true`, 'filters[state][IN]=FAILED&deleteLogs=true&filters[namespace][EQUALS]=company.team'],
  ])('a call with %s reaches Kestra with only Perch’s namespace filter', async (_name, method, url, forwarded) => {
    const verdict = await verdictOf(method, url);
    expect(verdict.ok && verdict.query).toBe(forwarded);
  });

  it.each([
    ['no filter', ''],
    ['a wider prefix', 'filters[namespace][PREFIX]=company'],
    ['a narrower prefix', 'filters[namespace][PREFIX]=company.team.x'],
    ['a start inside the scope', 'filters[namespace][STARTS_WITH]=company.team.x'],
  ])('refuses a by-query write bounded by a prefix only (%s): Kestra reads prefixes wider than Perch', async (_name, query) => {
    const verdict = await verdictOf('DELETE', `${BY_QUERY}?${query}`);
    expect(verdict.ok === false && verdict.status).toBe(403);
    expect(verdict.ok === false && 'message' in verdict && verdict.message).toMatch(/only by namespaces named one by one: add filters\[namespace\]\[IN\]=… with namespaces under company\.team/);
  });

  it.each([
    ['another namespace', 'filters[NAMESPACE][EQUALS]=company.finance'],
    ['a look-alike prefix', 'filters[namespace][PREFIX]=company.teamx'],
    ['a look-alike start', 'filters[namespace][STARTS_WITH]=company.teamx'],
    ['an IN list wholly outside', 'filters[namespace][IN]=company.finance,prod'],
    ['repeated filters that disagree', 'filters[namespace][EQUALS]=company.team&filters[namespace][EQUALS]=company.team.a'],
    ['a prefix and a list that miss each other', 'filters[namespace][PREFIX]=company.team.a&filters[namespace][IN]=company.team.b'],
    ['an empty prefix', 'filters[namespace][PREFIX]='],
  ])('refuses a by-query write whose filters share nothing with the scope (%s), sending nothing', async (_name, query) => {
    const verdict = await verdictOf('DELETE', `/api/v1/main/executions/by-query?${query}`);
    expect(verdict.ok).toBe(false);
    expect(verdict.ok === false && verdict.status).toBe(403);
    expect(verdict.ok === false && 'message' in verdict && verdict.message).toMatch(/select no namespace where you may EXECUTION DELETE \(company\.team\)/);
  });

  it.each([
    ['the legacy flat namespace parameter', 'namespace=company'],
    ['a namespace filter with a key', 'filters[namespace][EQUALS][x]=company.team'],
    ['an operation Perch cannot intersect', 'filters[namespace][REGEX]=company.*'],
    ['a nested OR group', 'filters[or][0][namespace][EQUALS]=company.finance'],
    ['a nested AND group', 'filters[and][0][namespace][EQUALS]=company.team'],
  ])('refuses %s with 400', async (_name, query) => {
    const verdict = await verdictOf('DELETE', `/api/v1/main/executions/by-query?${query}`);
    expect(verdict.ok === false && verdict.status).toBe(400);
  });

  it('refuses a by-query write Perch can only bound by filtering an answer', async () => {
    // An exclusion over a prefix is no one filter; a write has no answer to filter.
    const verdict = await verdictOf('DELETE', '/api/v1/main/executions/by-query?filters[namespace][NOT_EQUALS]=company.team.a');
    expect(verdict.ok === false && verdict.status).toBe(403);
  });

  it('scopes a trigger delete by-query in its query as well as its body, with one computed filter', async () => {
    const verdict = await verdictOf(
      'DELETE',
      '/api/v1/main/triggers/delete/by-query?filters[namespace][NOT_IN]=company.team.b',
      '{"filters":[{"field":"Namespace","operation":"IN","value":["company.finance","company.team.a"]},{"field":"flowId","operation":"EQUALS","value":"x"}]}',
    );
    expect(verdict.ok).toBe(true);
    if (!verdict.ok) return;
    expect(verdict.query).toBe('filters[namespace][EQUALS]=company.team.a');
    expect(JSON.parse(verdict.body!.toString())).toEqual({
      filters: [{ field: 'flowId', operation: 'EQUALS', value: 'x' }, { field: 'namespace', operation: 'EQUALS', value: 'company.team.a' }],
    });
  });

  it('refuses a trigger delete by-query whose body filter lies outside the scope', async () => {
    const verdict = await verdictOf('DELETE', '/api/v1/main/triggers/delete/by-query', '{"filters":[{"field":"namespace","operation":"EQUALS","value":"company.finance"}]}');
    expect(verdict.ok === false && verdict.status).toBe(403);
  });
});

/**
 * Issue 16.2 attack classes, other spellings: a Developer of company.team (namespace files included)
 * writes flows that would open another namespace's data or call Kestra directly. Every variant is a
 * 403 naming its line; the same constructs aimed at company.team are allowed.
 */
describe('flow writes that reach past their namespace, in other spellings', () => {
  const developer = MANAGED_ROLES.find((r) => r.id === 'developer')!.permissions;
  const developers = new KestraAuthorizer(
    new DecisionIndex({ bindings: [{ id: 'b3', tenantId: 'main', subjectType: 'USER', subjectId: 'u3', namespace: 'company.team', permissions: developer }], memberships: [] }),
    executions,
    KestraHosts.of(['http://kestra.svc.cluster.local:8080', '10.1.2.3']),
  );
  const who = { ...principal, userId: 'u3' };
  const create = (source: string) => developers.authorize({
    method: 'POST', path: '/api/v1/main/flows', query: '', contentType: 'application/x-yaml', principal: who, readBody: async () => Buffer.from(source),
  });
  /** `message` is on line 6. */
  const msg = (message: string) => `id: f\nnamespace: company.team\ntasks:\n  - id: t\n    type: io.kestra.plugin.core.log.Log\n    message: ${message}\n`;
  const http = (uri: string) => `id: f\nnamespace: company.team\ntasks:\n  - id: t\n    type: io.kestra.plugin.core.http.Request\n    uri: ${uri}\n`;

  it.each([
    ['a YAML escape spelling the function name', msg(`"{{ \\u0072ead('a.csv', namespace='company.finance') }}"`)],
    ['double quotes inside single-quoted YAML', msg(`'{{ fileExists("a.csv", namespace="company.finance") }}'`)],
    ['whitespace control and line breaks', msg(`"{{- fileSize (\\n 'a.csv' ,\\n namespace = 'company.finance' ) -}}"`)],
    ['a {% set %} tag', msg(`"{%- set x = isFileEmpty('a.csv', namespace='company.finance') -%}{{ x }}"`)],
    ['a call inside a filter argument', msg(`"{{ 'x' | default(read('a.csv', namespace='company.finance')) }}"`)],
    ['a namespace concatenated from literals', msg(`"{{ read('a.csv', namespace='company' ~ '.finance') }}"`)],
    ['a namespace from a variable', msg(`"{% set ns = 'company.finance' %}{{ fileURI('a.csv', namespace=ns) }}"`)],
    ['a storage URI of another namespace in a flow-style map', `id: f\nnamespace: company.team\ntasks: [{id: t, type: io.kestra.plugin.core.log.Log, message: "{{ read('kestra:///company/finance/p/executions/e/tasks/t/r/o.ion') }}"}]\n`],
    ['an nsfile URI with an upper-case scheme', msg(`"{{ read('NSFILE://company.finance/a.csv') }}"`)],
    ['a storage URI with an upper-case scheme', msg(`"{{ read('KESTRA:///company/finance/p/executions/e/tasks/t/r/o.ion') }}"`)],
    ['a storage URI climbing with dots', msg(`"{{ read('kestra:///company/team/f/executions/e/tasks/../../../../finance/p/executions/e/tasks/t/r/o') }}"`)],
    ['a storage URI with a percent-encoded segment', msg(`"{{ read('kestra:///company/%66inance/p/executions/e/tasks/t/r/o') }}"`)],
    ['a file function call in a literal block script', `id: f\nnamespace: company.team\ntasks:\n  - id: t\n    type: io.kestra.plugin.scripts.python.Script\n    script: |\n      data = """{{ read('a.csv', namespace='company.finance') }}"""\n`],
    ['localhost with a trailing dot', http('http://localhost.:8080/api/v1/main/flows')],
    ['LOCALHOST in capitals', http('http://LocalHost:8080/api')],
    ['full-width letters', http('http://ｌｏｃａｌｈｏｓｔ:8080/api')],
    ['a percent-encoded host', http('http://%6c%6fcalhost:8080/api')],
    ['the unspecified address', http('http://0:8080/api')],
    ['IPv6 loopback in full', http('http://[0:0:0:0:0:0:0:1]:8080/api')],
    ['credentials before the host', http('http://user:pw@127.0.0.1:8080/api')],
    ['a fragment hiding nothing', http('"http://127.0.0.1:8080#@example.com"')],
    ['the upstream service name in capitals with a dot', http('http://KESTRA.svc.cluster.local.:8080/api')],
    ['an internal address in octal', http('http://012.1.2.3:8080/api')],
    ['an internal address in hexadecimal words', http('http://0xa.0x1.0x2.0x3/api')],
    ['an https URL to loopback', http('https://127.0.0.2/api')],
    ['a host built at run time', http('"https://{{ inputs.host }}/api"')],
  ])('refuses %s', async (_name, source) => {
    const verdict = await create(source);
    expect(verdict.ok).toBe(false);
    if (verdict.ok) return;
    expect(verdict.status).toBe(403);
    expect(verdict.message).toMatch(/line \d+: /);
  });

  it.each([
    ['its own namespace files', msg(`"{{ read('a.csv') }} {{ fileExists('a.csv', namespace='company.team.sub') }} {{ read('nsfile://company.team/a') }}"`)],
    ['its own execution files', msg(`"{{ read('kestra:///company/team/f/executions/e/tasks/t/r/o.ion') }}"`)],
    ['a look-alike host', http('http://localhost.example.com/api')],
    ['a public address', http('https://93.184.216.34/api')],
  ])('allows %s', async (_name, source) => {
    const verdict = await create(source);
    expect(verdict.ok).toBe(true);
  });
});

/**
 * Namespace files as flow writes (issue 16): someone who may manage the files of `company.team` but
 * holds no flow rights never gets a yes for a write Kestra would import as a flow, however the path,
 * the archive or the form is spelled. The oracle is independent of Perch's reading: Kestra's own match
 * (`/_flows/.*` on the decoded path) and a storage that resolves dots, slashes and case.
 */
describe('namespace files that Kestra would import as flows', () => {
  const files = new KestraAuthorizer(
    new DecisionIndex({ bindings: [{ id: 'b3', tenantId: 'main', subjectType: 'USER', subjectId: 'u3', namespace: 'company.team', permissions: { NAMESPACE: ['VIEW', 'LIST', 'MANAGE_FILES'] } }], memberships: [] }),
    executions,
  );
  const who = { ...principal, userId: 'u3' };
  const flow = 'id: sneaky\nnamespace: company.team\ntasks:\n  - id: say\n    type: io.kestra.plugin.core.log.Log\n    message: hi\n';
  async function send(method: string, url: string, form?: { body: Buffer; headers: Record<string, string> }) {
    const checked = canonicalizeRequest({ method, url, rawHeaders: ['Host', 'perch'] });
    if (!checked.ok) return { ok: false as const, status: checked.status };
    return files.authorize({ method, path: checked.path, query: checked.query, contentType: form?.headers['content-type'], principal: who, readBody: async () => form?.body ?? Buffer.alloc(0) });
  }
  const uploadTo = (path: string, data: Uint8Array | string = flow, filename = 'x.yml') =>
    send('POST', `/api/v1/main/namespaces/company.team/files?path=${encodeURIComponent(path)}`, fileUpload(data, filename, 'fileContent'));

  /** Where a decoded path lands: Kestra's import match, or the folder once a storage resolves it. */
  const reachesFlows = (decoded: string) => {
    if (/^\/_flows\/.*$/.test(decoded)) return true;
    // Java's URI decodes every valid escape once, whatever stray "%" stands beside it.
    const once = decoded.replace(/%[0-9A-Fa-f]{2}/g, (e) => String.fromCharCode(parseInt(e.slice(1), 16)));
    if (/^\/_flows\/.*$/.test(once)) return true;
    const resolved = posix.normalize(`/${once.replace(/\\/g, '/')}`).toLowerCase();
    return resolved === '/_flows' || resolved.startsWith('/_flows/') || resolved.startsWith('/_flows./');
  };

  it('never lets a files-only person write where Kestra would find a flow', async () => {
    const piece = fc.constantFrom('_flows', '_FLOWS', '_Flows', '.', '..', '/', '//', '\\', '%5F', '%5Fflows', '%2F', '%zz', '%E0%A4', 'x.yml', 'scripts', ' ', '_flows.', 'a');
    const path = fc.array(piece, { minLength: 1, maxLength: 6 }).map((p) => p.join(''));
    let allowed = 0;
    await fc.assert(
      fc.asyncProperty(path, async (p) => {
        const verdict = await uploadTo(p);
        if (!verdict.ok) return;
        allowed++;
        expect(reachesFlows(p), p).toBe(false);
      }),
      { numRuns: 1500 },
    );
    expect(allowed).toBeGreaterThan(0);
  });

  it.each([
    ['a canonical flow file', () => uploadTo('/_flows/x.yml'), 403],
    // Kestra matches the folder on the path as given: dot segments after it do not lead back out.
    ['a path into the folder that dot segments seem to leave', () => uploadTo('%2F_flows//..'), 400],
    ['a file in the folder, then dot segments', () => uploadTo('/_flows/../x.yml'), 400],
    ['a flow file under a ZIP’s _flows/', () => uploadTo('/a.zip', zipSync({ '_flows/x.yml': strToU8(flow) }), 'a.zip'), 403],
    ['a ZIP named in upper case', () => uploadTo('/a.zip', zipSync({ '_flows/x.yml': strToU8(flow) }), 'A.ZIP'), 403],
    ['a ZIP entry with a leading slash', () => uploadTo('/a.zip', zipSync({ '/_flows/x.yml': strToU8(flow) }), 'a.zip'), 400],
    ['a ZIP entry with a backslash', () => uploadTo('/a.zip', zipSync({ '_flows\\x.yml': strToU8(flow) }), 'a.zip'), 400],
    ['a ZIP entry with dot segments', () => uploadTo('/a.zip', zipSync({ './_flows/x.yml': strToU8(flow) }), 'a.zip'), 400],
    ['a move into the folder', () => send('PUT', '/api/v1/main/namespaces/company.team/files?from=%2Fx.yml&to=%2F_flows%2Fx.yml'), 403],
    ['a move with a doubly encoded target', () => send('PUT', '/api/v1/main/namespaces/company.team/files?from=%2Fx.yml&to=%2F%255Fflows%2Fx.yml'), 403],
    ['a move with a scheme', () => send('PUT', '/api/v1/main/namespaces/company.team/files?from=%2Fx.yml&to=kestra%3A%2F%2F%2F_flows%2Fx.yml'), 403],
    ['a move with an authority', () => send('PUT', '/api/v1/main/namespaces/company.team/files?from=%2Fx.yml&to=%2F%2F_flows%2Fx.yml'), 403],
    ['a folder moved onto the root', () => send('PUT', '/api/v1/main/namespaces/company.team/files?from=%2Fsaved&to=%2F'), 403],
    ['a folder moved onto the root, spelled with dots', () => send('PUT', '/api/v1/main/namespaces/company.team/files?from=%2Fsaved&to=%2Fa%2F..'), 403],
    ['a folder of that name', () => send('POST', '/api/v1/main/namespaces/company.team/files/directory?path=_flows'), 403],
    ['a folder with a trailing space', () => send('POST', '/api/v1/main/namespaces/company.team/files/directory?path=%2F_flows%20'), 403],
    ['a second fileContent part', () => send('POST', '/api/v1/main/namespaces/company.team/files?path=%2Fok.txt', multipartForm([{ name: 'fileContent', filename: 'ok.txt', data: 'ok' }, { name: 'fileContent', filename: 'x.zip', data: zipSync({ '_flows/x.yml': strToU8(flow) }) }])), 400],
    ['a part named path', () => send('POST', '/api/v1/main/namespaces/company.team/files?path=%2Fok.txt', multipartForm([{ name: 'fileContent', filename: 'ok.txt', data: 'ok' }, { name: 'path', data: '/_flows/x.yml' }])), 400],
    ['a part name with an encoded letter', () => send('POST', '/api/v1/main/namespaces/company.team/files?path=%2Fok.txt', multipartForm([{ name: 'file%43ontent', filename: 'ok.txt', data: 'ok' }])), 400],
  ])('refuses %s', async (_name, attempt, status) => {
    const verdict = await attempt();
    expect(verdict.ok).toBe(false);
    expect(verdict.ok === false && verdict.status).toBe(status);
  });

  it.each([
    ['an ordinary file', () => uploadTo('/scripts/run.py', 'print(1)', 'run.py')],
    ['a ZIP of scripts', () => uploadTo('/a.zip', zipSync({ 'scripts/run.py': strToU8('print(1)') }), 'a.zip')],
    ['a file named like the folder, deeper down', () => uploadTo('/docs/_flows/readme.md', '# hi', 'readme.md')],
    ['a move between ordinary folders', () => send('PUT', '/api/v1/main/namespaces/company.team/files?from=%2Fa.txt&to=%2Fb%2Fa.txt')],
  ])('allows %s', async (_name, attempt) => {
    const verdict = await attempt();
    expect(verdict.ok, JSON.stringify(verdict)).toBe(true);
  });
});
