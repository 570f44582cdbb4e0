/**
 * What an EasyPanel template imports from `~templates-utils`, for running deploy/easypanel/perch/index.ts
 * in the tests (vitest aliases the module here). EasyPanel's own module gives a random password as 20
 * hexadecimal characters; the types are EasyPanel's, checked by the test's model of the output.
 */
import { randomBytes } from 'node:crypto';

export const randomPassword = (): string => randomBytes(10).toString('hex');
