import type { PerchConfig } from '../config/config.js';
import { errorBlock, escapeHtml, renderPerchPage } from '../http/perch-page.js';

/**
 * Perch's sign-in page, with one button (a plain link) per single sign-on provider, and "Forgot your
 * password?" only when Perch can send the mail.
 */
export function renderLoginPage(config: Pick<PerchConfig, 'sso' | 'mail'>, options: { from: string; email?: string; error?: string }): string {
  const error = errorBlock(options.error);
  const providers = config.sso.providers;
  const resetByMail = Boolean(config.mail.smtp.host);
  const sso = providers.length === 0 ? '' : `<div class="sso">
    ${providers.map((p) => `<a class="sso-button" href="/perch/sso/${encodeURIComponent(p.id)}/login?from=${encodeURIComponent(options.from)}">Sign in with ${escapeHtml(p.name)}</a>`).join('\n    ')}
  </div>
  <p class="or">or with your email</p>`;
  return renderPerchPage(
    'Sign in',
    `${error}
  ${sso}
  <form method="post" action="/perch/login">
    <input type="hidden" name="from" value="${escapeHtml(options.from)}">
    <label for="email">Email</label>
    <input id="email" name="username" type="email" autocomplete="username" required${options.email ? '' : ' autofocus'} value="${escapeHtml(options.email ?? '')}">
    <label for="password">Password</label>
    <input id="password" name="password" type="password" autocomplete="current-password" required${options.email ? ' autofocus' : ''}>
    <button type="submit">Sign in</button>
  </form>${resetByMail ? '\n  <p class="forgot"><a href="/perch/forgotten-password">Forgot your password?</a></p>' : ''}`,
  );
}
