import type { Server, ServerResponse } from 'node:http';
import { Ajv } from 'ajv';

/**
 * What the manager doubles share: a checker of values against the schemas derived from a vendor's API
 * description (each failure recorded in `violations`), JSON answers checked the same way, and a stop
 * that does not wait for kept-alive connections.
 */
export function apiSchemas(root: object, refPrefix: string, violations: string[]) {
  const ajv = new Ajv({ strict: false, allErrors: true, validateFormats: false });
  ajv.addSchema(root, 'api');
  const check = (schema: string, value: unknown, what: string) => {
    const validate = ajv.getSchema(`api#${refPrefix}${schema}`)!;
    const ok = validate(value) as boolean;
    if (!ok) violations.push(`${what}: ${ajv.errorsText(validate.errors)}`);
    return ok;
  };
  const send = (res: ServerResponse, status: number, body: unknown, schema: string) => {
    check(schema, body, `${schema} answer`);
    res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));
  };
  return { check, send };
}

export const stopServer = (server: Server) => new Promise<void>((resolve) => {
  server.closeAllConnections();
  server.close(() => resolve());
});
