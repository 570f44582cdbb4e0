/**
 * `npm run contract:derive -- <spec.yml>`: rewrites kestra-openapi.derived.json from the given Kestra OpenAPI spec.
 */
import { readFile, writeFile } from 'node:fs/promises';
import { DERIVED_CONTRACT_PATH, deriveContract, serializeContract } from './derive.js';

const specPath = process.argv[2];
if (!specPath) {
  console.error('usage: npm run contract:derive -- <kestra-openapi.yml>');
  process.exit(2);
}
const contract = deriveContract(await readFile(specPath, 'utf8'));
await writeFile(DERIVED_CONTRACT_PATH, serializeContract(contract));
const ee = contract.operations.filter((op) => op.edition === 'ee').length;
console.log(
  `${DERIVED_CONTRACT_PATH}: ${contract.operations.length - ee} OSS + ${ee} EE operations, ${Object.keys(contract.schemas).length} schemas, from ${contract.source.title} ${contract.source.version} (sha256 ${contract.source.sha256})`,
);
