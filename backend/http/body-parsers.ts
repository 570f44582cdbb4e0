import type { FastifyInstance } from 'fastify';

/**
 * No text Perch stores may hold a NUL character: PostgreSQL refuses it inside a transaction (a 500,
 * after part of the work was done), and no name, email or description needs one. JSON carries it as
 * the escape \u0000 (a raw one is already invalid JSON); a form as %00 or a raw byte.
 */
const NUL_IN_JSON = /\\u0000/i;
const NUL = '\u0000';

const refused = () => Object.assign(new Error('The request body contains a NUL character (\\u0000), which no field accepts'), { statusCode: 400 });

/** Perch's own JSON and form bodies: Fastify's JSON parser (with its prototype-poisoning checks), and forms, both without NUL. */
export function installBodyParsers(app: FastifyInstance): void {
  const json = app.getDefaultJsonParser('error', 'error');
  app.removeContentTypeParser('application/json');
  app.addContentTypeParser('application/json', { parseAs: 'string' }, (request, body, done) => {
    // Generated EE clients send `Content-Type: application/json` with no body on operations that take
    // none (a DELETE, a PATCH of flags): no body reads as none, and a route that needs one says so (422).
    if ((body as string).trim() === '') return done(null, undefined);
    if (NUL_IN_JSON.test(body as string)) return done(refused(), undefined);
    json(request, body as string, done);
  });
  app.addContentTypeParser('application/x-www-form-urlencoded', { parseAs: 'string' }, (_request, body, done) => {
    const fields = Object.fromEntries(new URLSearchParams(body as string));
    if (Object.entries(fields).some(([name, value]) => name.includes(NUL) || value.includes(NUL))) return done(refused(), undefined);
    done(null, fields);
  });
}
