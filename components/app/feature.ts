import type { ComponentChild } from 'preact';
import type { AnchorName } from './anchors';
import type { UiRoute } from './routes';
import type { Me } from './session';

/** Where a feature's root goes relative to its anchor. `replace` hides the anchor (the EE upsell) and takes its place. */
export type Placement = 'replace' | 'before' | 'after' | 'prepend' | 'append';

export interface FeatureContext {
  route: UiRoute;
  /** The tenant of the page, `main` when the UI path carries none. */
  tenant: string;
  me: Me;
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
