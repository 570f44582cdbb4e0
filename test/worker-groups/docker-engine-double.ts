import http from 'node:http';
import type { AddressInfo } from 'node:net';

/**
 * A Docker Engine API double on loopback (or a unix socket) for the two operations Perch's health
 * check calls, SystemPing (`GET /_ping`) and SystemVersion (`GET /version`), answering as Docker's
 * API description says (test/worker-groups/docker-engine-api.derived.json, derived from moby/moby's
 * api/swagger.yaml). `failing` answers 500 with an ErrorResponse, as a daemon in trouble does.
 */
export interface DockerEngineDouble {
  host: string;
  calls: string[];
  close(): Promise<void>;
}

export const ENGINE_VERSION = { Platform: { Name: 'Docker Engine - Community' }, Version: '29.1.0', ApiVersion: '1.52', MinAPIVersion: '1.24', GitCommit: 'abc1234', GoVersion: 'go1.25.4', Os: 'linux', Arch: 'amd64', KernelVersion: '6.8.0', BuildTime: '2026-11-02T10:00:00.000000000+00:00', Components: [{ Name: 'Engine', Version: '29.1.0', Details: { ApiVersion: '1.52' } }] };

/** `port`: listen on this loopback port (a double started again where a stopped one was). */
export async function startDockerEngineDouble(mode: 'healthy' | 'failing', socketPath?: string, port = 0): Promise<DockerEngineDouble> {
  const calls: string[] = [];
  const server = http.createServer((req, res) => {
    calls.push(`${req.method} ${req.url}`);
    const common = { 'api-version': '1.52', 'cache-control': 'no-cache, no-store, must-revalidate', pragma: 'no-cache' };
    if (mode === 'failing') {
      res.writeHead(500, { ...common, 'content-type': 'application/json' }).end(JSON.stringify({ message: 'daemon is shutting down' }));
    } else if (req.method === 'GET' && req.url === '/_ping') {
      res.writeHead(200, { ...common, 'content-type': 'text/plain; charset=utf-8', swarm: 'inactive', 'builder-version': '2' }).end('OK');
    } else if (req.method === 'GET' && req.url === '/version') {
      res.writeHead(200, { ...common, 'content-type': 'application/json' }).end(JSON.stringify(ENGINE_VERSION));
    } else {
      res.writeHead(404, { 'content-type': 'application/json' }).end(JSON.stringify({ message: 'page not found' }));
    }
  });
  await new Promise<void>((resolve) => (socketPath ? server.listen(socketPath, resolve) : server.listen(port, '127.0.0.1', resolve)));
  const host = socketPath ? `unix://${socketPath}` : `tcp://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return { host, calls, close: () => new Promise<void>((resolve) => server.close(() => resolve())) };
}

/** What the double answers, fetched raw (for checking against Docker's API description). */
export async function rawGet(host: string, path: string): Promise<{ status: number; headers: http.IncomingHttpHeaders; body: string }> {
  const port = Number(host.split(':').pop());
  return new Promise((resolve, reject) => {
    http.get({ host: '127.0.0.1', port, path }, (res) => {
      let body = '';
      res.setEncoding('utf8').on('data', (c) => (body += c)).on('end', () => resolve({ status: res.statusCode!, headers: res.headers, body }));
    }).on('error', reject);
  });
}
