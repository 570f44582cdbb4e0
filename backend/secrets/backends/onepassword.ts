import type { FullItem, OPConnect } from '@1password/connect';
import { managerPath, SecretBackendUnavailable, SecretValueMissing, type SecretBackend, type SecretRef } from './secret-backend.js';

export interface OnePasswordSettings {
  /** The Connect server: `http(s)://host:port` (its API is under /v1). */
  url: string;
  /** A Connect access token with read and write access to the vault. */
  token: string;
  /** The vault's UUID. */
  vault: string;
  timeoutMs: number;
  prefix: string;
  readOnly: boolean;
}

/** The item's field holding the value (a PASSWORD item's password). */
const VALUE_FIELD = 'password';

/**
 * What the Connect client rejects with: the server's `{status, message}`, its own `{status, message}`
 * (no item / several items with a title), an answer's text, or a network error (whose request config,
 * holding the value, is never shown).
 */
const statusOf = (error: unknown) => (error as { status?: number } | undefined)?.status;
const describe = (error: unknown) => {
  if (typeof error === 'string') return error.slice(0, 200);
  const { status, message, code } = error as { status?: number; message?: string; code?: string };
  return `${status ? `HTTP ${status}: ` : ''}${message ?? code ?? 'no answer'}`;
};

/**
 * 1Password through a Connect server and the official client (`@1password/connect`, loaded when
 * first used). A value is the password of a PASSWORD item titled `<prefix><tenant>/<namespace…>/<KEY>`
 * in one vault, tagged `perch`; an item is found by its exact title (Connect's `title eq` filter).
 */
export class OnePasswordSecretBackend implements SecretBackend {
  readonly type = 'onepassword';
  readonly name: string;
  readonly readOnly: boolean;
  #client: Promise<OPConnect> | undefined;

  constructor(private readonly settings: OnePasswordSettings) {
    this.name = `1Password Connect (${settings.url}, vault ${settings.vault})`;
    this.readOnly = settings.readOnly;
  }

  private client(): Promise<OPConnect> {
    this.#client ??= import('@1password/connect').then(({ OnePasswordConnect }) =>
      OnePasswordConnect({ serverURL: this.settings.url, token: this.settings.token, keepAlive: true, timeout: this.settings.timeoutMs }));
    return this.#client;
  }

  /** Any failure but 404 means Connect could not do it: 502, naming it. */
  private async call<T>(run: (client: OPConnect) => Promise<T>): Promise<T> {
    const client = await this.client();
    try {
      return await run(client);
    } catch (error) {
      if (statusOf(error) === 404) throw error;
      throw new SecretBackendUnavailable(this.name, describe(error));
    }
  }

  /** The item for a ref, or undefined when the vault has none with its title. */
  private async item(ref: SecretRef): Promise<FullItem | undefined> {
    const title = managerPath(this.settings.prefix, ref);
    // The client writes the title into `title eq "…"` as is.
    if (/["\\]/.test(title)) throw new SecretBackendUnavailable(this.name, `the item title ${title} holds a quote or a backslash (secrets.backend.prefix)`);
    try {
      return await this.call((client) => client.getItemByTitle(this.settings.vault, title));
    } catch (error) {
      if (statusOf(error) === 404) return undefined;
      throw error;
    }
  }

  async put(ref: SecretRef, value: string): Promise<null> {
    const existing = await this.item(ref);
    const field = { id: VALUE_FIELD, type: 'CONCEALED', purpose: 'PASSWORD', label: VALUE_FIELD, value };
    if (existing) {
      const fields = [...(existing.fields ?? []).filter((f) => f.id !== VALUE_FIELD), field];
      await this.call((client) => client.updateItem(this.settings.vault, { ...existing, fields } as FullItem));
    } else {
      const item = { title: managerPath(this.settings.prefix, ref), category: 'PASSWORD', tags: ['perch'], vault: { id: this.settings.vault }, fields: [field] };
      await this.call((client) => client.createItem(this.settings.vault, item as unknown as FullItem));
    }
    return null;
  }

  async read(ref: SecretRef): Promise<string> {
    const item = await this.item(ref);
    if (!item) throw new SecretValueMissing(`${this.name} has no item ${managerPath(this.settings.prefix, ref)} for ${ref.namespace}/${ref.key}`);
    const value = item.fields?.find((f) => f.id === VALUE_FIELD)?.value;
    if (typeof value !== 'string') throw new SecretValueMissing(`${this.name} holds no password in ${managerPath(this.settings.prefix, ref)}`);
    return value;
  }

  async remove(ref: SecretRef): Promise<void> {
    const item = await this.item(ref);
    if (!item) return;
    try {
      await this.call((client) => client.deleteItemById(this.settings.vault, item.id!));
    } catch (error) {
      if (statusOf(error) !== 404) throw error;
    }
  }
}
