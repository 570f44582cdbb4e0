import type { Transporter } from 'nodemailer';
import type { PerchConfig } from '../config/config.js';
import type { MailContent } from './messages.js';

export interface Mailer {
  /** False when no SMTP host is configured: callers show links to the admin instead. */
  readonly enabled: boolean;
  /** Sends one message; rejects when the SMTP server refuses it or cannot be reached. */
  send(to: string, content: MailContent): Promise<void>;
  close(): void;
}

/** Nodemailer over SMTP, configured by `mail.smtp.*`. */
export function createMailer(config: PerchConfig['mail']): Mailer {
  const smtp = config.smtp;
  if (!smtp.host) {
    return {
      enabled: false,
      send: async () => {
        throw new Error('Mail is not configured (mail.smtp.host)');
      },
      close: () => {},
    };
  }
  // Loaded at the first mail: a Perch that sends none should not carry the SMTP client in memory.
  let transport: Promise<Transporter> | undefined;
  const open = () =>
    (transport ??= import('nodemailer').then(({ default: nodemailer }) =>
      nodemailer.createTransport({
        host: smtp.host,
        port: smtp.port,
        secure: smtp.secure,
        auth: smtp.user ? { user: smtp.user, pass: smtp.password ?? '' } : undefined,
        connectionTimeout: 10_000,
        greetingTimeout: 10_000,
        socketTimeout: 30_000,
      }),
    ));
  return {
    enabled: true,
    async send(to, content) {
      await (await open()).sendMail({ from: smtp.from, to, subject: content.subject, text: content.text, html: content.html });
    },
    close: () => void transport?.then((t) => t.close()),
  };
}
