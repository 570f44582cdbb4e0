/**
 * An Azure Key Vault double: the secret operations Perch calls, checked against Azure's published REST
 * description (test/secrets/azure-keyvault-secrets.json, derived from Azure/azure-rest-api-specs). Every
 * request must be one of the description's operations, with its api-version, a name its pattern allows and
 * a body its schema accepts; every answer is checked against the operation's response schema. Anything
 * else is answered 400 and recorded in `violations`.
 *
 * Like Key Vault, it answers an unauthenticated request 401 with a Bearer challenge (the SDK's challenge
 * flow), and accepts only tokens it issued from its App Service managed-identity endpoint (`/msi/token`,
 * what `@azure/identity` calls when IDENTITY_ENDPOINT and IDENTITY_HEADER are set). Deletes are soft:
 * a deleted secret must be purged before its name can be set again (409), as in a soft-delete vault.
 */
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { Ajv } from 'ajv';

const SPEC = JSON.parse(readFileSync(new URL('./azure-keyvault-secrets.json', import.meta.url), 'utf8')) as {
  'x-operations': Record<string, { method: string; path: string; secretNamePattern?: string; body?: string; response: Record<string, string | null> }>;
  definitions: Record<string, object>;
};

export interface KeyVaultDouble {
  url: string;
  /** The managed-identity endpoint and header to put in IDENTITY_ENDPOINT / IDENTITY_HEADER. */
  identity: { endpoint: string; header: string };
  /** name → the latest version's value and tags. */
  store: Map<string, { value: string; tags: Record<string, string> }>;
  deleted: Set<string>;
  /** operationId (or `token`) of each request, in order. */
  calls: string[];
  violations: string[];
  /** Tokens stop being accepted (Key Vault answers 401 with a fresh challenge). */
  revokeTokens(): void;
  /** Every request is refused 403 (the identity lost its access policy). */
  forbid: boolean;
  close(): Promise<void>;
}

export async function startKeyVaultDouble(): Promise<KeyVaultDouble> {
  const ajv = new Ajv({ strict: false, validateFormats: false, allErrors: true });
  ajv.addSchema({ definitions: SPEC.definitions }, 'kv');
  const check = (definition: string, value: unknown, what: string) => {
    const validate = ajv.getSchema(`kv#/definitions/${definition}`)!;
    const ok = validate(value) as boolean;
    if (!ok) double.violations.push(`${what}: ${ajv.errorsText(validate.errors)}`);
    return ok;
  };
  const header = randomBytes(12).toString('hex');
  const tokens = new Set<string>();
  const double: KeyVaultDouble = {
    url: '',
    identity: { endpoint: '', header },
    store: new Map(),
    deleted: new Set(),
    calls: [],
    violations: [],
    revokeTokens: () => tokens.clear(),
    forbid: false,
    close: () => new Promise((resolve) => {
      server.closeAllConnections();
      server.close(() => resolve());
    }),
  };
  const send = (res: ServerResponse, status: number, body?: unknown, headers: Record<string, string> = {}) => {
    res.writeHead(status, { ...headers, ...(body === undefined ? {} : { 'content-type': 'application/json' }) }).end(body === undefined ? undefined : JSON.stringify(body));
  };
  const fail = (res: ServerResponse, status: number, code: string, message: string) => {
    const body = { error: { code, message } };
    check('KeyVaultError', body, `${code} answer`);
    send(res, status, body);
  };
  const bundle = (name: string, entry: { value: string; tags: Record<string, string> }) => ({
    id: `${double.url}/secrets/${name}/0123456789abcdef`,
    value: entry.value,
    tags: entry.tags,
    attributes: { enabled: true, created: 1, updated: 1, recoverableDays: 90, recoveryLevel: 'Recoverable+Purgeable' },
  });
  const respond = (res: ServerResponse, operation: string, status: number, body?: unknown) => {
    const schema = SPEC['x-operations'][operation]!.response[String(status)];
    if (schema) check(schema, body, `${operation} response`);
    send(res, status, body);
  };

  const server: Server = createServer((req: IncomingMessage, res: ServerResponse) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const url = new URL(req.url!, 'http://kv');
      if (url.pathname === '/msi/token') {
        double.calls.push('token');
        if (req.headers['x-identity-header'] !== header || url.searchParams.get('api-version') !== '2019-08-01' || !url.searchParams.get('resource')) {
          double.violations.push(`managed identity request without the header, api-version or resource: ${req.url}`);
          return send(res, 400, { error: 'invalid_request' });
        }
        const token = randomBytes(16).toString('hex');
        tokens.add(token);
        return send(res, 200, { access_token: token, expires_on: String(Math.floor(Date.now() / 1000) + 3600), resource: url.searchParams.get('resource'), token_type: 'Bearer' });
      }
      const segments = url.pathname.slice(1).split('/').map(decodeURIComponent);
      const route = `${req.method} /${segments[0]}${segments.length > 1 ? '/{secret-name}' : ''}${segments.length > 2 ? '/{secret-version}' : ''}`;
      const found = Object.entries(SPEC['x-operations']).find(([, op]) => `${op.method} ${op.path}` === route);
      if (!found) {
        double.violations.push(`${req.method} ${url.pathname}: not an operation of the description Perch may call`);
        return fail(res, 400, 'BadParameter', 'unsupported operation');
      }
      const [operation, op] = found;
      if (!url.searchParams.get('api-version')) {
        double.violations.push(`${operation}: no api-version`);
        return fail(res, 400, 'BadParameter', 'api-version is required');
      }
      // Key Vault's challenge: no (valid) token, 401 naming the resource to ask a token for.
      const auth = req.headers.authorization;
      if (!auth || !tokens.has(auth.replace(/^Bearer /, ''))) {
        double.calls.push(`challenge ${operation}`);
        return send(res, 401, { error: { code: 'Unauthorized', message: 'AKV10000: Request is missing a Bearer or PoP token.' } }, {
          'www-authenticate': `Bearer authorization="https://login.microsoftonline.com/perch-tenant", resource="https://vault.azure.net"`,
        });
      }
      double.calls.push(operation);
      if (double.forbid) return fail(res, 403, 'Forbidden', 'The user, group or application does not have secrets permission on key vault');
      const name = segments[1]!;
      if (op.secretNamePattern && !new RegExp(op.secretNamePattern).test(name)) {
        double.violations.push(`${operation}: secret name ${name} does not match ${op.secretNamePattern}`);
        return fail(res, 400, 'BadParameter', 'The request URI contains an invalid name');
      }
      let body: unknown;
      try {
        body = chunks.length ? JSON.parse(Buffer.concat(chunks).toString('utf8')) : undefined;
      } catch {
        double.violations.push(`${operation}: body is not JSON`);
        return fail(res, 400, 'BadParameter', 'body is not JSON');
      }
      switch (operation) {
        case 'SetSecret': {
          if (!check(op.body!, body, 'SetSecret request')) return fail(res, 400, 'BadParameter', 'invalid body');
          if (double.deleted.has(name)) return fail(res, 409, 'Conflict', `Secret ${name} is currently in a deleted but recoverable state`);
          const { value, tags = {} } = body as { value: string; tags?: Record<string, string> };
          double.store.set(name, { value, tags });
          return respond(res, operation, 200, bundle(name, { value, tags }));
        }
        case 'GetSecret': {
          const entry = double.store.get(name);
          if (!entry) return fail(res, 404, 'SecretNotFound', `A secret with (name/id) ${name} was not found in this key vault`);
          return respond(res, operation, 200, bundle(name, entry));
        }
        case 'DeleteSecret': {
          const entry = double.store.get(name);
          if (!entry) return fail(res, 404, 'SecretNotFound', `A secret with (name/id) ${name} was not found in this key vault`);
          double.store.delete(name);
          double.deleted.add(name);
          return respond(res, operation, 200, { ...bundle(name, entry), recoveryId: `${double.url}/deletedsecrets/${name}`, deletedDate: 1, scheduledPurgeDate: 2 });
        }
        case 'GetDeletedSecret': {
          if (!double.deleted.has(name)) return fail(res, 404, 'SecretNotFound', `Deleted Secret not found: ${name}`);
          const { value: _value, ...rest } = bundle(name, { value: '', tags: {} });
          return respond(res, operation, 200, { ...rest, recoveryId: `${double.url}/deletedsecrets/${name}`, deletedDate: 1, scheduledPurgeDate: 2 });
        }
        default: {
          if (!double.deleted.delete(name)) return fail(res, 404, 'SecretNotFound', `Deleted Secret not found: ${name}`);
          return respond(res, operation, 204);
        }
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  double.url = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
  double.identity.endpoint = `${double.url}/msi/token`;
  return double;
}
