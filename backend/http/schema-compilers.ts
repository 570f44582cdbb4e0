import type { FastifyServerOptions } from 'fastify';

/** Why a route schema cannot be used: Perch validates requests with zod in its handlers (http/request.ts). */
const REFUSAL = 'Perch validates with zod (backend/http/request.ts), not with Fastify route schemas';

const refuse = () => {
  throw new Error(REFUSAL);
};

/**
 * Fastify's `schemaController` for Perch: no route declares a schema, so Fastify's default compilers
 * (ajv, fast-json-stringify and their dependencies, ~1.3 MB of idle heap) are never needed. Given
 * compilers of its own, Fastify does not load them; a route that does declare a schema fails to register.
 */
export const NO_SCHEMA_COMPILERS: NonNullable<FastifyServerOptions['schemaController']> = {
  compilersFactory: { buildValidator: () => refuse, buildSerializer: () => refuse },
};
