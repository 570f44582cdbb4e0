import path from 'node:path';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { PerchConfig } from '../config/config.js';
import { escapeHtml, perchPageReply, renderPerchPage } from '../http/perch-page.js';

/** Perch's own screens, served by Perch itself (backend/ui/screen-pages.ts): they work with Kestra down. */
export const PERCH_SCREEN_LINKS: readonly { path: string; title: string }[] = [
  { path: '/perch/account', title: 'Your account' },
  { path: '/perch/iam', title: 'IAM' },
  { path: '/perch/audit', title: 'Audit log' },
  { path: '/perch/tenants', title: 'Tenants' },
  { path: '/perch/instance', title: 'Instance' },
];

const screenLinks = () => `<ul>${PERCH_SCREEN_LINKS.map((l) => `<li><a href="${l.path}">${escapeHtml(l.title)}</a></li>`).join('')}</ul>`;

/** Does the caller want a page (a browser navigating) rather than JSON? */
export function wantsHtml(request: FastifyRequest): boolean {
  return (request.method === 'GET' || request.method === 'HEAD') && /text\/html/i.test(String(request.headers.accept ?? ''));
}

/**
 * A Kestra UI page Kestra could not serve (down, too slow, refusing Perch's account): what is wrong,
 * what to check, and Perch's own screens, which do not need Kestra.
 */
export function sendKestraUnavailablePage(reply: FastifyReply, status: number, message: string, kestraUrl: string): FastifyReply {
  const body = `<p class="error" role="alert" data-testid="kestra-problem">${escapeHtml(message)}</p>
  <p>What to check:</p>
  <ul>
    <li>Kestra is running and answers at <code>${escapeHtml(new URL(kestraUrl).origin)}</code> (<code>PERCH_KESTRA_URL</code>).</li>
    <li>Kestra's basic-auth account is the one Perch is given (<code>PERCH_KESTRA_USERNAME</code> / <code>PERCH_KESTRA_PASSWORD</code>).</li>
    <li>Perch's readiness: <a href="/perch/health/ready">/perch/health/ready</a> names the reason.</li>
  </ul>
  <p>Perch's own screens work without Kestra:</p>
  ${screenLinks()}`;
  return perchPageReply(reply.code(status)).send(renderPerchPage('Kestra is not available', body));
}

/** The command that creates the first administrator, for this Perch's own store. */
export function firstAdminCommand(config: PerchConfig): string {
  const store = config.databaseUrl ? `PERCH_DATABASE_URL='<the same database URL>'` : `PERCH_DATA_DIR='${path.resolve(config.dataDir)}'`;
  return `${store} npx perch admin create --email you@example.com --password '<a long passphrase>'`;
}

/** The first-run page: Perch has no administrator yet, and says exactly how to create one. */
export function sendFirstRunPage(reply: FastifyReply, config: PerchConfig, dataFolder: string): FastifyReply {
  const body = `<p>Perch has no administrator yet, so it serves nothing but its health checks.</p>
  <p>On the server, in Perch's folder, run:</p>
  <pre data-testid="first-admin-command" style="white-space: pre-wrap; word-break: break-all; padding: 10px; border-radius: 8px; background: #1e2030;">${escapeHtml(firstAdminCommand(config))}</pre>
  <p>Data folder: <code data-testid="data-folder">${escapeHtml(dataFolder)}</code>. Or start Perch with <code>PERCH_ADMIN_EMAIL</code> and <code>PERCH_ADMIN_PASSWORD</code> set. Then reload this page.</p>`;
  return perchPageReply(reply.code(503)).send(renderPerchPage('Create the first administrator', body));
}
