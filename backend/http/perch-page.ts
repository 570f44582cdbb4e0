import type { FastifyReply } from 'fastify';

/**
 * The referrer policy of a page whose address carries a secret: no Referer (with the token in it)
 * ever leaves for another site, while the page's own form posts keep their Origin, which Perch checks
 * (`no-referrer` would make browsers send `Origin: null`, and the form would be refused).
 */
const SECRET_LINK_REFERRER = 'same-origin';

export const escapeHtml = (text: string) =>
  text.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);

/**
 * A page of Perch's own (sign-in, invitations, password reset), dressed like Kestra's UI. No script.
 * `secretLink` for pages whose address carries a secret (a reset or invitation link): see {@link SECRET_LINK_REFERRER}.
 */
export function renderPerchPage(title: string, body: string, options: { secretLink?: boolean } = {}): string {
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
${options.secretLink ? `<meta name="referrer" content="${SECRET_LINK_REFERRER}">\n` : ''}<title>${escapeHtml(title)} · Perch for Kestra</title>
<style>
  :root { color-scheme: dark; --accent: #8405ff; --accent-hover: #9c2cff; --bg: #1c1e27; --card: #262936; --border: #3b3f51; --text: #e6e6ef; --muted: #9a9db1; }
  * { box-sizing: border-box; }
  body { margin: 0; min-height: 100vh; display: grid; place-items: center; background: radial-gradient(circle at 20% 10%, #2a1b4a 0, var(--bg) 45%); font: 15px/1.5 "Public Sans", system-ui, -apple-system, "Segoe UI", sans-serif; color: var(--text); }
  main { width: min(420px, 92vw); background: var(--card); border: 1px solid var(--border); border-radius: 12px; padding: 36px 32px; box-shadow: 0 20px 50px rgba(0,0,0,.35); }
  .brand { display: flex; align-items: center; gap: 10px; margin-bottom: 28px; font-weight: 700; font-size: 20px; letter-spacing: .2px; }
  .brand span { color: var(--muted); font-weight: 400; font-size: 14px; }
  .mark { width: 28px; height: 28px; border-radius: 8px; background: linear-gradient(135deg, var(--accent), #cf5fff); }
  h1 { font-size: 18px; margin: 0 0 18px; font-weight: 600; }
  p { color: var(--muted); }
  label { display: block; margin: 14px 0 6px; color: var(--muted); font-size: 13px; }
  input { width: 100%; padding: 10px 12px; border-radius: 8px; border: 1px solid var(--border); background: #1e2030; color: var(--text); font: inherit; }
  input[readonly] { color: var(--muted); }
  input:focus { outline: 2px solid var(--accent); outline-offset: 1px; border-color: transparent; }
  button { margin-top: 24px; width: 100%; padding: 11px; border: 0; border-radius: 8px; background: var(--accent); color: #fff; font: inherit; font-weight: 600; cursor: pointer; }
  button:hover, button:focus-visible { background: var(--accent-hover); }
  a { color: #c58bff; }
  .error { margin: 0 0 8px; padding: 10px 12px; border-radius: 8px; background: rgba(255, 80, 100, .12); border: 1px solid rgba(255, 80, 100, .4); color: #ff9aa8; font-size: 14px; }
  .notice { margin: 0 0 8px; padding: 10px 12px; border-radius: 8px; background: rgba(80, 200, 140, .12); border: 1px solid rgba(80, 200, 140, .4); color: #9ae6c0; font-size: 14px; }
  .sso { display: grid; gap: 10px; }
  .sso-button { display: block; padding: 11px; border-radius: 8px; border: 1px solid var(--border); background: #1e2030; color: var(--text); text-align: center; text-decoration: none; font-weight: 600; }
  .sso-button:hover, .sso-button:focus-visible { border-color: var(--accent); }
  .or { margin: 18px 0 0; color: var(--muted); font-size: 13px; text-align: center; }
  .forgot { margin: 14px 0 0; text-align: center; font-size: 13px; }
  .forgot a { color: var(--muted); }
  footer { margin-top: 22px; color: var(--muted); font-size: 12px; text-align: center; }
</style>
</head>
<body>
<main>
  <div class="brand"><div class="mark" aria-hidden="true"></div>Kestra <span>with Perch</span></div>
  <h1>${escapeHtml(title)}</h1>
  ${body}
  <footer>Access to this Kestra is governed by Perch.</footer>
</main>
</body>
</html>`;
}

export const errorBlock = (error?: string) => (error ? `<p class="error" role="alert">${escapeHtml(error)}</p>` : '');

/**
 * The policy of Perch's pages: no script and nothing from elsewhere (they have neither), forms that
 * post to Perch only, and no framing, so no other site can overlay a sign-in form (clickjacking).
 */
const PAGE_POLICY = "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

/**
 * Makes `reply` a page of Perch's own: HTML, never cached, under {@link PAGE_POLICY}. `secretLink` for
 * pages whose address carries a secret (a reset or invitation link), as in {@link renderPerchPage}.
 */
export function perchPageReply(reply: FastifyReply, options: { secretLink?: boolean } = {}): FastifyReply {
  reply
    .type('text/html; charset=utf-8')
    .header('cache-control', 'no-store')
    .header('content-security-policy', PAGE_POLICY)
    .header('x-frame-options', 'DENY')
    .header('x-content-type-options', 'nosniff');
  return options.secretLink ? reply.header('referrer-policy', SECRET_LINK_REFERRER) : reply;
}
