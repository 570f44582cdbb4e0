import { callManager, type ManagerCall } from './manager-http.js';
import { SecretBackendUnavailable, SecretValueMissing, type SecretBackend, type SecretRef } from './secret-backend.js';

export interface DopplerSettings {
  /** A service token or service-account token with write access to the config. */
  token: string;
  project: string;
  config: string;
  /** Another API than Doppler's (a test server). */
  apiUrl?: string;
  timeoutMs: number;
  prefix: string;
  readOnly: boolean;
}

/**
 * The Doppler name of a value. Doppler keeps flat, upper-case names (letters, digits, `_`) per config,
 * and a Perch key is already unique per tenant, so: `<PREFIX><TENANT>__<KEY>`, the tenant upper-cased
 * with `_` and `-` written `_U` and `_D` (so `__` only ever ends the tenant and two values never share a name).
 */
export function dopplerName(prefix: string, ref: SecretRef): string {
  const tenant = ref.tenant.toUpperCase().replace(/[-_]/g, (c) => (c === '-' ? '_D' : '_U'));
  return `${prefix.toUpperCase().replace(/[^A-Z0-9_]/g, '_')}${tenant}__${ref.key.toUpperCase()}`;
}

/**
 * Doppler over its API v3 (secrets.update, secrets.get, secrets.delete): one project and config hold
 * every value Perch writes, named by `dopplerName`. Not through the official @dopplerhq/node-sdk 1.3.0:
 * it parses every answer as JSON inside a response listener, so a proxy's HTML error page throws an
 * uncaught exception and ends the process; it also has no timeout and prints errors to stdout.
 * Doppler answers errors as `{messages: [...]}`.
 */
export class DopplerSecretBackend implements SecretBackend {
  readonly type = 'doppler';
  readonly name: string;
  readonly readOnly: boolean;
  readonly #api: string;

  constructor(private readonly settings: DopplerSettings) {
    this.#api = (settings.apiUrl ?? 'https://api.doppler.com').replace(/\/$/, '');
    this.name = `Doppler (${settings.apiUrl ?? 'api.doppler.com'}, ${settings.project}/${settings.config})`;
    this.readOnly = settings.readOnly;
  }

  /** One call; any answer but 2xx and 404 means Doppler could not do it: 502, naming it. */
  private async call(method: ManagerCall['method'], path: string, query: Record<string, string>, body?: unknown) {
    const url = `${this.#api}${path}?${new URLSearchParams(query)}`;
    const answer = await callManager(this.name, url, { method, body, headers: { authorization: `Bearer ${this.settings.token}` }, timeoutMs: this.settings.timeoutMs });
    if (answer.status === 404 || (answer.status >= 200 && answer.status < 300)) return answer;
    const messages = Array.isArray(answer.json?.messages) ? `: ${answer.json.messages.join('; ')}` : '';
    throw new SecretBackendUnavailable(this.name, `HTTP ${answer.status}${messages}`);
  }

  private where(ref: SecretRef) {
    return { project: this.settings.project, config: this.settings.config, name: dopplerName(this.settings.prefix, ref) };
  }

  async put(ref: SecretRef, value: string): Promise<null> {
    const { project, config, name } = this.where(ref);
    const answer = await this.call('POST', '/v3/configs/config/secrets', {}, { project, config, secrets: { [name]: value } });
    if (answer.status === 404) throw new SecretBackendUnavailable(this.name, `HTTP 404: no config ${project}/${config}`);
    return null;
  }

  async read(ref: SecretRef): Promise<string> {
    const where = this.where(ref);
    const answer = await this.call('GET', '/v3/configs/config/secret', where);
    if (answer.status === 404) throw new SecretValueMissing(`${this.name} has no secret ${where.name} for ${ref.namespace}/${ref.key}`);
    const raw = answer.json?.value?.raw;
    if (typeof raw !== 'string') throw new SecretValueMissing(`${this.name} holds no value for ${ref.namespace}/${ref.key}`);
    return raw;
  }

  async remove(ref: SecretRef): Promise<void> {
    await this.call('DELETE', '/v3/configs/config/secret', this.where(ref));
  }
}
