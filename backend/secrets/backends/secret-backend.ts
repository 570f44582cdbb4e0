/**
 * Where a secret's value lives (issue 21, point 3): Perch's own store (`internal`, sealed with the
 * master key) or an external manager. Metadata (key, namespace, description, tags) always stays in
 * Perch's store; only the value goes to the backend. One interface, so the API, the delivery to
 * Kestra and the tests treat every backend alike.
 */
export interface SecretRef {
  tenant: string;
  namespace: string;
  key: string;
  /** The row's id in `namespace_secrets` (the internal backend seals to it). */
  id: string;
}

export interface ReadOptions {
  /** Straight from the manager, never from a cache: for a read whose value is written somewhere (never a stale write). */
  fresh?: boolean;
}

export interface SecretBackend {
  /** Stored in each row (`namespace_secrets.backend`): which backend holds its value. */
  readonly type: string;
  /** For messages: "AWS Secrets Manager at http://…". */
  readonly name: string;
  /** Writes are refused (the manager is read-only for Perch). */
  readonly readOnly: boolean;
  /** Stores the value; answers what the row keeps in `value` (sealed text, or null when the manager keeps it). */
  put(ref: SecretRef, value: string): Promise<string | null>;
  /** The value, from the row's `value` or the manager. */
  read(ref: SecretRef, stored: string | null, options?: ReadOptions): Promise<string>;
  remove(ref: SecretRef): Promise<void>;
}

/** A manager that could not be reached or refused Perch: answered with 502, naming it; nothing is written in Perch's store. */
export class SecretBackendUnavailable extends Error {
  constructor(readonly backend: string, cause: string) {
    super(`${backend} could not be reached or refused the request (${cause}); nothing was changed`);
  }
}

/** The manager has no value for a secret Perch lists (deleted behind Perch's back). */
export class SecretValueMissing extends Error {}

/** The name a manager keeps a value under: `<prefix><tenant>/<namespace parts…>/<KEY>` (EE's Vault layout). */
export const managerPath = (prefix: string, ref: SecretRef) => `${prefix}${ref.tenant}/${ref.namespace.split('.').join('/')}/${ref.key.toUpperCase()}`;
