import { getJson, send, tenantApi } from '../app/api';
import { namespaceSecretBackendViewSchema, secretBackendViewSchema, secretListSchema, secretMetaSchema, type SecretList } from '../../lib/schemas/secrets';

/** Namespace secrets as the screens read them: metadata only. There is no call that reads a value back. */

export const SECRETS_PAGE_SIZE = 50;

export function loadNamespaceSecrets(tenant: string, namespace: string, page: number): Promise<SecretList> {
  const query = new URLSearchParams({ page: String(page), size: String(SECRETS_PAGE_SIZE), sort: 'key:asc', 'filters[namespace][EQUALS]': namespace });
  return getJson(`${tenantApi(tenant, 'secrets')}?${query}`, secretListSchema, { cache: 'no-store' });
}

const secretsOf = (tenant: string, namespace: string, rest = '') => tenantApi(tenant, `namespaces/${encodeURIComponent(namespace)}/secrets${rest}`);

/** Adds or replaces a secret: the value goes to Perch once and is forgotten by the screen. */
export function putSecret(tenant: string, namespace: string, body: { key: string; value: string; description?: string }) {
  return send('put', secretsOf(tenant, namespace), body, secretMetaSchema.array());
}

export function deleteSecret(tenant: string, namespace: string, key: string) {
  return send('delete', secretsOf(tenant, namespace, `/${encodeURIComponent(key)}`));
}

/** Where the tenant's new values go, and what an instance owner may pick from. */
export function loadSecretBackend(tenant: string) {
  return getJson(tenantApi(tenant, 'secret-backend'), secretBackendViewSchema, { cache: 'no-store' });
}

export function pickSecretBackend(tenant: string, type: string) {
  return send('put', tenantApi(tenant, 'secret-backend'), { type }, secretBackendViewSchema);
}

const namespaceBackendOf = (tenant: string, namespace: string) => tenantApi(tenant, `namespaces/${encodeURIComponent(namespace)}/secret-backend`);

/** The namespace's own secret manager or the one it inherits, and what an instance owner may pick from. */
export function loadNamespaceSecretBackend(tenant: string, namespace: string) {
  return getJson(namespaceBackendOf(tenant, namespace), namespaceSecretBackendViewSchema, { cache: 'no-store' });
}

export function pickNamespaceSecretBackend(tenant: string, namespace: string, pick: { type: string | null; readOnly?: boolean }) {
  return send('put', namespaceBackendOf(tenant, namespace), pick, namespaceSecretBackendViewSchema);
}
