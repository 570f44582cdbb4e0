import { expect } from 'vitest';
import { Browser, type RunningPerch } from '../support/perch.js';

export const PASSWORD = 'a long enough password';

let people = 0;

/** Creates a user through the users API (as an instance owner) and returns its id. */
export async function createPerson(admin: Browser, prefix = 'person'): Promise<{ id: string; email: string }> {
  const email = `${prefix}-${++people}@example.com`;
  const res = await admin.fetch('POST', '/api/v1/users', { json: { email, password: PASSWORD } });
  expect(res.status, res.text).toBe(201);
  return { id: res.json.id as string, email };
}

/** A signed-in browser for a new user. */
export async function signedInPerson(perch: RunningPerch, admin: Browser, prefix = 'person') {
  const person = await createPerson(admin, prefix);
  const browser = new Browser(perch);
  await browser.login(person.email, PASSWORD);
  return { ...person, browser };
}

/** Binds a role through the API as the instance owner; returns the binding id. */
export async function bind(admin: Browser, body: { type: 'USER' | 'GROUP'; externalId: string; roleId: string; namespaceId?: string | null }): Promise<string> {
  const res = await admin.fetch('POST', '/api/v1/main/bindings', { json: body });
  expect(res.status, res.text).toBe(200);
  return res.json.id as string;
}
