import { useLayoutEffect, useState } from 'preact/hooks';
import { parseUiRoute, type UiRoute } from '../app/routes';

/** The Kestra UI route of the page, kept current across SPA navigations (vue-router and ours). */
export function useUiRoute(initial: UiRoute): UiRoute {
  const [route, setRoute] = useState(initial);
  useLayoutEffect(() => {
    const update = () => {
      const next = parseUiRoute(location.pathname, location.search);
      if (next) setRoute(next);
    };
    addEventListener('popstate', update);
    addEventListener('KestraRouterAfterEach', update);
    return () => {
      removeEventListener('popstate', update);
      removeEventListener('KestraRouterAfterEach', update);
    };
  }, []);
  return route;
}
