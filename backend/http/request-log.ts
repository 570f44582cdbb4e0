import type { FastifyServerOptions } from 'fastify';

/** A webhook trigger's key, a shared secret, is the path segment after the flow's namespace and id. */
const WEBHOOK_KEY = /(\/executions\/webhook\/[^/?]+\/[^/?]+\/)[^/?]+/;

/**
 * What a request log line says of the request. Query values are dropped: secret links carry their
 * token there (`/perch/reset-password?token=…`), an OIDC callback its code; the names stay, for
 * debugging. So is a webhook's key. Headers are never logged (cookies, Authorization), nor bodies.
 */
export function loggedUrl(url: string): string {
  const query = url.indexOf('?');
  const path = (query === -1 ? url : url.slice(0, query)).replace(WEBHOOK_KEY, '$1[redacted]');
  if (query === -1) return path;
  const names = url
    .slice(query + 1)
    .split('&')
    .filter(Boolean)
    .map((pair) => `${pair.split('=', 1)[0]}=[redacted]`);
  return `${path}?${names.join('&')}`;
}

/** Whether Fastify writes a log line for each request (two synchronous writes per request: only when debugging). */
export function logsEveryRequest(level: string): boolean {
  return level === 'debug' || level === 'trace';
}

interface LoggedRequest {
  method: string;
  url: string;
  host?: string;
  ip?: string;
}

/** Fastify logger options: request lines with {@link loggedUrl}, and the credential headers censored wherever they appear. */
export function requestLogOptions(level: string): NonNullable<Exclude<FastifyServerOptions['logger'], boolean>> {
  return {
    level,
    serializers: {
      req: (request: LoggedRequest) => ({ method: request.method, url: loggedUrl(request.url), host: request.host, remoteAddress: request.ip }),
    },
    redact: { paths: ['req.headers.authorization', 'req.headers.cookie', 'res.headers["set-cookie"]'], censor: '[redacted]' },
  };
}
