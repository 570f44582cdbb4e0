/** Perch's sign-in page, dressed like Kestra's own (dark canvas, purple accent). No script. */

const escapeHtml = (text: string) =>
  text.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);

/** `providers`: single sign-on providers, one button (a plain link) each. */
export function renderLoginPage(options: { from: string; email?: string; error?: string; providers?: readonly { id: string; name: string }[] }): string {
  const error = options.error ? `<p class="error" role="alert">${escapeHtml(options.error)}</p>` : '';
  const providers = options.providers ?? [];
  const sso = providers.length === 0 ? '' : `<div class="sso">
    ${providers.map((p) => `<a class="sso-button" href="/perch/sso/${encodeURIComponent(p.id)}/login?from=${encodeURIComponent(options.from)}">Sign in with ${escapeHtml(p.name)}</a>`).join('\n    ')}
  </div>
  <p class="or">or with your email</p>`;
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Sign in · Perch for Kestra</title>
<style>
  :root { color-scheme: dark; --accent: #8405ff; --accent-hover: #9c2cff; --bg: #1c1e27; --card: #262936; --border: #3b3f51; --text: #e6e6ef; --muted: #9a9db1; }
  * { box-sizing: border-box; }
  body { margin: 0; min-height: 100vh; display: grid; place-items: center; background: radial-gradient(circle at 20% 10%, #2a1b4a 0, var(--bg) 45%); font: 15px/1.5 "Public Sans", system-ui, -apple-system, "Segoe UI", sans-serif; color: var(--text); }
  main { width: min(400px, 92vw); background: var(--card); border: 1px solid var(--border); border-radius: 12px; padding: 36px 32px; box-shadow: 0 20px 50px rgba(0,0,0,.35); }
  .brand { display: flex; align-items: center; gap: 10px; margin-bottom: 28px; font-weight: 700; font-size: 20px; letter-spacing: .2px; }
  .brand span { color: var(--muted); font-weight: 400; font-size: 14px; }
  .mark { width: 28px; height: 28px; border-radius: 8px; background: linear-gradient(135deg, var(--accent), #cf5fff); }
  h1 { font-size: 18px; margin: 0 0 18px; font-weight: 600; }
  label { display: block; margin: 14px 0 6px; color: var(--muted); font-size: 13px; }
  input { width: 100%; padding: 10px 12px; border-radius: 8px; border: 1px solid var(--border); background: #1e2030; color: var(--text); font: inherit; }
  input:focus { outline: 2px solid var(--accent); outline-offset: 1px; border-color: transparent; }
  button { margin-top: 24px; width: 100%; padding: 11px; border: 0; border-radius: 8px; background: var(--accent); color: #fff; font: inherit; font-weight: 600; cursor: pointer; }
  button:hover, button:focus-visible { background: var(--accent-hover); }
  .error { margin: 0 0 8px; padding: 10px 12px; border-radius: 8px; background: rgba(255, 80, 100, .12); border: 1px solid rgba(255, 80, 100, .4); color: #ff9aa8; font-size: 14px; }
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
  <h1>Sign in</h1>
  ${error}
  ${sso}
  <form method="post" action="/perch/login">
    <input type="hidden" name="from" value="${escapeHtml(options.from)}">
    <label for="email">Email</label>
    <input id="email" name="username" type="email" autocomplete="username" required${options.email ? '' : ' autofocus'} value="${escapeHtml(options.email ?? '')}">
    <label for="password">Password</label>
    <input id="password" name="password" type="password" autocomplete="current-password" required${options.email ? ' autofocus' : ''}>
    <button type="submit">Sign in</button>
  </form>
  <p class="forgot"><a href="/perch/forgotten-password">Forgot your password?</a></p>
  <footer>Access to this Kestra is governed by Perch.</footer>
</main>
</body>
</html>`;
}
