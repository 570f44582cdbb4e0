/**
 * backend/authz/ee-operations.ts is derived from Kestra EE's spec (`npm run contract:derive`, with the
 * tests' contract). When the spec is found where the contract's staleness test looks for it
 * ($KESTRA_OPENAPI_SPEC, else shared/reference/ beside the repository, absent from a plain clone), the
 * committed file must be what the script derives from it now; without it, the run says so.
 */
import { existsSync, readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { EE_OPERATIONS_FILE, eeOperationsModule } from '../../scripts/derive-ee-operations.js';
import { REGENERATE_COMMAND, SOURCE_SPEC_PATH } from '../kestra-double/contract/derive.js';

const SPEC = SOURCE_SPEC_PATH;
const committed = readFileSync(EE_OPERATIONS_FILE, 'utf8');

describe('the EE operations Perch knows', () => {
  it('name the spec they come from', () => {
    expect(committed).toMatch(/^\/\/ Spec sha256: [0-9a-f]{64}$/m);
  });

  it('are what the spec gives, when one is found (else: ' + REGENERATE_COMMAND + ')', () => {
    if (!existsSync(SPEC)) {
      console.warn(`ee-operations: no spec at ${SPEC}: the committed list was not checked for staleness`);
      return;
    }
    expect(committed).toBe(eeOperationsModule(readFileSync(SPEC, 'utf8')));
  });
});
