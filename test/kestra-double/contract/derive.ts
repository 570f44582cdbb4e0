/**
 * Derives, from Kestra's OpenAPI spec, the part the tests need: every operation (method, path, operationId,
 * edition, parameters, request and response media types with their schemas) and every component schema, minus
 * the prose (descriptions, titles, examples, tags, summaries). The result is committed as
 * `kestra-openapi.derived.json` so that a clone without `../shared` tests on its own; it carries the sha256 of
 * the spec it came from, so the staleness test can tell whether it still matches.
 *
 * Annotations are the only thing dropped: the schemas convert to exactly the same JSON Schema as the spec's own
 * (see openapi-contract.ts), which contract.test.ts checks whenever the spec is present.
 */
import { createHash } from 'node:crypto';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import YAML from 'yaml';
import { z } from 'zod';

const HERE = path.dirname(fileURLToPath(import.meta.url));
/** The committed derivation. */
export const DERIVED_CONTRACT_PATH = path.join(HERE, 'kestra-openapi.derived.json');
/**
 * Where the full spec lives: `$KESTRA_OPENAPI_SPEC`, else `shared/reference/` beside the repository. Only the
 * staleness test reads it; a clone without it still tests (against the committed derivation).
 */
export const SOURCE_SPEC_PATH =
  process.env.KESTRA_OPENAPI_SPEC || path.resolve(HERE, '..', '..', '..', '..', 'shared', 'reference', 'kestra-ee-openapi.yml');
export const REGENERATE_COMMAND = 'npm run contract:derive -- ../shared/reference/kestra-ee-openapi.yml';

const HTTP_METHODS = ['get', 'put', 'post', 'delete', 'patch', 'head', 'options'] as const;
/** Prose keys of a schema node: dropping them changes no validation. */
const ANNOTATIONS = new Set(['description', 'title', 'example', 'examples', 'externalDocs']);
const PARAMETER_KEYS = ['name', 'in', 'required', 'explode', 'schema'] as const;

const schemaNode = z.unknown();
/** media type → schema (null when the spec names the media type without a schema) */
const mediaMap = z.record(z.string(), schemaNode.nullable());
export const derivedOperationSchema = z.object({
  method: z.string(),
  path: z.string(),
  operationId: z.string(),
  edition: z.enum(['oss', 'ee']),
  parameters: z.array(z.object({ name: z.string(), in: z.string(), required: z.boolean().optional(), explode: z.boolean().optional(), schema: schemaNode.optional() })),
  requestBody: z.object({ required: z.boolean().optional(), content: mediaMap }).optional(),
  /** status → media map */
  responses: z.record(z.string(), mediaMap),
});
export const derivedContractSchema = z.object({
  $comment: z.string(),
  source: z.object({ title: z.string(), version: z.string(), openapi: z.string(), sha256: z.string().regex(/^[0-9a-f]{64}$/) }),
  operations: z.array(derivedOperationSchema),
  schemas: z.record(z.string(), schemaNode),
});
export type DerivedOperation = z.infer<typeof derivedOperationSchema>;
export type DerivedContract = z.infer<typeof derivedContractSchema>;

type Rec = Record<string, unknown>;
const isRecord = (v: unknown): v is Rec => typeof v === 'object' && v !== null && !Array.isArray(v);

/** One schema node without its annotations; only schema-valued keywords are walked (enum/default values are data). */
export function stripSchema(node: unknown): unknown {
  if (!isRecord(node)) return node;
  const out: Rec = {};
  for (const [k, v] of Object.entries(node)) {
    if (ANNOTATIONS.has(k)) continue;
    if (k === 'properties' && isRecord(v)) out[k] = Object.fromEntries(Object.entries(v).map(([p, s]) => [p, stripSchema(s)]));
    else if ((k === 'items' || k === 'additionalProperties' || k === 'not') && isRecord(v)) out[k] = stripSchema(v);
    else if ((k === 'allOf' || k === 'anyOf' || k === 'oneOf') && Array.isArray(v)) out[k] = v.map(stripSchema);
    else out[k] = v;
  }
  return out;
}

function mediaOf(content: unknown): Record<string, unknown> {
  if (!isRecord(content)) return {};
  return Object.fromEntries(Object.entries(content).map(([ct, media]) => [ct, isRecord(media) && isRecord(media.schema) ? stripSchema(media.schema) : null]));
}

export function sha256(text: string): string {
  return createHash('sha256').update(text).digest('hex');
}

/** Derive the committed contract from the text of an OpenAPI 3.0 spec (YAML or JSON). */
export function deriveContract(specText: string): DerivedContract {
  const spec: unknown = YAML.parse(specText, { maxAliasCount: -1 });
  if (!isRecord(spec) || !isRecord(spec.paths)) throw new Error('not an OpenAPI document: no `paths`');
  const info = isRecord(spec.info) ? spec.info : {};
  const operations: DerivedOperation[] = [];
  for (const [p, item] of Object.entries(spec.paths)) {
    if (!isRecord(item)) continue;
    for (const m of HTTP_METHODS) {
      const op = item[m];
      if (!isRecord(op)) continue;
      const xk = op['x-kestra'];
      const parameters = (Array.isArray(op.parameters) ? op.parameters : []).filter(isRecord).map((param) => {
        const kept: Rec = {};
        for (const k of PARAMETER_KEYS) if (param[k] !== undefined) kept[k] = k === 'schema' ? stripSchema(param[k]) : param[k];
        return kept as DerivedOperation['parameters'][number];
      });
      const body = isRecord(op.requestBody) ? op.requestBody : undefined;
      operations.push({
        method: m.toUpperCase(),
        path: p,
        operationId: String(op.operationId ?? `${m} ${p}`),
        edition: isRecord(xk) && xk.edition === 'ee' ? 'ee' : 'oss',
        parameters,
        ...(body ? { requestBody: { ...(typeof body.required === 'boolean' ? { required: body.required } : {}), content: mediaOf(body.content) } } : {}),
        responses: Object.fromEntries(Object.entries(isRecord(op.responses) ? op.responses : {}).map(([status, r]) => [status, mediaOf(isRecord(r) ? r.content : undefined)])),
      });
    }
  }
  const components = isRecord(spec.components) && isRecord(spec.components.schemas) ? spec.components.schemas : {};
  const schemas = Object.fromEntries(Object.keys(components).sort().map((name) => [name, stripSchema(components[name])]));
  return derivedContractSchema.parse({
    $comment: `Derived from Kestra's OpenAPI spec; do not edit. Regenerate: ${REGENERATE_COMMAND}`,
    source: { title: String(info.title ?? ''), version: String(info.version ?? ''), openapi: String(spec.openapi ?? ''), sha256: sha256(specText) },
    operations,
    schemas,
  });
}

/** The file text of a derivation: one JSON value per line below the top level keeps regenerations reviewable. */
export function serializeContract(contract: DerivedContract): string {
  const lines = ['{'];
  lines.push(` "$comment": ${JSON.stringify(contract.$comment)},`);
  lines.push(` "source": ${JSON.stringify(contract.source)},`);
  lines.push(' "operations": [');
  contract.operations.forEach((op, i) => lines.push(`  ${JSON.stringify(op)}${i < contract.operations.length - 1 ? ',' : ''}`));
  lines.push(' ],');
  lines.push(' "schemas": {');
  const names = Object.keys(contract.schemas);
  names.forEach((n, i) => lines.push(`  ${JSON.stringify(n)}: ${JSON.stringify(contract.schemas[n])}${i < names.length - 1 ? ',' : ''}`));
  lines.push(' }');
  lines.push('}');
  return `${lines.join('\n')}\n`;
}
