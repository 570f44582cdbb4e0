/**
 * Every mail Perch sends, in English, in one place: a plain-text body and a simple HTML one.
 */

export interface MailContent {
  subject: string;
  text: string;
  html: string;
}

const escapeHtml = (text: string) =>
  text.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);

function wrapHtml(paragraphs: string[], link: { href: string; label: string }): string {
  const body = paragraphs.map((p) => `<p>${escapeHtml(p)}</p>`).join('\n');
  return `<!doctype html>
<html lang="en"><body style="font-family: system-ui, sans-serif; color: #1c1e27; line-height: 1.5">
${body}
<p><a href="${escapeHtml(link.href)}" style="display: inline-block; padding: 10px 16px; background: #8405ff; color: #fff; border-radius: 6px; text-decoration: none">${escapeHtml(link.label)}</a></p>
<p style="color: #666; font-size: 13px">If the button does not work, copy this address into your browser:<br>${escapeHtml(link.href)}</p>
</body></html>`;
}

const formatDate = (epochMs: number) => new Date(epochMs).toUTCString();

export function invitationMail(options: { link: string; tenantId: string; invitedBy: string | null; expiresAt: number }): MailContent {
  const who = options.invitedBy ? `${options.invitedBy} has invited you` : 'You have been invited';
  const lines = [
    `${who} to Kestra (tenant ${options.tenantId}), governed by Perch.`,
    'Open the link below to choose a password and activate your account.',
    `The link can be used once and expires on ${formatDate(options.expiresAt)}.`,
    'If you did not expect this invitation, ignore this message.',
  ];
  return {
    subject: 'You are invited to Kestra',
    text: `Hello,\n\n${lines.slice(0, 2).join('\n')}\n\n${options.link}\n\n${lines.slice(2).join('\n')}\n`,
    html: wrapHtml(['Hello,', ...lines.slice(0, 2)], { href: options.link, label: 'Accept the invitation' }).replace(
      '</body>',
      `<p>${escapeHtml(lines[2]!)} ${escapeHtml(lines[3]!)}</p>\n</body>`,
    ),
  };
}

export function passwordResetMail(options: { link: string; validForMinutes: number }): MailContent {
  const lines = [
    'Someone (hopefully you) asked to reset the password of your Kestra account.',
    'Open the link below to choose a new password.',
    `The link can be used once and works for ${options.validForMinutes} minutes. Resetting your password signs you out everywhere.`,
    'If you did not ask for this, ignore this message: your password stays as it is.',
  ];
  return {
    subject: 'Reset your Kestra password',
    text: `Hello,\n\n${lines.slice(0, 2).join('\n')}\n\n${options.link}\n\n${lines.slice(2).join('\n')}\n`,
    html: wrapHtml(['Hello,', ...lines.slice(0, 2)], { href: options.link, label: 'Choose a new password' }).replace(
      '</body>',
      `<p>${escapeHtml(lines[2]!)} ${escapeHtml(lines[3]!)}</p>\n</body>`,
    ),
  };
}
