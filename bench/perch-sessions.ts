import { request } from 'undici';

/** The bench's people in Perch (not Kestra's account). */
const PERSON_PASSWORD = 'benchmark passphrase';

/**
 * Two more sessions on Perch: a person of `main` bound to namespace `company`, and an Admin of a
 * NAMESPACE tenant whose roots are `company`, with that tenant selected (as the tenant switcher does).
 */
export async function namespaceSessions(base: string, ownerCookie: string): Promise<{ scopedCookie: string; tenantCookie: string }> {
  const call = async (cookie: string, method: 'POST' | 'PUT', path: string, json: unknown) => {
    const res = await request(`${base}${path}`, { method, headers: { cookie, origin: base, 'content-type': 'application/json' }, body: JSON.stringify(json) });
    const text = await res.body.text();
    if (res.statusCode >= 300) throw new Error(`${method} ${path}: ${res.statusCode} ${text}`);
    return (text ? JSON.parse(text) : null) as { id?: string } | null;
  };
  const signIn = async (email: string) => {
    await call(ownerCookie, 'POST', '/api/v1/users', { email, password: PERSON_PASSWORD });
    const res = await request(`${base}/perch/api/login`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ username: email, password: PERSON_PASSWORD }) });
    await res.body.dump();
    return [res.headers['set-cookie']].flat().find((c) => c?.startsWith('perch_session='))!.split(';')[0]!;
  };
  const userId = async (cookie: string) => ((await (await request(`${base}/api/v1/me`, { headers: { cookie } })).body.json()) as { id: string }).id;

  const scopedCookie = await signIn('scoped@perch.test');
  await call(ownerCookie, 'POST', '/api/v1/main/bindings', { type: 'USER', externalId: await userId(scopedCookie), roleId: 'admin', namespaceId: 'company' });

  await call(ownerCookie, 'POST', '/api/v1/tenants', { id: 'company', name: 'Company', isolation: { mode: 'NAMESPACE', namespaces: ['company'] } });
  const tenantCookie = await signIn('tenant@perch.test');
  await call(ownerCookie, 'POST', '/api/v1/company/tenant-access', { email: 'tenant@perch.test' });
  await call(ownerCookie, 'POST', '/api/v1/company/bindings', { type: 'USER', externalId: await userId(tenantCookie), roleId: 'admin' });
  await call(tenantCookie, 'PUT', '/api/v1/me/tenant', { tenantId: 'company' });
  return { scopedCookie, tenantCookie };
}
