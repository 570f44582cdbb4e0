import { createHmac, timingSafeEqual, type KeyObject } from 'node:crypto';
import { mkdir, open, readFile } from 'node:fs/promises';
import path from 'node:path';
import { z } from 'zod';
import type { PerchConfig } from '../config/config.js';
import type { Store } from '../store/database.js';
import { canonicalJson, linkKind } from './chain.js';
import { chainHeads } from './chain-heads.js';

/**
 * Checkpoints (issue 16, point 7): every chain's head (tenant, seq, hash) at a time, signed with the
 * audit key, written outside the database (a file of JSON lines, and every audit sink). The log's
 * links prove no entry was changed between two others; a checkpoint proves what the log held at its
 * time, so `perch audit verify` tells a cut tail, a deleted chain or a rewritten chain from a real one.
 */
const pinSchema = z.strictObject({ tenant: z.string().min(1), seq: z.number().int().min(1), hash: z.string().regex(/^[0-9a-f]{64}$/) });
export const checkpointSchema = z.strictObject({
  type: z.literal('perch.audit.checkpoint'),
  version: z.literal(1),
  time: z.iso.datetime(),
  chains: z.array(pinSchema),
  mac: z.string().regex(/^[0-9a-f]{64}$/),
});
export type Checkpoint = z.output<typeof checkpointSchema>;
export type ChainPin = z.output<typeof pinSchema>;

/** Prefixed to what a checkpoint's MAC covers: no entry's MAC input (which starts with a hash) can be taken for one. */
const DOMAIN = 'perch.audit.checkpoint/1\n';

function checkpointMac(key: KeyObject, body: Omit<Checkpoint, 'mac'>): string {
  return createHmac('sha256', key).update(DOMAIN).update(canonicalJson(body)).digest('hex');
}

/** A checkpoint of these heads (sorted by tenant), signed. */
export function signCheckpoint(key: KeyObject, chains: ChainPin[], time: Date): Checkpoint {
  const body = { type: 'perch.audit.checkpoint' as const, version: 1 as const, time: time.toISOString(), chains: [...chains].sort((a, b) => (a.tenant < b.tenant ? -1 : a.tenant > b.tenant ? 1 : 0)) };
  return { ...body, mac: checkpointMac(key, body) };
}

/** True when the MAC is the key's over the checkpoint's content. */
export function checkpointSigned(key: KeyObject, checkpoint: Checkpoint): boolean {
  const { mac, ...body } = checkpoint;
  return timingSafeEqual(Buffer.from(checkpointMac(key, body), 'hex'), Buffer.from(mac, 'hex'));
}

/** The checkpoints' file: `audit.checkpointFile`, or `audit-checkpoints.jsonl` in the data directory. */
export const checkpointFile = (config: Pick<PerchConfig, 'dataDir' | 'audit'>) => path.resolve(config.audit.checkpointFile ?? path.join(config.dataDir, 'audit-checkpoints.jsonl'));

export type NewestCheckpoint =
  | { status: 'missing' }
  | { status: 'unreadable'; reason: string }
  | { status: 'forged'; checkpoint: Checkpoint }
  | { status: 'signed'; checkpoint: Checkpoint };

/** A line's JSON when it says it is a checkpoint (other lines: a sink's entries, a line a crash cut short). */
function checkpointLine(line: string): unknown {
  try {
    const value = JSON.parse(line) as { type?: unknown } | null;
    return value && typeof value === 'object' && value.type === 'perch.audit.checkpoint' ? value : undefined;
  } catch {
    return undefined;
  }
}

/**
 * The newest checkpoint of a file (the last line that says it is one: the checkpoint file, or a file
 * sink's, where entries come between) and whether the key signed it. An older checkpoint is never
 * taken instead of a newest one that fails: that would let whoever can append to the file roll
 * verify back.
 */
export async function readNewestCheckpoint(file: string, key: KeyObject | null): Promise<NewestCheckpoint> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return { status: 'missing' };
    return { status: 'unreadable', reason: (error as Error).message };
  }
  // Every line ends with a newline: what follows the last one is empty, or a line a crash cut short.
  const lines = text.split('\n').slice(0, -1);
  let newest: unknown;
  for (let i = lines.length - 1; i >= 0 && newest === undefined; i--) newest = checkpointLine(lines[i]!);
  if (newest === undefined) return { status: 'missing' };
  const parsed = checkpointSchema.safeParse(newest);
  if (!parsed.success) return { status: 'unreadable', reason: 'its newest checkpoint is not well-formed' };
  return { status: key && checkpointSigned(key, parsed.data) ? 'signed' : 'forged', checkpoint: parsed.data };
}

/** Appends one checkpoint line and fsyncs it. */
export async function appendCheckpoint(file: string, checkpoint: Checkpoint): Promise<void> {
  await mkdir(path.dirname(file), { recursive: true });
  const handle = await open(file, 'a', 0o600);
  try {
    await handle.writeFile(`${JSON.stringify(checkpoint)}\n`);
    await handle.datasync();
  } finally {
    await handle.close();
  }
}

/** A head the checkpointer would not sign, and why. */
export interface RefusedHead {
  tenant: string;
  reason: string;
}

/**
 * The heads to sign now: each chain's last entry as the database has it, checked first against the
 * previous checkpoint, so a checkpoint never blesses what the database lost or had rewritten since:
 * a head must be keyed (or the same legacy head the previous checkpoint pinned, or, before any
 * checkpoint, a legacy head: an install from before the key), and no chain may go back or vanish.
 * A refused chain keeps its previous pin, and the refusal is reported.
 */
export async function headsToSign(db: Store, key: KeyObject, previous: ChainPin[] | null): Promise<{ pins: ChainPin[]; refused: RefusedHead[] }> {
  const before = new Map((previous ?? []).map((p) => [p.tenant, p]));
  const pins: ChainPin[] = [];
  const refused: RefusedHead[] = [];
  const keep = (tenant: string, reason: string) => {
    refused.push({ tenant, reason });
    const pinned = before.get(tenant);
    if (pinned) pins.push(pinned);
  };
  const seen = new Set<string>();
  for (const { tenant_id: tenant, last } of await chainHeads(db)) {
    seen.add(tenant);
    const raw = await db.selectFrom('audit_log').selectAll().where('tenant_id', '=', tenant).where('seq', '=', last).executeTakeFirst();
    if (!raw) continue; // purged between the two reads: the next checkpoint takes it
    const row = { ...raw, seq: Number(raw.seq), date: Number(raw.date) };
    const pinned = before.get(tenant);
    const kind = linkKind(row, key);
    if (pinned && row.seq < pinned.seq) keep(tenant, `the chain ends at seq ${row.seq}, before seq ${pinned.seq} of the previous checkpoint`);
    else if (pinned && row.seq === pinned.seq && row.hash !== pinned.hash) keep(tenant, `its entry ${row.seq} is not the one the previous checkpoint signed`);
    else if (kind === null) keep(tenant, `its last entry (seq ${row.seq}) does not match its hash`);
    else if (kind === 'legacy' && previous !== null && !(pinned && pinned.seq === row.seq)) keep(tenant, `its last entry (seq ${row.seq}) is not signed with the audit key`);
    else pins.push({ tenant, seq: row.seq, hash: row.hash });
  }
  for (const [tenant, pinned] of before) if (!seen.has(tenant)) keep(tenant, `the chain is gone from the database (the previous checkpoint had it at seq ${pinned.seq})`);
  return { pins, refused };
}
