import type { FastifyError, FastifyInstance, FastifyReply } from 'fastify';
import type { ServerResponse } from 'node:http';
import { ZodError } from 'zod';

/** A refusal Perch chooses to give: always JSON `{message, …}` with its status. */
export class HttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly details: Record<string, unknown> = {},
  ) {
    super(message);
  }
}

export const badRequest = (message: string, details?: Record<string, unknown>) => new HttpError(400, message, details);
export const unauthorized = (message = 'Sign in to Perch first') => new HttpError(401, message);
export const forbidden = (message: string) => new HttpError(403, message);
export const notFound = (message: string) => new HttpError(404, message);
export const conflict = (message: string) => new HttpError(409, message);

const ERROR_HEADERS = { 'cache-control': 'no-store', 'content-type': 'application/json; charset=utf-8' } as const;

export function sendError(reply: FastifyReply, status: number, message: string, details: Record<string, unknown> = {}): FastifyReply {
  return reply.code(status).headers(ERROR_HEADERS).send({ message, ...details });
}

/** The same answer as {@link sendError}, on a raw response (the proxy's hot path, outside Fastify). */
export function writeError(res: ServerResponse, status: number, message: string): void {
  const body = JSON.stringify({ message });
  res.writeHead(status, { ...ERROR_HEADERS, 'content-length': Buffer.byteLength(body) }).end(body);
}

/** zod issues become 422 with each offending field named. */
export function validationError(error: ZodError): HttpError {
  const errors = error.issues.map((issue) => ({ path: issue.path.join('.'), message: issue.message }));
  const first = errors[0]!;
  return new HttpError(422, `Invalid request: ${first.path ? `${first.path}: ` : ''}${first.message}`, { errors });
}

export function installErrorHandling(app: FastifyInstance): void {
  app.setErrorHandler((error: FastifyError | HttpError | ZodError, request, reply) => {
    if (error instanceof HttpError) return sendError(reply, error.status, error.message, error.details);
    if (error instanceof ZodError) {
      const http = validationError(error);
      return sendError(reply, http.status, http.message, http.details);
    }
    const status = (error as FastifyError).statusCode ?? 500;
    if (status >= 500) {
      request.log.error({ err: error }, 'request failed');
      return sendError(reply, status, 'Perch could not complete this request; see its log for the cause');
    }
    // Fastify's own client errors (bad JSON, body too large, unsupported media type).
    return sendError(reply, status, error.message);
  });
  app.setNotFoundHandler((request, reply) => sendError(reply, 404, `No such route: ${request.method} ${request.url.split('?')[0]}`));
}
