import ky, { HTTPError, type Options } from 'ky';
import { EventSourceParserStream } from 'eventsource-parser/stream';
import type { z } from 'zod';
import { clearCache } from './cache';

/**
 * The one HTTP client of Perch's screens. Same origin as the page (Perch serves the Kestra UI), the
 * session cookie goes along, every answer is checked against its zod schema before a screen sees it.
 */
const http = ky.create({
  prefixUrl: location.origin,
  credentials: 'same-origin',
  retry: 0,
  timeout: 30_000,
  headers: { accept: 'application/json' },
});

/** A refusal or failure from Perch, with its JSON `message` when it sent one. */
export class ApiError extends Error {
  constructor(message: string, readonly status: number, readonly details?: unknown) {
    super(message);
  }
}

async function toApiError(error: unknown): Promise<ApiError> {
  if (error instanceof HTTPError) {
    const body = (await error.response.json().catch(() => undefined)) as { message?: string } | undefined;
    return new ApiError(body?.message ?? `${error.response.status} ${error.response.statusText}`, error.response.status, body);
  }
  if (error instanceof ApiError) return error;
  return new ApiError(error instanceof Error ? error.message : String(error), 0);
}

function relative(path: string): string {
  return path.replace(/^\//, '');
}

/** GET and validate. */
export async function getJson<S extends z.ZodType>(path: string, schema: S, options: Options = {}): Promise<z.infer<S>> {
  let body: unknown;
  try {
    body = await http.get(relative(path), options).json();
  } catch (error) {
    throw await toApiError(error);
  }
  const parsed = schema.safeParse(body);
  if (!parsed.success) throw new ApiError(`Perch answered ${path} with an unexpected shape: ${parsed.error.issues[0]?.message ?? 'invalid'}`, 0);
  return parsed.data;
}

/**
 * A write (POST, PUT, PATCH, DELETE). Cached lists are dropped afterwards, so the next screen shows
 * what the write changed.
 */
export async function send<S extends z.ZodType | undefined = undefined>(
  method: 'post' | 'put' | 'patch' | 'delete',
  path: string,
  body?: unknown,
  schema?: S,
): Promise<S extends z.ZodType ? z.infer<S> : void> {
  try {
    const response = await http(relative(path), { method, ...(body === undefined ? {} : { json: body }) });
    await clearCache();
    if (!schema) return undefined as never;
    const parsed = schema.safeParse(await response.json());
    if (!parsed.success) throw new ApiError(`Perch answered ${path} with an unexpected shape`, 0);
    return parsed.data as never;
  } catch (error) {
    throw await toApiError(error);
  }
}

/** A write whose body is YAML text (EE's app sources), checked like {@link send}'s answers. */
export async function sendYaml<S extends z.ZodType>(method: 'post' | 'put', path: string, yaml: string, schema: S): Promise<z.infer<S>> {
  try {
    const response = await http(relative(path), { method, body: yaml, headers: { 'content-type': 'application/x-yaml' } });
    await clearCache();
    const parsed = schema.safeParse(await response.json());
    if (!parsed.success) throw new ApiError(`Perch answered ${path} with an unexpected shape`, 0);
    return parsed.data;
  } catch (error) {
    throw await toApiError(error);
  }
}

/**
 * POST and read the answer as server-sent events, each (its data parsed as JSON) handed to `onEvent`
 * as it arrives. A refusal before the stream starts (its HTTP status) throws an ApiError like the other calls.
 */
export async function postForEvents(path: string, body: unknown, onEvent: (event: { event: string; data: unknown }) => void): Promise<void> {
  let response: Response;
  try {
    // No client timeout: Perch bounds the provider's answers (ai.providers[].timeoutSeconds, ai.maxAttempts).
    response = await http.post(relative(path), { json: body, timeout: false, headers: { accept: 'text/event-stream' } });
  } catch (error) {
    throw await toApiError(error);
  }
  if (!response.body) throw new ApiError(`Perch answered ${path} with no body`, response.status);
  const reader = response.body.pipeThrough(new TextDecoderStream()).pipeThrough(new EventSourceParserStream()).getReader();
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) return;
      let data: unknown;
      try {
        data = JSON.parse(value.data);
      } catch {
        throw new ApiError(`Perch streamed an event that is not JSON on ${path}`, response.status);
      }
      onEvent({ event: value.event ?? 'message', data });
    }
  } catch (error) {
    // A refused event (or one the caller threw on) ends the stream here.
    await reader.cancel().catch(() => {});
    throw error;
  }
}

/** The current tenant's API prefix: `/api/v1/main`. */
export function tenantApi(tenant: string, rest: string): string {
  return `/api/v1/${encodeURIComponent(tenant)}/${rest.replace(/^\//, '')}`;
}
