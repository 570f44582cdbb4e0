/**
 * The public onboarding pages (accept an invitation, forgotten password, choose a new password),
 * dressed like Perch's sign-in page. No script: plain forms posting to Perch.
 */

const escapeHtml = (text: string) =>
  text.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);

function page(title: string, body: string): string {
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="referrer" content="no-referrer">
<title>${escapeHtml(title)} · Perch for Kestra</title>
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

const errorBlock = (error?: string) => (error ? `<p class="error" role="alert">${escapeHtml(error)}</p>` : '');
const noticeBlock = (notice?: string) => (notice ? `<p class="notice" role="status">${escapeHtml(notice)}</p>` : '');

/** Password hint shown under new-password fields. */
export function describeRules(rules: { minLength: number; minDigits?: number; minLowerCase?: number; minUpperCase?: number; minSpecial?: number }): string {
  const parts = [`at least ${rules.minLength} characters`];
  if (rules.minDigits) parts.push(`${rules.minDigits} digit(s)`);
  if (rules.minLowerCase) parts.push(`${rules.minLowerCase} lower-case letter(s)`);
  if (rules.minUpperCase) parts.push(`${rules.minUpperCase} upper-case letter(s)`);
  if (rules.minSpecial) parts.push(`${rules.minSpecial} special character(s)`);
  return `Use ${parts.join(', ')}.`;
}

export function renderAcceptPage(options: { token?: string; email?: string; rules?: string; error?: string; dead?: boolean }): string {
  if (options.dead || !options.token || !options.email) {
    return page('Accept your invitation', `${errorBlock(options.error ?? 'This invitation link is not valid.')}<p><a href="/perch/login">Go to sign-in</a></p>`);
  }
  return page(
    'Accept your invitation',
    `${errorBlock(options.error)}
  <p>Choose a password to activate your account.</p>
  <form method="post" action="/perch/invitations/accept">
    <input type="hidden" name="token" value="${escapeHtml(options.token)}">
    <label for="email">Email</label>
    <input id="email" type="email" autocomplete="username" readonly value="${escapeHtml(options.email)}">
    <label for="firstName">First name (optional)</label>
    <input id="firstName" name="firstName" autocomplete="given-name">
    <label for="lastName">Last name (optional)</label>
    <input id="lastName" name="lastName" autocomplete="family-name">
    <label for="password">Password</label>
    <input id="password" name="password" type="password" autocomplete="new-password" required autofocus>
    <p>${escapeHtml(options.rules ?? '')}</p>
    <button type="submit">Create my account</button>
  </form>`,
  );
}

export function renderForgottenPage(options: { error?: string; notice?: string } = {}): string {
  return page(
    'Forgot your password?',
    `${errorBlock(options.error)}${noticeBlock(options.notice)}
  <p>Enter your email: if it belongs to an account, a link to choose a new password is sent to it.</p>
  <form method="post" action="/perch/forgotten-password">
    <label for="email">Email</label>
    <input id="email" name="username" type="email" autocomplete="username" required autofocus>
    <button type="submit">Send the link</button>
  </form>
  <p><a href="/perch/login">Back to sign-in</a></p>`,
  );
}

export function renderResetPage(options: { token?: string; rules?: string; error?: string; notice?: string; dead?: boolean }): string {
  if (options.notice) return page('Choose a new password', `${noticeBlock(options.notice)}<p><a href="/perch/login">Sign in</a></p>`);
  if (options.dead || !options.token) {
    return page('Choose a new password', `${errorBlock(options.error ?? 'This reset link is not valid.')}<p><a href="/perch/forgotten-password">Ask for a new link</a></p>`);
  }
  return page(
    'Choose a new password',
    `${errorBlock(options.error)}
  <form method="post" action="/perch/reset-password">
    <input type="hidden" name="token" value="${escapeHtml(options.token)}">
    <label for="password">New password</label>
    <input id="password" name="password" type="password" autocomplete="new-password" required autofocus>
    <p>${escapeHtml(options.rules ?? '')}</p>
    <button type="submit">Set the password</button>
  </form>`,
  );
}
