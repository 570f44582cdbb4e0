import { randomUUID } from 'node:crypto';
import type { Selectable } from 'kysely';
import type { ApiToken, ApiTokenList, CreateApiTokenRequest, CreateApiTokenResponse } from '../../lib/schemas/tokens.js';
import { parseIsoDuration } from '../config/config.js';
import { conflict, HttpError } from '../http/errors.js';
import { isUniqueViolation } from '../iam/iam-store.js';
import type { Store } from '../store/database.js';
import type { ApiTokensTable } from '../store/schema.js';
import { generateToken, hashToken, tokenHint } from './token-format.js';

export type ApiTokenRow = Selectable<ApiTokensTable>;

const iso = (ms: number | null) => (ms === null ? null : new Date(ms).toISOString());

export function toApiToken(row: ApiTokenRow, now = Date.now()): ApiToken {
  return {
    id: row.id,
    name: row.name,
    description: row.description,
    prefix: row.prefix,
    iat: new Date(row.created_at).toISOString(),
    exp: iso(row.expires_at),
    lastUsed: iso(row.last_used_at),
    extended: row.extended === 1,
    expired: row.expires_at !== null && row.expires_at <= now,
  };
}

/** `maxAge` in milliseconds, or null (never expires) when blank. */
export function maxAgeMs(maxAge: string | null | undefined): number | null {
  if (maxAge === undefined || maxAge === null || maxAge.trim() === '') return null;
  const ms = parseIsoDuration(maxAge.trim());
  if (ms === null || ms <= 0) {
    const message = `"${maxAge}" is not a positive ISO-8601 duration of at most 100 years, such as P30D or PT12H`;
    throw new HttpError(422, `Invalid request: maxAge: ${message}`, { errors: [{ path: 'maxAge', message }] });
  }
  return ms;
}

/** Creates a token for a user or service account; the secret is in the answer and nowhere else. */
export async function createApiToken(db: Store, userId: string, request: CreateApiTokenRequest, createdBy: string | null): Promise<CreateApiTokenResponse> {
  const maxAge = maxAgeMs(request.maxAge);
  const token = generateToken();
  const now = Date.now();
  const row: ApiTokenRow = {
    id: randomUUID(),
    user_id: userId,
    name: request.name,
    description: request.description ?? null,
    secret_hash: hashToken(token),
    prefix: tokenHint(token),
    created_at: now,
    created_by: createdBy,
    expires_at: maxAge === null ? null : now + maxAge,
    max_age_ms: maxAge,
    extended: request.extended && maxAge !== null ? 1 : 0,
    last_used_at: null,
  };
  try {
    await db.insertInto('api_tokens').values(row).execute();
  } catch (error) {
    if (isUniqueViolation(error)) throw conflict(`An API token named ${request.name} already exists for this account`);
    throw error;
  }
  return { id: row.id, name: row.name, fullToken: token, prefix: row.prefix, exp: iso(row.expires_at) };
}

export async function listApiTokens(db: Store, userId: string): Promise<ApiTokenList> {
  const rows = await db.selectFrom('api_tokens').selectAll().where('user_id', '=', userId).orderBy('created_at', 'desc').orderBy('id').execute();
  const now = Date.now();
  return { total: rows.length, results: rows.map((r) => toApiToken(r, now)) };
}

/** True when the user had this token. */
export async function deleteApiToken(db: Store, userId: string, tokenId: string): Promise<boolean> {
  const result = await db.deleteFrom('api_tokens').where('user_id', '=', userId).where('id', '=', tokenId).executeTakeFirst();
  return Number(result.numDeletedRows) > 0;
}

export async function tokenIdsOf(db: Store, userId: string): Promise<string[]> {
  return (await db.selectFrom('api_tokens').select('id').where('user_id', '=', userId).execute()).map((r) => r.id);
}
