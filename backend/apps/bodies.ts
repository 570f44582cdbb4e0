import { randomBytes } from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import { FormError, readFormParts, type FormPart } from '../authz/multipart-form.js';
import { MAX_SOURCE_BYTES } from './app-source.js';

/** A multipart form read whole, in its one canonical form. The audit log sees its part names and sizes, never the bytes. */
export class ReadForm {
  constructor(readonly parts: FormPart[]) {}

  field(name: string): string | undefined {
    const part = this.parts.find((p) => p.name === name && p.filename === undefined);
    return part?.data.toString('utf8');
  }

  toJSON() {
    return { parts: this.parts.map((p) => ({ name: p.name, ...(p.filename !== undefined ? { filename: p.filename } : {}), size: p.data.length })) };
  }
}

/** The body of the apps' routes: YAML sources as text, forms read whole (at most `maxFormBytes`). */
export function installAppBodyParsers(scope: FastifyInstance, maxFormBytes: number): void {
  scope.addContentTypeParser(['application/x-yaml', 'application/yaml', 'text/yaml'], { parseAs: 'string', bodyLimit: MAX_SOURCE_BYTES }, (_request, body, done) => {
    if ((body as string).includes('\u0000')) return done(Object.assign(new Error('The request body contains a NUL character'), { statusCode: 400 }), undefined);
    done(null, body);
  });
  scope.addContentTypeParser('multipart/form-data', { parseAs: 'buffer', bodyLimit: maxFormBytes }, (request, body, done) => {
    try {
      done(null, new ReadForm(readFormParts(String(request.headers['content-type']), body as Buffer)));
    } catch (error) {
      if (error instanceof FormError) return done(Object.assign(new Error(error.message), { statusCode: 400 }), undefined);
      done(error as Error, undefined);
    }
  });
}

const quoted = (s: string) => s.replace(/["\\\r\n]/g, '_');

/** A multipart/form-data body of `parts` (what Perch forwards to Kestra: only the fields it checked). */
export function encodeForm(parts: readonly FormPart[]): { body: Buffer; contentType: string } {
  const boundary = `perch-${randomBytes(12).toString('hex')}`;
  const chunks: Buffer[] = [];
  for (const p of parts) {
    const file = p.filename !== undefined ? `; filename="${quoted(p.filename)}"\r\nContent-Type: ${p.contentType ?? 'application/octet-stream'}` : '';
    chunks.push(Buffer.from(`--${boundary}\r\nContent-Disposition: form-data; name="${quoted(p.name)}"${file}\r\n\r\n`), p.data, Buffer.from('\r\n'));
  }
  chunks.push(Buffer.from(`--${boundary}--\r\n`));
  return { body: Buffer.concat(chunks), contentType: `multipart/form-data; boundary=${boundary}` };
}
