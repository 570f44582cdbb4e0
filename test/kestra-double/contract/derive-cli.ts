/**
 * `npm run contract:derive -- <spec.yml>`: rewrites what Perch derives from Kestra's OpenAPI spec, in one
 * go: the tests' kestra-openapi.derived.json and the backend's list of EE operations (ee-operations.ts).
 */
import { readFile, writeFile } from 'node:fs/promises';
import { EE_OPERATIONS_FILE, eeOperationsModule } from '../../../scripts/derive-ee-operations.js';
import { DERIVED_CONTRACT_PATH, deriveContract, serializeContract } from './derive.js';

const specPath = process.argv[2];
if (!specPath) {
  console.error('usage: npm run contract:derive -- <kestra-openapi.yml>');
  process.exit(2);
}
const specText = await readFile(specPath, 'utf8');
const contract = deriveContract(specText);
await writeFile(DERIVED_CONTRACT_PATH, serializeContract(contract));
await writeFile(EE_OPERATIONS_FILE, eeOperationsModule(specText));
console.log(`${EE_OPERATIONS_FILE}: the EE operations Perch answers 501 for until it implements them`);
const ee = contract.operations.filter((op) => op.edition === 'ee').length;
console.log(
  `${DERIVED_CONTRACT_PATH}: ${contract.operations.length - ee} OSS + ${ee} EE operations, ${Object.keys(contract.schemas).length} schemas, from ${contract.source.title} ${contract.source.version} (sha256 ${contract.source.sha256})`,
);
