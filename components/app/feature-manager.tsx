
import { anchorSelector, detectUiVersion } from './anchors';
import { contextFor, type Feature, type FeatureContext } from './feature';
import { FallbackLauncher } from './fallback-launcher';
import { parseUiRoute, routeMatches, type UiRoute } from './routes';
import { me } from './session';
import { mountInShadowRoot, type MountedRoot } from './shadow-root';
import { strings } from './strings';

/** How long a feature waits for its landmark after a navigation before falling back to the floating button. */
export const ANCHOR_WAIT_MS = 3_000;

interface Mounted {
  feature: Feature;
  root: MountedRoot;
  routeKey: string;
  /** The element hidden by a `replace` placement, restored at teardown. */
  replaced?: HTMLElement;
}

/**
 * A feature stays mounted while the tenant and the route pattern it matched stay: the banner and
 * the sidebar survive every navigation, a screen survives its own sub-routes and query changes
 * (tabs, filters), which it reads from the URL itself, so it keeps its focus and state.
 */
const routeKeyOf = (feature: Feature, route: UiRoute) => `${route.tenant ?? ''}|${feature.routes.find((p) => routeMatches([p], route)) ?? ''}`;

/**
 * Mounts the features whose routes match the current page, tears down the others on SPA navigation,
 * remounts a feature whose landmark Kestra re-rendered, and falls back to a floating button (with a
 * console warning naming the anchor) when a landmark does not appear.
 */
export class FeatureManager {
  private readonly mounted = new Map<string, Mounted>();
  private pending = new Set<Feature>();
  private observer: MutationObserver | undefined;
  private scheduled = false;
  private deadline: ReturnType<typeof setTimeout> | undefined;
  private fallback: { root: MountedRoot; ids: string } | undefined;
  private readonly missing = new Set<Feature>();

  constructor(private readonly features: readonly Feature[]) {}

  start(): void {
    addEventListener('KestraRouterAfterEach', this.onNavigation);
    addEventListener('popstate', this.onNavigation);
    this.observer = new MutationObserver(() => this.schedule());
    this.observer.observe(document.body, { childList: true, subtree: true });
    this.onNavigation();
  }

  stop(): void {
    removeEventListener('KestraRouterAfterEach', this.onNavigation);
    removeEventListener('popstate', this.onNavigation);
    this.observer?.disconnect();
    clearTimeout(this.deadline);
    for (const id of [...this.mounted.keys()]) this.teardown(id);
    this.fallback?.root.unmount();
    this.fallback = undefined;
  }

  /** Ids of the features mounted now (tests and the benchmark read it). */
  mountedIds(): string[] {
    return [...this.mounted.keys()];
  }

  private readonly onNavigation = (): void => {
    performance.mark('perch:navigation');
    this.missing.clear();
    this.reconcile();
    clearTimeout(this.deadline);
    this.deadline = setTimeout(() => this.giveUpWaiting(), ANCHOR_WAIT_MS);
  };

  private schedule(): void {
    if (this.scheduled) return;
    this.scheduled = true;
    queueMicrotask(() => {
      this.scheduled = false;
      this.reconcile();
    });
  }

  private context(route: UiRoute): FeatureContext | undefined {
    const person = me.value;
    return person ? contextFor(route, person) : undefined;
  }

  /** Brings the mounted set in line with the current page. Cheap when nothing changed. */
  private reconcile(): void {
    const route = parseUiRoute(location.pathname, location.search);
    const context = route && this.context(route);
    const wanted = new Set(
      context ? this.features.filter((f) => routeMatches(f.routes, route) && (f.visibleTo?.(context.me) ?? true)) : [],
    );
    for (const [id, m] of this.mounted) {
      // Gone from this page, moved to another route of the same screen, or its landmark was re-rendered.
      const stale = !wanted.has(m.feature) || m.routeKey !== routeKeyOf(m.feature, route!) || !m.root.host.isConnected;
      if (stale) this.teardown(id);
    }
    this.pending = new Set([...wanted].filter((f) => !this.mounted.has(f.id)));
    if (!context) return;
    for (const feature of this.pending) {
      const anchor = document.querySelector<HTMLElement>(anchorSelector(feature.anchor, detectUiVersion()));
      if (anchor && !anchor.closest('perch-root')) {
        this.mount(feature, anchor, context);
        this.pending.delete(feature);
        this.missing.delete(feature);
      }
    }
    this.renderFallback(context);
  }

  private mount(feature: Feature, anchor: HTMLElement, context: FeatureContext): void {
    let replaced: HTMLElement | undefined;
    const root = mountInShadowRoot(
      feature.id,
      (host) => {
        if (feature.placement === 'replace') {
          replaced = anchor;
          anchor.before(host);
          anchor.style.setProperty('display', 'none');
        } else if (feature.placement === 'before') anchor.before(host);
        else if (feature.placement === 'after') anchor.after(host);
        else if (feature.placement === 'prepend') anchor.prepend(host);
        else anchor.append(host);
      },
      feature.render(context),
    );
    this.mounted.set(feature.id, { feature, root, routeKey: routeKeyOf(feature, context.route), replaced });
    performance.measure(`perch:mount:${feature.id}`, 'perch:navigation');
  }

  private teardown(id: string): void {
    const m = this.mounted.get(id);
    if (!m) return;
    this.mounted.delete(id);
    m.root.unmount();
    m.replaced?.style.removeProperty('display');
  }

  private giveUpWaiting(): void {
    for (const feature of this.pending) {
      if (this.missing.has(feature)) continue;
      this.missing.add(feature);
      console.warn(strings.fallback.anchorMissing(feature.id, anchorSelector(feature.anchor, detectUiVersion())));
    }
    const route = parseUiRoute(location.pathname, location.search);
    const context = route && this.context(route);
    if (context) this.renderFallback(context);
  }

  /** The floating Perch button offers the features whose landmark is missing on this page. */
  private renderFallback(context: FeatureContext): void {
    const features = [...this.missing].filter((f) => this.pending.has(f));
    const ids = features.map((f) => f.id).join(',');
    if (this.fallback?.ids === ids) return;
    this.fallback?.root.unmount();
    this.fallback = undefined;
    if (features.length === 0) return;
    const root = mountInShadowRoot('fallback-launcher', (host) => document.body.append(host), <FallbackLauncher features={features} context={context} />);
    this.fallback = { root, ids };
  }
}
