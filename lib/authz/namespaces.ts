import { z } from 'zod';

/**
 * Kestra namespace ids. Kestra validates `^[a-z0-9][a-z0-9._-]*`, 1..150 chars (AbstractFlow,
 * Namespace and Asset in the EE spec). Perch accepts the same alphabet and length but also
 * requires non-empty segments: `a..b` and `a.` would make the dotted hierarchy ambiguous, and
 * refusing them keeps `..` out of every path Perch builds or authorizes.
 */
export const NAMESPACE_MAX_LENGTH = 150;
export const NAMESPACE_PATTERN = /^[a-z0-9][a-z0-9_-]*(?:\.[a-z0-9_-]+)*$/;

export const namespaceSchema = z
  .string()
  .min(1, { message: 'namespace must not be empty' })
  .max(NAMESPACE_MAX_LENGTH, { message: `namespace must be at most ${NAMESPACE_MAX_LENGTH} characters` })
  .regex(NAMESPACE_PATTERN, {
    message: 'namespace must be lowercase letters, digits, "_" or "-", in segments separated by single dots, starting with a letter or digit',
  });

const DOT = 46; // '.'

/** Segment-wise and case-sensitive: `prod` covers `prod` and `prod.x.y`, not `production`. */
export function namespaceCovers(scope: string, target: string): boolean {
  return target.startsWith(scope) && (target.length === scope.length || target.charCodeAt(scope.length) === DOT);
}

/** `a.b.c` → [`a`, `a.b`, `a.b.c`]: every namespace whose bindings apply to `ns`, outermost first. */
export function parentNamespaces(ns: string): string[] {
  const out: string[] = [];
  for (let dot = ns.indexOf('.'); dot !== -1; dot = ns.indexOf('.', dot + 1)) out.push(ns.slice(0, dot));
  out.push(ns);
  return out;
}
