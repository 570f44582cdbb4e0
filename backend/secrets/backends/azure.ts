import type { SecretClient } from '@azure/keyvault-secrets';
import { managerPath, SecretBackendUnavailable, SecretValueMissing, type SecretBackend, type SecretRef } from './secret-backend.js';

export interface AzureSettings {
  /** The vault's URL, `https://<vault>.vault.azure.net`. */
  vaultUrl: string;
  /** A service principal (all three), else the default credential chain (environment, workload or managed identity, Azure CLI). */
  tenantId?: string;
  clientId?: string;
  clientSecret?: string;
  prefix: string;
  readOnly: boolean;
}

/** Key Vault secret names allow letters, digits and `-` only, at most 127 characters. */
const MAX_NAME = 127;

/**
 * The Key Vault name of a secret: `<prefix><tenant>/<namespace…>/<KEY>` with every character Key Vault
 * refuses (and `-` itself) written `-xx` (its hex code), so two different paths never share a name.
 */
export function keyVaultName(prefix: string, ref: SecretRef): string {
  return managerPath(prefix, ref).replace(/[^0-9A-Za-z]/g, (c) => `-${c.charCodeAt(0).toString(16).padStart(2, '0')}`);
}

const statusOf = (error: unknown) => (error as { statusCode?: number }).statusCode;

/**
 * Azure Key Vault through the official SDK (`@azure/keyvault-secrets` with `@azure/identity`, loaded
 * when first used). A value is a secret tagged `namespace`, `key` and `prefix`; a delete is a soft
 * delete followed by a purge, so the name can be used again (the identity needs get, set, delete, purge).
 */
export class AzureSecretBackend implements SecretBackend {
  readonly type = 'azure';
  readonly name: string;
  readonly readOnly: boolean;
  #client: Promise<SecretClient> | undefined;

  constructor(private readonly settings: AzureSettings) {
    this.name = `Azure Key Vault (${settings.vaultUrl})`;
    this.readOnly = settings.readOnly;
  }

  private client(): Promise<SecretClient> {
    this.#client ??= (async () => {
      const [{ SecretClient }, identity] = await Promise.all([import('@azure/keyvault-secrets'), import('@azure/identity')]);
      const { tenantId, clientId, clientSecret } = this.settings;
      const credential = tenantId && clientId && clientSecret
        ? new identity.ClientSecretCredential(tenantId, clientId, clientSecret)
        : new identity.DefaultAzureCredential(clientId ? { managedIdentityClientId: clientId } : {});
      // Key Vault is HTTPS only, its challenge naming a resource of the vault's domain. An emulator on this
      // machine alone (plain HTTP on loopback) is let through, and its challenge is not checked against its address.
      const { protocol, hostname } = new URL(this.settings.vaultUrl);
      const emulator = protocol === 'http:' && ['127.0.0.1', 'localhost', '[::1]'].includes(hostname);
      return new SecretClient(this.settings.vaultUrl, credential, { retryOptions: { maxRetries: 1 }, allowInsecureConnection: emulator, disableChallengeResourceVerification: emulator });
    })();
    return this.#client;
  }

  private secretName(ref: SecretRef): string {
    const name = keyVaultName(this.settings.prefix, ref);
    if (name.length > MAX_NAME) throw new SecretBackendUnavailable(this.name, `the secret name for ${ref.namespace}/${ref.key} would be ${name.length} characters; Key Vault allows ${MAX_NAME} (shorten the prefix, namespace or key)`);
    return name;
  }

  /** Any failure but "no such secret" (404) means Key Vault could not do it: 502, naming it. */
  private async call<T>(run: () => Promise<T>): Promise<T> {
    try {
      return await run();
    } catch (error) {
      if (statusOf(error) === 404) throw error;
      const code = (error as { code?: string }).code ?? (error as Error).name;
      throw new SecretBackendUnavailable(this.name, `${statusOf(error) ? `HTTP ${statusOf(error)} ` : ''}${code}: ${(error as Error).message.split('\n')[0]}`);
    }
  }

  async put(ref: SecretRef, value: string): Promise<null> {
    const client = await this.client();
    const name = this.secretName(ref);
    await this.call(() => client.setSecret(name, value, { tags: { namespace: ref.namespace, key: ref.key, prefix: this.settings.prefix } }));
    return null;
  }

  async read(ref: SecretRef): Promise<string> {
    const client = await this.client();
    const name = this.secretName(ref);
    try {
      const secret = await this.call(() => client.getSecret(name));
      if (secret.value === undefined) throw new SecretValueMissing(`${this.name} holds no value for ${ref.namespace}/${ref.key}`);
      return secret.value;
    } catch (error) {
      if (statusOf(error) === 404) throw new SecretValueMissing(`${this.name} has no secret ${name} for ${ref.namespace}/${ref.key}`);
      throw error;
    }
  }

  async remove(ref: SecretRef): Promise<void> {
    const client = await this.client();
    const name = this.secretName(ref);
    try {
      const poller = await this.call(() => client.beginDeleteSecret(name, { intervalInMs: 50 }));
      await this.call(() => poller.pollUntilDone());
    } catch (error) {
      if (statusOf(error) !== 404) throw error;
    }
    try {
      await this.call(() => client.purgeDeletedSecret(name));
    } catch (error) {
      if (statusOf(error) !== 404) throw error;
    }
  }
}
