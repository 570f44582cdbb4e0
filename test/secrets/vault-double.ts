/**
 * A HashiCorp Vault double: the KV v2 and AppRole operations Perch calls, checked against Vault's
 * published API description (test/secrets/vault-kv2-openapi.json, derived from
 * hashicorp/vault-client-go's openapi.json). Every request must be one of the description's
 * operations with a body its schema accepts, and every answer's `data` must match the operation's
 * response schema; anything else is answered 400 and recorded in `violations`.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { readFileSync } from 'node:fs';
import { Ajv } from 'ajv';

const SPEC = JSON.parse(readFileSync(new URL('./vault-kv2-openapi.json', import.meta.url), 'utf8')) as {
  components: { schemas: Record<string, object> };
};

export interface VaultDouble {
  url: string;
  /** path (below the mount's `data/`) → the data map stored there. */
  store: Map<string, Record<string, unknown>>;
  requests: Array<{ method: string; url: string; token: string | undefined; namespace: string | undefined; body: unknown }>;
  violations: string[];
  /** Tokens Vault accepts; `revoke` makes the current AppRole token expire. */
  tokens: Set<string>;
  revoke(): void;
  close(): Promise<void>;
}

export async function startVaultDouble(options: { mount?: string; rootToken?: string; appRole?: { path: string; roleId: string; secretId: string } } = {}): Promise<VaultDouble> {
  const mount = options.mount ?? 'secret';
  const ajv = new Ajv({ strict: false, validateFormats: false, allErrors: true });
  for (const [name, schema] of Object.entries(SPEC.components.schemas)) ajv.addSchema(schema, name);
  const check = (schema: string, value: unknown, what: string) => {
    const validate = ajv.getSchema(schema)!;
    if (!validate(value)) double.violations.push(`${what}: ${ajv.errorsText(validate.errors)}`);
    return validate(value);
  };
  let issued = 0;
  const double: VaultDouble = {
    url: '',
    store: new Map(),
    requests: [],
    violations: [],
    tokens: new Set(options.rootToken ? [options.rootToken] : []),
    revoke() {
      for (const token of double.tokens) if (token.startsWith('approle-')) double.tokens.delete(token);
    },
    close: () => new Promise((resolve) => {
      server.closeAllConnections();
      server.close(() => resolve());
    }),
  };
  const send = (res: ServerResponse, status: number, body?: unknown) => {
    res.writeHead(status, body === undefined ? {} : { 'content-type': 'application/json' }).end(body === undefined ? undefined : JSON.stringify(body));
  };
  const envelope = (data: unknown) => ({ request_id: 'r', lease_id: '', renewable: false, lease_duration: 0, data, wrap_info: null, warnings: null, auth: null });

  const server: Server = createServer((req: IncomingMessage, res: ServerResponse) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const text = Buffer.concat(chunks).toString('utf8');
      let body: unknown;
      try {
        body = text ? JSON.parse(text) : undefined;
      } catch {
        double.violations.push(`${req.method} ${req.url}: body is not JSON`);
        return send(res, 400, { errors: ['body is not JSON'] });
      }
      const token = req.headers['x-vault-token'] as string | undefined;
      double.requests.push({ method: req.method!, url: req.url!, token, namespace: req.headers['x-vault-namespace'] as string | undefined, body });
      const url = new URL(req.url!, 'http://vault');
      const login = options.appRole && url.pathname === `/v1/auth/${options.appRole.path}/login`;
      if (login && req.method === 'POST') {
        if (!check('AppRoleLoginRequest', body, 'app-role-login request')) return send(res, 400, { errors: ['invalid'] });
        const { role_id, secret_id } = body as { role_id?: string; secret_id?: string };
        if (role_id !== options.appRole!.roleId || secret_id !== options.appRole!.secretId) return send(res, 400, { errors: ['invalid role or secret ID'] });
        const client_token = `approle-${++issued}`;
        double.tokens.add(client_token);
        return send(res, 200, { ...envelope(null), auth: { client_token, lease_duration: 60, renewable: true, policies: ['perch'] } });
      }
      const m = new RegExp(`^/v1/${mount}/(data|metadata)/(.+)$`).exec(url.pathname);
      const op = m && `${req.method} ${m[1]}`;
      if (!m || !['POST data', 'GET data', 'DELETE metadata'].includes(op!)) {
        double.violations.push(`${req.method} ${url.pathname}: not an operation of the description Perch may call`);
        return send(res, 405, { errors: ['unsupported operation'] });
      }
      if (!token || !double.tokens.has(token)) return send(res, 403, { errors: ['permission denied'] });
      const path = m[2]!.split('/').map(decodeURIComponent).join('/');
      if (op === 'POST data') {
        if (!check('KvV2WriteRequest', body, 'kv-v2-write request') || typeof (body as { data?: unknown }).data !== 'object') return send(res, 400, { errors: ['invalid'] });
        double.store.set(path, (body as { data: Record<string, unknown> }).data);
        const data = { version: 1, created_time: new Date(0).toISOString(), deletion_time: '', destroyed: false, custom_metadata: {} };
        check('KvV2WriteResponse', data, 'kv-v2-write response');
        return send(res, 200, envelope(data));
      }
      if (op === 'GET data') {
        const stored = double.store.get(path);
        if (!stored) return send(res, 404, { errors: [] });
        const data = { data: stored, metadata: { version: 1, created_time: new Date(0).toISOString(), deletion_time: '', destroyed: false } };
        check('KvV2ReadResponse', data, 'kv-v2-read response');
        return send(res, 200, envelope(data));
      }
      double.store.delete(path);
      return send(res, 204);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  double.url = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
  return double;
}
