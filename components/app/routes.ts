/**
 * Kestra UI paths as Perch sees them: `/ui/{tenant?}/…` (vue-router history mode under
 * window.KESTRA_UI_PATH). A feature declares the routes it runs on as patterns over the part after
 * the tenant, e.g. `admin/iam`.
 */
export interface UiRoute {
  /** The tenant segment when the UI path carries one (2.0: /ui/main/…). */
  tenant: string | undefined;
  /** The route below the tenant, without leading or trailing slash: `admin/iam`, `flows/edit/a/b`. */
  path: string;
  /** Query parameters of the page. */
  query: URLSearchParams;
}

/**
 * First segments of Kestra's UI routes (ui/src/routes/routes.ts, every path under `/:tenant?`), which
 * are therefore never a tenant (1.x paths carry no tenant). Sources: docs/compatibility.md.
 */
const NOT_TENANTS = new Set([
  'dashboards', 'flows', 'executions', 'kv', 'secrets', 'blueprints', 'plugins', 'logs', 'namespaces', 'docs', 'preferences',
  'admin', 'setup', 'login', 'welcome', 'apps', 'tests', 'assets', 'deploy', 'templates', 'errors', 'ai', 'cases', 'promote',
]);

export function parseUiRoute(pathname: string, search = ''): UiRoute | undefined {
  const match = /^\/ui(?:\/(.*))?$/.exec(pathname);
  if (!match) return undefined;
  const segments = (match[1] ?? '').split('/').filter(Boolean);
  const first = segments[0];
  const tenant = first !== undefined && !NOT_TENANTS.has(first) ? first : undefined;
  return { tenant, path: (tenant ? segments.slice(1) : segments).join('/'), query: new URLSearchParams(search) };
}

/**
 * A route pattern: `admin/iam` matches `admin/iam` and `admin/iam/users`; a `*` segment matches any one
 * segment (`dashboards/*` + `/edit`); the pattern `*` alone matches every route.
 */
export function routeMatches(patterns: readonly string[], route: UiRoute): boolean {
  return patterns.some((p) => p === '*' || route.path === p || route.path.startsWith(`${p}/`) || (p.includes('*') && segmentsMatch(p, route.path)));
}

function segmentsMatch(pattern: string, path: string): boolean {
  const want = pattern.split('/');
  const have = path.split('/');
  return have.length >= want.length && want.every((segment, i) => segment === '*' || segment === have[i]);
}

/** The UI path of a route in the current tenant. */
export function uiPath(route: string, tenant: string | undefined): string {
  return `/ui/${tenant ? `${tenant}/` : ''}${route}`;
}

/** Navigates inside Kestra's single-page app without a reload: vue-router listens to popstate. */
export function navigate(path: string): void {
  if (location.pathname + location.search === path) return;
  history.pushState(history.state, '', path);
  dispatchEvent(new PopStateEvent('popstate', { state: history.state }));
}
