import { exchange, type Answer } from '../support/perch.js';

export type { Answer };

/** A script's call: an Authorization header, no cookies, optionally an Origin. */
export function call(
  base: string, method: string, path: string,
  init: { authorization?: string; json?: unknown; body?: string; headers?: Record<string, string> } = {},
): Promise<Answer> {
  const headers: Record<string, string> = { ...init.headers };
  if (init.authorization) headers.authorization = init.authorization;
  return exchange(`${base}${path}`, method, { headers, body: init.body, json: init.json });
}

export const bearer = (token: string) => `Bearer ${token}`;
export const basic = (user: string, password: string) => `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`;
export const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
