import { DeleteSecretCommand, GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { mkdtemp, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { secretsSync } from '../../backend/secrets/cli.js';
import { motoPython, startMoto, type RunningMoto } from '../support/moto.js';
import { Browser, startSignedIn, type RunningPerch } from '../support/perch.js';

const python = await motoPython();
if ('missing' in python) {
  if (process.env.CI && process.env.CI !== 'false' && process.env.CI !== '0') throw new Error(`AWS backend suite cannot run under CI: ${python.missing}`);
  console.warn(`\n*** AWS Secrets Manager backend suite SKIPPED: ${python.missing} ***\n`);
}

const VALUE = 'aws-held-value-5c1d';

/** The AWS Secrets Manager backend against a real moto server on loopback. */
describe.skipIf('missing' in python)('AWS Secrets Manager backend (moto server)', () => {
  let moto: RunningMoto;
  let perch: RunningPerch;
  let admin: Browser;
  let aws: SecretsManagerClient;

  beforeAll(async () => {
    moto = await startMoto((python as { python: string }).python);
    const credentials = { accessKeyId: 'perch-test', secretAccessKey: 'perch-test-secret' };
    ({ perch, admin } = await startSignedIn({ config: { secrets: { backend: { type: 'aws', prefix: 'perch/', aws: { region: 'eu-west-1', endpoint: moto.url, ...credentials } } } } }));
    aws = new SecretsManagerClient({ region: 'eu-west-1', endpoint: moto.url, credentials });
  });
  afterAll(async () => {
    aws?.destroy();
    await perch?.close();
    await moto?.stop();
  });

  const inAws = async (name: string) => (await aws.send(new GetSecretValueCommand({ SecretId: name }))).SecretString;

  it('keeps the value in AWS (named <prefix><tenant>/<namespace…>/<KEY>, tagged), only the metadata in Perch', async () => {
    const put = await admin.fetch('PUT', '/api/v1/main/namespaces/company.team/secrets', { json: { key: 'db_password', value: VALUE, description: 'db' } });
    expect(put.status, put.text).toBe(200);
    expect(put.json).toEqual([{ key: 'db_password', namespace: 'company.team', description: 'db', tags: [] }]);
    expect(await inAws('perch/main/company/team/DB_PASSWORD')).toBe(VALUE);
    const row = await perch.perch.ctx.db.selectFrom('namespace_secrets').selectAll().where('key', '=', 'db_password').executeTakeFirstOrThrow();
    expect(row).toMatchObject({ backend: 'aws', value: null });

    expect((await admin.fetch('PUT', '/api/v1/main/namespaces/company.team/secrets', { json: { key: 'DB_PASSWORD', value: `${VALUE}-2` } })).status).toBe(200);
    expect(await inAws('perch/main/company/team/DB_PASSWORD')).toBe(`${VALUE}-2`);
  });

  it('delivers AWS-held values to Kestra with secrets sync', async () => {
    const file = path.join(await mkdtemp(path.join(tmpdir(), 'perch-aws-sync-')), 'kestra.env');
    const out: string[] = [];
    expect(await secretsSync(perch.perch.ctx.config, { file }, { out: (l) => out.push(l), err: (l) => out.push(l) })).toBe(0);
    const line = (await readFile(file, 'utf8')).split('\n').find((l) => l.startsWith('SECRET_DB_PASSWORD='))!;
    expect(Buffer.from(line.split('=')[1]!, 'base64').toString('utf8')).toBe(`${VALUE}-2`);
    expect(out.join('\n')).not.toContain(VALUE);
  });

  it('says which secret AWS lost when syncing, without delivering a partial file', async () => {
    await admin.fetch('PUT', '/api/v1/main/namespaces/company/secrets', { json: { key: 'LOST', value: 'x' } });
    await aws.send(new DeleteSecretCommand({ SecretId: 'perch/main/company/LOST', ForceDeleteWithoutRecovery: true }));
    const dir = await mkdtemp(path.join(tmpdir(), 'perch-aws-sync-'));
    const err: string[] = [];
    expect(await secretsSync(perch.perch.ctx.config, { file: path.join(dir, 'kestra.env') }, { out: () => {}, err: (l) => err.push(l) })).toBe(1);
    expect(err.join('\n')).toMatch(/AWS Secrets Manager .* has no secret perch\/main\/company\/LOST/);
    await expect(readFile(path.join(dir, 'kestra.env'))).rejects.toThrow(/ENOENT/);
    expect((await admin.fetch('DELETE', '/api/v1/main/namespaces/company/secrets/LOST')).status).toBe(200);
  });

  it('deletes the value from AWS with the secret', async () => {
    expect((await admin.fetch('DELETE', '/api/v1/main/namespaces/company.team/secrets/DB_PASSWORD')).status).toBe(200);
    await expect(inAws('perch/main/company/team/DB_PASSWORD')).rejects.toMatchObject({ name: 'ResourceNotFoundException' });
  });

  it('answers 502 naming AWS when it is unreachable, and changes nothing in Perch', async () => {
    expect((await admin.fetch('PUT', '/api/v1/main/namespaces/company/secrets', { json: { key: 'KEPT', value: 'v1' } })).status).toBe(200);
    await moto.stop();
    const put = await admin.fetch('PUT', '/api/v1/main/namespaces/company/secrets', { json: { key: 'NEW_ONE', value: 'never stored' } });
    expect(put.status).toBe(502);
    expect(put.json.message).toMatch(/^AWS Secrets Manager \(http:\/\/127\.0\.0\.1:\d+\) could not be reached/);
    const del = await admin.fetch('DELETE', '/api/v1/main/namespaces/company/secrets/KEPT');
    expect(del.status).toBe(502);
    const keys = (await admin.fetch('GET', '/api/v1/main/secrets')).json.results.map((s: { key: string }) => s.key);
    expect(keys).toEqual(['KEPT']);
    expect(put.text).not.toContain('never stored');
  });
});
