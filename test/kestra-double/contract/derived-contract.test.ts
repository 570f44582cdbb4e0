/**
 * The committed derivation of Kestra's OpenAPI spec (kestra-openapi.derived.json): well formed, produced by the
 * derivation script, and — whenever the spec itself is at hand — not stale.
 */
import fs from 'node:fs';
import { describe, expect, it } from 'vitest';
import YAML from 'yaml';
import { convertComponents, convertSchema, loadDerivedContract } from '../openapi-contract.js';
import { DERIVED_CONTRACT_PATH, REGENERATE_COMMAND, SOURCE_SPEC_PATH, deriveContract, serializeContract, sha256, stripSchema } from './derive.js';

const committedText = fs.readFileSync(DERIVED_CONTRACT_PATH, 'utf8');

describe('derived Kestra contract: the committed file', () => {
  it('is in the form the script writes (not edited by hand)', () => {
    expect(committedText).toBe(serializeContract(loadDerivedContract()));
  });

  it('names its source spec by sha256 and holds OSS and EE operations', () => {
    const derived = loadDerivedContract();
    expect(derived.source.sha256).toMatch(/^[0-9a-f]{64}$/);
    expect(derived.$comment).toContain(REGENERATE_COMMAND);
    const editions = new Set(derived.operations.map((op) => op.edition));
    expect(editions).toEqual(new Set(['oss', 'ee']));
    expect(derived.schemas.Flow).toBeDefined();
  });
});

describe('derived Kestra contract: the derivation', () => {
  const spec = `openapi: 3.0.1
info: {title: Tiny, version: "9.9", description: prose}
paths:
  /api/v1/{tenant}/things/{id}:
    get:
      tags: [Things]
      summary: Get a thing
      operationId: getThing
      parameters:
        - {name: id, in: path, required: true, description: the id, schema: {type: string, description: id}}
      responses:
        "200":
          description: ok
          content:
            application/json: {schema: {$ref: "#/components/schemas/Thing"}}
            application/octet-stream: {}
        "204": {description: nothing}
    delete:
      operationId: deleteThing
      x-kestra: {edition: ee}
      requestBody:
        required: true
        content: {application/json: {schema: {type: array, items: {type: string, example: a}}}}
      responses: {"204": {description: gone}}
components:
  schemas:
    Thing:
      type: object
      title: A thing
      description: prose
      required: [description]
      properties:
        description: {type: string, description: "a property that is called description"}
        state: {type: string, enum: [description, title], default: title}
        parts: {type: array, items: {oneOf: [{$ref: "#/components/schemas/Thing"}], description: x}}
`;
  const derived = deriveContract(spec);

  it('keeps operations with their edition, parameters, request and response media, and drops the prose', () => {
    expect(derived.source).toEqual({ title: 'Tiny', version: '9.9', openapi: '3.0.1', sha256: sha256(spec) });
    expect(derived.operations).toEqual([
      {
        method: 'GET',
        path: '/api/v1/{tenant}/things/{id}',
        operationId: 'getThing',
        edition: 'oss',
        parameters: [{ name: 'id', in: 'path', required: true, schema: { type: 'string' } }],
        responses: { '200': { 'application/json': { $ref: '#/components/schemas/Thing' }, 'application/octet-stream': null }, '204': {} },
      },
      {
        method: 'DELETE',
        path: '/api/v1/{tenant}/things/{id}',
        operationId: 'deleteThing',
        edition: 'ee',
        parameters: [],
        requestBody: { required: true, content: { 'application/json': { type: 'array', items: { type: 'string' } } } },
        responses: { '204': {} },
      },
    ]);
  });

  it('strips annotations from schema nodes only, never from property names or values', () => {
    expect(derived.schemas.Thing).toEqual({
      type: 'object',
      required: ['description'],
      properties: {
        description: { type: 'string' },
        state: { type: 'string', enum: ['description', 'title'], default: 'title' },
        parts: { type: 'array', items: { oneOf: [{ $ref: '#/components/schemas/Thing' }] } },
      },
    });
  });

  it('writes a file that reads back to the same derivation', () => {
    expect(JSON.parse(serializeContract(derived))).toEqual(derived);
  });

  it('refuses a document without paths', () => {
    expect(() => deriveContract('openapi: 3.0.1\ninfo: {title: x}\n')).toThrow(/no `paths`/);
  });
});

const specPresent = fs.existsSync(SOURCE_SPEC_PATH);

if (specPresent) {
  describe(`derived Kestra contract: staleness against ${SOURCE_SPEC_PATH}`, () => {
    const specText = fs.readFileSync(SOURCE_SPEC_PATH, 'utf8');

    it('was derived from this very spec (same sha256) and equals a fresh derivation', () => {
      const committed = loadDerivedContract();
      const stale = `kestra-openapi.derived.json is stale for ${SOURCE_SPEC_PATH}; regenerate it: ${REGENERATE_COMMAND}`;
      expect(committed.source.sha256, stale).toBe(sha256(specText));
      expect(committedText === serializeContract(deriveContract(specText)), stale).toBe(true);
    });

    it('converts to the JSON Schemas the full spec converts to, but for their prose', () => {
      const spec = YAML.parse(specText, { maxAliasCount: -1 });
      const derived = loadDerivedContract();
      const fromSpec = convertComponents(spec.components.schemas);
      const fromDerived = convertComponents(derived.schemas);
      expect(Object.keys(fromDerived)).toEqual(Object.keys(fromSpec).sort());
      for (const name of Object.keys(fromSpec)) expect(fromDerived[name], name).toEqual(stripSchema(fromSpec[name]));
      for (const op of derived.operations) {
        for (const [status, media] of Object.entries(op.responses)) {
          for (const [ct, schema] of Object.entries(media)) {
            const full = spec.paths[op.path][op.method.toLowerCase()].responses[status].content[ct].schema;
            const expected = full === undefined ? undefined : stripSchema(convertSchema(full, 'root'));
            expect(schema === null ? undefined : convertSchema(schema, 'root'), `${op.operationId} ${status} ${ct}`).toEqual(expected);
          }
        }
      }
    });
  });
} else {
  // Not a silent skip: the run says, by name and on the console, that staleness was not checked.
  it(`derived Kestra contract: spec not present at ${SOURCE_SPEC_PATH}, staleness UNCHECKED (set KESTRA_OPENAPI_SPEC to check it)`, () => {
    console.warn(`[derived contract] ${SOURCE_SPEC_PATH} is absent: kestra-openapi.derived.json was NOT checked for staleness.`);
    expect(specPresent).toBe(false);
  });
}
