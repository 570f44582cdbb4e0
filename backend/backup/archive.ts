import { createReadStream, createWriteStream } from 'node:fs';
import { readFile, rename, rm } from 'node:fs/promises';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { Decrypter, Encrypter, identityToRecipient } from 'age-encryption';
import tar from 'tar-stream';

/**
 * The archive: a tar stream encrypted with age (the `age-encryption` package, by age's author), so the
 * file opens with the `age` command line tool as well. Streamed both ways: neither the backup nor the
 * restore holds the whole archive in memory.
 */
export type ArchiveSecret = { passphrase: string } | { identity: string };

export class BackupError extends Error {}

/**
 * An age identity file (`age-keygen` writes one): comment lines, then `AGE-SECRET-KEY-1…`.
 * The identity decrypts; its public recipient encrypts.
 */
export async function readIdentityFile(file: string): Promise<string> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (error) {
    throw new BackupError(`cannot read the key file ${file}: ${(error as Error).message}`);
  }
  const identity = text
    .split('\n')
    .map((line) => line.trim())
    .find((line) => line.startsWith('AGE-SECRET-KEY-'));
  if (!identity) throw new BackupError(`the key file ${file} holds no age identity (a line starting AGE-SECRET-KEY-): make one with \`perch backup keygen\` or age-keygen`);
  return identity;
}

export interface ArchiveWriter {
  /** Adds one entry; resolves once the tar stream took it (backpressure from the file). */
  add(name: string, data: Buffer): Promise<void>;
  /** Ends the archive and moves it into place. */
  finish(): Promise<void>;
  /** Drops the unfinished archive. */
  abort(): Promise<void>;
}

/** Writes to `<file>.partial` (mode 0600), renamed to `file` only when complete: no half archive under the real name. */
export async function openArchiveWriter(file: string, secret: ArchiveSecret): Promise<ArchiveWriter> {
  const encrypter = new Encrypter();
  if ('passphrase' in secret) encrypter.setPassphrase(secret.passphrase);
  else encrypter.addRecipient(await identityToRecipient(secret.identity));
  const pack = tar.pack();
  const plain = Readable.toWeb(Readable.from(pack)) as ReadableStream<Uint8Array>;
  const encrypted = await encrypter.encrypt(plain);
  const partial = `${file}.partial`;
  const written = pipeline(Readable.fromWeb(encrypted as import('node:stream/web').ReadableStream), createWriteStream(partial, { mode: 0o600 }));
  // Seen by finish/abort; never an unhandled rejection in between.
  written.catch(() => {});
  return {
    add: (name, data) =>
      new Promise<void>((resolve, reject) => {
        pack.entry({ name, size: data.length, mode: 0o600, mtime: new Date(0) }, data, (error) => (error ? reject(error) : resolve()));
      }),
    async finish() {
      pack.finalize();
      await written;
      await rename(partial, file);
    },
    async abort() {
      pack.destroy();
      await written.catch(() => {});
      await rm(partial, { force: true });
    },
  };
}

/** A failure of what the caller does with an entry (a write refused), not of the archive: passed on as it is. */
class EntryFailure extends Error {
  constructor(readonly reason: unknown) {
    super('entry handler failed');
  }
}

/** What a failure to read an archive means, in words an operator can act on. */
function readFailure(file: string, error: unknown): unknown {
  if (error instanceof EntryFailure) return error.reason;
  if (error instanceof BackupError) return error;
  const message = (error as Error).message ?? String(error);
  if (/no identity matched|incorrect passphrase|failed to decrypt file key|scrypt/i.test(message)) {
    return new BackupError(`cannot open ${file}: wrong passphrase or key file (${message})`);
  }
  return new BackupError(`${file} is damaged: corrupted or truncated (${message}); nothing was restored`);
}

/**
 * Reads every entry of an archive in order, each whole (entries are bounded by the writer), and hands it
 * to `onEntry`. Fails on a wrong secret, and on a damaged or cut archive (age authenticates every 64 KiB
 * chunk and the end of the stream).
 */
export async function readArchive(file: string, secret: ArchiveSecret, onEntry: (name: string, data: Buffer) => Promise<void>): Promise<void> {
  const decrypter = new Decrypter();
  if ('passphrase' in secret) decrypter.addPassphrase(secret.passphrase);
  else decrypter.addIdentity(secret.identity);
  let extract: ReturnType<typeof tar.extract> | undefined;
  try {
    const source = Readable.toWeb(createReadStream(file)) as ReadableStream<Uint8Array>;
    const plain = Readable.fromWeb((await decrypter.decrypt(source)) as import('node:stream/web').ReadableStream);
    extract = tar.extract();
    const fed = pipeline(plain, extract);
    fed.catch(() => {});
    for await (const entry of extract) {
      const chunks: Buffer[] = [];
      for await (const chunk of entry) chunks.push(chunk as Buffer);
      try {
        await onEntry(entry.header.name, Buffer.concat(chunks));
      } catch (error) {
        throw new EntryFailure(error);
      }
    }
    await fed;
  } catch (error) {
    extract?.destroy();
    throw readFailure(file, error);
  }
}
