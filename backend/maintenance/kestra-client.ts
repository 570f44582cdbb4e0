import { Pool } from 'undici';
import type { PerchConfig } from '../config/config.js';
import { KESTRA_TENANT } from '../authz/policy-map.js';
import { kestraTarget } from '../proxy/kestra-target.js';

/**
 * Perch's own calls to Kestra's API with Perch's Kestra account, for operations (maintenance, kill
 * switches): JSON in and out, every failure an error naming the call. Bounded: one pool, few connections.
 */
export class KestraFailure extends Error {}

export interface KestraAnswer {
  status: number;
  body: Buffer;
}

export class KestraClient {
  private readonly pool: Pool;
  private readonly authorization: string | undefined;
  readonly origin: string;

  constructor(config: PerchConfig['kestra']) {
    const target = kestraTarget(config);
    this.origin = target.origin;
    this.authorization = target.authorization;
    this.pool = new Pool(target.origin, { connections: 4, headersTimeout: target.timeout, bodyTimeout: target.timeout });
  }

  /** One exchange as asked (a replayed request): the path and query are sent exactly as given. */
  async send(method: string, pathAndQuery: string, headers: Record<string, string>, body?: Buffer): Promise<KestraAnswer> {
    try {
      const res = await this.pool.request({
        method: method as 'GET',
        path: pathAndQuery,
        headers: { ...headers, ...(this.authorization ? { authorization: this.authorization } : {}) },
        ...(body && body.length > 0 ? { body } : {}),
      });
      return { status: res.statusCode, body: Buffer.from(await res.body.arrayBuffer()) };
    } catch (error) {
      throw new KestraFailure(`Kestra is unreachable at ${this.origin} (${(error as { code?: string }).code ?? (error as Error).message})`);
    }
  }

  /** A JSON call to the tenant's API (`/api/v1/main/…`); a status other than 2xx is a failure. */
  async json<T>(method: string, path: string, body?: unknown): Promise<T | undefined> {
    const headers: Record<string, string> = { accept: 'application/json', ...(body !== undefined ? { 'content-type': 'application/json' } : {}) };
    const answer = await this.send(method, `/api/v1/${KESTRA_TENANT}${path}`, headers, body !== undefined ? Buffer.from(JSON.stringify(body)) : undefined);
    if (answer.status < 200 || answer.status >= 300) throw new KestraFailure(`Kestra answered ${answer.status} to ${method} /api/v1/${KESTRA_TENANT}${path}`);
    return answer.body.length > 0 ? (JSON.parse(answer.body.toString('utf8')) as T) : undefined;
  }

  close(): Promise<void> {
    return this.pool.close();
  }
}
