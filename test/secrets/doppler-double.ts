/**
 * A Doppler API double: the secret operations Perch calls, checked against Doppler's API
 * reference (test/secrets/doppler-api-v3.json). Every request must be one of them, with its query
 * parameters, a Bearer token Doppler would accept and a body its schema allows; every answer is checked
 * against the operation's response schema; anything else is answered 400 and recorded in `violations`.
 */
import { readFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { apiSchemas, stopServer } from './api-double.js';

const SPEC = JSON.parse(readFileSync(new URL('./doppler-api-v3.json', import.meta.url), 'utf8')) as {
  operations: Record<string, { method: string; path: string; query?: string[]; body?: string; response: string }>;
  namePattern: string;
  definitions: Record<string, object>;
};

export interface DopplerDouble {
  url: string;
  token: string;
  /** `<project>/<config>` → name → value. */
  configs: Map<string, Map<string, string>>;
  calls: string[];
  violations: string[];
  forbid: boolean;
  /** Answer as a proxy in front of Doppler might: a 502 with an HTML page. */
  htmlError: boolean;
  close(): Promise<void>;
}

export async function startDopplerDouble(token = 'dp.st.perch-test-token'): Promise<DopplerDouble> {
  const double: DopplerDouble = {
    url: '', token, configs: new Map(), calls: [], violations: [], forbid: false, htmlError: false,
    close: () => stopServer(server),
  };
  const { check, send } = apiSchemas({ definitions: SPEC.definitions }, '/definitions/', double.violations);
  const refuse = (res: ServerResponse, status: number, message: string) => send(res, status, { messages: [message], success: false }, 'Error');

  const server: Server = createServer((req: IncomingMessage, res: ServerResponse) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const url = new URL(req.url!, 'http://doppler');
      const found = Object.entries(SPEC.operations).find(([, op]) => op.method === req.method && op.path === url.pathname);
      if (!found) {
        double.violations.push(`${req.method} ${url.pathname}: not an operation of the reference Perch may call`);
        return refuse(res, 400, 'unsupported operation');
      }
      const [id, op] = found;
      if (req.headers.authorization !== `Bearer ${double.token}`) return refuse(res, 401, 'Invalid Auth token');
      double.calls.push(id);
      if (double.htmlError) return res.writeHead(502, { 'content-type': 'text/html' }).end('<html><body>502 Bad Gateway</body></html>');
      if (double.forbid) return refuse(res, 403, 'This token does not have access to requested config');
      const query = Object.fromEntries(url.searchParams);
      for (const name of op.query ?? []) {
        if (!query[name]) {
          double.violations.push(`${id}: query parameter ${name} missing`);
          return refuse(res, 400, `${name} is required`);
        }
      }
      let body: unknown = {};
      try {
        if (chunks.length) body = JSON.parse(Buffer.concat(chunks).toString('utf8'));
      } catch {
        double.violations.push(`${id}: body is not JSON`);
        return refuse(res, 400, 'body is not JSON');
      }
      if (op.body && !check(op.body, body, `${id} request`)) return refuse(res, 400, 'invalid body');
      if (id === 'secrets.update') {
        const { project, config, secrets, change_requests } = body as { project: string; config: string; secrets?: Record<string, string>; change_requests?: Array<{ name: string; value: string | null; shouldDelete?: boolean }> };
        const values = double.configs.get(`${project}/${config}`);
        if (!values) return refuse(res, 404, 'Could not find requested config');
        const changes = secrets ? Object.entries(secrets).map(([name, value]) => ({ name, value, shouldDelete: false })) : change_requests!;
        for (const change of changes) {
          if (change.shouldDelete) values.delete(change.name);
          else if (change.value !== null) values.set(change.name, change.value);
        }
        const answer = Object.fromEntries([...values].map(([name, value]) => [name, { raw: value, computed: value }]));
        return send(res, 200, { secrets: answer }, op.response);
      }
      const values = double.configs.get(`${query.project}/${query.config}`);
      if (!values) return refuse(res, 404, 'Could not find requested config');
      if (!new RegExp(SPEC.namePattern).test(query.name!)) {
        double.violations.push(`${id}: name ${query.name} does not match ${SPEC.namePattern}`);
        return refuse(res, 400, 'invalid secret name');
      }
      const value = values.get(query.name!);
      if (value === undefined) return refuse(res, 404, 'Could not find requested secret');
      if (id === 'secrets.delete') {
        values.delete(query.name!);
        return send(res, 200, { success: true }, op.response);
      }
      return send(res, 200, { name: query.name, value: { raw: value, computed: value } }, op.response);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  double.url = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
  return double;
}
