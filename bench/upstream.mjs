// A minimal Kestra stand-in for benchmarks: Basic auth like Kestra, a ~1 KB JSON and a 1 MB body.
import { createServer } from 'node:http';

const expected = `Basic ${Buffer.from(`${process.env.BENCH_USER}:${process.env.BENCH_PASSWORD}`).toString('base64')}`;
const json = JSON.stringify({
  results: Array.from({ length: 8 }, (_, i) => ({ id: `flow-${i}`, namespace: 'company.team', revision: i + 1, disabled: false, deleted: false, labels: [{ key: 'team', value: 'data' }] })),
  total: 8,
});
const megabyte = Buffer.alloc(1024 * 1024, 7);

const server = createServer((req, res) => {
  if (req.headers.authorization !== expected) {
    res.writeHead(401, { 'content-type': 'application/json' }).end('{"message":"Unauthorized"}');
    return;
  }
  if (req.url.startsWith('/api/v1/main/flows/search')) {
    res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(json) }).end(json);
  } else if (req.url.startsWith('/api/v1/main/namespaces/company.team/files')) {
    res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': megabyte.length }).end(megabyte);
  } else {
    res.writeHead(404).end();
  }
});
server.keepAliveTimeout = 60_000;
server.listen(Number(process.env.BENCH_PORT), '127.0.0.1', () => process.send?.('ready'));
