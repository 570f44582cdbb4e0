/**
 * The routes the stock Kestra 2.0 UI calls itself (test/authz/fixtures/kestra-2.0-ui-routes.json, read from Kestra's
 * source with the commit of each file): each one either has its row in Perch's policy map, with the access the
 * fixture records, is an Enterprise operation Perch answers 501, or is refused on purpose, with its reason written in
 * docs/compatibility.md. A row changed or removed, a refusal turned into a row, or a route missing from the
 * documentation fails here.
 */
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { eeOperationOf } from '../../backend/authz/ee-operation-match.js';
import { KESTRA_TENANT, matchPolicy, type PolicyRow } from '../../backend/authz/policy-map.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const source = z.union([
  z.object({ file: z.string().min(1), commit: z.string().regex(/^[0-9a-f]{40}$/) }).strict(),
  z.object({ file: z.string().min(1), indexId: z.string().regex(/^[0-9]{6,}$/) }).strict(),
]);
const fixtureSchema = z
  .object({
    about: z.string().min(1),
    routes: z.array(
      z
        .object({
          method: z.enum(['GET', 'POST', 'PUT', 'PATCH', 'DELETE']),
          path: z.string().startsWith('/api/v1/'),
          caller: z.string().min(1),
          source: z.array(source).min(1),
          perch: z.string().min(1),
          reason: z.string().optional(),
        })
        .strict(),
    ),
    refusals: z.record(z.string(), z.string().min(1)),
  })
  .strict();

const fixture = fixtureSchema.parse(JSON.parse(fs.readFileSync(path.join(here, 'fixtures/kestra-2.0-ui-routes.json'), 'utf8')));
const docs = fs.readFileSync(path.join(here, '../../docs/compatibility.md'), 'utf8');

/** A concrete path for a template: the tenant Kestra serves, and a plain value for every other parameter. */
const concrete = (template: string): string => {
  let n = 0;
  return template.replace(/\{([^}]+)\}/g, (_, name: string) => (name === 'tenant' ? KESTRA_TENANT : `v${n++}x`));
};
/** How the fixture names a row's access: `FLOW VIEW` for a permission row, else the access kind. */
const accessOf = (row: PolicyRow): string => (row.access === 'permission' ? `${row.resource} ${row.action}` : row.access);

describe('routes the stock Kestra 2.0 UI calls (fixture read from its source)', () => {
  const rows = fixture.routes.filter((r) => r.perch !== 'refused' && r.perch !== 'ee');
  const refused = fixture.routes.filter((r) => r.perch === 'refused');
  const enterprise = fixture.routes.filter((r) => r.perch === 'ee');

  it('lists each route once, the ones Perch serves and the ones it refuses', () => {
    const keys = fixture.routes.map((r) => `${r.method} ${r.path}`);
    expect(new Set(keys).size).toBe(keys.length);
    expect(rows.length).toBeGreaterThan(0);
    expect(refused.length).toBeGreaterThan(0);
    expect(enterprise.length).toBeGreaterThan(0);
  });

  it('finds each served route\'s own row in the policy map, with the access the fixture records', () => {
    const wrong = rows.flatMap((r) => {
      const match = matchPolicy(r.method, concrete(r.path));
      if (!match) return [`${r.method} ${r.path}: no row`];
      if (match.row.path !== r.path) return [`${r.method} ${r.path}: read as ${match.row.path}`];
      return accessOf(match.row) === r.perch ? [] : [`${r.method} ${r.path}: ${accessOf(match.row)}, fixture says ${r.perch}`];
    });
    expect(wrong).toEqual([]);
  });

  it('finds no row for a refused route, and each refusal has its reason', () => {
    const rowed = refused.filter((r) => matchPolicy(r.method, concrete(r.path)) !== null).map((r) => `${r.method} ${r.path}`);
    expect(rowed).toEqual([]);
    const unexplained = refused.filter((r) => !r.reason || !fixture.refusals[r.reason]).map((r) => `${r.method} ${r.path}`);
    expect(unexplained).toEqual([]);
    const explainedTwice = refused.filter((r) => eeOperationOf(r.method, concrete(r.path)) !== null).map((r) => `${r.method} ${r.path}`);
    expect(explainedTwice).toEqual([]);
  });

  it('finds an Enterprise operation (answered 501) and no row for each route the fixture marks `ee`', () => {
    const wrong = enterprise.filter((r) => matchPolicy(r.method, concrete(r.path)) !== null || eeOperationOf(r.method, concrete(r.path)) === null).map((r) => `${r.method} ${r.path}`);
    expect(wrong).toEqual([]);
  });

  it('has every route in docs/compatibility.md, with the commit or index id of each source', () => {
    const missing = fixture.routes.filter((r) => !docs.includes(`\`${r.method} ${r.path}\``)).map((r) => `${r.method} ${r.path}`);
    expect(missing).toEqual([]);
    const uncited = fixture.routes.flatMap((r) => r.source.filter((s) => !docs.includes('commit' in s ? s.commit : s.indexId)).map((s) => `${r.method} ${r.path}: ${s.file}`));
    expect(uncited).toEqual([]);
  });
});
