/**
 * backend/authz/ee-operations.ts is derived from Kestra EE's spec. When the spec lies beside the
 * repository (../shared/reference, not in a plain clone) the committed file must be what the script
 * derives from it now; without the spec, the run says that the check could not be made.
 */
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { EE_OPERATIONS_FILE, eeOperationsModule } from '../../scripts/derive-ee-operations.js';

const SPEC = path.resolve(path.dirname(EE_OPERATIONS_FILE), '../../../shared/reference/kestra-ee-openapi.yml');
const committed = readFileSync(EE_OPERATIONS_FILE, 'utf8');

describe('the EE operations Perch knows', () => {
  it('name the spec they come from', () => {
    expect(committed).toMatch(/^\/\/ Spec sha256: [0-9a-f]{64}$/m);
  });

  it('are what the spec beside the repository gives, when one does (else: npx tsx scripts/derive-ee-operations.ts <spec>)', () => {
    if (!existsSync(SPEC)) {
      console.warn(`ee-operations: no spec at ${SPEC}: the committed list was not checked for staleness`);
      return;
    }
    expect(committed).toBe(eeOperationsModule(readFileSync(SPEC, 'utf8')));
  });
});
