import type { ComponentChild } from 'preact';
import type { AnchorName } from './anchors';
import type { UiRoute } from './routes';
import type { Me } from './session';

/** Where a feature's root goes relative to its anchor. `replace` hides the anchor (the EE upsell) and takes its place. */
export type Placement = 'replace' | 'before' | 'after' | 'prepend' | 'append';

export interface FeatureContext {
  /** The page's Kestra UI route; its tenant (`main` in the stock UI) is the one for UI links. */
  route: UiRoute;
  /** The tenant Perch's screens call `/api/v1/{tenant}/…` in: the session's selected one (see contextFor). */
  tenant: string;
  me: Me;
}

/**
 * What a screen gets on `route`. The stock UI stays under `/ui/main/…` whatever tenant the session
 * selected (the proxy routes its `/api/v1/main/…` calls there), so the URL does not say which tenant
 * the person works in: the session does, and `me.permissions` are that tenant's.
 */
export function contextFor(route: UiRoute, me: Me): FeatureContext {
  return { route, tenant: me.selectedTenant, me };
}

/**
 * One Perch feature = one file in components/features/ named by its id (the refined-github way):
 * which Kestra UI routes it runs on, which landmark it attaches to, who may see it, what it renders.
 */
export interface Feature {
  /** Equal to the file name (components/features/<id>.tsx); a structure test checks it. */
  id: string;
  /** Route patterns below the tenant (see routes.ts), `*` for every page. */
  routes: readonly string[];
  anchor: AnchorName;
  placement: Placement;
  /** Human name, shown in the floating fallback when the anchor is missing. */
  title: string;
  /** Show only to people who may use it (Perch enforces on every call anyway). */
  visibleTo?: (me: Me) => boolean;
  render(context: FeatureContext): ComponentChild;
}

export function defineFeature(feature: Feature): Feature {
  if (feature.routes.length === 0) throw new Error(`feature ${feature.id} declares no route`);
  return feature;
}
