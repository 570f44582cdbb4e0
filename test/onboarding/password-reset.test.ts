import { createHash } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { passwordProblem } from '../../backend/auth/passwords.js';
import { parseConfig } from '../../backend/config/config.js';
import { storeTargets } from '../support/databases.js';
import { Browser, exchange, startSignedIn, type RunningPerch } from '../support/perch.js';
import { linkIn, startSmtp, tokenOf } from './smtp.js';

const RESET = '/perch/reset-password';
const OLD = 'the old long password';
const NEW = 'the brand new password';
const quiet = () => new Promise((r) => setTimeout(r, 300));

for (const target of storeTargets()) {
  describe.skipIf(!target.available)(`password reset (${target.name})`, () => {
    let smtp: Awaited<ReturnType<typeof startSmtp>>;
    let perch: RunningPerch;
    let admin: Browser;
    let userId: string;

    beforeAll(async () => {
      smtp = await startSmtp();
      ({ perch, admin } = await startSignedIn({
        databaseUrl: await target.url(),
        config: { mail: { smtp: { host: '127.0.0.1', port: smtp.port } }, login: { maxFailures: 3 } },
      }));
      const created = await admin.fetch('POST', '/api/v1/users', { json: { email: 'forgetful@example.com', password: OLD } });
      expect(created.status).toBe(201);
      userId = created.json.id;
    });
    afterAll(async () => {
      await perch?.close();
      await smtp?.close();
    });

    const forgot = (username: string) => exchange(`${perch.url}/api/v1/forgotten-password`, 'POST', { json: { username } });
    const reset = (token: string, password: string) => exchange(`${perch.url}/api/v1/reset-password`, 'POST', { json: { token, password } });

    it('answers 200 for an unknown email and sends nothing', async () => {
      const res = await forgot('nobody@example.com');
      expect(res.status).toBe(200);
      expect(res.json).toEqual({});
      await quiet();
      expect(smtp.messages).toHaveLength(0);
    });

    it('mails a single-use link that sets the password, ends every session and lifts a lockout', async () => {
      const session = new Browser(perch);
      await session.login('forgetful@example.com', OLD);
      // Lock the account.
      for (let i = 0; i < 3; i++) await new Browser(perch).fetch('POST', '/perch/api/login', { json: { username: 'forgetful@example.com', password: `wrong ${i}` } });
      expect((await new Browser(perch).fetch('POST', '/perch/api/login', { json: { username: 'forgetful@example.com', password: OLD } })).status).toBe(429);

      const res = await forgot('Forgetful@Example.com');
      expect(res.status).toBe(200);
      const [mail] = await smtp.waitFor(1);
      expect(mail!.to).toEqual(['forgetful@example.com']);
      expect(mail!.raw).toMatch(/Subject: Reset your Kestra password/);
      const token = tokenOf(linkIn(mail!, RESET));
      const row = await perch.perch.ctx.db.selectFrom('password_resets').selectAll().where('user_id', '=', userId).executeTakeFirstOrThrow();
      expect(row.token_hash).toBe(createHash('sha256').update(token).digest('hex'));
      expect(Number(row.expires_at) - Number(row.created_at)).toBe(3_600_000);

      expect((await exchange(`${perch.url}${RESET}?token=${token}`, 'GET')).status).toBe(200);

      // A password breaking the rules is refused with the reason, and the link stays usable.
      const weak = await reset(token, 'short');
      expect(weak.status).toBe(422);
      expect(weak.json.message).toBe('Password must be at least 12 characters long');

      const done = await reset(token, NEW);
      expect(done.status).toBe(200);
      expect((await session.fetch('GET', '/api/v1/me')).status).toBe(401);
      expect((await new Browser(perch).fetch('POST', '/perch/api/login', { json: { username: 'forgetful@example.com', password: OLD } })).status).toBe(401);
      await new Browser(perch).login('forgetful@example.com', NEW);

      const again = await reset(token, 'yet another long password');
      expect(again.status).toBe(410);
      expect(again.json.message).toMatch(/already been used/);
    });

    it('sends at most one mail per account within the cooldown', async () => {
      const before = smtp.messages.length;
      expect((await forgot('forgetful@example.com')).status).toBe(200);
      await quiet();
      expect(smtp.messages).toHaveLength(before);
    });

    it('refuses a link older than its hour', async () => {
      // Lift the cooldown, ask again, then age the new link.
      await perch.perch.ctx.db.updateTable('password_resets').set({ created_at: 0 }).where('user_id', '=', userId).execute();
      const before = smtp.messages.length;
      expect((await forgot('forgetful@example.com')).status).toBe(200);
      const mails = await smtp.waitFor(before + 1);
      const token = tokenOf(linkIn(mails[before]!, RESET));
      await perch.perch.ctx.db.updateTable('password_resets').set({ expires_at: Date.now() - 1 }).where('user_id', '=', userId).execute();
      const res = await reset(token, 'a password that is late');
      expect(res.status).toBe(410);
      expect(res.json.message).toMatch(/expired/);
      expect((await exchange(`${perch.url}${RESET}?token=${token}`, 'GET')).status).toBe(410);
      expect((await reset('made-up', 'a password that is late')).status).toBe(404);
    });

    it('resets through the HTML form', async () => {
      expect((await exchange(`${perch.url}/perch/login`, 'GET')).text).toContain('href="/perch/forgotten-password"');
      await perch.perch.ctx.db.updateTable('password_resets').set({ created_at: 0 }).where('user_id', '=', userId).execute();
      const before = smtp.messages.length;
      const form = await exchange(`${perch.url}/perch/forgotten-password`, 'POST', {
        body: 'username=forgetful%40example.com',
        headers: { 'content-type': 'application/x-www-form-urlencoded', origin: perch.origin },
      });
      expect(form.status).toBe(200);
      const mails = await smtp.waitFor(before + 1);
      const token = tokenOf(linkIn(mails[before]!, RESET));
      const res = await exchange(`${perch.url}${RESET}`, 'POST', {
        body: new URLSearchParams({ token, password: 'the form-set password' }).toString(),
        headers: { 'content-type': 'application/x-www-form-urlencoded', origin: perch.origin },
      });
      expect(res.status).toBe(200);
      expect(res.text).toMatch(/Your password has been changed/);
      await new Browser(perch).login('forgetful@example.com', 'the form-set password');
    });

    it('answers before it looks at the account, so the answer’s timing cannot tell whether it exists', async () => {
      await perch.perch.ctx.db.updateTable('password_resets').set({ created_at: 0 }).where('user_id', '=', userId).execute();
      const before = smtp.messages.length;
      // Hold the account's work (its link is audited before it is mailed) until the answer is in.
      const audit = perch.perch.ctx.audit;
      const record = audit.record.bind(audit);
      let release!: () => void;
      const held = new Promise<void>((resolve) => (release = resolve));
      audit.record = async (entry) => {
        await held;
        return record(entry);
      };
      try {
        const res = await forgot('forgetful@example.com');
        expect(res.status).toBe(200);
        expect(smtp.messages).toHaveLength(before);
      } finally {
        audit.record = record;
        release();
      }
      const mails = await smtp.waitFor(before + 1);
      expect(linkIn(mails[before]!, RESET)).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/perch\/reset-password\?token=/);
    });

    it('builds the mailed link from publicUrl, whatever Host the request named', async () => {
      await perch.perch.ctx.db.updateTable('password_resets').set({ created_at: 0 }).where('user_id', '=', userId).execute();
      const before = smtp.messages.length;
      const res = await exchange(`${perch.url}/api/v1/forgotten-password`, 'POST', { json: { username: 'forgetful@example.com' }, headers: { host: 'attacker.example', 'x-forwarded-host': 'attacker.example' } });
      expect(res.status).toBe(200);
      const mails = await smtp.waitFor(before + 1);
      const link = linkIn(mails[before]!, RESET);
      expect(new URL(link).origin).toBe(perch.perch.ctx.config.publicUrl);
      expect(mails[before]!.raw).not.toContain('attacker.example');
    });
  });
}

describe('mail and publicUrl', () => {
  it('refuses mail without publicUrl: a mailed link would otherwise follow the Host header of whoever asked', () => {
    expect(() => parseConfig({ mail: { smtp: { host: 'smtp.example.com' } } })).toThrow(/^Invalid configuration: publicUrl \(PERCH_PUBLIC_URL\): is required when mail\.smtp\.host is set/);
    expect(parseConfig({ mail: { smtp: { host: 'smtp.example.com' } }, publicUrl: 'https://kestra.example.com' }).publicUrl).toBe('https://kestra.example.com');
  });
});

describe('password rules', () => {
  it('are configurable, off beyond length by default, with clear messages', () => {
    const defaults = parseConfig({}).password;
    expect(passwordProblem('all lower case words', defaults)).toBeNull();
    const strict = parseConfig({ password: { minLength: 10, minDigits: 2, minLowerCase: 1, minUpperCase: 1, minSpecial: 1 } }).password;
    expect(passwordProblem('short', strict)).toBe('Password must be at least 10 characters long');
    expect(passwordProblem('abcdefghijk', strict)).toBe('Password must contain at least 2 digits');
    expect(passwordProblem('ABCDEFGHIJ12', strict)).toBe('Password must contain at least 1 lower-case letter');
    expect(passwordProblem('abcdefghij12', strict)).toBe('Password must contain at least 1 upper-case letter');
    expect(passwordProblem('Abcdefghij12', strict)).toBe('Password must contain at least 1 special character (not a letter or digit)');
    expect(passwordProblem('Abcdefghij12!', strict)).toBeNull();
    expect(() => parseConfig({ password: { minDigits: -1 } })).toThrow(/password\.minDigits/);
  });

  describe('applied by the API', () => {
    let perch: RunningPerch;
    let admin: Browser;
    beforeAll(async () => {
      ({ perch, admin } = await startSignedIn({ config: { passwordReset: { maxRequestsPerIp: 2 } } }));
      // As if configured with password.minDigits: 1 (the test instance owner's password has no digit).
      perch.perch.ctx.config.password.minDigits = 1;
    });
    afterAll(() => perch?.close());

    it('checks a password with validate-password, user creation and password change', async () => {
      const bad = await exchange(`${perch.url}/api/v1/validate-password`, 'POST', { body: 'no digits here at all', headers: { 'content-type': 'text/plain' } });
      expect(bad.status).toBe(422);
      expect(bad.json.message).toBe('Password must contain at least 1 digit');
      const good = await exchange(`${perch.url}/api/v1/validate-password`, 'POST', { body: 'one digit: 1 is enough', headers: { 'content-type': 'text/plain' } });
      expect(good.status).toBe(200);
      const created = await admin.fetch('POST', '/api/v1/users', { json: { email: 'rules@example.com', password: 'no digits here at all' } });
      expect(created.status).toBe(422);
      expect(created.json.message).toBe('Password must contain at least 1 digit');

      await admin.fetch('POST', '/api/v1/users', { json: { email: 'rules@example.com', password: 'with a digit 1 inside' } });
      const person = new Browser(perch);
      await person.login('rules@example.com', 'with a digit 1 inside');
      const other = new Browser(perch);
      await other.login('rules@example.com', 'with a digit 1 inside');
      const change = await person.fetch('PUT', '/api/v1/me/password', { json: { oldPassword: 'with a digit 1 inside', newPassword: 'still no digits in it' } });
      expect(change.status).toBe(422);
      expect(change.json.message).toBe('Password must contain at least 1 digit');
      const ok = await person.fetch('PUT', '/api/v1/me/password', { json: { oldPassword: 'with a digit 1 inside', newPassword: 'now with digit 2 too' } });
      expect(ok.status).toBeLessThan(300);
      // The change ends the other sessions, not this one.
      expect((await other.fetch('GET', '/api/v1/me')).status).toBe(401);
      expect((await person.fetch('GET', '/api/v1/me')).status).toBe(200);
    });

    it('without mail, offers no reset link and promises none', async () => {
      expect((await exchange(`${perch.url}/perch/login`, 'GET')).text).not.toContain('forgotten-password');
      expect((await exchange(`${perch.url}/perch/forgotten-password`, 'GET')).text).toMatch(/sends no mail.*ask an administrator/);
      const posted = await exchange(`${perch.url}/perch/forgotten-password`, 'POST', {
        body: 'username=rules%40example.com',
        headers: { 'content-type': 'application/x-www-form-urlencoded', origin: perch.origin },
      });
      expect(posted.status).toBe(200);
      expect(posted.text).not.toMatch(/on its way/);
      expect(posted.text).toMatch(/sends no mail/);
    });

    it('limits forgotten-password requests per client address, without mail configured', async () => {
      const ask = () => exchange(`${perch.url}/api/v1/forgotten-password`, 'POST', { json: { username: 'rules@example.com' } });
      expect((await ask()).status).toBe(200);
      expect((await ask()).status).toBe(200);
      const third = await ask();
      expect(third.status).toBe(429);
      expect(third.headers['retry-after']).toBeDefined();
    });
  });
});

