import type { FastifyInstance } from 'fastify';
import type { PerchContext } from '../context.js';
import { loginRedirect } from '../auth/guard.js';
import { escapeHtml, perchPageReply, renderPerchPage } from '../http/perch-page.js';
import { BUNDLE_PATH, type ScreensBundle } from './screens-bundle.js';
import { PERCH_SCREEN_LINKS } from './status-pages.js';

/**
 * The policy of the screens shell: Perch's own script and styles only (the screens adopt their
 * stylesheet in shadow roots), calls to Perch only, no framing (the screens delete users in a click).
 */
const SHELL_POLICY =
  "default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; font-src 'self' data:; connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

/** The HTML shell the screens bundle mounts into: `#perch-screen[data-screen]` tells it which screen. */
export function renderScreenShell(screen: string, title: string): string {
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${escapeHtml(title)} · Perch for Kestra</title>
<style>
  html, body { margin: 0; min-height: 100vh; background: #f4f4f5; font: 15px/1.5 "Public Sans", system-ui, -apple-system, "Segoe UI", sans-serif; }
  @media (prefers-color-scheme: dark) { html, body { background: #18181b; color: #e4e4e7; } }
</style>
<script src="${BUNDLE_PATH}" defer data-perch-screens></script>
</head>
<body>
<div id="perch-screen" data-screen="${escapeHtml(screen)}"><noscript>Perch's screens need JavaScript.</noscript></div>
</body>
</html>`;
}

/**
 * Perch's screens (account, IAM, audit log, tenants, instance) as pages of Perch's own under
 * `/perch/…`: the same bundle the Kestra UI gets, in a shell Perch serves without asking Kestra, so
 * they stay reachable when Kestra is down or misconfigured.
 */
export function registerScreenPages(app: FastifyInstance, ctx: PerchContext, bundle: ScreensBundle | undefined): void {
  for (const { path, title } of PERCH_SCREEN_LINKS) {
    const screen = path.slice('/perch/'.length);
    // `optional`: a browser without a session is sent to the sign-in page, not given a JSON 401.
    app.get(path, { config: { access: 'optional' } }, async (request, reply) => {
      if (!request.principal) return reply.redirect(loginRedirect(request), 302);
      if (!bundle) {
        const body = `<p class="error" role="alert">Perch's screens are not built (${escapeHtml(ctx.config.ui.bundle)}).</p><p>Build them with <code>npm run build:screens</code> and restart Perch.</p>`;
        return perchPageReply(reply.code(503)).send(renderPerchPage(title, body));
      }
      return perchPageReply(reply).header('content-security-policy', SHELL_POLICY).send(renderScreenShell(screen, title));
    });
  }
}
