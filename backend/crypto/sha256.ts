import { hash } from 'node:crypto';

/**
 * SHA-256 of a string (UTF-8), in hex: what Perch stores of its secrets (session ids, tokens, link
 * and SSO handles) and links its audit chain with. The one-shot `crypto.hash` costs a third of a
 * `createHash` object on the proxy's hot path.
 */
export const sha256Hex = (text: string): string => hash('sha256', text, 'hex');
