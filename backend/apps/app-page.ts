import { blockNameOf, type AppBlock, type AppSource, type AppStage } from '../../lib/schemas/apps.js';
import { escapeHtml } from '../http/perch-page.js';
import type { KestraExecution, KestraLog } from './kestra-client.js';

/** An app's pages: its layout's blocks for a stage, as HTML, in a page of its own. */

/** The stage of an app for its execution's state (Kestra 2.0 State.Type). */
export function stageOf(state: string): AppStage {
  if (['CREATED', 'QUEUED'].includes(state)) return 'CREATED';
  if (state === 'PAUSED') return 'PAUSE';
  if (state === 'RESUMED') return 'RESUME';
  if (['SUCCESS', 'WARNING'].includes(state)) return 'SUCCESS';
  if (['FAILED', 'KILLED', 'CANCELLED'].includes(state)) return 'FAILURE';
  return 'RUNNING';
}

export const TERMINAL_STATES = new Set(['SUCCESS', 'WARNING', 'FAILED', 'KILLED', 'CANCELLED', 'SKIPPED']);

/** The blocks for a stage: its own layout, else FALLBACK's (ERROR is EE's other name for a failure's). */
export function blocksFor(app: AppSource, stage: AppStage): AppBlock[] {
  const entry = app.layout.find((l) => l.on === stage) ?? (stage === 'FAILURE' ? app.layout.find((l) => l.on === 'ERROR') : undefined) ?? app.layout.find((l) => l.on === 'FALLBACK');
  return entry?.blocks ?? [];
}

/** A filter's include/exclude over names. */
export function filtered<T>(entries: [string, T][], filter: { include?: string[]; exclude?: string[] } | undefined): [string, T][] {
  return entries.filter(([k]) => (!filter?.include?.length || filter.include.includes(k)) && !filter?.exclude?.includes(k));
}

export const isStorageUri = (v: unknown): v is string => typeof v === 'string' && v.startsWith('kestra:///');

/** The files an execution's Outputs blocks show at a stage: the only files of it a visitor may download. */
export function filesShown(app: AppSource, stage: AppStage, execution: KestraExecution): Set<string> {
  const files = new Set<string>();
  for (const block of blocksFor(app, stage)) {
    if (blockNameOf(block.type) !== 'Outputs') continue;
    for (const [, v] of filtered(Object.entries(execution.outputs ?? {}), block.filter as never)) if (isStorageUri(v)) files.add(v);
  }
  return files;
}

const safeUrl = (url: string, appUrl: string) => {
  const u = url.replace(/\{\{\s*app\.url\s*\}\}/g, appUrl);
  return /^(https?:\/\/|\/)/.test(u) && !u.startsWith('//') ? u : null;
};

/** Markdown as far as an app's text needs it (headings, paragraphs, bold, italics, code, links): everything else is text. */
export function markdown(content: string, appUrl: string): string {
  const inline = (s: string) =>
    escapeHtml(s)
      .replace(/`([^`]+)`/g, '<code>$1</code>')
      .replace(/\*\*([^*]+)\*\*/g, '<strong>$1</strong>')
      .replace(/\*([^*]+)\*/g, '<em>$1</em>')
      .replace(/\[([^\]]+)\]\(([^)\s]+)\)/g, (_m, text: string, href: string) => {
        const url = safeUrl(href.replace(/&amp;/g, '&'), appUrl);
        return url ? `<a href="${escapeHtml(url)}">${text}</a>` : text;
      });
  const withUrl = content.replace(/\{\{\s*app\.url\s*\}\}/g, appUrl);
  return withUrl
    .split(/\r?\n\s*\r?\n/)
    .map((para) => {
      const h = /^(#{1,4})\s+(.*)$/s.exec(para.trim());
      if (h) return `<h${h[1]!.length + 1}>${inline(h[2]!)}</h${h[1]!.length + 1}>`;
      const items = para.trim().split(/\r?\n/);
      if (items.every((l) => /^[-*]\s+/.test(l))) return `<ul>${items.map((l) => `<li>${inline(l.replace(/^[-*]\s+/, ''))}</li>`).join('')}</ul>`;
      return para.trim() ? `<p>${inline(para.trim()).replace(/\r?\n/g, '<br>')}</p>` : '';
    })
    .join('\n');
}

export interface BlockContext {
  app: AppSource;
  appUrl: string;
  execution?: KestraExecution;
  logs?: KestraLog[];
  /** Address of a file download for this execution (the run's), or none. */
  fileUrl?: (uri: string) => string;
  /** The inputs form (CreateExecutionForm) or resume form (ResumeExecutionForm) fields, ready. */
  formFields?: string;
  /** Where the Cancel button posts, when this visitor may cancel. */
  cancelAction?: string;
  /** The page's CSRF field. */
  csrfField: string;
}

function table(rows: [string, string][]): string {
  if (rows.length === 0) return '<p class="muted">Nothing to show.</p>';
  return `<table>${rows.map(([k, v]) => `<tr><th>${escapeHtml(k)}</th><td>${v}</td></tr>`).join('')}</table>`;
}

function valueHtml(v: unknown, c: BlockContext): string {
  if (isStorageUri(v)) {
    const name = decodeURIComponent(v.split('/').pop() ?? 'file');
    return c.fileUrl ? `<a class="file" href="${escapeHtml(c.fileUrl(v))}" download>${escapeHtml(name)}</a>` : escapeHtml(name);
  }
  return escapeHtml(typeof v === 'object' ? JSON.stringify(v) : String(v));
}

function button(block: AppBlock, fallback: string, kind = 'primary'): string {
  return `<button type="submit" class="${kind} size-${String(block.size ?? 'MEDIUM').toLowerCase()} style-${String(block.style ?? 'DEFAULT').toLowerCase()}">${escapeHtml(String(block.text ?? fallback))}</button>`;
}

function block(b: AppBlock, c: BlockContext): string {
  switch (blockNameOf(b.type)) {
    case 'Markdown':
      return `<section class="markdown">${markdown(String(b.content), c.appUrl)}</section>`;
    case 'Alert':
      return `<div class="alert alert-${String(b.style ?? 'INFO').toLowerCase()}" role="status">${markdown(String(b.content), c.appUrl)}</div>`;
    case 'Button': {
      const url = safeUrl(String(b.url), c.appUrl);
      return url ? `<p><a class="button style-${String(b.style ?? 'DEFAULT').toLowerCase()}" href="${escapeHtml(url)}">${escapeHtml(String(b.text))}</a></p>` : '';
    }
    case 'RedirectTo': {
      const url = safeUrl(String(b.url), c.appUrl);
      return url ? `<p class="muted">Continue at <a href="${escapeHtml(url)}">${escapeHtml(url)}</a></p>` : '';
    }
    case 'Loading':
      return '<p class="loading" role="status"><span class="spinner" aria-hidden="true"></span> Working…</p>';
    case 'AutoRefresh':
      return '';
    case 'CreateExecutionForm':
    case 'ResumeExecutionForm':
      return c.formFields ?? '';
    case 'CreateExecutionButton':
      return button(b, 'Submit');
    case 'ResumeExecutionButton':
      return c.formFields === undefined ? '' : button(b, 'Approve');
    case 'CancelExecutionButton':
      return c.cancelAction ? `<form method="post" action="${escapeHtml(c.cancelAction)}">${c.csrfField}${button(b, 'Cancel', 'secondary')}</form>` : '';
    case 'Inputs':
      return `<section><h3>Inputs</h3>${table(filtered(Object.entries(c.execution?.inputs ?? {}), b.filter as never).map(([k, v]) => [k, valueHtml(v, { ...c, fileUrl: undefined })]))}</section>`;
    case 'Outputs':
      return `<section><h3>Outputs</h3>${table(filtered(Object.entries(c.execution?.outputs ?? {}), b.filter as never).map(([k, v]) => [k, valueHtml(v, c)]))}</section>`;
    case 'Logs': {
      const f = b.filter as { logLevel?: string; taskIds?: string[] } | undefined;
      const levels = ['TRACE', 'DEBUG', 'INFO', 'WARN', 'ERROR'];
      const lines = (c.logs ?? []).filter((l) => (!f?.logLevel || levels.indexOf(l.level) >= levels.indexOf(f.logLevel)) && (!f?.taskIds?.length || f.taskIds.includes(l.taskId ?? '')));
      return `<section><h3>Logs</h3><pre class="logs">${lines.map((l) => escapeHtml(`${l.timestamp} ${l.level} ${l.taskId ?? ''} ${l.message}`)).join('\n') || 'No logs yet.'}</pre></section>`;
    }
    case 'TaskOutputs':
      // Task outputs need Kestra to render expressions; Perch shows the execution's outputs (Outputs) instead.
      return '';
    default:
      return '';
  }
}

/** The blocks of a stage as HTML; a form stage (create or resume) is one form around them. */
export function renderBlocks(blocks: AppBlock[], c: BlockContext, form?: { action: string; beforeButton?: string; afterButton?: string }): string {
  if (!form) return blocks.map((b) => block(b, c)).join('\n');
  const isButton = (b: AppBlock) => ['CreateExecutionButton', 'ResumeExecutionButton'].includes(blockNameOf(b.type) ?? '');
  const firstButton = blocks.findIndex(isButton);
  const html = blocks.map((b, i) => (i === firstButton ? `${form.beforeButton ?? ''}${block(b, c)}${form.afterButton ?? ''}` : block(b, c))).join('\n');
  const submit = firstButton < 0 ? `${form.beforeButton ?? ''}<button type="submit" class="primary">Submit</button>${form.afterButton ?? ''}` : '';
  return `<form method="post" enctype="multipart/form-data" action="${escapeHtml(form.action)}">${c.csrfField}${html}${submit}</form>`;
}

/** The page policy of an app's pages: its own script (live.js) and events only, nothing from elsewhere, no framing. */
export const APP_PAGE_POLICY = "default-src 'none'; style-src 'unsafe-inline'; script-src 'self'; connect-src 'self'; img-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

/** A whole app page. `follow`: the events address the page listens to while the execution runs. */
export function appPage(title: string, body: string, options: { follow?: string; state?: string; status?: string } = {}): string {
  const live = options.follow ? ` data-follow="${escapeHtml(options.follow)}" data-state="${escapeHtml(options.state ?? '')}"` : '';
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="referrer" content="same-origin">
<title>${escapeHtml(title)}</title>
${options.follow ? '<script src="/perch/apps/live.js" defer></script>\n<noscript><meta http-equiv="refresh" content="3"></noscript>' : ''}
<style>
  :root { color-scheme: light dark; --accent: #8405ff; --border: #d4d4dc; --muted: #666a7a; }
  body { margin: 0; font: 15px/1.55 system-ui, -apple-system, "Segoe UI", sans-serif; background: #f6f6fa; color: #1c1e27; }
  main { max-width: 760px; margin: 32px auto; background: #fff; border: 1px solid var(--border); border-radius: 12px; padding: 28px 32px; }
  h1 { font-size: 22px; margin: 0 0 16px; }
  .field { margin: 14px 0; } label { display: block; font-weight: 600; margin-bottom: 4px; } small { display: block; color: var(--muted); }
  input, select, textarea { width: 100%; box-sizing: border-box; padding: 8px 10px; border: 1px solid var(--border); border-radius: 8px; font: inherit; }
  button, .button { display: inline-block; margin-top: 12px; padding: 9px 18px; border: 0; border-radius: 8px; background: var(--accent); color: #fff; font: inherit; font-weight: 600; cursor: pointer; text-decoration: none; }
  .secondary, .style-danger { background: #b3261e; } .req { color: #b3261e; }
  .field-error, .error { color: #b3261e; } .muted { color: var(--muted); }
  .alert { padding: 10px 14px; border-radius: 8px; margin: 12px 0; } .alert-success { background: #e3f6ea; } .alert-error { background: #fde7e9; } .alert-warning { background: #fff4d6; } .alert-info { background: #e6efff; }
  table { border-collapse: collapse; width: 100%; } th, td { text-align: left; border-bottom: 1px solid var(--border); padding: 6px 8px; vertical-align: top; }
  pre.logs { background: #1c1e27; color: #e6e6ef; padding: 12px; border-radius: 8px; overflow: auto; max-height: 320px; font-size: 13px; }
  .state { font-size: 13px; color: var(--muted); } footer { margin-top: 24px; font-size: 12px; color: var(--muted); }
</style>
</head>
<body${live}>
<main>
<h1>${escapeHtml(title)}</h1>
${options.status ? `<p class="state" id="app-state">${escapeHtml(options.status)}</p>` : ''}
${body}
<footer>Served by Perch for Kestra.</footer>
</main>
</body>
</html>`;
}

/** The script of a run's page: follows the run's events and shows its next stage when the state changes. */
export const LIVE_SCRIPT = `(() => {
  const body = document.body;
  const url = body.dataset.follow;
  if (!url) return;
  const events = new EventSource(url);
  events.addEventListener('state', (event) => {
    const state = JSON.parse(event.data).state;
    if (state !== body.dataset.state) { events.close(); location.reload(); }
  });
  events.addEventListener('end', () => events.close());
})();
`;
