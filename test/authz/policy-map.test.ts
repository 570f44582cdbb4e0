import { describe, expect, it } from 'vitest';
import { NAMESPACE_SCOPED_RESOURCES, PERMISSION_CATALOGUE, type Resource } from '../../lib/authz/catalogue.js';
import {
  KESTRA_TENANT,
  POLICY_MAP,
  matchPolicy,
  type NamespaceSource,
  type PolicyRow,
} from '../../backend/authz/policy-map.js';
import { loadDerivedContract } from '../kestra-double/openapi-contract.js';

/** The OSS operations of Kestra's spec (read from its committed derivation). */
const ossOperations = () => loadDerivedContract().operations.filter((op) => op.edition === 'oss');

const key = (method: string, p: string): string => `${method} ${p}`;
const templateParams = (template: string): string[] =>
  [...template.matchAll(/\{([^}]+)\}/g)].map((m) => m[1]!);

describe('policy map: coverage of the Kestra OSS surface', () => {
  const ops = ossOperations();
  const specKeys = new Set(ops.map((op) => key(op.method, op.path)));

  it('reads the 202 OSS operations of the spec', () => {
    expect(ops.length).toBe(202);
  });

  it('has a row for every OSS operation of the spec', () => {
    const rows = new Set(POLICY_MAP.map((r) => key(r.method, r.path)));
    const missing = ops.filter((op) => !rows.has(key(op.method, op.path))).map((op) => `${key(op.method, op.path)} (${op.operationId})`);
    expect(missing, `operations without a row:\n${missing.join('\n')}`).toEqual([]);
  });

  it('has no row outside the spec unless marked "not in spec", and marks no spec row so', () => {
    const stray = POLICY_MAP.filter((r) => !specKeys.has(key(r.method, r.path)) && !(r.notInSpec && r.note?.startsWith('not in spec')));
    expect(stray.map((r) => key(r.method, r.path)), 'rows neither in the spec nor marked "not in spec"').toEqual([]);
    const wronglyMarked = POLICY_MAP.filter((r) => specKeys.has(key(r.method, r.path)) && (r.notInSpec || r.note?.startsWith('not in spec')));
    expect(wronglyMarked.map((r) => key(r.method, r.path)), 'spec rows marked "not in spec"').toEqual([]);
  });

  it('has no duplicate rows', () => {
    const seen = new Map<string, number>();
    for (const r of POLICY_MAP) seen.set(key(r.method, r.path), (seen.get(key(r.method, r.path)) ?? 0) + 1);
    expect([...seen].filter(([, n]) => n > 1).map(([k]) => k)).toEqual([]);
    // Same shape with different parameter names would also make two rows ambiguous.
    const shapes = new Map<string, string>();
    const clashes: string[] = [];
    for (const r of POLICY_MAP) {
      const shape = key(r.method, r.path.replace(/\{[^}]+\}/g, '{}'));
      const other = shapes.get(shape);
      if (other) clashes.push(`${key(r.method, r.path)} vs ${other}`);
      shapes.set(shape, key(r.method, r.path));
    }
    expect(clashes).toEqual([]);
  });

  it('covers the OSS routes the spec lacks (AI, MCP endpoint)', () => {
    const extra = POLICY_MAP.filter((r) => r.notInSpec).map((r) => key(r.method, r.path));
    expect(extra).toEqual(
      expect.arrayContaining([
        'POST /api/v1/main/ai/generate/flow',
        'GET /api/v1/main/ai/providers',
        'POST /api/v1/{tenant}/ai/threads/{threadId}/chat',
        'POST /api/v1/{tenant}/mcp',
        // Called by the 2.0 UI (docs/compatibility.md, "Routes the 2.0 UI calls").
        'GET /api/v1/notifications/since',
        'GET /api/v1/notifications/follow',
        'GET /api/v1/notifications/history',
        'GET /api/v1/notifications/unread-count',
        'POST /api/v1/notifications/{id}/read',
        'POST /api/v1/notifications/{id}/unread',
        'POST /api/v1/notifications/read-all',
        'GET /api/v1/{tenant}/plugins/{group}/endpoints/{name}',
        'POST /api/v1/{tenant}/plugins/{group}/endpoints/{name}',
        'GET /api/v1/{tenant}/plugins/{group}/endpoints/{name}/{executionId}/{taskRunId}',
        'POST /api/v1/{tenant}/plugins/{group}/endpoints/{name}/{executionId}/{taskRunId}',
      ]),
    );
    expect(POLICY_MAP.length).toBe(ops.length + extra.length);
  });

  it('describes no un-tenanted legacy variant of a tenanted route', () => {
    const tenanted = new Set(POLICY_MAP.filter((r) => r.path.startsWith('/api/v1/{tenant}/')).map((r) => r.path.replace('/{tenant}', '')));
    const legacy = POLICY_MAP.filter((r) => !r.path.startsWith('/api/v1/{tenant}/') && tenanted.has(r.path));
    expect(legacy.map((r) => key(r.method, r.path))).toEqual([]);
  });
});

describe('policy map: rows are well formed', () => {
  const valid = new Map<string, ReadonlySet<string>>(Object.entries(PERMISSION_CATALOGUE).map(([r, actions]) => [r, new Set(actions)]));

  it('uses only actions valid for their resource', () => {
    const bad: string[] = [];
    const check = (r: PolicyRow, resource: string, action: string, what: string) => {
      if (!valid.get(resource)?.has(action)) bad.push(`${key(r.method, r.path)}: ${what} ${resource} ${action}`);
    };
    for (const r of POLICY_MAP) {
      // Read as plain data: the types already forbid these mistakes, the test guards the values.
      const loose = r as { resource?: unknown; action?: unknown };
      if (r.access !== 'permission') {
        if (loose.resource !== undefined || loose.action !== undefined) bad.push(`${key(r.method, r.path)}: ${r.access} row names a permission`);
        continue;
      }
      if (typeof loose.resource !== 'string' || typeof loose.action !== 'string') {
        bad.push(`${key(r.method, r.path)}: permission row without resource/action`);
        continue;
      }
      check(r, r.resource, r.action, 'action');
      for (const extra of r.also ?? []) check(r, extra.resource, extra.action, 'also');
      if (r.actionByFlag) {
        check(r, r.resource, r.actionByFlag.whenTrue, 'flag true');
        check(r, r.resource, r.actionByFlag.whenFalse, 'flag false');
      }
    }
    expect(bad).toEqual([]);
  });

  it('checks tenant-level resources only against tenant-wide bindings', () => {
    // NAMESPACE_SCOPED_RESOURCES are the only ones a namespaced binding can grant.
    const bad: string[] = [];
    for (const r of POLICY_MAP) {
      if (r.access !== 'permission') continue;
      const tenantOnly = (res: Resource) => !NAMESPACE_SCOPED_RESOURCES.has(res);
      if (tenantOnly(r.resource) && r.namespace.from !== 'none') bad.push(`${key(r.method, r.path)}: ${r.resource} with namespace ${r.namespace.from}`);
      for (const extra of r.also ?? []) {
        if (tenantOnly(extra.resource) && extra.scope !== 'tenant' && r.namespace.from !== 'none') bad.push(`${key(r.method, r.path)}: also ${extra.resource} not tenant-wide`);
      }
    }
    expect(bad).toEqual([]);
  });

  it('gives every refused row a reason and every filterResponse row a response path', () => {
    const bad: string[] = [];
    for (const r of POLICY_MAP) {
      if ((r.access === 'denied' || r.access === 'perch') && !r.reason) bad.push(`${key(r.method, r.path)}: no reason`);
      if (r.list === 'filterResponse' && !r.responseNamespace) bad.push(`${key(r.method, r.path)}: no responseNamespace`);
      if (r.access === 'permission' && r.list === 'byQuery' && r.method === 'GET') bad.push(`${key(r.method, r.path)}: byQuery on a read`);
    }
    expect(bad).toEqual([]);
  });

  it('takes namespaces from parameters the path really has', () => {
    const bad: string[] = [];
    const pathParam = (s: NamespaceSource): string | null => (s.from === 'path' || s.from === 'executionId' ? s.param : null);
    for (const r of POLICY_MAP) {
      const params = templateParams(r.path);
      for (const source of [r.namespace, ...(r.alsoNamespaces ?? [])]) {
        const p = pathParam(source);
        if (p !== null && !params.includes(p)) bad.push(`${key(r.method, r.path)}: no {${p}}`);
      }
      // A {namespace} in the path is always the (or a) namespace checked.
      if (r.access === 'permission' && params.includes('namespace') && !(r.namespace.from === 'path' && r.namespace.param === 'namespace')) {
        bad.push(`${key(r.method, r.path)}: ignores {namespace}`);
      }
      // An {executionId} in the path is always looked up.
      if (r.access === 'permission' && params.includes('executionId') && r.namespace.from !== 'executionId') {
        bad.push(`${key(r.method, r.path)}: does not look up {executionId}`);
      }
    }
    expect(bad).toEqual([]);
  });

  it('refuses a path that two rows fit with equal specificity (no winner, as in Kestra)', () => {
    // Two rows of one method and length both fit some path unless a literal differs at some position.
    // matchPolicy picks as Micronaut does (fewer variables, then more literal text); on a tie on both
    // there is no winner and the path must find nothing. Such ties exist in Kestra's own routes, e.g.
    // GET /api/v1/plugins/secrets fits /api/v1/plugins/{cls} and /api/v1/{tenant}/secrets.
    const ties: string[] = [];
    const notRefused: string[] = [];
    const split = (p: string) => p.split('/').map((s) => (s.startsWith('{') ? null : s));
    const specificity = (parts: Array<string | null>) =>
      `${parts.filter((x) => x === null).length}/${parts.reduce((n, x) => n + (x?.length ?? 0), 0)}`;
    for (let i = 0; i < POLICY_MAP.length; i++) {
      for (let j = i + 1; j < POLICY_MAP.length; j++) {
        const a = POLICY_MAP[i]!;
        const b = POLICY_MAP[j]!;
        if (a.method !== b.method) continue;
        const sa = split(a.path);
        const sb = split(b.path);
        if (sa.length !== sb.length) continue;
        if (sa.some((x, k) => x !== null && sb[k] !== null && x !== sb[k])) continue;
        if (specificity(sa) !== specificity(sb)) continue;
        const witness = sa.map((x, k) => x ?? sb[k] ?? (k === 3 ? KESTRA_TENANT : `w${k}`)).join('/');
        ties.push(`${a.method} ${witness}`);
        if (matchPolicy(a.method, witness) !== null) notRefused.push(`${key(a.method, a.path)} / ${b.path} via ${witness}`);
      }
    }
    expect(ties.length).toBeGreaterThan(0);
    expect(notRefused).toEqual([]);
  });

  it('is frozen', () => {
    expect(Object.isFrozen(POLICY_MAP)).toBe(true);
    expect(Object.isFrozen(POLICY_MAP[0])).toBe(true);
  });
});

describe('matchPolicy', () => {
  const T = `/api/v1/${KESTRA_TENANT}`;
  const rowOf = (method: string, template: string): PolicyRow => {
    const row = POLICY_MAP.find((r) => r.method === method && r.path === template);
    if (!row) throw new Error(`no row ${method} ${template}`);
    return row;
  };

  it('finds every row from a concrete path built from its template', () => {
    const wrong: string[] = [];
    for (const r of POLICY_MAP) {
      let n = 0;
      const concrete = r.path.replace(/\{([^}]+)\}/g, (_, name: string) => (name === 'tenant' ? KESTRA_TENANT : `v${n++}x`));
      const m = matchPolicy(r.method, concrete);
      if (m?.row !== r) wrong.push(`${key(r.method, r.path)} via ${concrete} → ${m ? key(m.row.method, m.row.path) : 'null'}`);
    }
    expect(wrong).toEqual([]);
  });

  it('answers a repeated question from memory with the same frozen match, which no caller can change', () => {
    const path = `${T}/flows/company.team/remembered`;
    const first = matchPolicy('GET', path)!;
    const again = matchPolicy('GET', path)!;
    expect(again).toBe(first);
    expect(Object.isFrozen(first) && Object.isFrozen(first.params)).toBe(true);
    expect(() => {
      (first.params as Record<string, string>).namespace = 'other';
    }).toThrow(TypeError);
    expect(matchPolicy('GET', path)!.params.namespace).toBe('company.team');
    // Refusals are remembered as refusals.
    expect(matchPolicy('GET', `${T}/flows/%2e%2e/x`)).toBeNull();
    expect(matchPolicy('GET', `${T}/flows/%2e%2e/x`)).toBeNull();
  });

  it('stays right past the memory bound and for paths too long to remember', () => {
    for (let i = 0; i < 5000; i++) expect(matchPolicy('GET', `${T}/flows/ns${i}/flow`)!.params.namespace).toBe(`ns${i}`);
    const long = `ns${'a'.repeat(600)}`;
    expect(matchPolicy('GET', `${T}/flows/${long}/flow`)!.params.namespace).toBe(long);
    expect(matchPolicy('DELETE', `${T}/flows/ns1/flow`)!.row.method).toBe('DELETE');
  });

  const cases: Array<[method: string, path: string, template: string, params: Record<string, string>]> = [
    ['GET', `${T}/flows/company.team/hello`, '/api/v1/{tenant}/flows/{namespace}/{id}', { tenant: 'main', namespace: 'company.team', id: 'hello' }],
    ['GET', `${T}/flows/search`, '/api/v1/{tenant}/flows/search', { tenant: 'main' }],
    ['GET', `${T}/flows/company.team`, '/api/v1/{tenant}/flows/{namespace}', { tenant: 'main', namespace: 'company.team' }],
    ['GET', `${T}/flows/search/hello`, '/api/v1/{tenant}/flows/{namespace}/{id}', { tenant: 'main', namespace: 'search', id: 'hello' }],
    ['DELETE', `${T}/executions/abc/actions/kill`, '/api/v1/{tenant}/executions/{executionId}/actions/kill', { tenant: 'main', executionId: 'abc' }],
    ['DELETE', `${T}/executions/kill/by-ids`, '/api/v1/{tenant}/executions/kill/by-ids', { tenant: 'main' }],
    ['POST', `${T}/executions/company.team/hello`, '/api/v1/{tenant}/executions/{namespace}/{id}', { tenant: 'main', namespace: 'company.team', id: 'hello' }],
    ['POST', `${T}/executions/latest`, '/api/v1/{tenant}/executions/latest', { tenant: 'main' }],
    ['GET', `${T}/executions/flows/a.b/f`, '/api/v1/{tenant}/executions/flows/{namespace}/{flowId}', { tenant: 'main', namespace: 'a.b', flowId: 'f' }],
    ['GET', `${T}/executions/abc/flow`, '/api/v1/{tenant}/executions/{executionId}/flow', { tenant: 'main', executionId: 'abc' }],
    ['GET', `${T}/namespaces/a.b/kv/k`, '/api/v1/{tenant}/namespaces/{namespace}/kv/{key}', { tenant: 'main', namespace: 'a.b', key: 'k' }],
    ['PUT', `${T}/namespaces/a.b/kv/my%20key`, '/api/v1/{tenant}/namespaces/{namespace}/kv/{key}', { tenant: 'main', namespace: 'a.b', key: 'my key' }],
    ['GET', `${T}/namespaces/a.b/kv/inheritance`, '/api/v1/{tenant}/namespaces/{namespace}/kv/inheritance', { tenant: 'main', namespace: 'a.b' }],
    ['GET', `${T}/namespaces/a.b`, '/api/v1/{tenant}/namespaces/{id}', { tenant: 'main', id: 'a.b' }],
    ['GET', `${T}/namespaces/search`, '/api/v1/{tenant}/namespaces/search', { tenant: 'main' }],
    ['GET', `${T}/logs/search`, '/api/v1/{tenant}/logs/search', { tenant: 'main' }],
    ['DELETE', `${T}/logs/abc`, '/api/v1/{tenant}/logs/{executionId}', { tenant: 'main', executionId: 'abc' }],
    ['DELETE', `${T}/logs/a.b/f`, '/api/v1/{tenant}/logs/{namespace}/{flowId}', { tenant: 'main', namespace: 'a.b', flowId: 'f' }],
    ['GET', `${T}/executions/webhook/a.b/f/secret-key`, '/api/v1/{tenant}/executions/webhook/{namespace}/{id}/{key}', { tenant: 'main', namespace: 'a.b', id: 'f', key: 'secret-key' }],
    ['GET', '/api/v1/plugins/icons/io.kestra.core.tasks.log.Log/icon.svg', '/api/v1/plugins/icons/{cls}/icon.svg', { cls: 'io.kestra.core.tasks.log.Log' }],
    ['GET', '/api/v1/plugins/icons/groups', '/api/v1/plugins/icons/groups', {}],
    ['GET', '/api/v1/configs', '/api/v1/configs', {}],
    ['PATCH', `${T}/mcp/servers/s1/toggle`, '/api/v1/{tenant}/mcp/servers/{id}/toggle', { tenant: 'main', id: 's1' }],
    ['POST', `${T}/ai/generate/flow`, '/api/v1/main/ai/generate/flow', {}],
    ['POST', `${T}/ai/threads/t1/chat`, '/api/v1/{tenant}/ai/threads/{threadId}/chat', { tenant: 'main', threadId: 't1' }],
    ['POST', `${T}/mcp`, '/api/v1/{tenant}/mcp', { tenant: 'main' }],
    ['GET', '/api/v1/notifications/unread-count', '/api/v1/notifications/unread-count', {}],
    ['GET', '/api/v1/notifications/follow', '/api/v1/notifications/follow', {}],
    ['POST', '/api/v1/notifications/n1/read', '/api/v1/notifications/{id}/read', { id: 'n1' }],
    ['POST', '/api/v1/notifications/read-all', '/api/v1/notifications/read-all', {}],
    ['GET', `${T}/plugins/io.kestra.plugin.x/endpoints/preview`, '/api/v1/{tenant}/plugins/{group}/endpoints/{name}', { tenant: 'main', group: 'io.kestra.plugin.x', name: 'preview' }],
    ['POST', `${T}/plugins/g/endpoints/run/e1/tr1`, '/api/v1/{tenant}/plugins/{group}/endpoints/{name}/{executionId}/{taskRunId}', { tenant: 'main', group: 'g', name: 'run', executionId: 'e1', taskRunId: 'tr1' }],
    // Overlapping templates: the most specific one wins, as in Micronaut (fewer variables, then more literal text).
    ['POST', `${T}/executions/webhook/actions/eval/t1`, '/api/v1/{tenant}/executions/{executionId}/actions/eval/{taskRunId}', { tenant: 'main', executionId: 'webhook', taskRunId: 't1' }],
    ['GET', `${T}/executions/flows/file/metas`, '/api/v1/{tenant}/executions/{executionId}/file/metas', { tenant: 'main', executionId: 'flows' }],
    ['GET', '/api/v1/plugins/kv', '/api/v1/plugins/{cls}', { cls: 'kv' }],
    ['GET', '/api/v1/plugins/icons/versions', '/api/v1/plugins/{cls}/versions', { cls: 'icons' }],
    ['POST', `${T}/flows/search`, '/api/v1/{tenant}/flows/{namespace}', { tenant: 'main', namespace: 'search' }],
  ];

  it.each(cases)('%s %s → its row', (method, p, template, params) => {
    const m = matchPolicy(method, p);
    expect(m).not.toBeNull();
    expect(m!.row).toBe(rowOf(method, template));
    expect(m!.params).toEqual(params);
  });

  it('lets every signed-in person use the notification bell, and binds task-run plugin endpoints to the execution', () => {
    for (const [method, p] of [['GET', '/api/v1/notifications/history'], ['GET', '/api/v1/notifications/since'], ['POST', '/api/v1/notifications/x/unread'], ['POST', '/api/v1/notifications/read-all']] as const) {
      expect(matchPolicy(method, p)?.row.access, p).toBe('authenticated');
    }
    expect(matchPolicy('GET', '/api/v1/notifications/follow')?.row.sse).toBe(true);
    const run = matchPolicy('GET', `${T}/plugins/g/endpoints/n/e1/t1`)!.row;
    expect([run.access, run.resource, run.action, run.namespace]).toEqual(['permission', 'EXECUTION', 'VIEW', { from: 'executionId', param: 'executionId' }]);
    expect(run.also).toEqual([{ resource: 'EXECUTION', action: 'ACCESS_OUTPUTS' }]);
    expect(matchPolicy('POST', `${T}/plugins/g/endpoints/n/e1/t1`)!.row.action).toBe('UPDATE');
    // A nested or un-tenanted spelling finds no row.
    expect(matchPolicy('GET', '/api/v1/plugins/g/endpoints/n')).toBeNull();
    expect(matchPolicy('GET', '/api/v1/main/notifications/history')).toBeNull();
  });

  it('reads GET flow as FLOW VIEW on the path namespace', () => {
    const m = matchPolicy('GET', `${T}/flows/company.team/hello`)!;
    expect(m.row).toMatchObject({ access: 'permission', resource: 'FLOW', action: 'VIEW', namespace: { from: 'path', param: 'namespace' } });
    expect(m.params.namespace).toBe('company.team');
    expect(m.tenant).toBe('main');
  });

  it('reports the tenant: the path value, "main" for hard-coded rows, null for un-tenanted rows', () => {
    expect(matchPolicy('GET', '/api/v1/other/flows/search')?.tenant).toBe('other');
    expect(matchPolicy('GET', '/api/v1/other/flows/search')?.params.tenant).toBe('other');
    expect(matchPolicy('POST', '/api/v1/main/ai/generate/flow')?.tenant).toBe('main');
    expect(matchPolicy('GET', '/api/v1/configs')?.tenant).toBeNull();
    expect(matchPolicy('POST', '/api/v1/other/ai/generate/flow')).toBeNull();
  });

  it('decodes each parameter once', () => {
    expect(matchPolicy('GET', `${T}/namespaces/a.b/kv/100%2525`)?.params.key).toBe('100%25');
    expect(matchPolicy('GET', `${T}/flows/a.b/caf%C3%A9`)?.params.id).toBe('café');
  });

  it('refuses parameters that decode to a path separator or a dot segment, or are malformed', () => {
    expect(matchPolicy('GET', `${T}/flows/a%2Fb/hello`)).toBeNull();
    expect(matchPolicy('GET', `${T}/flows/a%2fb/hello`)).toBeNull();
    expect(matchPolicy('GET', `${T}/namespaces/a.b/kv/..`)).toBeNull();
    expect(matchPolicy('GET', `${T}/namespaces/a.b/kv/%2E%2E`)).toBeNull();
    expect(matchPolicy('GET', `${T}/flows/a.b/%E0%A4%A`)).toBeNull();
    expect(matchPolicy('GET', `${T}/flows/a.b/`)).toBeNull();
    expect(matchPolicy('GET', `${T}/flows//hello`)).toBeNull();
  });

  it('refuses an escaped spelling of a static segment rather than read it as a parameter', () => {
    expect(matchPolicy('GET', `${T}/flows/%73earch`)).toBeNull();
    expect(matchPolicy('GET', `/api/v1/${'%6D'}ain/ai/providers`)).toBeNull();
  });

  it('finds nothing for unknown and un-tenanted legacy paths', () => {
    expect(matchPolicy('GET', '/api/v1/flows/search')).toBeNull();
    expect(matchPolicy('GET', '/api/v1/executions/search')).toBeNull();
    expect(matchPolicy('GET', `${T}/nothing/here`)).toBeNull();
    expect(matchPolicy('GET', '/api/v2/main/flows/search')).toBeNull();
    expect(matchPolicy('GET', '/ui/main/flows')).toBeNull();
    expect(matchPolicy('GET', '')).toBeNull();
    expect(matchPolicy('GET', 'api/v1/configs')).toBeNull();
    expect(matchPolicy('GET', `${T}/users/search`)).toBeNull(); // EE only
    expect(matchPolicy('POST', `${T}/namespaces`)).toBeNull(); // EE only
  });

  it('reads HEAD as GET and is case-insensitive on the method', () => {
    expect(matchPolicy('HEAD', `${T}/flows/a.b/hello`)?.row).toBe(rowOf('GET', '/api/v1/{tenant}/flows/{namespace}/{id}'));
    expect(matchPolicy('get', `${T}/flows/search`)?.row).toBe(rowOf('GET', '/api/v1/{tenant}/flows/search'));
  });

  it('finds nothing for a wrong method', () => {
    expect(matchPolicy('PUT', `${T}/flows/search`)).toBeNull();
    expect(matchPolicy('GET', '/api/v1/plugins/secrets')).toBeNull(); // tie: plugins/{cls} vs {tenant}/secrets
    expect(matchPolicy('PATCH', `${T}/flows/a.b/hello`)).toBeNull();
    expect(matchPolicy('GET', `${T}/executions/abc/actions/kill`)).toBeNull();
    expect(matchPolicy('OPTIONS', `${T}/flows/search`)).toBeNull();
    expect(matchPolicy('TRACE', '/api/v1/configs')).toBeNull();
  });

  it('ignores a query string', () => {
    expect(matchPolicy('GET', `${T}/flows/search?filters[namespace][PREFIX]=a`)?.row).toBe(rowOf('GET', '/api/v1/{tenant}/flows/search'));
  });
});
