import { z } from 'zod';

/** A provider's id: it appears in URLs (`/perch/sso/{id}/login`) and in stored identity links. */
export const ssoProviderIdSchema = z.string().regex(/^[a-z0-9][a-z0-9-]{0,62}$/, 'use lowercase letters, digits and dashes (at most 63)');

/** One OpenID Connect provider Perch signs people in with (authorization code + PKCE). */
export const ssoProviderSchema = z.strictObject({
  id: ssoProviderIdSchema,
  /** Shown on the login page button ("Sign in with {name}"). */
  name: z.string().min(1).max(100),
  /** The issuer; its `/.well-known/openid-configuration` is read at the first sign-in. */
  issuer: z.url({ protocol: /^https?$/ }),
  clientId: z.string().min(1),
  clientSecret: z.string().min(1),
  /** Requested scopes; `openid` is always added. */
  scopes: z.array(z.string().regex(/^[\x21\x23-\x5b\x5d-\x7e]+$/)).default(['openid', 'email', 'profile']),
  /** The claim holding the person's groups at the provider (array of strings, or one string). */
  groupsClaim: z.string().min(1).default('groups'),
  /** Provider group (claim value) → Perch group id in the default tenant; unmapped values are ignored. */
  groupMapping: z.record(z.string(), z.string().min(1)).default({}),
});

export const ssoConfigSchema = z
  .strictObject({ providers: z.array(ssoProviderSchema).default([]) })
  .superRefine((value, ctx) => {
    const seen = new Set<string>();
    value.providers.forEach((p, i) => {
      if (seen.has(p.id)) ctx.addIssue({ code: 'custom', path: ['providers', i, 'id'], message: `provider id "${p.id}" is used twice` });
      seen.add(p.id);
    });
  });

export type SsoProviderConfig = z.output<typeof ssoProviderSchema>;

/** `GET /api/v1/auths` (EE shape, plus Perch's `providers` with display names and login links). */
export const apiAuthsSchema = z.object({
  loginPassword: z.boolean(),
  mailsEnabled: z.boolean(),
  passwordless: z.boolean(),
  /** EE: the OIDC client names; here the provider ids. */
  oauths: z.array(z.string()),
  providers: z.array(z.object({ id: z.string(), name: z.string(), loginUrl: z.string() })),
});
export type ApiAuths = z.infer<typeof apiAuthsSchema>;
