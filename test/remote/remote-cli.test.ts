import { execFile } from 'node:child_process';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startKestraDouble, type KestraDouble } from '../kestra-double/kestra-double.js';
import { Browser, startSignedIn, type RunningPerch } from '../support/perch.js';

const run = promisify(execFile);
const PERCH = path.resolve(import.meta.dirname, '../../bin/perch.mjs');

describe('perch commands against a running Perch (--server, --api-token)', () => {
  let kestra: KestraDouble;
  let perch: RunningPerch;
  let admin: Browser;
  let token: string;

  const cli = (args: string[], env: Record<string, string> = {}) => {
    const clean = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('PERCH_')));
    return run(process.execPath, [PERCH, ...args], { env: { ...clean, ...env } });
  };

  beforeAll(async () => {
    kestra = await startKestraDouble();
    ({ perch, admin } = await startSignedIn({ config: { kestra: { url: kestra.url, username: kestra.username, password: kestra.password } } }));
    const created = await admin.fetch('POST', '/api/v1/me/api-tokens', { json: { name: 'ci' } });
    token = created.json.fullToken;
    expect(token).toMatch(/^perch_/);
  });
  afterAll(async () => {
    await perch?.close();
    await kestra?.close();
  });

  it('manages users with a token given by flag or by environment', async () => {
    const made = await cli(['users', 'create', '--email', 'from-ci@example.com', '--password', 'created by a pipeline', '--json', '--server', perch.url, '--api-token', token]);
    const user = JSON.parse(made.stdout);
    expect(user.email).toBe('from-ci@example.com');
    const listed = await cli(['users', 'list', '--query', 'from-ci', '--json'], { PERCH_SERVER: perch.url, PERCH_API_TOKEN: token });
    expect(JSON.parse(listed.stdout).results.map((u: { username: string }) => u.username)).toEqual(['from-ci@example.com']);
    // For people: a table, one line per user under a header.
    const table = (await cli(['users', 'list', '--query', 'from-ci'], { PERCH_SERVER: perch.url, PERCH_API_TOKEN: token })).stdout.trim().split('\n');
    expect(table).toHaveLength(2);
    expect(table[0]).toMatch(/^ID\s+USERNAME\s+DISPLAYNAME\s/);
    expect(table[1]).toContain('from-ci@example.com');
    // A user is named by email as well as by id.
    await cli(['users', 'disable', 'From-CI@example.com', '--server', perch.url, '--api-token', token]);
    expect((await admin.fetch('GET', `/api/v1/users/${user.id}`)).json.disabled).toBe(true);
    const unknown = await cli(['users', 'disable', 'nobody@example.com', '--server', perch.url, '--api-token', token]).catch((e) => e);
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toContain('no user with email nobody@example.com');
  });

  it('pushes a flow to Kestra through Perch’s RBAC, creating then updating it', async () => {
    const dir = await mkdtemp(path.join(tmpdir(), 'perch-cli-flow-'));
    const file = path.join(dir, 'hello.yml');
    await writeFile(file, 'id: hello\nnamespace: ci.flows\ntasks:\n  - id: say\n    type: io.kestra.plugin.core.log.Log\n    message: v1\n');
    const first = JSON.parse((await cli(['flows', 'push', file, '--json', '--server', perch.url, '--api-token', token])).stdout);
    expect(first).toMatchObject({ id: 'hello', namespace: 'ci.flows', revision: 1 });
    await writeFile(file, 'id: hello\nnamespace: ci.flows\ntasks:\n  - id: say\n    type: io.kestra.plugin.core.log.Log\n    message: v2\n');
    const second = JSON.parse((await cli(['flows', 'push', file, '--json', '--server', perch.url, '--api-token', token])).stdout);
    expect(second.revision).toBe(2);
    expect(kestra.requests.every((r) => r.headers.authorization !== `Bearer ${token}`)).toBe(true);
  });

  it('says clearly what went wrong, with exit code 1', async () => {
    const noToken = await cli(['users', 'list', '--server', perch.url]).catch((e) => e);
    expect(noToken.code).toBe(1);
    expect(noToken.stderr).toMatch(/--api-token/);
    const badToken = await cli(['api', 'GET', '/api/v1/me', '--server', perch.url, '--api-token', 'perch_nonsense']).catch((e) => e);
    expect(badToken.code).toBe(1);
    expect(badToken.stderr).toMatch(/answered 401/);
    const me = JSON.parse((await cli(['api', 'GET', '/api/v1/me', '--server', perch.url, '--api-token', token])).stdout);
    expect(me.superAdmin).toBe(true);
  });

  it('sends the token to --server only, whatever the path, and takes no redirect for success', async () => {
    // Another server on loopback that would log whatever Authorization reached it.
    const seen: string[] = [];
    const other = createServer((req, res) => {
      seen.push(String(req.headers.authorization));
      if (req.url === '/moved') res.writeHead(302, { location: `${perch.url}/api/v1/me` }).end();
      else res.end('{}');
    });
    await new Promise<void>((resolve) => other.listen(0, '127.0.0.1', resolve));
    const otherPort = (other.address() as AddressInfo).port;
    try {
      const perchPort = new URL(perch.url).port;
      // String-joined, each of these paths would have named the other server.
      for (const [server, hostile] of [
        [perch.url, `@127.0.0.1:${otherPort}/api/v1/me`],
        ['http://127.0.0.1', `:${otherPort}/api/v1/me`],
        [perch.url, `//127.0.0.1:${otherPort}/api/v1/me`],
      ] as const) {
        const refused = await cli(['api', 'GET', hostile, '--server', server, '--api-token', token]).catch((e) => e);
        expect(refused.code, hostile).toBe(1);
        expect(refused.stderr).toMatch(/the path must start with a single \/ and stay on/);
      }
      expect(seen).toEqual([]);
      expect(perchPort).not.toBe(String(otherPort));

      // A redirect is a failure, and is not followed with the token.
      const redirected = await cli(['api', 'GET', '/moved', '--server', `http://127.0.0.1:${otherPort}`, '--api-token', token]).catch((e) => e);
      expect(redirected.code).toBe(1);
      expect(redirected.stderr).toMatch(/answered 302: a redirect to .* which is not followed/);
    } finally {
      await new Promise((resolve) => other.close(resolve));
    }
  });
});
