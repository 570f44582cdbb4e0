import type { PerchContext } from '../context.js';

/** Where Kestra is and as whom Perch calls it, read once from the configuration. */
export interface KestraTarget {
  url: string;
  origin: string;
  /** The Host header Kestra receives. */
  host: string;
  /** How long Perch waits for Kestra's response headers. */
  timeout: number;
  /** Perch's own Kestra account as a Basic Authorization header, when one is configured. */
  authorization: string | undefined;
}

/** Headers Perch sets itself toward Kestra: whatever the client sent under these names is dropped. */
export const OWNED_REQUEST_HEADERS = ['host', 'cookie', 'authorization', 'content-length', 'via', 'x-request-id'];

export function kestraTarget({ url, username, password, timeout }: PerchContext['config']['kestra']): KestraTarget {
  const { origin, host } = new URL(url);
  const authorization = username && password ? `Basic ${Buffer.from(`${username}:${password}`).toString('base64')}` : undefined;
  return { url, origin, host, timeout, authorization };
}
