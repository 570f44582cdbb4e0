/**
 * Response-contract checks for the Kestra double, against Kestra's own OpenAPI spec.
 *
 * The spec is read through its committed derivation, contract/kestra-openapi.derived.json (operations and schemas,
 * prose dropped; see contract/derive.ts), so a clone tests without `shared/` beside it. The spec is the EE one, a
 * superset of OSS: operations marked `x-kestra: {edition: ee}` (derived `edition: 'ee'`) are EE-only, the others
 * are the OSS surface. Only OSS operations are indexed here.
 *
 * The spec is OpenAPI 3.0.1 (Micronaut OpenAPI generator). Ajv speaks JSON Schema, so schemas are converted once:
 *  - `nullable: true`                       → `anyOf: [{type: 'null'}, <schema>]`
 *  - `exclusiveMinimum|Maximum: true`       → numeric draft-07 form (`exclusiveMinimum: <minimum>`)
 *  - `discriminator`, `example`, `x-*`      → dropped (annotations only; the 3 discriminators are on EE credentials)
 *  - a bare `{type: object}` standing for a Java `Object` (as a map value `additionalProperties`, an array `items`,
 *    or a property named `value`/`expected`/`actual`/`previousValue`/`invalids`) → any JSON value. The generator renders
 *    `java.lang.Object` as `{type: object}`, so e.g. a KV `{type: STRING, value: "x"}` or an execution input
 *    `{name: "x"}` would otherwise be rejected although they are exactly what Kestra sends.
 *  - `{type: object, additionalProperties: false}` with no `properties` (flow `variables`, a `Map<String,Object>`)
 *    → any object (an empty-only object is a generator artefact, not a constraint).
 *  - `Property_<T>_` schemas (Kestra's dynamic `Property<T>`) say `type: object` AND `oneOf: [object, string]`, which
 *    no string can satisfy, although Kestra serializes a property as its plain value or as an expression string
 *    (`defaults: world`, `timeout: PT1M`, `defaults: 5`). They become `anyOf: [string, <schema of .value>,
 *    {expression, value} object]`.
 * Everything else (required, enums, patterns, formats incl. int32/int64 ranges, date-time, uri) is enforced.
 */
import fs from 'node:fs';
import { Ajv, type ErrorObject, type ValidateFunction } from 'ajv';
import addFormatsModule from 'ajv-formats';
import { DERIVED_CONTRACT_PATH, type DerivedContract, derivedContractSchema } from './contract/derive.js';

// ajv-formats is CJS with `exports.default`; under NodeNext the default import is the module object.
const addFormats = ((addFormatsModule as unknown as { default?: unknown }).default ??
  addFormatsModule) as unknown as (ajv: Ajv) => Ajv;

const SPEC_ID = 'kestra-openapi';
const JSON_CONTENT_TYPES = new Set(['application/json', 'text/json']);
// `invalids` is BulkErrorResponse's `Object` (Kestra puts a set of constraint violations there: a JSON array).
const OBJECT_VALUE_PROPERTIES = new Set(['value', 'expected', 'actual', 'previousValue', 'invalids']);

type Json = unknown;
type SchemaObject = Record<string, unknown>;

export interface ResponseSpec {
  /** Declared media types for this status (empty when the spec gives only a description). */
  contentTypes: string[];
  /** media type → converted JSON schema */
  schemas: Map<string, SchemaObject>;
}

export interface OssOperation {
  method: string; // upper case
  pathTemplate: string; // e.g. /api/v1/{tenant}/flows/{namespace}/{id}
  operationId: string;
  segments: string[]; // template segments, `{x}` kept as is
  responses: Map<string, ResponseSpec>; // status ("200") → spec
}

export interface ContractViolation {
  method: string;
  url: string;
  status: number;
  operationId: string | null;
  contentType: string | null;
  message: string;
  errors?: ErrorObject[];
}

export interface CheckInput {
  method: string;
  pathname: string;
  status: number;
  contentType: string | null;
  /** Parsed JSON body, or undefined for non-JSON/empty bodies. */
  body?: Json;
  /** For `text/event-stream`: the event to check (`{data, id?, name?}`), validated against the Event_* schema. */
  sseEvent?: { data: Json; id?: string; name?: string };
}

export interface RouteException {
  method: string | '*';
  pattern: RegExp;
  reason: string;
}

function isRecord(v: unknown): v is SchemaObject {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function isBareObject(s: SchemaObject): boolean {
  if (s.type !== 'object') return false;
  return Object.keys(s).every((k) => ['type', 'description', 'title', 'readOnly', 'deprecated', 'example'].includes(k));
}

/** Convert one OpenAPI 3.0 schema node (recursively) into JSON Schema for Ajv. */
export function convertSchema(node: unknown, position: 'root' | 'additionalProperties' | 'items' | 'property' | 'other' = 'other', propName?: string): unknown {
  if (Array.isArray(node)) return node.map((n) => convertSchema(n));
  if (!isRecord(node)) return node;

  if (
    isBareObject(node) &&
    (position === 'additionalProperties' ||
      position === 'items' ||
      (position === 'property' && propName !== undefined && OBJECT_VALUE_PROPERTIES.has(propName)))
  ) {
    return {};
  }

  const out: SchemaObject = {};
  for (const [k, v] of Object.entries(node)) {
    if (k.startsWith('x-') || k === 'discriminator' || k === 'example' || k === 'nullable') continue;
    if (k === '$ref' && typeof v === 'string') {
      out.$ref = v.startsWith('#/') ? `${SPEC_ID}${v}` : v;
    } else if (k === 'properties' && isRecord(v)) {
      out.properties = Object.fromEntries(Object.entries(v).map(([pk, pv]) => [pk, convertSchema(pv, 'property', pk)]));
    } else if (k === 'additionalProperties') {
      out.additionalProperties = isRecord(v) ? convertSchema(v, 'additionalProperties') : v;
    } else if (k === 'items') {
      out.items = convertSchema(v, 'items');
    } else if (k === 'exclusiveMinimum' || k === 'exclusiveMaximum') {
      if (typeof v === 'number') out[k] = v;
      // boolean (OpenAPI 3.0) form handled below
    } else {
      out[k] = convertSchema(v);
    }
  }
  if (node.exclusiveMinimum === true && typeof node.minimum === 'number') {
    out.exclusiveMinimum = node.minimum;
    delete out.minimum;
  }
  if (node.exclusiveMaximum === true && typeof node.maximum === 'number') {
    out.exclusiveMaximum = node.maximum;
    delete out.maximum;
  }
  if (out.type === 'object' && out.additionalProperties === false && out.properties === undefined && out.patternProperties === undefined) {
    delete out.additionalProperties;
  }
  if (node.nullable === true) {
    return { anyOf: [{ type: 'null' }, out] };
  }
  return out;
}

function pathSegments(p: string): string[] {
  return p.split('/').filter((s) => s !== '');
}

function isParam(seg: string): boolean {
  return seg.startsWith('{') && seg.endsWith('}');
}

/** Negative when a is more specific than b (literal beats parameter at the first difference). */
function compareSpecificity(a: OssOperation, b: OssOperation): number {
  const n = Math.min(a.segments.length, b.segments.length);
  for (let i = 0; i < n; i++) {
    const pa = isParam(a.segments[i]!);
    const pb = isParam(b.segments[i]!);
    if (pa !== pb) return pa ? 1 : -1;
  }
  return 0;
}

/**
 * Where the EE spec types an OSS answer by its EE form, the OSS form (each with the reason). The spec's
 * `listSecrets` items are `ApiSecretMetaEE` (with required `tags`); Kestra OSS's SecretController answers
 * `ApiSecretMeta` items, `{key}` only (docs/compatibility.md).
 */
const OSS_RESPONSE_SCHEMAS: Record<string, Record<string, unknown>> = {
  'listSecrets 200': {
    type: 'object',
    required: ['readOnly', 'results'],
    properties: {
      readOnly: { type: 'boolean' },
      results: { type: 'array', items: { $ref: '#/components/schemas/ApiSecretMeta' } },
      total: { type: 'integer', format: 'int64' },
    },
  },
};

/** Convert every component schema, with `Property_<T>_` made to accept what Kestra serializes for a property. */
export function convertComponents(schemas: Record<string, unknown>): Record<string, unknown> {
  const converted = Object.fromEntries(Object.entries(schemas).map(([k, v]) => [k, convertSchema(v, 'root')]));
  for (const [name, schema] of Object.entries(converted)) {
    if (!/^Property_.*_$/.test(name) || !isRecord(schema) || !isRecord(schema.properties)) continue;
    const props = schema.properties;
    const valueSchema = isRecord(props.value) ? props.value : {};
    converted[name] = { anyOf: [{ type: 'string' }, valueSchema, { type: 'object', properties: props }] };
  }
  return converted;
}

/** An Ajv that knows the spec's formats and its converted components under `kestra-openapi#/components/schemas/…`. */
export function contractAjv(convertedComponents: Record<string, unknown>): Ajv {
  const ajv = new Ajv({ allErrors: true, strict: false, validateSchema: false, unicodeRegExp: true });
  addFormats(ajv);
  const inRange = (min: number, max: number) => (v: number) => Number.isInteger(v) && v >= min && v <= max;
  ajv.addFormat('int32', { type: 'number', validate: inRange(-2147483648, 2147483647) });
  ajv.addFormat('int64', { type: 'number', validate: (v: number) => Number.isInteger(v) });
  ajv.addFormat('float', { type: 'number', validate: () => true });
  ajv.addFormat('double', { type: 'number', validate: () => true });
  ajv.addFormat('binary', { type: 'string', validate: () => true });
  ajv.addFormat('byte', { type: 'string', validate: () => true });
  ajv.addSchema({ $id: SPEC_ID, components: { schemas: convertedComponents } });
  return ajv;
}

export class OpenApiContract {
  readonly operations: OssOperation[] = [];
  readonly eeOperationCount: number;
  private readonly ajv: Ajv;
  private readonly validators = new Map<string, ValidateFunction>();
  private readonly convertedComponents: Record<string, unknown>;
  readonly specVersion: string;

  constructor(derived: DerivedContract) {
    this.specVersion = derived.source.version;
    this.convertedComponents = convertComponents(derived.schemas);
    this.ajv = contractAjv(this.convertedComponents);
    for (const op of derived.operations) {
      if (op.edition !== 'oss') continue;
      const responses = new Map<string, ResponseSpec>();
      for (const [status, media] of Object.entries(op.responses)) {
        const schemas = new Map<string, SchemaObject>();
        for (const [ct, schema] of Object.entries(media)) {
          const oss = ct === 'application/json' ? OSS_RESPONSE_SCHEMAS[`${op.operationId} ${status}`] : undefined;
          if (isRecord(schema)) schemas.set(ct, convertSchema(oss ?? schema, 'root') as SchemaObject);
        }
        responses.set(status, { contentTypes: Object.keys(media), schemas });
      }
      this.operations.push({ method: op.method, pathTemplate: op.path, operationId: op.operationId, segments: pathSegments(op.path), responses });
    }
    this.eeOperationCount = derived.operations.length - this.operations.length;
  }

  /** Find the OSS operation a concrete request path belongs to (most specific template wins). */
  match(method: string, pathname: string): { op: OssOperation; params: Record<string, string> } | undefined {
    const segs = pathSegments(pathname);
    const m = method.toUpperCase();
    const candidates: OssOperation[] = [];
    for (const op of this.operations) {
      if (op.method !== m || op.segments.length !== segs.length) continue;
      if (op.segments.every((s, i) => isParam(s) || s === segs[i])) candidates.push(op);
    }
    if (candidates.length === 0) return undefined;
    candidates.sort(compareSpecificity);
    const op = candidates[0]!;
    const params: Record<string, string> = {};
    op.segments.forEach((s, i) => {
      if (isParam(s)) params[s.slice(1, -1)] = decodeURIComponent(segs[i]!);
    });
    return { op, params };
  }

  /** Validate a value against `#/components/schemas/<name>`. */
  validateSchema(name: string, value: unknown): { valid: boolean; errors: ErrorObject[] } {
    if (!(name in this.convertedComponents)) throw new Error(`no schema ${name} in the spec`);
    const fn = this.compile(`schema:${name}`, { $ref: `${SPEC_ID}#/components/schemas/${name}` });
    const valid = fn(value) as boolean;
    return { valid, errors: valid ? [] : [...(fn.errors ?? [])] };
  }

  hasSchema(name: string): boolean {
    return name in this.convertedComponents;
  }

  private compile(key: string, schema: SchemaObject): ValidateFunction {
    let fn = this.validators.get(key);
    if (!fn) {
      fn = this.ajv.compile(schema);
      this.validators.set(key, fn);
    }
    return fn;
  }

  /**
   * Check one response (or one SSE event) against the matched operation. Returns a human-readable problem or null.
   * `exceptions` lists routes the double serves although they are not OSS operations of the spec.
   */
  check(input: CheckInput, exceptions: readonly RouteException[]): Omit<ContractViolation, 'url'> | null {
    const base = { method: input.method, status: input.status, contentType: input.contentType };
    if (exceptions.some((e) => (e.method === '*' || e.method === input.method) && e.pattern.test(input.pathname))) return null;
    const matched = this.match(input.method, input.pathname);
    if (!matched) {
      if (input.status >= 400) return null; // e.g. 404 for an unknown path
      return { ...base, operationId: null, message: `route ${input.method} ${input.pathname} is neither an OSS operation of the spec nor a listed exception` };
    }
    const { op } = matched;
    const resp = op.responses.get(String(input.status));
    const mediaType = input.contentType ? input.contentType.split(';')[0]!.trim().toLowerCase() : null;
    if (!resp) {
      if (input.status >= 300) return null; // errors/redirects are not described by the spec
      if (input.body === undefined && input.sseEvent === undefined) return null; // e.g. 204 without a body
      return { ...base, operationId: op.operationId, message: `status ${input.status} is not documented for ${op.operationId}` };
    }
    if (mediaType && resp.contentTypes.length > 0 && !resp.contentTypes.includes(mediaType)) {
      return { ...base, operationId: op.operationId, message: `content type ${mediaType} not declared for ${op.operationId} ${input.status} (declared: ${resp.contentTypes.join(', ')})` };
    }
    if (input.sseEvent !== undefined) {
      const schema = resp.schemas.get('text/event-stream');
      if (!schema) return { ...base, operationId: op.operationId, message: `${op.operationId} does not declare text/event-stream` };
      const fn = this.compile(`${op.method} ${op.pathTemplate} ${input.status} sse`, schema);
      if (!fn(input.sseEvent)) return { ...base, operationId: op.operationId, message: `SSE event does not match ${op.operationId}`, errors: [...(fn.errors ?? [])] };
      return null;
    }
    if (input.body === undefined) return null;
    if (!mediaType || !JSON_CONTENT_TYPES.has(mediaType)) return null;
    const schema = resp.schemas.get(mediaType);
    if (!schema) return { ...base, operationId: op.operationId, message: `no schema for ${mediaType} in ${op.operationId} ${input.status}` };
    const fn = this.compile(`${op.method} ${op.pathTemplate} ${input.status} ${mediaType}`, schema);
    if (!fn(input.body)) return { ...base, operationId: op.operationId, message: `response does not match ${op.operationId} ${input.status}`, errors: [...(fn.errors ?? [])] };
    return null;
  }
}

let cachedDerived: DerivedContract | undefined;
let cachedContract: OpenApiContract | undefined;

/** The committed derivation of Kestra's spec (read and checked once per process). */
export function loadDerivedContract(): DerivedContract {
  cachedDerived ??= derivedContractSchema.parse(JSON.parse(fs.readFileSync(DERIVED_CONTRACT_PATH, 'utf8')));
  return cachedDerived;
}

/** The indexed OSS contract (built once per process). */
export function loadContract(): OpenApiContract {
  cachedContract ??= new OpenApiContract(loadDerivedContract());
  return cachedContract;
}

export function formatErrors(errors: readonly ErrorObject[] | undefined, max = 8): string {
  if (!errors || errors.length === 0) return '';
  return errors
    .slice(0, max)
    .map((e) => `${e.instancePath || '/'} ${e.message ?? ''}${e.params ? ' ' + JSON.stringify(e.params) : ''}`)
    .join('; ');
}
