import { createCipheriv, createDecipheriv, createHash, hkdfSync, randomBytes } from 'node:crypto';

/**
 * Envelope encryption of what Perch stores and must read back (a tenant's Kestra password, a
 * secret's value, a provider's API key): each value gets its own random data key (AES-256-GCM); the
 * data key is stored wrapped by a key-encryption key derived from the master key. Rotating the
 * master key re-wraps data keys and leaves every value's ciphertext as it is.
 *
 * Each value is bound to where it lives (its `SealedPlace`, as additional authenticated data), so a
 * sealed value copied into another row or column does not open.
 */

/** Where a sealed value lives: table, column and the row's id. */
export interface SealedPlace {
  table: string;
  column: string;
  id: string;
}

export class SealedValueError extends Error {}

const PREFIX = 'perch-sealed';
const VERSION = 'v1';
const IV_BYTES = 12;
const TAG_BYTES = 16;
const KEY_BYTES = 32;

const placeBytes = (place: SealedPlace) => Buffer.from(JSON.stringify([place.table, place.column, place.id]), 'utf8');
const b64 = (bytes: Buffer) => bytes.toString('base64url');

function encrypt(key: Buffer, plaintext: Buffer, aad: Buffer): Buffer {
  const iv = randomBytes(IV_BYTES);
  const cipher = createCipheriv('aes-256-gcm', key, iv);
  cipher.setAAD(aad);
  const body = Buffer.concat([cipher.update(plaintext), cipher.final()]);
  return Buffer.concat([iv, body, cipher.getAuthTag()]);
}

function decrypt(key: Buffer, sealed: Buffer, aad: Buffer): Buffer {
  if (sealed.length < IV_BYTES + TAG_BYTES) throw new Error('too short');
  const decipher = createDecipheriv('aes-256-gcm', key, sealed.subarray(0, IV_BYTES));
  decipher.setAAD(aad);
  decipher.setAuthTag(sealed.subarray(sealed.length - TAG_BYTES));
  return Buffer.concat([decipher.update(sealed.subarray(IV_BYTES, sealed.length - TAG_BYTES)), decipher.final()]);
}

interface Parts {
  keyId: string;
  wrappedKey: Buffer;
  body: Buffer;
}

function parse(sealed: string, place: SealedPlace): Parts {
  const parts = sealed.split('.');
  if (parts.length !== 5 || parts[0] !== PREFIX || parts[1] !== VERSION) {
    throw new SealedValueError(`${place.table}.${place.column} of ${place.id} is not a value Perch sealed`);
  }
  return { keyId: parts[2]!, wrappedKey: Buffer.from(parts[3]!, 'base64url'), body: Buffer.from(parts[4]!, 'base64url') };
}

/** Seals and opens values with one master key. */
export class Envelope {
  /** The master key's public fingerprint, written into every sealed value so a wrong key is named, not guessed at. */
  readonly keyId: string;
  readonly #kek: Buffer;

  constructor(masterKey: Buffer) {
    if (masterKey.length < KEY_BYTES) throw new SealedValueError(`a master key has at least ${KEY_BYTES} bytes`);
    this.#kek = Buffer.from(hkdfSync('sha256', masterKey, Buffer.alloc(0), 'perch/envelope/kek/v1', KEY_BYTES));
    const fingerprint = Buffer.from(hkdfSync('sha256', masterKey, Buffer.alloc(0), 'perch/envelope/key-id/v1', KEY_BYTES));
    this.keyId = createHash('sha256').update(fingerprint).digest('hex').slice(0, 16);
  }

  seal(plaintext: string | Buffer, place: SealedPlace): string {
    const dataKey = randomBytes(KEY_BYTES);
    const aad = placeBytes(place);
    const body = encrypt(dataKey, typeof plaintext === 'string' ? Buffer.from(plaintext, 'utf8') : plaintext, aad);
    const wrappedKey = encrypt(this.#kek, dataKey, aad);
    dataKey.fill(0);
    return [PREFIX, VERSION, this.keyId, b64(wrappedKey), b64(body)].join('.');
  }

  open(sealed: string, place: SealedPlace): Buffer {
    const { keyId, wrappedKey, body } = parse(sealed, place);
    const dataKey = this.#unwrap(keyId, wrappedKey, place);
    try {
      return decrypt(dataKey, body, placeBytes(place));
    } catch {
      throw new SealedValueError(`${place.table}.${place.column} of ${place.id} does not open: it was altered or belongs elsewhere`);
    } finally {
      dataKey.fill(0);
    }
  }

  openText(sealed: string, place: SealedPlace): string {
    return this.open(sealed, place).toString('utf8');
  }

  /** Whether `sealed` was wrapped with this master key (a rotation skips those). */
  wraps(sealed: string, place: SealedPlace): boolean {
    return parse(sealed, place).keyId === this.keyId;
  }

  /** The same value with its data key re-wrapped by `to`'s master key; the ciphertext is kept. */
  rewrap(sealed: string, place: SealedPlace, to: Envelope): string {
    const { keyId, wrappedKey, body } = parse(sealed, place);
    const dataKey = this.#unwrap(keyId, wrappedKey, place);
    try {
      const aad = placeBytes(place);
      // Proves the value opens before it is rewritten: a rotation never stores what it could not read.
      decrypt(dataKey, body, aad);
      return [PREFIX, VERSION, to.keyId, b64(encrypt(to.#kek, dataKey, aad)), b64(body)].join('.');
    } catch {
      throw new SealedValueError(`${place.table}.${place.column} of ${place.id} does not open: it was altered or belongs elsewhere`);
    } finally {
      dataKey.fill(0);
    }
  }

  #unwrap(keyId: string, wrappedKey: Buffer, place: SealedPlace): Buffer {
    if (keyId !== this.keyId) {
      throw new SealedValueError(`${place.table}.${place.column} of ${place.id} was sealed with master key ${keyId}; this Perch has ${this.keyId}`);
    }
    try {
      return decrypt(this.#kek, wrappedKey, placeBytes(place));
    } catch {
      throw new SealedValueError(`${place.table}.${place.column} of ${place.id} does not open: it was altered or belongs elsewhere`);
    }
  }
}
