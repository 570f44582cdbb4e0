/**
 * The public onboarding pages (accept an invitation, forgotten password, choose a new password),
 * dressed like Perch's sign-in page. No script: plain forms posting to Perch.
 */

import { errorBlock, escapeHtml, renderPerchPage } from '../http/perch-page.js';

/** These pages carry one-time links in their address: never leak it through Referer. */
const page = (title: string, body: string) => renderPerchPage(title, body, { secretLink: true });
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

/** What the forgotten-password page says when Perch has no mail server to send the link with. */
export const NO_RESET_MAIL = 'This Perch sends no mail, so it cannot send a reset link: ask an administrator to set a new password for you.';

export function renderForgottenPage(options: { error?: string; notice?: string; mailOff?: boolean } = {}): string {
  if (options.mailOff) return page('Forgot your password?', `${errorBlock(NO_RESET_MAIL)}\n  <p><a href="/perch/login">Back to sign-in</a></p>`);
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
