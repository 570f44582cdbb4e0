import { FormData, request } from 'undici';
import type { PerchConfig } from '../config/config.js';
import { kestraTarget } from '../proxy/kestra-target.js';
import type { KestraFileRecord, KestraFlowRecord, KestraKvRecord, KestraTriggerRecord } from '../../lib/schemas/backup.js';
import { BackupError } from './archive.js';

/**
 * Kestra's metadata, read and written through Kestra's own API with Perch's upstream account (what
 * Perch's proxy uses): flows' current sources, namespace files, KV entries with their types and expiry,
 * and trigger states. Kestra's database is never touched.
 */
export interface KestraCall {
  method: 'GET' | 'POST' | 'PUT';
  path: string;
  body?: string | FormData;
  headers?: Record<string, string>;
}

export class KestraApi {
  private readonly target;

  constructor(
    config: PerchConfig['kestra'],
    /** Kestra's tenant in its URLs: `main`, the only one Kestra OSS serves. */
    private readonly tenant = 'main',
  ) {
    this.target = kestraTarget(config);
  }

  get url(): string {
    return this.target.origin;
  }

  /** One call under `/api/v1/<tenant>`: the answer's body, or a BackupError naming the call and Kestra's status. */
  async call(call: KestraCall, accept: (status: number) => boolean = (s) => s < 300): Promise<{ status: number; body: Buffer }> {
    const path = `/api/v1/${encodeURIComponent(this.tenant)}${call.path}`;
    const headers: Record<string, string> = { accept: 'application/json', ...call.headers };
    if (this.target.authorization) headers.authorization = this.target.authorization;
    let res;
    try {
      res = await request(new URL(path, this.target.url), { method: call.method, headers, body: call.body, headersTimeout: this.target.timeout, bodyTimeout: this.target.timeout });
    } catch (error) {
      throw new BackupError(`Kestra is unreachable at ${this.target.origin} (${(error as { code?: string }).code ?? (error as Error).message}) for ${call.method} ${path}`);
    }
    const body = Buffer.from(await res.body.arrayBuffer());
    if (!accept(res.statusCode)) {
      throw new BackupError(`Kestra answered ${res.statusCode} to ${call.method} ${path}: ${body.toString('utf8').slice(0, 300)}`);
    }
    return { status: res.statusCode, body };
  }

  async json<T>(path: string): Promise<T> {
    return JSON.parse((await this.call({ method: 'GET', path })).body.toString('utf8')) as T;
  }

  /** Every item of a paged Kestra list (`{results, total}`), a page at a time. */
  async *pages<T>(path: string): AsyncGenerator<T[]> {
    const size = 100;
    for (let page = 1; ; page++) {
      const sep = path.includes('?') ? '&' : '?';
      const answer = await this.json<{ results: T[]; total: number }>(`${path}${sep}size=${size}&page=${page}`);
      if (answer.results.length) yield answer.results;
      if (answer.results.length < size || page * size >= answer.total) return;
    }
  }
}

const ns = (namespace: string) => encodeURIComponent(namespace);
const q = (value: string) => encodeURIComponent(value);

/** Every flow (current revision only: Kestra's API cannot write older ones back) with its source. */
export async function* readFlows(api: KestraApi): AsyncGenerator<KestraFlowRecord> {
  for await (const page of api.pages<{ namespace: string; id: string }>('/flows/search')) {
    for (const flow of page) {
      const full = await api.json<{ source: string }>(`/flows/${ns(flow.namespace)}/${q(flow.id)}?source=true`);
      yield { namespace: flow.namespace, id: flow.id, source: full.source };
    }
  }
}

/** Every KV entry that has not expired, with its type, value, description and expiry. */
export async function* readKv(api: KestraApi): AsyncGenerator<KestraKvRecord> {
  for await (const page of api.pages<{ namespace: string; key: string; description?: string | null; expirationDate?: string | null }>('/kv')) {
    for (const entry of page) {
      const answer = await api.call({ method: 'GET', path: `/namespaces/${ns(entry.namespace)}/kv/${q(entry.key)}` }, (s) => s < 300 || s === 404);
      // Expired between the list and the read: nothing to keep.
      if (answer.status === 404) continue;
      const typed = JSON.parse(answer.body.toString('utf8')) as { type: KestraKvRecord['type']; value: unknown };
      yield { namespace: entry.namespace, key: entry.key, type: typed.type, value: typed.value, description: entry.description ?? null, expirationDate: entry.expirationDate ?? null };
    }
  }
}

/** Every trigger's state (disabled or not) of the given flows. */
export async function* readTriggers(api: KestraApi, flows: Iterable<{ namespace: string; id: string }>): AsyncGenerator<KestraTriggerRecord> {
  for (const flow of flows) {
    for await (const page of api.pages<{ triggerId: string; disabled?: boolean }>(`/triggers/${ns(flow.namespace)}/${q(flow.id)}`)) {
      for (const state of page) yield { namespace: flow.namespace, flowId: flow.id, triggerId: state.triggerId, disabled: state.disabled === true };
    }
  }
}

/** Namespace files and folders of a namespace, each file with its bytes (one at a time in memory). */
export async function* readNamespaceFiles(api: KestraApi, namespace: string): AsyncGenerator<{ record: KestraFileRecord; data: Buffer }> {
  const folders = ['/'];
  while (folders.length) {
    const folder = folders.shift()!;
    const listed = await api.json<{ fileName: string; type: 'File' | 'Directory' }[]>(`/namespaces/${ns(namespace)}/files/directory?path=${q(folder)}`);
    for (const item of [...listed].sort((a, b) => a.fileName.localeCompare(b.fileName))) {
      const path = `${folder === '/' ? '' : folder}/${item.fileName}`;
      // Kestra's `_flows` folder is its flows seen as files: they are backed up as flows.
      if (path === '/_flows') continue;
      if (item.type === 'Directory') {
        folders.push(path);
        yield { record: { namespace, path, type: 'Directory' }, data: Buffer.alloc(0) };
      } else {
        const { body } = await api.call({ method: 'GET', path: `/namespaces/${ns(namespace)}/files?path=${q(path)}`, headers: { accept: '*/*' } });
        yield { record: { namespace, path, type: 'File' }, data: body };
      }
    }
  }
}

/** The namespaces Kestra OSS knows of: those of flows and of KV entries (OSS has no namespace objects). */
export async function readNamespaces(api: KestraApi, kvNamespaces: Iterable<string>): Promise<string[]> {
  const fromFlows = await api.json<string[]>('/flows/distinct-namespaces');
  return [...new Set([...fromFlows, ...kvNamespaces])].sort();
}

/** True when Kestra holds no flow and no KV entry: the target of a restore. */
export async function kestraIsEmpty(api: KestraApi): Promise<boolean> {
  const flows = await api.json<{ total: number }>('/flows/search?size=1&page=1');
  const kv = await api.json<{ total: number }>('/kv?size=1&page=1');
  return flows.total === 0 && kv.total === 0;
}

export async function writeFlow(api: KestraApi, flow: KestraFlowRecord, overwrite: boolean): Promise<void> {
  const headers = { 'content-type': 'application/x-yaml' };
  if (overwrite) {
    const existing = await api.call({ method: 'GET', path: `/flows/${ns(flow.namespace)}/${q(flow.id)}?source=false` }, (s) => s < 300 || s === 404);
    if (existing.status !== 404) {
      await api.call({ method: 'PUT', path: `/flows/${ns(flow.namespace)}/${q(flow.id)}`, body: flow.source, headers });
      return;
    }
  }
  await api.call({ method: 'POST', path: '/flows', body: flow.source, headers });
}

export async function writeNamespaceFile(api: KestraApi, record: KestraFileRecord, data: Buffer): Promise<void> {
  const where = `/namespaces/${ns(record.namespace)}/files`;
  if (record.type === 'Directory') {
    await api.call({ method: 'POST', path: `${where}/directory?path=${q(record.path)}` });
    return;
  }
  const form = new FormData();
  // A part named *.zip would be unpacked by Kestra: the part's file name is never the file's own.
  form.append('fileContent', new Blob([new Uint8Array(data)]), 'content');
  await api.call({ method: 'POST', path: `${where}?path=${q(record.path)}`, body: form });
}

/**
 * The text Kestra's `PUT …/kv/{key}` reads back as the entry's type: Kestra parses the body as Ion
 * (KVController), so a string is sent quoted, dates and instants bare (Ion timestamps), numbers,
 * booleans and JSON as JSON.
 */
export function kvBody(entry: Pick<KestraKvRecord, 'type' | 'value'>): string {
  switch (entry.type) {
    case 'DATETIME':
    case 'DATE':
    case 'DURATION':
      return String(entry.value);
    default:
      return JSON.stringify(entry.value);
  }
}

/** ISO-8601 duration of whole seconds (at least one) until `expirationDate`; null when already past. */
export function remainingTtl(expirationDate: string, now = Date.now()): string | null {
  const ms = Date.parse(expirationDate) - now;
  if (!(ms > 0)) return null;
  return `PT${Math.max(1, Math.round(ms / 1000))}S`;
}

/** Writes a KV entry with its type, description and what remains of its time to live; false when it expired meanwhile. */
export async function writeKv(api: KestraApi, entry: KestraKvRecord, now = Date.now()): Promise<boolean> {
  const headers: Record<string, string> = { 'content-type': 'text/plain' };
  if (entry.description) headers.description = entry.description;
  if (entry.expirationDate) {
    const ttl = remainingTtl(entry.expirationDate, now);
    if (!ttl) return false;
    headers.ttl = ttl;
  }
  await api.call({ method: 'PUT', path: `/namespaces/${ns(entry.namespace)}/kv/${q(entry.key)}`, body: kvBody(entry), headers });
  return true;
}

export async function writeTrigger(api: KestraApi, trigger: KestraTriggerRecord): Promise<void> {
  await api.call({ method: 'PUT', path: '/triggers/set-disabled', body: JSON.stringify(trigger), headers: { 'content-type': 'application/json' } });
}
