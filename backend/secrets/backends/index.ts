import type { PerchConfig } from '../../config/config.js';
import type { Envelope } from '../../crypto/envelope.js';
import { CachedSecretBackend } from './cached.js';
import { InternalSecretBackend } from './internal.js';
import type { SecretBackend } from './secret-backend.js';

export type { ReadOptions, SecretBackend, SecretRef } from './secret-backend.js';
export { SecretBackendUnavailable, SecretValueMissing } from './secret-backend.js';

/** The configured backend for new values, and every backend a stored row may name. */
export interface SecretBackends {
  /** The configured default (secrets.backend.type). */
  current: SecretBackend;
  /** Every configured backend, the internal one first: what an instance owner may pick from. */
  available: SecretBackend[];
  /** The backend holding a row's value (rows keep theirs when the configuration changes). */
  of(type: string): SecretBackend;
}

type BackendSettings = PerchConfig['secrets']['backend'];

const EXTERNAL_TYPES = ['aws', 'vault', 'azure', 'google', 'doppler', 'onepassword'] as const;

/** The backends the configuration sets up (internal always), in the order {@link secretBackends} builds them; no SDK is loaded. */
export const configuredBackendTypes = (settings: BackendSettings): string[] => ['internal', ...EXTERNAL_TYPES.filter((type) => settings[type] !== undefined)];

/**
 * Builds the backends; an external manager's SDK is loaded only when first used. Each external
 * manager sits behind a short-lived value cache (secrets.backend.cache); Perch's own store needs none.
 */
export async function secretBackends(settings: BackendSettings, envelope: Envelope): Promise<SecretBackends> {
  const internal = new InternalSecretBackend(envelope);
  const byType = new Map<string, SecretBackend>([['internal', internal]]);
  const external = (backend: SecretBackend) => byType.set(backend.type, new CachedSecretBackend(backend, { ttlMs: settings.cache.ttl, maxEntries: settings.cache.maxEntries }));
  if (settings.aws) {
    const { AwsSecretBackend } = await import('./aws.js');
    external(new AwsSecretBackend({ ...settings.aws, prefix: settings.prefix, readOnly: settings.readOnly }));
  }
  if (settings.vault) {
    const { VaultSecretBackend } = await import('./vault.js');
    const { timeout, ...vault } = settings.vault;
    external(new VaultSecretBackend({ ...vault, timeoutMs: timeout, prefix: settings.prefix, readOnly: settings.readOnly }));
  }
  if (settings.azure) {
    const { AzureSecretBackend } = await import('./azure.js');
    external(new AzureSecretBackend({ ...settings.azure, prefix: settings.prefix, readOnly: settings.readOnly }));
  }
  if (settings.google) {
    const { GoogleSecretBackend } = await import('./google.js');
    external(new GoogleSecretBackend({ ...settings.google, prefix: settings.prefix, readOnly: settings.readOnly }));
  }
  if (settings.doppler) {
    const { DopplerSecretBackend } = await import('./doppler.js');
    const { timeout, ...doppler } = settings.doppler;
    external(new DopplerSecretBackend({ ...doppler, timeoutMs: timeout, prefix: settings.prefix, readOnly: settings.readOnly }));
  }
  if (settings.onepassword) {
    const { OnePasswordSecretBackend } = await import('./onepassword.js');
    const { timeout, ...onepassword } = settings.onepassword;
    external(new OnePasswordSecretBackend({ ...onepassword, timeoutMs: timeout, prefix: settings.prefix, readOnly: settings.readOnly }));
  }
  return {
    current: byType.get(settings.type)!,
    available: [...byType.values()],
    of(type) {
      const backend = byType.get(type);
      if (!backend) throw new Error(`a secret's value is kept by the ${type} backend, which is not configured (secrets.backend.${type})`);
      return backend;
    },
  };
}
