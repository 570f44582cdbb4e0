import { request } from 'undici';
import { SecretBackendUnavailable } from './secret-backend.js';

export interface ManagerCall {
  method: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';
  headers?: Record<string, string>;
  body?: unknown;
  timeoutMs: number;
}

/**
 * One JSON call to a manager's HTTP API (for the managers Perch calls without an SDK). A network
 * failure or a timeout is the manager being unreachable (502 naming it); an answer that is not JSON
 * leaves `json` undefined, so the caller judges it by its status instead of failing on the parse.
 */
export async function callManager(manager: string, url: string, call: ManagerCall): Promise<{ status: number; json: any }> {
  const headers: Record<string, string> = { accept: 'application/json', ...call.headers };
  if (call.body !== undefined) headers['content-type'] = 'application/json';
  let answer;
  try {
    answer = await request(url, {
      method: call.method, headers, body: call.body === undefined ? undefined : JSON.stringify(call.body),
      headersTimeout: call.timeoutMs, bodyTimeout: call.timeoutMs,
    });
  } catch (error) {
    throw new SecretBackendUnavailable(manager, (error as Error).message);
  }
  const text = await answer.body.text();
  let json: any;
  try {
    json = text ? JSON.parse(text) : undefined;
  } catch {
    json = undefined;
  }
  return { status: answer.statusCode, json };
}
