import type { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { managerPath, SecretBackendUnavailable, SecretValueMissing, type SecretBackend, type SecretRef } from './secret-backend.js';

export interface AwsSettings {
  region: string;
  /** Another endpoint than AWS's (LocalStack, moto, a VPC endpoint). */
  endpoint?: string;
  accessKeyId?: string;
  secretAccessKey?: string;
  prefix: string;
  readOnly: boolean;
}

/** Errors that are AWS's answer about the secret itself, not about reaching AWS. */
const NOT_FOUND = 'ResourceNotFoundException';

/**
 * AWS Secrets Manager through the official SDK (loaded when first used: it is large). A value is a
 * plain-text secret named `<prefix><tenant>/<namespace…>/<KEY>`, tagged `namespace` and `key` as EE
 * tags its own (behaviour spec §6).
 */
export class AwsSecretBackend implements SecretBackend {
  readonly type = 'aws';
  readonly name: string;
  readonly readOnly: boolean;
  #client: Promise<{ client: SecretsManagerClient; sdk: typeof import('@aws-sdk/client-secrets-manager') }> | undefined;

  constructor(private readonly settings: AwsSettings) {
    this.name = `AWS Secrets Manager (${settings.endpoint ?? settings.region})`;
    this.readOnly = settings.readOnly;
  }

  private sdk() {
    this.#client ??= import('@aws-sdk/client-secrets-manager').then((sdk) => ({
      sdk,
      client: new sdk.SecretsManagerClient({
        region: this.settings.region,
        ...(this.settings.endpoint ? { endpoint: this.settings.endpoint } : {}),
        ...(this.settings.accessKeyId && this.settings.secretAccessKey ? { credentials: { accessKeyId: this.settings.accessKeyId, secretAccessKey: this.settings.secretAccessKey } } : {}),
        maxAttempts: 2,
      }),
    }));
    return this.#client;
  }

  /** Any failure but "no such secret" means AWS could not do it: 502, naming AWS. */
  private async call<T>(run: () => Promise<T>): Promise<T> {
    try {
      return await run();
    } catch (error) {
      const name = (error as { name?: string }).name;
      if (name === NOT_FOUND) throw error;
      throw new SecretBackendUnavailable(this.name, `${name ?? 'Error'}: ${(error as Error).message}`);
    }
  }

  async put(ref: SecretRef, value: string): Promise<null> {
    const { client, sdk } = await this.sdk();
    const SecretId = managerPath(this.settings.prefix, ref);
    try {
      await this.call(() => client.send(new sdk.PutSecretValueCommand({ SecretId, SecretString: value })));
    } catch (error) {
      if ((error as { name?: string }).name !== NOT_FOUND) throw error;
      await this.call(() => client.send(new sdk.CreateSecretCommand({ Name: SecretId, SecretString: value, Tags: [{ Key: 'namespace', Value: ref.namespace }, { Key: 'key', Value: ref.key }, { Key: 'prefix', Value: this.settings.prefix }] })));
    }
    return null;
  }

  async read(ref: SecretRef): Promise<string> {
    const { client, sdk } = await this.sdk();
    try {
      const answer = await this.call(() => client.send(new sdk.GetSecretValueCommand({ SecretId: managerPath(this.settings.prefix, ref) })));
      if (answer.SecretString === undefined) throw new SecretValueMissing(`${this.name} holds no text value for ${ref.namespace}/${ref.key}`);
      return answer.SecretString;
    } catch (error) {
      if ((error as { name?: string }).name === NOT_FOUND) throw new SecretValueMissing(`${this.name} has no secret ${managerPath(this.settings.prefix, ref)} for ${ref.namespace}/${ref.key}`);
      throw error;
    }
  }

  async remove(ref: SecretRef): Promise<void> {
    const { client, sdk } = await this.sdk();
    try {
      await this.call(() => client.send(new sdk.DeleteSecretCommand({ SecretId: managerPath(this.settings.prefix, ref), ForceDeleteWithoutRecovery: true })));
    } catch (error) {
      if ((error as { name?: string }).name !== NOT_FOUND) throw error;
    }
  }
}
