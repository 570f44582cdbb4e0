// The floor of any Node.js proxy on this machine, for bench:proxy: node:http in, one undici Pool
// dispatch out, Basic header swapped in, Cookie dropped, answer streamed back. No checks at all:
// whatever Perch costs above this row is Perch's own work; what this row costs is Node's.
import { createServer } from 'node:http';
import { Pool } from 'undici';

const upstream = new Pool(`http://127.0.0.1:${process.env.BENCH_UPSTREAM_PORT}`, { connections: 128, pipelining: 1 });
const authorization = `Basic ${Buffer.from(`${process.env.BENCH_USER}:${process.env.BENCH_PASSWORD}`).toString('base64')}`;

const server = createServer((req, res) => {
  const headers = { ...req.headers, authorization };
  delete headers.cookie;
  delete headers.connection;
  upstream.dispatch({ path: req.url, method: req.method, headers }, {
    onConnect() {},
    onHeaders(status, raw, resume) {
      const out = [];
      for (let i = 0; i < raw.length; i += 2) {
        const name = raw[i].toString('latin1');
        const lower = name.toLowerCase();
        if (lower !== 'connection' && lower !== 'keep-alive' && lower !== 'transfer-encoding') out.push(name, raw[i + 1].toString('latin1'));
      }
      res.writeHead(status, out);
      res.on('drain', resume);
      return true;
    },
    // undici resumes a paused answer with an empty chunk: skipped, as Perch's forwarder does.
    onData(chunk) { return chunk.length === 0 || res.write(chunk); },
    onComplete() { res.end(); },
    onError(error) { if (res.headersSent) res.destroy(error); else res.writeHead(502).end(); },
  });
});
server.keepAliveTimeout = 60_000;
server.listen(Number(process.env.BENCH_PORT), '127.0.0.1', () => process.send?.('ready'));
