/**
 * A Google Secret Manager double (Google publishes no emulator): the REST methods Perch calls, checked
 * against Google's published discovery description (test/secrets/google-secretmanager-v1.json). Every
 * request must be one of the description's methods, with its path pattern, query and a body its schema
 * accepts; every answer is checked against the method's response schema; anything else is answered 400
 * and recorded in `violations`. Like Google, it takes the self-signed JWT a service-account key makes
 * (RS256, checked against the key's public half, for the cloud-platform scope) and nothing else.
 */
import { createVerify, generateKeyPairSync, type KeyObject } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { Ajv } from 'ajv';

const SPEC = JSON.parse(readFileSync(new URL('./google-secretmanager-v1.json', import.meta.url), 'utf8')) as {
  methods: Record<string, { httpMethod: string; path: string; pattern: string; query?: Record<string, { required: boolean; pattern: string }>; request?: string; response: string }>;
  scopes: string[];
  definitions: Record<string, object>;
};

export interface GoogleSecretManagerDouble {
  url: string;
  /** A service-account key file's content for the account the double trusts. */
  serviceAccount: Record<string, string>;
  /** secret name (projects/…/secrets/…) → its versions' data, oldest first. */
  secrets: Map<string, { labels: Record<string, string>; versions: string[] }>;
  /** The method id of each authorized request, in order. */
  calls: string[];
  violations: string[];
  /** Every request is refused 403 (the account lost its role). */
  forbid: boolean;
  close(): Promise<void>;
}

const status = (code: number, name: string, message: string) => ({ error: { code, message, status: name } });

/** The service account's self-signed JWT: signature, issuer and scope. */
function verifyJwt(token: string, key: KeyObject, email: string): string | null {
  const [header, payload, signature] = token.split('.');
  if (!header || !payload || !signature) return 'not a JWT';
  const verifier = createVerify('RSA-SHA256');
  verifier.update(`${header}.${payload}`);
  if (!verifier.verify(key, Buffer.from(signature, 'base64url'))) return 'bad signature';
  const claims = JSON.parse(Buffer.from(payload, 'base64url').toString('utf8')) as { iss?: string; scope?: string; aud?: string; exp?: number };
  if (claims.iss !== email) return 'wrong issuer';
  if (!(claims.scope ?? '').split(' ').some((s) => SPEC.scopes.includes(s)) && !claims.aud) return 'no cloud-platform scope';
  if (!claims.exp || claims.exp * 1000 < Date.now()) return 'expired';
  return null;
}

export async function startGoogleSecretManagerDouble(projectId = 'perch-project'): Promise<GoogleSecretManagerDouble> {
  const ajv = new Ajv({ strict: false, validateFormats: false, allErrors: true });
  ajv.addSchema({ definitions: SPEC.definitions }, 'sm');
  const check = (definition: string, value: unknown, what: string) => {
    const validate = ajv.getSchema(`sm#/definitions/${definition}`)!;
    const ok = validate(value) as boolean;
    if (!ok) double.violations.push(`${what}: ${ajv.errorsText(validate.errors)}`);
    return ok;
  };
  const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const email = `perch@${projectId}.iam.gserviceaccount.com`;
  const double: GoogleSecretManagerDouble = {
    url: '',
    serviceAccount: {
      type: 'service_account', project_id: projectId, private_key_id: 'perch-key', client_email: email, client_id: '1',
      private_key: privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
      // Never called: a key file makes self-signed JWTs; a token request would land here and be refused.
      token_uri: 'http://127.0.0.1:9/token',
    },
    secrets: new Map(),
    calls: [],
    violations: [],
    forbid: false,
    close: () => new Promise((resolve) => {
      server.closeAllConnections();
      server.close(() => resolve());
    }),
  };
  const send = (res: ServerResponse, code: number, body: unknown, what: string) => {
    if (!check(code === 200 ? what : 'Status', body, `${what} answer`)) double.violations.push(`answer ${code} for ${what}`);
    res.writeHead(code, { 'content-type': 'application/json' }).end(JSON.stringify(body));
  };
  const refuse = (res: ServerResponse, code: number, name: string, message: string) => send(res, code, status(code, name, message), 'Status');

  // Which method a request is: the description's path template with {+param} matching the parameter's pattern.
  const route = (method: string, pathname: string) => {
    for (const [id, m] of Object.entries(SPEC.methods)) {
      if (m.httpMethod !== method) continue;
      const [before, after] = m.path.split(/\{\+\w+\}/) as [string, string];
      if (!pathname.startsWith(`/${before}`) || !pathname.endsWith(after)) continue;
      const param = decodeURIComponent(pathname.slice(before.length + 1, pathname.length - after.length));
      if (new RegExp(m.pattern).test(param)) return { id, method: m, param };
    }
    return undefined;
  };

  const server: Server = createServer((req: IncomingMessage, res: ServerResponse) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const url = new URL(req.url!, 'http://sm');
      const found = route(req.method!, url.pathname);
      if (!found) {
        double.violations.push(`${req.method} ${url.pathname}: not a method of the description Perch may call`);
        return refuse(res, 400, 'INVALID_ARGUMENT', 'unsupported method');
      }
      const token = (req.headers.authorization ?? '').replace(/^Bearer /, '');
      const wrong = token ? verifyJwt(token, publicKey, email) : 'no token';
      if (wrong) return refuse(res, 401, 'UNAUTHENTICATED', `Request had invalid authentication credentials (${wrong})`);
      double.calls.push(found.id);
      if (double.forbid) return refuse(res, 403, 'PERMISSION_DENIED', "Permission 'secretmanager.versions.add' denied");
      for (const [name, rule] of Object.entries(found.method.query ?? {})) {
        const value = url.searchParams.get(name);
        if ((rule.required && value === null) || (value !== null && !new RegExp(rule.pattern).test(value))) {
          double.violations.push(`${found.id}: query ${name}=${value} does not match ${rule.pattern}`);
          return refuse(res, 400, 'INVALID_ARGUMENT', `invalid ${name}`);
        }
      }
      let body: unknown;
      try {
        body = chunks.length ? JSON.parse(Buffer.concat(chunks).toString('utf8')) : undefined;
      } catch {
        double.violations.push(`${found.id}: body is not JSON`);
        return refuse(res, 400, 'INVALID_ARGUMENT', 'body is not JSON');
      }
      if (found.method.request && !check(found.method.request, body ?? {}, `${found.id} request`)) return refuse(res, 400, 'INVALID_ARGUMENT', 'invalid body');
      const answer = (value: unknown) => send(res, 200, value, found.method.response);
      switch (found.id) {
        case 'secretmanager.projects.secrets.create': {
          const name = `${found.param}/secrets/${url.searchParams.get('secretId')}`;
          if (double.secrets.has(name)) return refuse(res, 409, 'ALREADY_EXISTS', `Secret [${name}] already exists.`);
          const secret = body as { labels?: Record<string, string>; replication?: object };
          if (!secret.replication) return refuse(res, 400, 'INVALID_ARGUMENT', 'Secret.replication is required');
          double.secrets.set(name, { labels: secret.labels ?? {}, versions: [] });
          return answer({ name, replication: secret.replication, labels: secret.labels ?? {}, createTime: new Date(0).toISOString() });
        }
        case 'secretmanager.projects.secrets.addVersion': {
          const secret = double.secrets.get(found.param);
          if (!secret) return refuse(res, 404, 'NOT_FOUND', `Secret [${found.param}] not found or has no versions.`);
          const data = (body as { payload?: { data?: string } }).payload?.data;
          if (data === undefined) return refuse(res, 400, 'INVALID_ARGUMENT', 'payload.data is required');
          secret.versions.push(Buffer.from(data, 'base64').toString('utf8'));
          return answer({ name: `${found.param}/versions/${secret.versions.length}`, createTime: new Date(0).toISOString(), state: 'ENABLED' });
        }
        case 'secretmanager.projects.secrets.versions.access': {
          const [secretName, version] = found.param.split('/versions/') as [string, string];
          const versions = double.secrets.get(secretName)?.versions ?? [];
          const index = version === 'latest' ? versions.length - 1 : Number(version) - 1;
          const value = versions[index];
          if (value === undefined) return refuse(res, 404, 'NOT_FOUND', `Secret Version [${found.param}] not found.`);
          return answer({ name: `${secretName}/versions/${index + 1}`, payload: { data: Buffer.from(value, 'utf8').toString('base64') } });
        }
        default: {
          if (!double.secrets.delete(found.param)) return refuse(res, 404, 'NOT_FOUND', `Secret [${found.param}] not found.`);
          return answer({});
        }
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  double.url = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
  return double;
}
