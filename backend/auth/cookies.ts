import type { FastifyReply, FastifyRequest } from 'fastify';
import type { PerchConfig } from '../config/config.js';

/** Cookie names and attributes in one place; `__Host-` needs Secure, so plain http uses a bare name. */
export interface CookiePolicy {
  secure: boolean;
  sessionCookie: string;
  maxAgeSeconds: number;
}

/** Kestra 2.0's UI reads this flag to decide it is logged in; 1.x reads BASIC_AUTH's presence. */
export const KESTRA_LOGIN_FLAG = 'kestraBasicAuthenticated';
export const KESTRA_1X_LOGIN_FLAG = 'BASIC_AUTH';

export function cookiePolicy(config: PerchConfig): CookiePolicy {
  const secure = config.publicUrl?.startsWith('https:') ?? false;
  return { secure, sessionCookie: secure ? '__Host-perch_session' : 'perch_session', maxAgeSeconds: Math.floor(config.session.absoluteTimeout / 1000) };
}

export function readSessionToken(request: FastifyRequest, policy: CookiePolicy): string | undefined {
  return request.cookies[policy.sessionCookie];
}

export function setLoginCookies(reply: FastifyReply, policy: CookiePolicy, token: string): void {
  const base = { path: '/', secure: policy.secure, sameSite: 'lax' as const, maxAge: policy.maxAgeSeconds };
  reply.setCookie(policy.sessionCookie, token, { ...base, httpOnly: true });
  // Readable placeholders: they carry no secret and Perch never forwards cookies to Kestra.
  reply.setCookie(KESTRA_LOGIN_FLAG, 'true', base);
  reply.setCookie(KESTRA_1X_LOGIN_FLAG, 'perch', base);
}

export function clearLoginCookies(reply: FastifyReply, policy: CookiePolicy): void {
  const base = { path: '/', secure: policy.secure, sameSite: 'lax' as const };
  reply.clearCookie(policy.sessionCookie, { ...base, httpOnly: true });
  reply.clearCookie(KESTRA_LOGIN_FLAG, base);
  reply.clearCookie(KESTRA_1X_LOGIN_FLAG, base);
}
