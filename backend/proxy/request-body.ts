import type { FastifyReply, FastifyRequest } from 'fastify';
import { MAX_INSPECTED_BODY } from '../authz/kestra-authorizer.js';
import { isMultipart } from '../authz/multipart-form.js';

/**
 * Reads the streamed request body whole, for the few calls whose namespaces live in it. One too
 * large is answered 413 and its connection closed: the rest of it is never read, so that
 * connection could carry no other request. `maxUploadSize`: the limit for a multipart upload.
 */
export const bodyReader = (request: FastifyRequest, reply: FastifyReply, maxUploadSize: number) => async () => {
  const stream = request.body as NodeJS.ReadableStream | undefined;
  if (!stream) return Buffer.alloc(0);
  // An upload may be larger than a document naming namespaces, up to its own setting.
  const upload = isMultipart(request.headers['content-type']);
  const limit = upload ? maxUploadSize : MAX_INSPECTED_BODY;
  const tooLarge = () => {
    reply.header('connection', 'close');
    return Object.assign(new Error(`Request body over ${limit} bytes${upload ? ' (kestra.maxUploadSize, PERCH_KESTRA_MAX_UPLOAD_SIZE)' : ''}`), { statusCode: 413 });
  };
  if (Number(request.headers['content-length'] ?? 0) > limit) throw tooLarge();
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of stream) {
    size += (chunk as Buffer).length;
    if (size > limit) throw tooLarge();
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks);
};
