import type { SecretManagerServiceClient } from '@google-cloud/secret-manager';
import { managerPath, SecretBackendUnavailable, SecretValueMissing, type SecretBackend, type SecretRef } from './secret-backend.js';

export interface GoogleSettings {
  projectId: string;
  /** A service-account key file; else Application Default Credentials (GOOGLE_APPLICATION_CREDENTIALS, the metadata server, gcloud). */
  credentialsFile?: string;
  /** Another endpoint than Google's (a private endpoint, a test server): `https://host[:port]`. */
  endpoint?: string;
  prefix: string;
  readOnly: boolean;
}

/** Secret ids allow letters, digits, `_` and `-`, at most 255 characters. */
const MAX_ID = 255;

/** The secret id of a value: `<prefix><tenant>/<namespace…>/<KEY>` with every other character (and `-`) written `-xx` (hex), so ids never collide. */
export function googleSecretId(prefix: string, ref: SecretRef): string {
  return managerPath(prefix, ref).replace(/[^0-9A-Za-z_]/g, (c) => `-${c.charCodeAt(0).toString(16).padStart(2, '0')}`);
}

/** gax answers REST errors with the HTTP status or the gRPC code. */
const notFound = (error: unknown) => {
  const { code, status } = error as { code?: number; status?: string };
  return code === 404 || code === 5 || status === 'NOT_FOUND';
};

/**
 * Google Secret Manager through the official client (`@google-cloud/secret-manager`, loaded when first
 * used), over its REST transport (`fallback`): the same path in production and in the tests, and no
 * native gRPC. A value is the latest version of the secret; replacing it adds a version; a delete
 * removes the secret with every version. Secrets are created with automatic replication, labelled
 * `managed-by: perch`.
 */
export class GoogleSecretBackend implements SecretBackend {
  readonly type = 'google';
  readonly name: string;
  readonly readOnly: boolean;
  #client: Promise<SecretManagerServiceClient> | undefined;

  constructor(private readonly settings: GoogleSettings) {
    this.name = `Google Secret Manager (${settings.endpoint ?? `project ${settings.projectId}`})`;
    this.readOnly = settings.readOnly;
  }

  private client(): Promise<SecretManagerServiceClient> {
    this.#client ??= import('@google-cloud/secret-manager').then(({ SecretManagerServiceClient }) => {
      const endpoint = this.settings.endpoint ? new URL(this.settings.endpoint) : undefined;
      return new SecretManagerServiceClient({
        projectId: this.settings.projectId,
        fallback: true,
        ...(this.settings.credentialsFile ? { keyFilename: this.settings.credentialsFile } : {}),
        ...(endpoint ? { apiEndpoint: endpoint.hostname, port: Number(endpoint.port || (endpoint.protocol === 'http:' ? 80 : 443)), protocol: endpoint.protocol.replace(':', '') } : {}),
      });
    });
    return this.#client;
  }

  private secretName(ref: SecretRef): string {
    const id = googleSecretId(this.settings.prefix, ref);
    if (id.length > MAX_ID) throw new SecretBackendUnavailable(this.name, `the secret id for ${ref.namespace}/${ref.key} would be ${id.length} characters; Secret Manager allows ${MAX_ID}`);
    return `projects/${this.settings.projectId}/secrets/${id}`;
  }

  /** Any failure but "no such secret" means Secret Manager could not do it: 502, naming it. */
  private async call<T>(run: () => Promise<T>): Promise<T> {
    try {
      return await run();
    } catch (error) {
      if (notFound(error)) throw error;
      const { code, details, message } = error as { code?: number; details?: string; message?: string };
      throw new SecretBackendUnavailable(this.name, `${code ?? 'Error'}: ${(details ?? message ?? '').split('\n')[0]}`);
    }
  }

  async put(ref: SecretRef, value: string): Promise<null> {
    const client = await this.client();
    const name = this.secretName(ref);
    const add = () => this.call(() => client.addSecretVersion({ parent: name, payload: { data: Buffer.from(value, 'utf8') } }));
    try {
      await add();
    } catch (error) {
      if (!notFound(error)) throw error;
      const secretId = name.slice(name.lastIndexOf('/') + 1);
      await this.call(() => client.createSecret({ parent: `projects/${this.settings.projectId}`, secretId, secret: { replication: { automatic: {} }, labels: { 'managed-by': 'perch' } } }));
      await add();
    }
    return null;
  }

  async read(ref: SecretRef): Promise<string> {
    const client = await this.client();
    const name = this.secretName(ref);
    try {
      const [version] = await this.call(() => client.accessSecretVersion({ name: `${name}/versions/latest` }));
      const data = version.payload?.data;
      if (data === undefined || data === null) throw new SecretValueMissing(`${this.name} holds no value for ${ref.namespace}/${ref.key}`);
      return typeof data === 'string' ? Buffer.from(data, 'base64').toString('utf8') : Buffer.from(data).toString('utf8');
    } catch (error) {
      if (notFound(error)) throw new SecretValueMissing(`${this.name} has no secret ${name} for ${ref.namespace}/${ref.key}`);
      throw error;
    }
  }

  async remove(ref: SecretRef): Promise<void> {
    const client = await this.client();
    try {
      await this.call(() => client.deleteSecret({ name: this.secretName(ref) }));
    } catch (error) {
      if (!notFound(error)) throw error;
    }
  }
}
