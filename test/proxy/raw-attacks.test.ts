import { connect } from 'node:net';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { startKestraDouble, type KestraDouble } from '../kestra-double/kestra-double.js';
import { Browser, startPerch, type RunningPerch } from '../support/perch.js';

/** Sends bytes exactly as written (no client library normalises them) and returns the status line. */
function rawExchange(port: number, bytes: string): Promise<{ status: number; response: string }> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1');
    let response = '';
    const timer = setTimeout(() => socket.destroy(new Error(`no answer to ${JSON.stringify(bytes.slice(0, 60))}`)), 5000);
    socket.on('data', (chunk) => {
      response += chunk.toString('latin1');
      if (/\r\n\r\n/.test(response)) socket.end();
    });
    socket.on('error', reject);
    socket.on('close', () => {
      clearTimeout(timer);
      resolve({ status: Number(/^HTTP\/1\.1 (\d{3})/.exec(response)?.[1] ?? 0), response });
    });
    socket.write(bytes, 'latin1');
  });
}

/**
 * Requests a path-based gateway must refuse (anchors.md §4.4). Each is sent with a valid
 * session, so a refusal is the canonical-form gate's doing, not the login check's.
 */
const REFUSED: Array<[string, (cookie: string) => string]> = [
  ['dot segments', (c) => `GET /api/v1/main/flows/a/../b HTTP/1.1\r\nHost: perch\r\nCookie: ${c}\r\n\r\n`],
  ['encoded dot segments', (c) => `GET /api/v1/main/flows/%2e%2e/secrets HTTP/1.1\r\nHost: perch\r\nCookie: ${c}\r\n\r\n`],
  ['double-encoded dots', (c) => `GET /api/v1/main/flows/%252e%252e/secrets HTTP/1.1\r\nHost: perch\r\nCookie: ${c}\r\n\r\n`],
  ['encoded slash', (c) => `GET /api/v1/main/flows/a%2Fb HTTP/1.1\r\nHost: perch\r\nCookie: ${c}\r\n\r\n`],
  ['backslash', (c) => `GET /api/v1/main/flows\\..\\secrets HTTP/1.1\r\nHost: perch\r\nCookie: ${c}\r\n\r\n`],
  ['duplicate slashes', (c) => `GET /api/v1//main/flows HTTP/1.1\r\nHost: perch\r\nCookie: ${c}\r\n\r\n`],
  ['authority-looking path', (c) => `GET //127.0.0.1:1/api/v1/main/flows HTTP/1.1\r\nHost: perch\r\nCookie: ${c}\r\n\r\n`],
  ['encoded letters', (c) => `GET /%61pi/v1/main/flows/search HTTP/1.1\r\nHost: perch\r\nCookie: ${c}\r\n\r\n`],
  ['matrix parameter', (c) => `GET /api/v1/main/flows;jsessionid=x/search HTTP/1.1\r\nHost: perch\r\nCookie: ${c}\r\n\r\n`],
  ['encoded NUL', (c) => `GET /api/v1/main/flows/a%00 HTTP/1.1\r\nHost: perch\r\nCookie: ${c}\r\n\r\n`],
  ['overlong UTF-8 dot', (c) => `GET /api/v1/main/flows/%c0%ae%c0%ae/x HTTP/1.1\r\nHost: perch\r\nCookie: ${c}\r\n\r\n`],
  ['absolute-form target', (c) => `GET http://kestra:8080/api/v1/main/flows/search HTTP/1.1\r\nHost: perch\r\nCookie: ${c}\r\n\r\n`],
  ['method override header', (c) => `POST /api/v1/main/flows/search HTTP/1.1\r\nHost: perch\r\nX-HTTP-Method-Override: DELETE\r\nOrigin: http://perch\r\nContent-Length: 0\r\nCookie: ${c}\r\n\r\n`],
  ['_method parameter', (c) => `GET /api/v1/main/flows/search?_method=DELETE HTTP/1.1\r\nHost: perch\r\nCookie: ${c}\r\n\r\n`],
  ['TRACE', (c) => `TRACE /api/v1/main/flows/search HTTP/1.1\r\nHost: perch\r\nCookie: ${c}\r\n\r\n`],
  ['lower-case method', (c) => `get /api/v1/main/flows/search HTTP/1.1\r\nHost: perch\r\nCookie: ${c}\r\n\r\n`],
  ['Host with a path', (c) => `GET /api/v1/main/flows/search HTTP/1.1\r\nHost: perch/evil\r\nCookie: ${c}\r\n\r\n`],
  ['duplicate Host', (c) => `GET /api/v1/main/flows/search HTTP/1.1\r\nHost: perch\r\nHost: kestra\r\nCookie: ${c}\r\n\r\n`],
  ['underscore identity header', (c) => `GET /api/v1/main/flows/search HTTP/1.1\r\nHost: perch\r\nX_Forwarded_User: admin\r\nCookie: ${c}\r\n\r\n`],
  ['Content-Length with Transfer-Encoding', (c) => `POST /api/v1/main/flows HTTP/1.1\r\nHost: perch\r\nOrigin: http://perch\r\nContent-Length: 4\r\nTransfer-Encoding: chunked\r\nCookie: ${c}\r\n\r\n0\r\n\r\n`],
  ['Transfer-Encoding chunked, identity', (c) => `POST /api/v1/main/flows HTTP/1.1\r\nHost: perch\r\nOrigin: http://perch\r\nTransfer-Encoding: chunked, identity\r\nCookie: ${c}\r\n\r\n0\r\n\r\n`],
  ['duplicate Content-Length', (c) => `POST /api/v1/main/flows HTTP/1.1\r\nHost: perch\r\nOrigin: http://perch\r\nContent-Length: 1\r\nContent-Length: 2\r\nCookie: ${c}\r\n\r\nab`],
  ['obs-fold header', (c) => `GET /api/v1/main/flows/search HTTP/1.1\r\nHost: perch\r\nX-Note: a\r\n b\r\nCookie: ${c}\r\n\r\n`],
  ['raw non-ASCII', (c) => `GET /api/v1/main/flows/caf\xe9 HTTP/1.1\r\nHost: perch\r\nCookie: ${c}\r\n\r\n`],
];

describe('requests that are not in the one canonical form never reach Kestra', () => {
  let kestra: KestraDouble;
  let perch: RunningPerch;
  let cookie: string;
  let port: number;

  beforeAll(async () => {
    kestra = await startKestraDouble();
    perch = await startPerch({ config: { kestra: { url: kestra.url, username: kestra.username, password: kestra.password } } });
    const browser = new Browser(perch);
    await browser.login();
    cookie = `perch_session=${browser.cookies.get('perch_session')}`;
    port = Number(new URL(perch.url).port);
  });
  afterAll(async () => {
    await perch?.close();
    await kestra?.close();
  });
  beforeEach(() => kestra.clear());

  it('passes a canonical request through (the control case)', async () => {
    const { status } = await rawExchange(port, `GET /api/v1/main/flows/search?filters[namespace][PREFIX]=a.b HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nCookie: ${cookie}\r\n\r\n`);
    expect(status).toBe(200);
    expect(kestra.requests.map((r) => r.url)).toEqual(['/api/v1/main/flows/search?filters[namespace][PREFIX]=a.b']);
  });

  it.each(REFUSED)('refuses %s with a 4xx and forwards nothing', async (_name, build) => {
    const { status, response } = await rawExchange(port, build(cookie));
    expect(status).toBeGreaterThanOrEqual(400);
    expect(status).toBeLessThan(500);
    expect(kestra.requests).toHaveLength(0);
    // Perch's own refusals are JSON; Node's parser refuses some framing errors before Perch sees them.
    if (!/^HTTP\/1\.1 400 Bad Request\r\nConnection: close\r\n\r\n$/.test(response)) expect(response).toMatch(/content-type: application\/json/i);
  });
});
