/**
 * Proof of isolation for INSTANCE tenants (issue 20, point 5 of the issue): generated from the policy
 * map, every OSS operation is called as an Admin of tenant A, naming tenant B's objects (its
 * namespace, flow, execution…), both on A's path and on B's path. Nothing may reach B's Kestra (nor
 * Perch's configured one) and no answer may carry B's objects; B's path is refused (403) before any
 * Kestra. A leak is listed by operation.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { POLICY_MAP } from '../../backend/authz/policy-map.js';
import { startKestraDouble, type KestraDouble } from '../kestra-double/kestra-double.js';
import { Browser, logFlow, startPerch, type RunningPerch } from '../support/perch.js';
import { signedInPerson } from '../iam/iam-helpers.js';

/** What B holds: the values put into every path parameter. */
const B_NAMESPACE = 'bravo.secret';
const B_FLOW = 'bravoflow';
const PARAMS: Record<string, string> = { namespace: B_NAMESPACE, id: B_FLOW, flowId: B_FLOW, executionId: 'bravo-execution-1', triggerId: 'bravo-trigger', key: 'bravokey', path: 'bravo-file.txt', kind: 'FLOW' };
const fill = (template: string, tenant: string) =>
  template.replace(/\{([^}]+)\}/g, (_m, name: string) => (name === 'tenant' ? tenant : encodeURIComponent(PARAMS[name] ?? `bravo-${name}`)));

const TENANTED = POLICY_MAP.filter((row) => row.path.startsWith('/api/v1/{tenant}/'));

describe('INSTANCE isolation, generated from the policy map', () => {
  let mainKestra: KestraDouble;
  let alphaKestra: KestraDouble;
  let bravoKestra: KestraDouble;
  let perch: RunningPerch;
  let alphaAdmin: Browser;

  beforeAll(async () => {
    [mainKestra, alphaKestra, bravoKestra] = await Promise.all([startKestraDouble(), startKestraDouble(), startKestraDouble()]);
    perch = await startPerch({ config: { kestra: { url: mainKestra.url, username: mainKestra.username, password: mainKestra.password } } });
    const owner = new Browser(perch);
    await owner.login();
    for (const [id, kestra] of [['alpha', alphaKestra], ['bravo', bravoKestra]] as const) {
      const created = await owner.fetch('POST', '/api/v1/tenants', { json: { id, name: id, isolation: { mode: 'INSTANCE', kestraUrl: kestra.url, username: kestra.username, password: kestra.password } } });
      expect(created.status, created.text).toBe(200);
    }
    const alice = await signedInPerson(perch, owner, 'alpha-admin');
    expect((await owner.fetch('POST', '/api/v1/alpha/tenant-access', { json: { email: alice.email } })).status).toBe(204);
    expect((await owner.fetch('POST', '/api/v1/alpha/bindings', { json: { type: 'USER', externalId: alice.id, roleId: 'admin' } })).status).toBe(200);
    alphaAdmin = alice.browser;
    bravoKestra.addFlow(logFlow(B_NAMESPACE, B_FLOW));
    mainKestra.clear();
    bravoKestra.clear();
  }, 60_000);
  afterAll(async () => {
    await perch?.close();
    await Promise.all([mainKestra?.close(), alphaKestra?.close(), bravoKestra?.close()]);
  });

  const call = (method: string, path: string) =>
    alphaAdmin.fetch(method, path, ['GET', 'HEAD', 'DELETE', 'OPTIONS'].includes(method) ? {} : { json: {} });

  it(`covers every tenanted OSS operation of the policy map (${TENANTED.length}); the leak marker is what bravo’s Kestra answers`, async () => {
    expect(TENANTED.length).toBeGreaterThan(100);
    const res = await fetch(`${bravoKestra.url}/api/v1/main/flows/search`, { headers: { authorization: bravoKestra.authorization } });
    expect(await res.text()).toContain(`"id":"${B_FLOW}","namespace":"${B_NAMESPACE}"`);
    bravoKestra.clear();
  });

  it('as Admin of alpha, naming bravo’s objects on alpha’s path: nothing reaches bravo’s Kestra or Perch’s, nothing of bravo is answered', async () => {
    const leaks: string[] = [];
    for (const row of TENANTED) {
      const before = { bravo: bravoKestra.requests.length, main: mainKestra.requests.length };
      const answer = await call(row.method, fill(row.path, 'alpha'));
      if (bravoKestra.requests.length !== before.bravo) leaks.push(`${row.method} ${row.path}: reached bravo’s Kestra`);
      if (mainKestra.requests.length !== before.main) leaks.push(`${row.method} ${row.path}: reached Perch’s configured Kestra`);
      // Bravo's flow lives only in bravo's Kestra: an answer listing it would have come from there.
      if (answer.status < 400 && answer.text.includes(`"id":"${B_FLOW}","namespace":"${B_NAMESPACE}"`)) leaks.push(`${row.method} ${row.path}: answered bravo’s flow`);
    }
    expect(leaks).toEqual([]);
    // Alpha's calls did go somewhere: its own Kestra.
    expect(alphaKestra.requests.length).toBeGreaterThan(0);
    expect(alphaKestra.requests.every((r) => !r.url.startsWith('/api/v1/alpha/'))).toBe(true);
  }, 120_000);

  it('as Admin of alpha, on bravo’s path: every operation is refused (403) and nothing reaches any Kestra', async () => {
    alphaKestra.clear();
    const leaks: string[] = [];
    for (const row of TENANTED) {
      const answer = await call(row.method, fill(row.path, 'bravo'));
      // Webhooks are public (Kestra checks their key), but this caller is signed in: refused like every other call.
      if (answer.status !== 403) leaks.push(`${row.method} ${row.path}: ${answer.status}`);
    }
    expect(leaks).toEqual([]);
    expect(bravoKestra.requests).toEqual([]);
    expect(mainKestra.requests).toEqual([]);
    expect(alphaKestra.requests).toEqual([]);
  }, 120_000);
});
