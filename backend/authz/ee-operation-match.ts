import FindMyWay from 'find-my-way';
import { ROUTER_OPTIONS } from '../http/own-routes.js';
import { EE_OPERATIONS } from './ee-operations.js';

/**
 * Which Kestra EE operation a request names, if any. Perch's own routes serve the EE operations it
 * implements, so a call that reaches the proxy and matches one here is one Perch lacks: a 501 that
 * names it, not the 403 kept for what a person may not do and for Kestra operations Perch does not know.
 */
const router = FindMyWay<FindMyWay.HTTPVersion.V1>(ROUTER_OPTIONS);
for (const [method, template, operationId] of EE_OPERATIONS) {
  const route = template.replace(/\{([^}]+)\}/g, ':$1');
  // Two templates differing only in a parameter's name are one route to the router: the first names it.
  if (!router.hasRoute(method as FindMyWay.HTTPMethod, route)) router.on(method as FindMyWay.HTTPMethod, route, () => {}, { operationId });
}

export interface EeOperation {
  operationId: string;
  method: string;
}

/** The EE operation `method path` (no query) calls, or null. HEAD reads as GET. */
export function eeOperationOf(method: string, path: string): EeOperation | null {
  const verb = method === 'HEAD' ? 'GET' : method;
  const found = router.find(verb as FindMyWay.HTTPMethod, path);
  const operationId = (found?.store as { operationId?: string } | undefined)?.operationId;
  return operationId ? { operationId, method: verb } : null;
}
