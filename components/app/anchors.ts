/**
 * Where Perch attaches to the stock Kestra UI: one table per UI version, selectors as data.
 * test/e2e/ext-anchors.test.ts loads the UI through Perch and fails when a selector of the table
 * matches nothing, so a Kestra upgrade that moves a landmark is noticed by a test, not by users.
 * Sources: shared/reference/kestra-oss-notes.md §7 (2.0 `.ks-sidebar-item`, ≤1.x vue-sidebar-menu).
 */
export type AnchorName = 'sidebar' | 'topBarActions' | 'promoContent' | 'page';

export type UiVersion = '2.0' | '1.x';

export const ANCHORS: Record<UiVersion, Record<AnchorName, string>> = {
  '2.0': {
    // The left menu: the element that holds the design-system sidebar items.
    sidebar: 'aside:has(.ks-sidebar-item)',
    // The right-hand side of the page's top bar (TopNavBar.vue).
    topBarActions: 'nav.top-bar .side',
    // The Enterprise upsell shown on the promo routes (demo/Layout.vue → EmptyTemplate.vue).
    promoContent: 'section.empty-template',
    // The whole application, for the banner above it.
    page: '#app',
  },
  '1.x': {
    sidebar: '#side-menu',
    topBarActions: 'nav.top-bar .side',
    promoContent: 'section.empty-template',
    page: '#app',
  },
};

/** Tells the UI generation apart by a landmark only one of them has. */
export function detectUiVersion(root: ParentNode = document): UiVersion {
  return root.querySelector('#side-menu, .vsm--link') && !root.querySelector('.ks-sidebar-item') ? '1.x' : '2.0';
}

export function anchorSelector(name: AnchorName, version: UiVersion = detectUiVersion()): string {
  return ANCHORS[version][name];
}
