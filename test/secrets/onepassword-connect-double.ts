/**
 * A 1Password Connect server double: the item operations Perch calls, checked against 1Password's
 * published Connect API description (test/secrets/onepassword-connect-1.5.7.json). Every request must
 * be one of them, with path parameters of the described shape, the Connect token as Bearer and a body
 * its schema allows; every answer is checked against the operation's response schema; anything else
 * is answered 400 and recorded in `violations`.
 */
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { apiSchemas, stopServer } from './api-double.js';

interface Operation { method: string; path: string; query?: string[]; body?: string; response?: string; status?: number }
const SPEC = JSON.parse(readFileSync(new URL('./onepassword-connect-1.5.7.json', import.meta.url), 'utf8')) as {
  operations: Record<string, Operation>;
  pathParameterPattern: string;
  components: { schemas: Record<string, object> };
};

export interface ConnectItem {
  id: string;
  title?: string;
  category: string;
  tags?: string[];
  vault: { id: string };
  fields?: Array<{ id: string; type: string; purpose?: string; label?: string; value?: string }>;
  version: number;
}

export interface ConnectDouble {
  url: string;
  token: string;
  /** Vault UUID → item UUID → item. */
  vaults: Map<string, Map<string, ConnectItem>>;
  calls: string[];
  violations: string[];
  /** Answer 403 (the token's vault is not in scope). */
  forbid: boolean;
  close(): Promise<void>;
}

const newId = () => [...randomBytes(26)].map((b) => '0123456789abcdefghijklmnopqrstuvwxyz'[b % 36]).join('');
/** `/v1/vaults/{vaultUuid}/items` → a pattern with one group per parameter. */
const pathPattern = (path: string) => new RegExp(`^${path.replace(/\{[^}]+\}/g, '([^/]+)')}$`);

export async function startConnectDouble(token = 'connect-token-perch-test'): Promise<ConnectDouble> {
  const double: ConnectDouble = {
    url: '', token, vaults: new Map(), calls: [], violations: [], forbid: false,
    close: () => stopServer(server),
  };
  const { check, send } = apiSchemas({ components: SPEC.components }, '/components/schemas/', double.violations);
  const refuse = (res: ServerResponse, status: number, message: string) => send(res, status, { status, message }, 'ErrorResponse');
  const operations = Object.entries(SPEC.operations).map(([id, op]) => ({ id, op, pattern: pathPattern(op.path) }));
  const pathParameter = new RegExp(SPEC.pathParameterPattern);

  const server: Server = createServer((req: IncomingMessage, res: ServerResponse) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const url = new URL(req.url!, 'http://connect');
      // The official client lists items with a trailing slash; the description has none.
      const pathname = url.pathname.replace(/(\/items)\/$/, '$1');
      let params: string[] = [];
      const found = operations.find(({ op, pattern }) => {
        const match = op.method === req.method ? pattern.exec(pathname) : null;
        if (match) params = match.slice(1);
        return match;
      });
      if (!found) {
        double.violations.push(`${req.method} ${url.pathname}: not an operation of the description Perch may call`);
        return refuse(res, 400, 'unsupported operation');
      }
      const { id, op } = found;
      if (req.headers.authorization !== `Bearer ${double.token}`) return refuse(res, 401, 'Invalid token signature');
      double.calls.push(id);
      for (const param of params) {
        if (!pathParameter.test(param)) {
          double.violations.push(`${id}: path parameter ${param} does not match ${SPEC.pathParameterPattern}`);
          return refuse(res, 400, 'invalid path parameter');
        }
      }
      const [vaultId, itemId] = params;
      if (double.forbid) return refuse(res, 403, `vault ${vaultId} is not in scope`);
      let body: any;
      if (op.body) {
        try {
          body = JSON.parse(Buffer.concat(chunks).toString('utf8'));
        } catch {
          double.violations.push(`${id}: body is not JSON`);
          return refuse(res, 400, 'body is not JSON');
        }
        if (!check(op.body, body, `${id} request`)) return refuse(res, 400, 'invalid item');
        if (body.vault.id !== vaultId) return refuse(res, 400, 'the item names another vault');
      }
      const items = double.vaults.get(vaultId!);
      if (!items) return refuse(res, 404, `vault ${vaultId} not found`);
      switch (id) {
        case 'Items_getAll': {
          const title = /^title eq "(.*)"$/.exec(url.searchParams.get('filter') ?? '')?.[1];
          if (url.searchParams.has('filter') && title === undefined) {
            double.violations.push(`${id}: filter ${url.searchParams.get('filter')} is not a SCIM eq filter on title`);
            return refuse(res, 400, 'invalid filter');
          }
          const listed = [...items.values()].filter((item) => title === undefined || item.title === title);
          return send(res, 200, listed.map(({ fields: _fields, ...item }) => item), op.response!);
        }
        case 'Items_createNewItem': {
          const item: ConnectItem = { ...body, id: newId(), version: 1 };
          items.set(item.id, item);
          return send(res, 200, item, op.response!);
        }
        default: {
          const item = items.get(itemId!);
          if (!item) return refuse(res, 404, `item ${itemId} not found`);
          if (id === 'Items_getDetailsById') return send(res, 200, item, op.response!);
          if (id === 'Items_deleteItemById') {
            items.delete(item.id);
            return res.writeHead(op.status!).end();
          }
          if (body.id !== undefined && body.id !== item.id) return refuse(res, 400, 'the item id does not match the path');
          const updated: ConnectItem = { ...body, id: item.id, version: item.version + 1 };
          items.set(item.id, updated);
          return send(res, 200, updated, op.response!);
        }
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  double.url = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
  return double;
}
