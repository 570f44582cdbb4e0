import { mkdtemp, readFile, stat, writeFile, chmod } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { Envelope, SealedValueError, type SealedPlace } from '../../backend/crypto/envelope.js';
import { MasterKeyError, ensureMasterKey, loadMasterKey } from '../../backend/crypto/master-key.js';

const place: SealedPlace = { table: 'tenants', column: 'kestra_password', id: 'acme' };
const key = () => randomBytes(32);

describe('envelope encryption', () => {
  it('opens what it sealed, and the sealed text shows neither the value nor the master key', () => {
    const master = key();
    const envelope = new Envelope(master);
    const sealed = envelope.seal('hunter2-kestra', place);
    expect(sealed).not.toContain('hunter2');
    expect(sealed).not.toContain(master.toString('hex'));
    expect(sealed).not.toContain(master.toString('base64url'));
    expect(sealed.startsWith(`perch-sealed.v1.${envelope.keyId}.`)).toBe(true);
    expect(envelope.openText(sealed, place)).toBe('hunter2-kestra');
    // A fresh data key and IV each time: the same value never seals to the same text.
    expect(envelope.seal('hunter2-kestra', place)).not.toBe(sealed);
    expect(envelope.open(envelope.seal(Buffer.from([0, 1, 255]), place), place)).toEqual(Buffer.from([0, 1, 255]));
  });

  it('does not open a value moved to another row, column or table', () => {
    const envelope = new Envelope(key());
    const sealed = envelope.seal('v', place);
    for (const elsewhere of [{ ...place, id: 'other' }, { ...place, column: 'api_key' }, { ...place, table: 'secrets' }]) {
      expect(() => envelope.open(sealed, elsewhere)).toThrow(SealedValueError);
    }
    // Fields are kept apart: ids that join to the same text are still different places.
    const a = envelope.seal('v', { table: 't', column: 'c', id: 'a.b' });
    expect(() => envelope.open(a, { table: 't', column: 'c.a', id: 'b' })).toThrow(/does not open/);
  });

  it('refuses an altered value: a flipped bit in the wrapped key or in the body', () => {
    const envelope = new Envelope(key());
    const sealed = envelope.seal('some secret value', place);
    const parts = sealed.split('.');
    for (const index of [3, 4]) {
      const bytes = Buffer.from(parts[index]!, 'base64url');
      for (const at of [0, bytes.length >> 1, bytes.length - 1]) {
        const changed = Buffer.from(bytes);
        changed[at]! ^= 1;
        const altered = [...parts.slice(0, index), changed.toString('base64url'), ...parts.slice(index + 1)].join('.');
        expect(() => envelope.open(altered, place)).toThrow(/was altered or belongs elsewhere/);
      }
    }
    expect(() => envelope.open('plain text', place)).toThrow(/is not a value Perch sealed/);
    expect(() => envelope.open(parts.slice(0, 4).join('.'), place)).toThrow(/is not a value Perch sealed/);
    expect(() => envelope.open([...parts.slice(0, 4), ''].join('.'), place)).toThrow(/was altered/);
  });

  it('names the master key a value needs when another one is in use', () => {
    const first = new Envelope(key());
    const second = new Envelope(key());
    expect(second.keyId).not.toBe(first.keyId);
    const sealed = first.seal('v', place);
    expect(() => second.open(sealed, place)).toThrow(`was sealed with master key ${first.keyId}; this Perch has ${second.keyId}`);
    // A forged key id does not help: the wrapped key still needs the right master key.
    const forged = sealed.replace(`.${first.keyId}.`, `.${second.keyId}.`);
    expect(() => second.open(forged, place)).toThrow(/was altered or belongs elsewhere/);
  });

  it('re-wraps a value under a new master key, keeping its ciphertext, and refuses to re-wrap what does not open', () => {
    const old = new Envelope(key());
    const next = new Envelope(key());
    const sealed = old.seal('rotate me', place);
    expect(old.wraps(sealed, place)).toBe(true);
    const rewrapped = old.rewrap(sealed, place, next);
    expect(next.wraps(rewrapped, place)).toBe(true);
    expect(rewrapped.split('.')[4]).toBe(sealed.split('.')[4]);
    expect(next.openText(rewrapped, place)).toBe('rotate me');
    expect(() => old.open(rewrapped, place)).toThrow(SealedValueError);
    const parts = sealed.split('.');
    const body = Buffer.from(parts[4]!, 'base64url');
    body[0]! ^= 1;
    expect(() => old.rewrap([...parts.slice(0, 4), body.toString('base64url')].join('.'), place, next)).toThrow(/does not open/);
    expect(() => old.rewrap(sealed, { ...place, id: 'x' }, next)).toThrow(SealedValueError);
  });

  it('the same master key always gives the same key id; a short key is refused', () => {
    const master = key();
    expect(new Envelope(master).keyId).toBe(new Envelope(Buffer.from(master)).keyId);
    expect(new Envelope(master).keyId).toMatch(/^[0-9a-f]{16}$/);
    expect(() => new Envelope(randomBytes(16))).toThrow(/at least 32 bytes/);
  });
});

describe('the master key', () => {
  const settings = async (masterKeyFile?: string) => ({ dataDir: await mkdtemp(path.join(tmpdir(), 'perch-master-')), encryption: { masterKeyFile } });

  it('is made once in the data directory, mode 0600, and reads back as the same key', async () => {
    const config = await settings();
    expect(await loadMasterKey(config, {})).toBeNull();
    const made = await ensureMasterKey(config, {});
    const file = path.join(config.dataDir, 'master.key');
    expect(made.source).toBe(file);
    expect(made.generated).toMatch(/^[0-9a-f]{64}$/);
    expect((await stat(file)).mode & 0o777).toBe(0o600);
    const again = await ensureMasterKey(config, {});
    expect(again.generated).toBeUndefined();
    const sealed = made.envelope.seal('x', place);
    expect(again.envelope.openText(sealed, place)).toBe('x');
    expect((await readFile(file, 'utf8')).trim()).toBe(made.generated);
  });

  it('PERCH_MASTER_KEY wins over the file; a bad or world-readable key is refused, naming where it is', async () => {
    const config = await settings();
    const hex = key().toString('hex');
    const fromEnv = await ensureMasterKey(config, { PERCH_MASTER_KEY: hex });
    expect(fromEnv.source).toBe('PERCH_MASTER_KEY');
    expect(fromEnv.envelope.keyId).toBe(new Envelope(Buffer.from(hex, 'hex')).keyId);
    await expect(stat(path.join(config.dataDir, 'master.key'))).rejects.toThrow(/ENOENT/);
    await expect(loadMasterKey(config, { PERCH_MASTER_KEY: 'abcd' })).rejects.toThrow(MasterKeyError);
    await expect(loadMasterKey(config, { PERCH_MASTER_KEY: 'abcd' })).rejects.toThrow(/master key in PERCH_MASTER_KEY must be at least 32 bytes/);
    const loose = path.join(config.dataDir, 'loose.key');
    await writeFile(loose, `${hex}\n`);
    await chmod(loose, 0o644);
    await expect(loadMasterKey({ ...config, encryption: { masterKeyFile: loose } }, {})).rejects.toThrow(/master key file .* may be read by others \(mode 644\)/);
  });
});
