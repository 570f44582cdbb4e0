import type { Envelope } from '../../crypto/envelope.js';
import { secretPlace } from '../secret-place.js';
import type { SecretBackend, SecretRef } from './secret-backend.js';

/** Perch's own store: the value sealed with the master key (envelope encryption) in `namespace_secrets.value`. */
export class InternalSecretBackend implements SecretBackend {
  readonly type = 'internal';
  readonly name = "Perch's store";
  readonly readOnly = false;
  constructor(private readonly envelope: Envelope) {}

  async put(ref: SecretRef, value: string): Promise<string> {
    return this.envelope.seal(value, secretPlace(ref.id));
  }

  async read(ref: SecretRef, stored: string | null): Promise<string> {
    if (stored === null) throw new Error(`secret ${ref.namespace}/${ref.key} has no sealed value`);
    return this.envelope.openText(stored, secretPlace(ref.id));
  }

  async remove(): Promise<void> {
    // The row goes, and its sealed value with it.
  }
}
