/**
 * A real OpenID Connect provider (the `oidc-provider` package) on loopback, with its built-in
 * development login and consent pages, and a tiny HTTP "browser" that drives a whole sign-in
 * through Perch and the provider by following redirects by hand and keeping each site's cookies.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import Provider from 'oidc-provider';
import { request } from 'undici';

export interface IdpAccount {
  email?: string;
  email_verified?: boolean;
  groups?: string[];
  given_name?: string;
  family_name?: string;
}

export const CLIENT_ID = 'perch';
export const CLIENT_SECRET = 'a-long-client-secret-for-the-perch-tests-0123456789';

export interface TestIdp {
  issuer: string;
  /** Claims by login name (the dev login form's "login" field becomes the subject). */
  accounts: Map<string, IdpAccount>;
  /** Registers Perch's callback (known only once Perch listens) and starts answering. */
  register(redirectUri: string): void;
  close(): Promise<void>;
}

export async function startIdp(): Promise<TestIdp> {
  let handler: ((req: import('node:http').IncomingMessage, res: import('node:http').ServerResponse) => void) | undefined;
  const server: Server = createServer((req, res) => {
    if (!handler) {
      res.statusCode = 503;
      res.end('not ready');
      return;
    }
    handler(req, res);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const issuer = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const accounts = new Map<string, IdpAccount>();
  return {
    issuer,
    accounts,
    register(redirectUri) {
      const provider = new Provider(issuer, {
        clients: [{ client_id: CLIENT_ID, client_secret: CLIENT_SECRET, redirect_uris: [redirectUri], grant_types: ['authorization_code'], response_types: ['code'] }],
        async findAccount(_ctx: unknown, sub: string) {
          const account = accounts.get(sub);
          if (!account) return undefined;
          return { accountId: sub, claims: async () => ({ sub, ...account }) };
        },
        claims: { openid: ['sub'], email: ['email', 'email_verified'], profile: ['given_name', 'family_name'], groups: ['groups'] },
        scopes: ['openid', 'email', 'profile', 'groups', 'offline_access'],
        features: { devInteractions: { enabled: true } },
        cookies: { keys: ['test-cookie-key-0123456789abcdef'] },
      });
      handler = provider.callback();
    },
    async close() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

export interface Hop {
  url: string;
  status: number;
  location?: string;
  text: string;
  headers: Record<string, string | string[] | undefined>;
}

/** Cookies per origin (paths ignored: enough for these two sites), and redirects followed by hand. */
export class Agent {
  readonly jars = new Map<string, Map<string, string>>();
  /** Every hop of the last `go`, for assertions on the path taken. */
  hops: Hop[] = [];

  jar(origin: string): Map<string, string> {
    let jar = this.jars.get(origin);
    if (!jar) this.jars.set(origin, (jar = new Map()));
    return jar;
  }

  private absorb(origin: string, setCookie: string | string[] | undefined) {
    const jar = this.jar(origin);
    for (const line of [setCookie ?? []].flat()) {
      const [pair] = line.split(';');
      const index = pair!.indexOf('=');
      const name = pair!.slice(0, index).trim();
      const value = pair!.slice(index + 1).trim();
      if (value === '' || /max-age=0|expires=thu, 01 jan 1970/i.test(line)) jar.delete(name);
      else jar.set(name, value);
    }
  }

  async send(method: 'GET' | 'POST', url: string, form?: Record<string, string>): Promise<Hop> {
    const target = new URL(url);
    const jar = this.jar(target.origin);
    const headers: Record<string, string> = {};
    if (jar.size) headers.cookie = [...jar].map(([k, v]) => `${k}=${v}`).join('; ');
    let body: string | undefined;
    if (form) {
      body = new URLSearchParams(form).toString();
      headers['content-type'] = 'application/x-www-form-urlencoded';
      headers.origin = target.origin;
    }
    const res = await request(url, { method, headers, body });
    const text = await res.body.text();
    this.absorb(target.origin, res.headers['set-cookie']);
    const location = res.headers.location;
    return { url, status: res.statusCode, location: typeof location === 'string' ? new URL(location, url).href : undefined, text, headers: res.headers };
  }

  /** Follows redirects (303 and 302 become GET) until a page answers; stops at `stopAt` URLs if given. */
  async go(method: 'GET' | 'POST', url: string, form?: Record<string, string>, stopAt?: (url: string) => boolean): Promise<Hop> {
    this.hops = [];
    let hop = await this.send(method, url, form);
    this.hops.push(hop);
    for (let i = 0; i < 20 && hop.status >= 300 && hop.status < 400 && hop.location; i++) {
      if (stopAt?.(hop.location)) return hop;
      hop = await this.send('GET', hop.location);
      this.hops.push(hop);
    }
    return hop;
  }

  /** Submits the single form of a provider page, with its hidden fields plus `fields`. */
  async submitForm(page: Hop, fields: Record<string, string> = {}, stopAt?: (url: string) => boolean): Promise<Hop> {
    const action = /<form[^>]*action="([^"]+)"/.exec(page.text)?.[1];
    if (!action) throw new Error(`no form on ${page.url}: ${page.text.slice(0, 300)}`);
    const form: Record<string, string> = {};
    for (const m of page.text.matchAll(/<input[^>]*type="hidden"[^>]*name="([^"]+)"[^>]*value="([^"]*)"/g)) form[m[1]!] = m[2]!;
    const decode = (s: string) => s.replace(/&amp;/g, '&').replace(/&#x2F;/gi, '/').replace(/&quot;/g, '"');
    return this.go('POST', new URL(decode(action), page.url).href, { ...form, ...fields }, stopAt);
  }
}
