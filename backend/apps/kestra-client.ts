import { Pool, type Dispatcher } from 'undici';
import type { PerchContext } from '../context.js';
import { HttpError } from '../http/errors.js';
import { kestraTarget } from '../proxy/kestra-target.js';

/**
 * The few Kestra calls an app makes, with Perch's own Kestra account (the app runs "as the app"): read
 * its flow, start an execution, read and follow it, resume or kill it, read its logs and one file.
 * Nothing else of Kestra is reachable from an app's pages. Kestra's failures become 502/503/504 here,
 * never a page that leaks Kestra's answer.
 */

export class KestraUnavailable extends HttpError {}

export interface KestraExecution {
  id: string;
  namespace: string;
  flowId: string;
  state: { current: string };
  inputs?: Record<string, unknown>;
  outputs?: Record<string, unknown>;
  labels?: { key: string; value: string }[];
  taskRunList?: { id: string; taskId: string; state: { current: string } }[];
}

export interface KestraFlow {
  id: string;
  namespace: string;
  disabled?: boolean;
  inputs?: Record<string, unknown>[];
  outputs?: Record<string, unknown>[];
  tasks?: Record<string, unknown>[];
}

export interface KestraLog {
  taskId?: string | null;
  level: string;
  message: string;
  timestamp: string;
}

const seg = encodeURIComponent;

export class AppKestraClient {
  private readonly pool: Pool;
  private readonly headers: Record<string, string>;
  readonly tenant = 'main';

  constructor(ctx: PerchContext) {
    const target = kestraTarget(ctx.config.kestra);
    this.pool = new Pool(target.origin, { connections: 16, headersTimeout: target.timeout, bodyTimeout: target.timeout });
    this.headers = target.authorization ? { authorization: target.authorization } : {};
  }

  private async call(method: Dispatcher.HttpMethod, path: string, options: { body?: Buffer; contentType?: string; accept?: string } = {}) {
    try {
      return await this.pool.request({
        method,
        path: `/api/v1/${this.tenant}${path}`,
        headers: { ...this.headers, accept: options.accept ?? 'application/json', ...(options.contentType ? { 'content-type': options.contentType } : {}) },
        body: options.body,
      });
    } catch (error) {
      const code = (error as { code?: string }).code ?? (error as Error).message;
      throw new KestraUnavailable(/TIMEOUT/i.test(code) ? 504 : 503, `Kestra is not answering (${code})`);
    }
  }

  /** The JSON answer of a call, 404 as null; any other failure as an HttpError naming Kestra's status and message. */
  private async json<T>(method: Dispatcher.HttpMethod, path: string, options: { body?: Buffer; contentType?: string } = {}): Promise<T | null> {
    const res = await this.call(method, path, options);
    if (res.statusCode === 404) {
      await res.body.dump();
      return null;
    }
    const text = await res.body.text();
    if (res.statusCode >= 200 && res.statusCode < 300) return (text ? JSON.parse(text) : null) as T;
    let message = `Kestra answered ${res.statusCode}`;
    try {
      const body = JSON.parse(text) as { message?: unknown };
      if (typeof body.message === 'string') message = body.message;
    } catch {
      /* not JSON */
    }
    if (res.statusCode === 401 || res.statusCode === 403) throw new KestraUnavailable(502, 'Kestra refused the credentials Perch is configured with');
    // Kestra's own validation (inputs, state) reads as the caller's mistake; anything else as Kestra's.
    throw new HttpError(res.statusCode >= 500 ? 502 : res.statusCode === 400 ? 422 : res.statusCode, message);
  }

  flow(namespace: string, id: string): Promise<KestraFlow | null> {
    return this.json<KestraFlow>('GET', `/flows/${seg(namespace)}/${seg(id)}`);
  }

  /** Starts the flow with a multipart body of inputs, labelled with the app that started it. */
  async createExecution(namespace: string, flowId: string, form: { body: Buffer; contentType: string }, appUid: string): Promise<KestraExecution> {
    // Kestra refuses `system.` labels from callers (ExecutionController.parseLabels), so not EE's `system.app`.
    const labels = `labels=${seg(`perch.app:${appUid}`)}`;
    const created = await this.json<KestraExecution>('POST', `/executions/${seg(namespace)}/${seg(flowId)}?${labels}`, form);
    if (!created) throw new HttpError(404, `Flow ${namespace}.${flowId} not found in Kestra`);
    return created;
  }

  execution(id: string): Promise<KestraExecution | null> {
    return this.json<KestraExecution>('GET', `/executions/${seg(id)}`);
  }

  async pausedExecutions(namespace: string, flowId: string): Promise<KestraExecution[]> {
    const q = `filters[namespace][EQUALS]=${seg(namespace)}&filters[flowId][EQUALS]=${seg(flowId)}&filters[state][EQUALS]=PAUSED&size=100`;
    return (await this.json<{ results: KestraExecution[] }>('GET', `/executions/search?${q}`))?.results ?? [];
  }

  async resume(id: string, form: { body: Buffer; contentType: string }): Promise<void> {
    await this.json('POST', `/executions/${seg(id)}/actions/resume`, form);
  }

  async kill(id: string): Promise<void> {
    await this.json('DELETE', `/executions/${seg(id)}/actions/kill`);
  }

  async logs(id: string, minLevel?: string): Promise<KestraLog[]> {
    return (await this.json<KestraLog[]>('GET', `/logs/${seg(id)}${minLevel ? `?minLevel=${seg(minLevel)}` : ''}`)) ?? [];
  }

  /** One file of the execution, streamed; null when Kestra has no such file. */
  async file(id: string, uri: string): Promise<Dispatcher.ResponseData | null> {
    const res = await this.call('GET', `/executions/${seg(id)}/file?path=${seg(uri)}`, { accept: 'application/octet-stream' });
    if (res.statusCode === 200) return res;
    await res.body.dump();
    if (res.statusCode === 404 || res.statusCode === 422 || res.statusCode === 400) return null;
    throw new KestraUnavailable(502, `Kestra answered ${res.statusCode} for a file of execution ${id}`);
  }

  /** Kestra's SSE of the execution (each event an Execution), for the page to follow. */
  async follow(id: string): Promise<Dispatcher.ResponseData> {
    const res = await this.pool.request({
      method: 'GET',
      path: `/api/v1/${this.tenant}/executions/${seg(id)}/follow`,
      headers: { ...this.headers, accept: 'text/event-stream' },
      bodyTimeout: 0,
    }).catch((error: { code?: string; message: string }) => {
      throw new KestraUnavailable(503, `Kestra is not answering (${error.code ?? error.message})`);
    });
    if (res.statusCode !== 200) {
      await res.body.dump();
      throw new KestraUnavailable(502, `Kestra answered ${res.statusCode} when asked to follow execution ${id}`);
    }
    return res;
  }

  close(): Promise<void> {
    return this.pool.close();
  }
}
