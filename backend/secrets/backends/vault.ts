import { callManager } from './manager-http.js';
import { managerPath, SecretBackendUnavailable, SecretValueMissing, type SecretBackend, type SecretRef } from './secret-backend.js';

export interface VaultSettings {
  address: string;
  /** A token, or an AppRole (role id + secret id) Perch logs in with. */
  token?: string;
  appRole?: { path: string; roleId: string; secretId: string };
  /** Vault Enterprise namespace (X-Vault-Namespace). */
  namespace?: string;
  /** The KV v2 engine's mount. */
  mount: string;
  prefix: string;
  readOnly: boolean;
  timeoutMs: number;
}

/**
 * HashiCorp Vault's KV version 2 engine over its HTTP API (small enough for undici; no SDK): a value
 * is the `value` field of `<mount>/data/<prefix><tenant>/<namespace…>/<KEY>` (EE's layout, behaviour
 * spec §6). Operations: kv-v2-write, kv-v2-read, kv-v2-delete-metadata-and-all-versions, app-role-login.
 */
export class VaultSecretBackend implements SecretBackend {
  readonly type = 'vault';
  readonly name: string;
  readonly readOnly: boolean;
  #token: string | undefined;

  constructor(private readonly settings: VaultSettings) {
    this.name = `HashiCorp Vault (${settings.address})`;
    this.readOnly = settings.readOnly;
    this.#token = settings.token;
  }

  private call(method: 'GET' | 'POST' | 'DELETE', path: string, body?: unknown, token?: string): Promise<{ status: number; json: any }> {
    const headers: Record<string, string> = {};
    if (token) headers['x-vault-token'] = token;
    if (this.settings.namespace) headers['x-vault-namespace'] = this.settings.namespace;
    return callManager(this.name, `${this.settings.address.replace(/\/$/, '')}/v1/${path}`, { method, headers, body, timeoutMs: this.settings.timeoutMs });
  }

  private async token(): Promise<string> {
    if (this.#token) return this.#token;
    const role = this.settings.appRole;
    if (!role) throw new SecretBackendUnavailable(this.name, 'no token and no AppRole configured');
    const login = await this.call('POST', `auth/${role.path}/login`, { role_id: role.roleId, secret_id: role.secretId });
    const token = login.json?.auth?.client_token;
    if (login.status !== 200 || typeof token !== 'string') throw new SecretBackendUnavailable(this.name, `AppRole login answered ${login.status}`);
    this.#token = token;
    return token;
  }

  /** One call with the token; a 403 with an AppRole token logs in again once (the token expired). */
  private async authorized(method: 'GET' | 'POST' | 'DELETE', path: string, body?: unknown) {
    let answer = await this.call(method, path, body, await this.token());
    if (answer.status === 403 && this.settings.appRole) {
      this.#token = undefined;
      answer = await this.call(method, path, body, await this.token());
    }
    return answer;
  }

  private fail(status: number, json: any): never {
    const errors = Array.isArray(json?.errors) ? json.errors.join('; ') : '';
    throw new SecretBackendUnavailable(this.name, `HTTP ${status}${errors ? `: ${errors}` : ''}`);
  }

  private path(kind: 'data' | 'metadata', ref: SecretRef): string {
    return `${this.settings.mount}/${kind}/${managerPath(this.settings.prefix, ref).split('/').map(encodeURIComponent).join('/')}`;
  }

  async put(ref: SecretRef, value: string): Promise<null> {
    const answer = await this.authorized('POST', this.path('data', ref), { data: { value } });
    if (answer.status !== 200 && answer.status !== 204) this.fail(answer.status, answer.json);
    return null;
  }

  async read(ref: SecretRef): Promise<string> {
    const answer = await this.authorized('GET', this.path('data', ref));
    if (answer.status === 404) throw new SecretValueMissing(`${this.name} has no secret ${managerPath(this.settings.prefix, ref)} for ${ref.namespace}/${ref.key}`);
    if (answer.status !== 200) this.fail(answer.status, answer.json);
    const value = answer.json?.data?.data?.value;
    if (typeof value !== 'string') throw new SecretValueMissing(`${this.name} holds no text "value" at ${managerPath(this.settings.prefix, ref)}`);
    return value;
  }

  async remove(ref: SecretRef): Promise<void> {
    const answer = await this.authorized('DELETE', this.path('metadata', ref));
    if (answer.status !== 204 && answer.status !== 200 && answer.status !== 404) this.fail(answer.status, answer.json);
  }
}
