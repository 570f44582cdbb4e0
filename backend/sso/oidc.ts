import type * as OpenIdClient from 'openid-client';
import type { SsoProviderConfig } from '../../lib/schemas/sso.js';

/** openid-client, loaded at the first single sign-on: a Perch without SSO does not carry it. */
let library: Promise<typeof OpenIdClient> | undefined;
export const loadOidcLibrary = () => (library ??= import('openid-client'));

/**
 * One openid-client `Configuration` per provider, discovered at first use and kept; a failed
 * discovery is not kept, so the next sign-in tries again (the provider may have been down).
 */
export class OidcClients {
  private readonly cache = new Map<string, Promise<OpenIdClient.Configuration>>();

  configuration(provider: SsoProviderConfig): Promise<OpenIdClient.Configuration> {
    let pending = this.cache.get(provider.id);
    if (!pending) {
      // Plain http issuers are accepted only because the operator configured one explicitly (a
      // loopback or lab IdP); openid-client refuses them otherwise.
      const insecure = provider.issuer.startsWith('http:');
      pending = loadOidcLibrary().then((client) =>
        client.discovery(new URL(provider.issuer), provider.clientId, undefined, client.ClientSecretBasic(provider.clientSecret), {
          execute: insecure ? [client.allowInsecureRequests] : [],
          timeout: 10,
        }),
      );
      pending.catch(() => this.cache.delete(provider.id));
      this.cache.set(provider.id, pending);
    }
    return pending;
  }
}

export type { OpenIdClient };
