import type { FormPart } from '../authz/multipart-form.js';
import { escapeHtml } from '../http/perch-page.js';

/**
 * A flow's inputs as an HTML form, and a submitted form read back into the parts Kestra takes: one
 * control per Kestra input type (2.0: STRING, INT, FLOAT, BOOL/BOOLEAN, SELECT/ENUM, MULTISELECT,
 * DATETIME, DATE, TIME, DURATION, JSON, YAML, URI, EMAIL, SECRET, ARRAY, FILE), with its default,
 * whether it is required, and the checks a browser and Perch can make before Kestra makes its own.
 * Only the inputs the flow declares are forwarded.
 */

export interface InputDef {
  id: string;
  type: string;
  displayName?: string;
  description?: string;
  required?: boolean;
  defaults?: unknown;
  values?: unknown[];
  min?: number | string;
  max?: number | string;
  minLength?: number;
  maxLength?: number;
  validator?: string;
  itemType?: string;
}

export const inputDefsOf = (raw: unknown): InputDef[] =>
  (Array.isArray(raw) ? raw : []).filter((d): d is InputDef => !!d && typeof d === 'object' && typeof (d as InputDef).id === 'string' && typeof (d as InputDef).type === 'string');

const attr = (name: string, value: unknown) => (value === undefined || value === null || value === '' ? '' : ` ${name}="${escapeHtml(String(value))}"`);
const isRequired = (d: InputDef) => d.required !== false && d.defaults === undefined;
/** A default Kestra renders (an expression) is left to Kestra: the field stays empty. */
const literalDefault = (d: InputDef): unknown => (typeof d.defaults === 'string' && d.defaults.includes('{{') ? undefined : d.defaults);
const asText = (v: unknown) => (v === undefined || v === null ? '' : typeof v === 'object' ? JSON.stringify(v, null, 2) : String(v));

function control(d: InputDef, value: unknown): string {
  const name = ` name="${escapeHtml(d.id)}" id="input-${escapeHtml(d.id)}"`;
  const required = isRequired(d) ? ' required' : '';
  const text = asText(value);
  const input = (type: string, extra = '') => `<input type="${type}"${name}${attr('value', text)}${required}${extra}>`;
  switch (d.type) {
    case 'INT':
      return input('number', ` step="1"${attr('min', d.min)}${attr('max', d.max)}`);
    case 'FLOAT':
      return input('number', ` step="any"${attr('min', d.min)}${attr('max', d.max)}`);
    case 'BOOL':
    case 'BOOLEAN': {
      const options = ['true', 'false'].map((v) => `<option value="${v}"${text === v ? ' selected' : ''}>${v}</option>`).join('');
      return `<select${name}${required}>${isRequired(d) ? '<option value="">Choose…</option>' : '<option value=""></option>'}${options}</select>`;
    }
    case 'ENUM':
    case 'SELECT':
    case 'MULTISELECT': {
      const chosen = new Set(Array.isArray(value) ? value.map(String) : text === '' ? [] : [text]);
      const options = (d.values ?? []).map((v) => `<option value="${escapeHtml(String(v))}"${chosen.has(String(v)) ? ' selected' : ''}>${escapeHtml(String(v))}</option>`).join('');
      const multiple = d.type === 'MULTISELECT' ? ' multiple' : '';
      return `<select${name}${required}${multiple}>${multiple ? '' : '<option value="">Choose…</option>'}${options}</select>`;
    }
    case 'DATETIME':
      return input('datetime-local', ' step="1"');
    case 'DATE':
      return input('date', `${attr('min', d.min)}${attr('max', d.max)}`);
    case 'TIME':
      return input('time', ' step="1"');
    case 'DURATION':
      return input('text', ' pattern="P.*" placeholder="PT30M"');
    case 'JSON':
    case 'YAML':
    case 'ARRAY':
      return `<textarea${name} rows="5"${required}${d.type === 'ARRAY' ? ' placeholder="one item per line"' : ''}>${escapeHtml(Array.isArray(value) && d.type === 'ARRAY' ? value.map(String).join('\n') : text)}</textarea>`;
    case 'URI':
      return input('url');
    case 'EMAIL':
      return input('email');
    case 'SECRET':
      return `<input type="password"${name} autocomplete="off"${required}>`;
    case 'FILE':
      return `<input type="file"${name}${required}>`;
    default:
      return input('text', `${attr('pattern', d.validator)}${attr('minlength', d.minLength)}${attr('maxlength', d.maxLength)}`);
  }
}

/** The form's fields for `defs`, filled with `values` (a re-shown form) or the inputs' defaults, with any error under its field. */
export function renderInputFields(defs: InputDef[], values: Record<string, unknown> = {}, errors: Record<string, string> = {}): string {
  return defs
    .map((d) => {
      const label = escapeHtml(d.displayName ?? d.id) + (isRequired(d) ? ' <span class="req" aria-hidden="true">*</span>' : '');
      const help = d.description ? `<small>${escapeHtml(d.description)}</small>` : '';
      const error = errors[d.id] ? `<p class="field-error" role="alert">${escapeHtml(errors[d.id]!)}</p>` : '';
      const value = d.id in values ? values[d.id] : literalDefault(d);
      return `<div class="field" data-type="${escapeHtml(d.type)}"><label for="input-${escapeHtml(d.id)}">${label}</label>${control(d, value)}${help}${error}</div>`;
    })
    .join('\n');
}

export interface ReadInputs {
  /** The parts to forward to Kestra: declared inputs only, in Kestra's text forms. */
  parts: FormPart[];
  /** What was sent, to show the form again. */
  values: Record<string, unknown>;
  errors: Record<string, string>;
}

const ISO_DURATION = /^-?P(?!$)(\d+(\.\d+)?Y)?(\d+(\.\d+)?M)?(\d+(\.\d+)?W)?(\d+(\.\d+)?D)?(T(?=\d)(\d+(\.\d+)?H)?(\d+(\.\d+)?M)?(\d+(\.\d+)?S)?)?$/i;
const EMAIL = /^[^\s@]+@[^\s@]+\.[^\s@]+$/;

/** Checks one text value for its type; answers the text Kestra takes, or throws the message to show. */
function checked(d: InputDef, text: string): string {
  const fail = (message: string): never => {
    throw new Error(message);
  };
  switch (d.type) {
    case 'INT': {
      const n = Number(text);
      if (!/^-?\d+$/.test(text.trim()) || !Number.isSafeInteger(n)) fail('must be a whole number');
      if (d.min !== undefined && n < Number(d.min)) fail(`must be at least ${d.min}`);
      if (d.max !== undefined && n > Number(d.max)) fail(`must be at most ${d.max}`);
      return String(n);
    }
    case 'FLOAT': {
      const n = Number(text);
      if (text.trim() === '' || !Number.isFinite(n)) fail('must be a number');
      if (d.min !== undefined && n < Number(d.min)) fail(`must be at least ${d.min}`);
      if (d.max !== undefined && n > Number(d.max)) fail(`must be at most ${d.max}`);
      return String(n);
    }
    case 'BOOL':
    case 'BOOLEAN':
      return text === 'true' || text === 'false' ? text : fail('must be true or false');
    case 'ENUM':
    case 'SELECT':
      return (d.values ?? []).map(String).includes(text) ? text : fail('must be one of the listed values');
    case 'DATETIME': {
      // A browser's datetime-local has no zone: read as UTC, as the form says.
      const withZone = /(Z|[+-]\d\d:\d\d)$/.test(text) ? text : `${text}${text.length === 16 ? ':00' : ''}Z`;
      return Number.isNaN(Date.parse(withZone)) ? fail('must be a date and time') : new Date(withZone).toISOString();
    }
    case 'DATE':
      return /^\d{4}-\d\d-\d\d$/.test(text) && !Number.isNaN(Date.parse(text)) ? text : fail('must be a date (YYYY-MM-DD)');
    case 'TIME':
      return /^\d\d:\d\d(:\d\d)?$/.test(text) ? (text.length === 5 ? `${text}:00` : text) : fail('must be a time (HH:MM:SS)');
    case 'DURATION':
      return ISO_DURATION.test(text) ? text : fail('must be an ISO-8601 duration such as PT30M');
    case 'JSON':
      try {
        JSON.parse(text);
        return text;
      } catch {
        return fail('must be valid JSON');
      }
    case 'ARRAY':
      return text.trim().startsWith('[') ? (JSON.parse(text), text) : JSON.stringify(text.split(/\r?\n/).map((s) => s.trim()).filter(Boolean));
    case 'URI':
      try {
        new URL(text);
        return text;
      } catch {
        return fail('must be an address (URI)');
      }
    case 'EMAIL':
      return EMAIL.test(text) ? text : fail('must be an email address');
    default:
      if (d.minLength !== undefined && text.length < d.minLength) fail(`must hold at least ${d.minLength} characters`);
      if (d.maxLength !== undefined && text.length > d.maxLength) fail(`must hold at most ${d.maxLength} characters`);
      return text;
  }
}

const NAMES_A_FILE = /(?:kestra|nsfile):\//i;

/** Reads the submitted parts for `defs`: each declared input at most once (a MULTISELECT as often as it has choices). */
export function readInputs(defs: InputDef[], submitted: readonly FormPart[]): ReadInputs {
  const out: ReadInputs = { parts: [], values: {}, errors: {} };
  for (const d of defs) {
    const mine = submitted.filter((p) => p.name === d.id);
    if (d.type === 'FILE') {
      const file = mine.find((p) => p.filename !== undefined && p.filename !== '' && p.data.length > 0);
      if (mine.length > 1) out.errors[d.id] = 'was sent more than once';
      else if (file) out.parts.push({ name: d.id, filename: file.filename, contentType: file.contentType, data: file.data });
      else if (isRequired(d)) out.errors[d.id] = 'is required';
      continue;
    }
    if (mine.some((p) => p.filename !== undefined)) {
      out.errors[d.id] = 'must be a value, not a file';
      continue;
    }
    const texts = mine.map((p) => p.data.toString('utf8')).filter((t) => t !== '');
    if (d.type === 'MULTISELECT') {
      out.values[d.id] = texts;
      const allowed = (d.values ?? []).map(String);
      if (texts.some((t) => !allowed.includes(t))) out.errors[d.id] = 'must be among the listed values';
      else if (texts.length > 0) out.parts.push({ name: d.id, data: Buffer.from(JSON.stringify(texts)) });
      else if (isRequired(d)) out.errors[d.id] = 'is required';
      continue;
    }
    if (mine.length > 1) {
      out.errors[d.id] = 'was sent more than once';
      continue;
    }
    const text = texts[0];
    if (d.type !== 'SECRET') out.values[d.id] = text;
    if (text === undefined) {
      if (isRequired(d)) out.errors[d.id] = 'is required';
      continue;
    }
    // The app runs as Perch, for people Perch did not check against namespaces: no text may reach Kestra as a
    // file (docs/security.md, "Built at run time": Kestra takes a kestra:/// text as that file, and reads other
    // text given to a FILE item from its own disk).
    if (NAMES_A_FILE.test(text)) {
      out.errors[d.id] = 'must not name a stored file (kestra:// or nsfile://)';
      continue;
    }
    if (d.type === 'ARRAY' && d.itemType === 'FILE') {
      out.errors[d.id] = 'is a list of files, which this form cannot take';
      continue;
    }
    try {
      out.parts.push({ name: d.id, data: Buffer.from(checked(d, text)) });
    } catch (error) {
      out.errors[d.id] = (error as Error).message;
    }
  }
  return out;
}
