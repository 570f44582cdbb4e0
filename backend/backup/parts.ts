import { createHash, type Hash } from 'node:crypto';
import type { BackupPart } from '../../lib/schemas/backup.js';
import type { ArchiveWriter } from './archive.js';

/**
 * How the archive is laid out: each part is a run of entries named `<part>/<n>.jsonl` (records, one JSON
 * document a line, at most ENTRY_BYTES an entry) or `<part>/<n>.json` + `<part>/<n>.bin` (a namespace
 * file's description and bytes); `manifest.json` comes last, with each part's count, size and the
 * SHA-256 of its entries' contents in order.
 */
export const MANIFEST_ENTRY = 'manifest.json';
const ENTRY_BYTES = 1024 * 1024;

export const tablePart = (table: string) => `perch.table.${table}`;
export const TABLE_PART = /^perch\.table\.(.+)$/;
export const AUDIT_KEY_PART = 'perch.audit-key';
export const AUDIT_CHECKPOINT_PART = 'perch.audit-checkpoint';
export const MASTER_KEY_PART = 'perch.master-key';
export const KESTRA_PARTS = {
  flows: 'kestra.flows',
  kv: 'kestra.kv',
  namespaces: 'kestra.namespaces',
  files: 'kestra.namespace-files',
  triggers: 'kestra.triggers',
} as const;

/** The part an entry belongs to (its name up to the first `/`). */
export const partOf = (entry: string) => entry.slice(0, entry.indexOf('/'));

/** Count, size and checksum of a part, from its entries' contents in order. */
export class PartSum {
  private readonly hash: Hash = createHash('sha256');
  bytes = 0;
  count = 0;

  constructor(readonly name: string) {}

  add(data: Buffer): void {
    this.hash.update(data);
    this.bytes += data.length;
  }

  summary(): BackupPart {
    return { name: this.name, count: this.count, bytes: this.bytes, sha256: this.hash.copy().digest('hex') };
  }
}

/** Writes one part: records gathered into entries of bounded size, or files as they come. */
export class PartWriter {
  private readonly sum: PartSum;
  private lines: string[] = [];
  private pending = 0;
  private entries = 0;

  constructor(
    private readonly archive: ArchiveWriter,
    name: string,
  ) {
    this.sum = new PartSum(name);
  }

  get count(): number {
    return this.sum.count;
  }

  private async put(suffix: string, data: Buffer): Promise<void> {
    this.entries++;
    this.sum.add(data);
    await this.archive.add(`${this.sum.name}/${String(this.entries).padStart(6, '0')}${suffix}`, data);
  }

  async record(line: string): Promise<void> {
    this.lines.push(line);
    this.pending += line.length + 1;
    this.sum.count++;
    if (this.pending >= ENTRY_BYTES) await this.flush();
  }

  /** A file: its description, then its bytes. */
  async file(meta: unknown, data: Buffer): Promise<void> {
    await this.flush();
    this.sum.count++;
    await this.put('.json', Buffer.from(JSON.stringify(meta)));
    await this.put('.bin', data);
  }

  private async flush(): Promise<void> {
    if (!this.lines.length) return;
    const data = Buffer.from(`${this.lines.join('\n')}\n`);
    this.lines = [];
    this.pending = 0;
    await this.put('.jsonl', data);
  }

  async close(): Promise<BackupPart> {
    await this.flush();
    return this.sum.summary();
  }
}

/** The records of a `.jsonl` entry. */
export const entryLines = (data: Buffer) => data.toString('utf8').split('\n').slice(0, -1);
