import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { MANAGED_ROLES } from '../../lib/authz/catalogue.js';
import { DecisionIndex } from '../../backend/authz/decision-index.js';
import type { ExecutionNamespaceLookup } from '../../backend/authz/execution-lookup.js';
import { KestraAuthorizer } from '../../backend/authz/kestra-authorizer.js';
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

  it.each([
    ['no filter', '/api/v1/main/executions/by-query', ''],
    ['its own namespace', '/api/v1/main/executions/by-query?filters[namespace][EQUALS]=company.team', 'filters[namespace][EQUALS]=company.team&'],
    ['an encoded filter name', '/api/v1/main/executions/by-query?filters%5Bnamespace%5D%5BEQUALS%5D=company.team', 'filters%5Bnamespace%5D%5BEQUALS%5D=company.team&'],
    ['a field spelled NAMESPACE', '/api/v1/main/executions/by-query?filters[NAMESPACE][EQUALS]=company.finance', 'filters[NAMESPACE][EQUALS]=company.finance&'],
    ['another namespace', '/api/v1/main/executions/by-query?filters[namespace][PREFIX]=company', 'filters[namespace][PREFIX]=company&'],
  ])('a by-query delete with %s goes to Kestra with Perch’s scope on top', async (_name, url, kept) => {
    const verdict = await verdictOf('DELETE', url);
    expect(verdict.ok && verdict.query).toBe(`${kept}${SCOPE}`);
  });

  it('scopes a trigger delete by-query in its query as well as its body', async () => {
    const verdict = await verdictOf('DELETE', '/api/v1/main/triggers/delete/by-query?filters[namespace][EQUALS]=company.finance', '{"filters":[]}');
    expect(verdict.ok).toBe(true);
    if (!verdict.ok) return;
    expect(verdict.query).toBe(`filters[namespace][EQUALS]=company.finance&${SCOPE}`);
    expect(JSON.parse(verdict.body!.toString())).toEqual({ filters: [{ field: 'namespace', operation: 'PREFIX', value: 'company.team' }] });
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
