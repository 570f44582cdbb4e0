import { afterEach, describe, expect, it, vi } from 'vitest';
import { z } from 'zod';
import { ApiError, getJson, send } from '../../../components/app/api';
import { adoptCacheOwner, readCache, writeCache } from '../../../components/app/cache';
import { loadSession } from '../../../components/app/session';

const json = (status: number, body: unknown) => new Response(JSON.stringify(body), { status, headers: { 'content-type': 'application/json' } });

describe('the API client', () => {
  afterEach(() => vi.unstubAllGlobals());

  it('returns what matches the schema and refuses what does not', async () => {
    const fetch = vi.fn(async () => json(200, { id: 'r1', name: 'Viewer' }));
    vi.stubGlobal('fetch', fetch);
    await expect(getJson('/api/v1/main/roles/r1', z.object({ id: z.string(), name: z.string() }))).resolves.toEqual({ id: 'r1', name: 'Viewer' });
    const request = (fetch.mock.calls[0] as unknown as [Request])[0];
    expect(new URL(request.url).pathname).toBe('/api/v1/main/roles/r1');
    expect(request.credentials).toBe('same-origin');
    fetch.mockImplementation(async () => json(200, { id: 3 }));
    await expect(getJson('/api/v1/main/roles/r1', z.object({ id: z.string() }))).rejects.toThrow(/unexpected shape/);
  });

  it('carries Perch’s JSON message and status on a refusal', async () => {
    vi.stubGlobal('fetch', vi.fn(async () => json(403, { message: 'You may not manage bindings in company.team' })));
    const error = await getJson('/api/v1/main/bindings', z.unknown()).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ApiError);
    expect(error).toMatchObject({ status: 403, message: 'You may not manage bindings in company.team' });
  });

  it('drops cached lists after a write, and when another person (or nobody) is signed in', async () => {
    await adoptCacheOwner('alice');
    await writeCache('/api/v1/main/roles', ['Viewer']);
    await adoptCacheOwner('alice'); // a reload: same person, lists kept
    expect(await readCache('/api/v1/main/roles')).toEqual(['Viewer']);
    await adoptCacheOwner('bob');
    expect(await readCache('/api/v1/main/roles')).toBeUndefined();
    await writeCache('/api/v1/main/roles', ['Bob’s view']);
    // Bob's session ended (timeout, Kestra's own logout): nothing of his stays at rest.
    await adoptCacheOwner(null);
    await adoptCacheOwner('bob');
    expect(await readCache('/api/v1/main/roles')).toBeUndefined();
    await adoptCacheOwner('alice');
    await writeCache('/api/v1/main/roles', ['Viewer']);
    const sent: { method: string; body: string }[] = [];
    vi.stubGlobal('fetch', vi.fn(async (request: Request) => {
      sent.push({ method: request.method, body: await request.text() });
      return json(200, { id: 'r2' });
    }));
    await expect(send('post', '/api/v1/main/roles', { name: 'Auditor' }, z.object({ id: z.string() }))).resolves.toEqual({ id: 'r2' });
    expect(sent).toEqual([{ method: 'POST', body: JSON.stringify({ name: 'Auditor' }) }]);
    expect(await readCache('/api/v1/main/roles')).toBeUndefined();
  });

  it('drops what a person left once their session is over, when the screens load again', async () => {
    await adoptCacheOwner('alice');
    await writeCache('/api/v1/main/auditlogs/diff/e1', { before: 'password: hunter2-secret' });
    vi.stubGlobal('fetch', vi.fn(async () => json(401, { message: 'Sign in first' })));
    expect(await loadSession()).toBeNull();
    await adoptCacheOwner('alice');
    expect(await readCache('/api/v1/main/auditlogs/diff/e1')).toBeUndefined();
  });
});
