import type { PerchContext } from '../context.js';
import { HttpError } from '../http/errors.js';
import { secretBackends, type SecretBackends } from '../secrets/backends/index.js';
import { openSecretsOfTenant } from '../secrets/secret-store.js';

/** Values shorter than this are not searched for: they would blank out ordinary words. */
const MIN_SECRET_CHARS = 4;

/** Replaces every value Perch knows is a secret, as written and as Kestra receives it (base64). */
export interface Redaction {
  redact(text: string): string;
  /** How many values were replaced so far (for the audit entry). */
  readonly replaced: number;
}

/**
 * The tenant's secrets (Perch's secret store, each row's backend) as a redaction, for text about to go
 * to an AI provider. A backend that cannot be read refuses the request (503): nothing unredacted is sent.
 * KV values are Kestra's and not known to Perch: they are not redacted.
 */
export class SecretRedactions {
  private backends: Promise<SecretBackends> | undefined;

  constructor(private readonly ctx: PerchContext) {}

  async of(tenant: string): Promise<Redaction> {
    let secrets: Array<{ envKey: string; value: string }>;
    try {
      this.backends ??= secretBackends(this.ctx.config.secrets.backend, this.ctx.envelope);
      secrets = await openSecretsOfTenant(this.ctx.db, await this.backends, tenant);
    } catch (error) {
      throw new HttpError(503, `Perch cannot read the tenant's secrets to keep them out of the AI request (${(error as Error).message}): nothing was sent`);
    }
    const needles: Array<{ text: string; label: string }> = [];
    for (const s of secrets) {
      if (s.value.length < MIN_SECRET_CHARS) continue;
      const label = `[secret ${s.envKey} redacted]`;
      needles.push({ text: s.value, label }, { text: Buffer.from(s.value, 'utf8').toString('base64'), label });
    }
    // Longest first, so a value containing another is replaced whole.
    needles.sort((a, b) => b.text.length - a.text.length);
    let replaced = 0;
    return {
      redact(text) {
        let out = text;
        for (const n of needles) {
          const parts = out.split(n.text);
          replaced += parts.length - 1;
          out = parts.join(n.label);
        }
        return out;
      },
      get replaced() {
        return replaced;
      },
    };
  }
}
