/**
 * Namespace files (in memory): upload (multipart part `fileContent`), download (streamed in chunks), directory
 * listing, stats, mkdir, move, delete, revisions, search, export. Search and export follow Kestra's
 * NamespaceFileController (docs/compatibility.md): search answers the paths (`/a/b.txt`) that contain `q`; export is
 * a ZIP of every file (entries named without the leading slash) and of the namespace's flows as `_flows/<id>.yml`,
 * sent as the attachment `<namespace>_files.zip`.
 */
import { unzipSync, zipSync } from 'fflate';
import { currentRevision, importFlowSource } from './flows.js';
import { type Ctx, type Route, badRequest, notFound, parseMultipart, sendBinary, sendEmpty, sendJson } from './http.js';
import type { FileRec } from './state.js';

/**
 * Kestra 2.0's `_flows/` folder (NamespaceFileController, kestra-io/kestra 0a46f3b4): an upload whose
 * decoded path matches `/_flows/.*` exactly is imported as a flow (create or overwrite), after the
 * first line reading `namespace: …` is rewritten to the URL's namespace; every other operation on a
 * path matching `/_flows(/.*)?` exactly is refused. Other spellings are not recognised, as in Kestra.
 */
const FLOW_FILE = /^\/_flows\/.*$/;
const FORBIDDEN = /^\/_flows(\/.*)?$/;

function guardFlowsFolder(raw: string | null): void {
  if (raw !== null && FORBIDDEN.test(raw)) throw badRequest(`Forbidden path: ${raw}`);
}

/** Kestra's putNamespaceFile: a flow import under `/_flows/`, else a stored file. */
function putFile(ctx: Ctx, ns: string, rawPath: string, data: Buffer): void {
  if (FLOW_FILE.test(rawPath)) {
    // Java's split drops trailing empty strings: "/_flows/a.yml/" has 3 pieces too.
    if (rawPath.split('/').filter((s, i, all) => s !== '' || all.slice(i).some((t) => t !== '')).length !== 3) throw badRequest(`Invalid flow file path: ${rawPath}`);
    importFlowSource(ctx.rt, data.toString('utf8').replace(/^namespace: .*$/m, `namespace: ${ns}`));
    return;
  }
  const path = normalizePath(rawPath, true);
  if (allDirs(ctx, ns).has(path)) throw badRequest(`Path ${path} is a directory`);
  const files = nsFiles(ctx, ns);
  const now = Date.now();
  const prev = files.get(path);
  files.set(path, { data, created: prev?.created ?? now, modified: now, revision: (prev?.revision ?? 0) + 1 });
}

/** `/a/b.txt` form; rejects `..`. Accepts `kestra:///…`-less plain paths and a missing leading slash. */
export function normalizePath(raw: string | null, required: boolean): string {
  if (raw === null || raw === '') {
    if (required) throw badRequest('Required QueryValue [path] not specified');
    return '/';
  }
  let p = raw.replace(/\\/g, '/');
  if (!p.startsWith('/')) p = `/${p}`;
  p = p.replace(/\/{2,}/g, '/');
  if (p.length > 1 && p.endsWith('/')) p = p.slice(0, -1);
  if (p.split('/').some((s) => s === '..')) throw badRequest(`Invalid path: ${raw}`);
  return p;
}

function parentOf(p: string): string {
  const i = p.lastIndexOf('/');
  return i <= 0 ? '/' : p.slice(0, i);
}

function nsFiles(ctx: Ctx, ns: string): Map<string, FileRec> {
  let m = ctx.rt.store.files.get(ns);
  if (!m) ctx.rt.store.files.set(ns, (m = new Map()));
  return m;
}

function nsDirs(ctx: Ctx, ns: string): Set<string> {
  let s = ctx.rt.store.dirs.get(ns);
  if (!s) ctx.rt.store.dirs.set(ns, (s = new Set()));
  return s;
}

/** Every directory that exists (explicitly created or implied by a file below it). */
function allDirs(ctx: Ctx, ns: string): Set<string> {
  const out = new Set<string>(['/']);
  const add = (dir: string): void => {
    for (let d = dir; d !== '/' && !out.has(d); d = parentOf(d)) out.add(d);
  };
  for (const d of nsDirs(ctx, ns)) add(d);
  for (const f of nsFiles(ctx, ns).keys()) add(parentOf(f));
  return out;
}

function attributes(name: string, kind: 'File' | 'Directory', size: number, created: number, modified: number): Record<string, unknown> {
  return { fileName: name, lastModifiedTime: modified, creationTime: created, type: kind, size, metadata: {} };
}

function upload(ctx: Ctx, p: Record<string, string>): void {
  const raw = ctx.query.get('path');
  if (raw === null || raw === '') throw badRequest('Required QueryValue [path] not specified');
  const parts = parseMultipart(ctx.req.headers['content-type'], ctx.body);
  const part = parts.find((x) => x.name === 'fileContent');
  if (!part) throw badRequest('Required part [fileContent] not specified');
  // Kestra unpacks an upload whose file name ends in .zip, every entry written at "/" + its name.
  if ((part.filename ?? '').toLowerCase().endsWith('.zip')) {
    for (const [name, bytes] of Object.entries(unzipSync(new Uint8Array(part.data)))) {
      if (!name.endsWith('/')) putFile(ctx, p.namespace!, `/${name}`, Buffer.from(bytes));
    }
  } else {
    putFile(ctx, p.namespace!, raw, part.data);
  }
  sendEmpty(ctx, 200);
}

async function download(ctx: Ctx, p: Record<string, string>): Promise<void> {
  guardFlowsFolder(ctx.query.get('path'));
  const path = normalizePath(ctx.query.get('path'), true);
  const f = ctx.rt.store.files.get(p.namespace!)?.get(path);
  if (!f) throw notFound(`File '${path}' not found in namespace '${p.namespace}'`);
  await sendBinary(ctx, 200, f.data, f.data.length);
}

function listDirectory(ctx: Ctx, p: Record<string, string>): void {
  const ns = p.namespace!;
  const dir = normalizePath(ctx.query.get('path'), false);
  const dirs = allDirs(ctx, ns);
  if (!dirs.has(dir)) {
    if (dir === '/') {
      sendJson(ctx, 200, []);
      return;
    }
    throw notFound(`Directory '${dir}' not found in namespace '${ns}'`);
  }
  const now = Date.now();
  const out: Record<string, unknown>[] = [];
  for (const d of [...dirs].sort()) {
    if (d !== '/' && parentOf(d) === dir) out.push(attributes(d.slice(d.lastIndexOf('/') + 1), 'Directory', 0, now, now));
  }
  for (const [fp, f] of [...nsFiles(ctx, ns)].sort(([a], [b]) => a.localeCompare(b))) {
    if (parentOf(fp) === dir) out.push(attributes(fp.slice(fp.lastIndexOf('/') + 1), 'File', f.data.length, f.created, f.modified));
  }
  sendJson(ctx, 200, out);
}

function stats(ctx: Ctx, p: Record<string, string>): void {
  const ns = p.namespace!;
  const path = normalizePath(ctx.query.get('path'), false);
  const f = nsFiles(ctx, ns).get(path);
  if (f) {
    sendJson(ctx, 200, attributes(path.slice(path.lastIndexOf('/') + 1), 'File', f.data.length, f.created, f.modified));
    return;
  }
  if (allDirs(ctx, ns).has(path)) {
    const now = Date.now();
    sendJson(ctx, 200, attributes(path === '/' ? '' : path.slice(path.lastIndexOf('/') + 1), 'Directory', 0, now, now));
    return;
  }
  throw notFound(`File '${path}' not found in namespace '${ns}'`);
}

function mkdir(ctx: Ctx, p: Record<string, string>): void {
  guardFlowsFolder(ctx.query.get('path'));
  const path = normalizePath(ctx.query.get('path'), true);
  if (nsFiles(ctx, p.namespace!).has(path)) throw badRequest(`Path ${path} is a file`);
  nsDirs(ctx, p.namespace!).add(path);
  sendEmpty(ctx, 200);
}

function remove(ctx: Ctx, p: Record<string, string>): void {
  const ns = p.namespace!;
  guardFlowsFolder(ctx.query.get('path'));
  const path = normalizePath(ctx.query.get('path'), true);
  const files = nsFiles(ctx, ns);
  const dirs = nsDirs(ctx, ns);
  let found = files.delete(path);
  if (allDirs(ctx, ns).has(path) && path !== '/') {
    found = true;
    for (const f of [...files.keys()]) if (f.startsWith(`${path}/`)) files.delete(f);
    for (const d of [...dirs]) if (d === path || d.startsWith(`${path}/`)) dirs.delete(d);
  }
  if (!found) throw notFound(`File '${path}' not found in namespace '${ns}'`);
  sendEmpty(ctx, 200);
}

function move(ctx: Ctx, p: Record<string, string>): void {
  const ns = p.namespace!;
  guardFlowsFolder(ctx.query.get('from'));
  guardFlowsFolder(ctx.query.get('to'));
  const from = normalizePath(ctx.query.get('from'), true);
  const to = normalizePath(ctx.query.get('to'), true);
  const files = nsFiles(ctx, ns);
  const f = files.get(from);
  if (f) {
    files.delete(from);
    files.set(to, { ...f, modified: Date.now() });
  } else if (allDirs(ctx, ns).has(from) && from !== '/') {
    for (const [fp, rec] of [...files]) {
      if (!fp.startsWith(`${from}/`)) continue;
      files.delete(fp);
      files.set(to + fp.slice(from.length), rec);
    }
    const dirs = nsDirs(ctx, ns);
    for (const d of [...dirs]) {
      if (d !== from && !d.startsWith(`${from}/`)) continue;
      dirs.delete(d);
      dirs.add(to + d.slice(from.length));
    }
  } else {
    throw notFound(`File '${from}' not found in namespace '${ns}'`);
  }
  sendEmpty(ctx, 200);
}

/** The revisions of a file, oldest first (every write is one). */
function revisions(ctx: Ctx, p: Record<string, string>): void {
  const path = normalizePath(ctx.query.get('path'), true);
  const f = nsFiles(ctx, p.namespace!).get(path);
  if (!f) throw notFound(`File '${path}' not found in namespace '${p.namespace}'`);
  sendJson(ctx, 200, Array.from({ length: f.revision }, (_, i) => ({ revision: i + 1 })));
}

function search(ctx: Ctx, p: Record<string, string>): void {
  const q = ctx.query.get('q');
  if (q === null) throw badRequest('Required QueryValue [q] not specified');
  sendJson(ctx, 200, [...nsFiles(ctx, p.namespace!).keys()].sort().filter((path) => path.includes(q)));
}

async function exportZip(ctx: Ctx, p: Record<string, string>): Promise<void> {
  const ns = p.namespace!;
  const entries: Record<string, Uint8Array> = {};
  for (const [path, f] of [...nsFiles(ctx, ns)].sort(([a], [b]) => a.localeCompare(b))) entries[path.slice(1)] = f.data;
  for (const flow of ctx.rt.store.flows.values()) {
    if (flow.namespace === ns && !flow.deleted) entries[`_flows/${flow.id}.yml`] = Buffer.from(currentRevision(flow).source, 'utf8');
  }
  const zip = Buffer.from(zipSync(entries));
  await sendBinary(ctx, 200, zip, zip.length, 'application/octet-stream', { 'content-disposition': `attachment; filename="${ns}_files.zip"` });
}

export const fileRoutes: Route[] = [
  { method: 'GET', path: '/api/v1/:tenant/namespaces/:namespace/files/directory', handler: listDirectory },
  { method: 'POST', path: '/api/v1/:tenant/namespaces/:namespace/files/directory', handler: mkdir },
  { method: 'GET', path: '/api/v1/:tenant/namespaces/:namespace/files/revisions', handler: revisions },
  { method: 'GET', path: '/api/v1/:tenant/namespaces/:namespace/files/search', handler: search },
  { method: 'GET', path: '/api/v1/:tenant/namespaces/:namespace/files/export', handler: exportZip },
  { method: 'GET', path: '/api/v1/:tenant/namespaces/:namespace/files/stats', handler: stats },
  { method: 'GET', path: '/api/v1/:tenant/namespaces/:namespace/files', handler: download },
  { method: 'POST', path: '/api/v1/:tenant/namespaces/:namespace/files', handler: upload },
  { method: 'PUT', path: '/api/v1/:tenant/namespaces/:namespace/files', handler: move },
  { method: 'DELETE', path: '/api/v1/:tenant/namespaces/:namespace/files', handler: remove },
];
