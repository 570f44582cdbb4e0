import type { SealedPlace } from '../crypto/envelope.js';

/** Where a secret's value is sealed (listed in crypto/sealed-columns.ts). */
export const secretPlace = (id: string): SealedPlace => ({ table: 'namespace_secrets', column: 'value', id });
