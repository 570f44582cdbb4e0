/**
 * Where Perch attaches to the stock Kestra UI: one table per UI version, selectors as data.
 * test/e2e/ext-anchors.test.ts loads the UI double (which renders these landmarks as Kestra's source
 * does) through Perch and fails when a selector of the table matches nothing, so a Kestra upgrade that
 * moves a landmark is noticed by a test, not by users. Each selector's source file and commit in
 * kestra-io/kestra is cited in docs/compatibility.md ("Stock UI landmarks").
 */
export type AnchorName = 'sidebar' | 'topBarActions' | 'promoContent' | 'page' | 'flowEditor' | 'executionBanner';

export type UiVersion = '2.0' | '1.x';

export const ANCHORS: Record<UiVersion, Record<AnchorName, string>> = {
  '2.0': {
    // SideBar.vue renders the design system's KsSideBar with id="side-menu" (not its items: people can
    // hide every item of a section, and the bar collapses to zero width; see the top bar's menu).
    sidebar: '#side-menu',
    // AppTopNavBar.vue: the one KsTopNavBar of the layout, whose #actions slot is this element.
    topBarActions: '#topnav-actions-slot',
    // The Enterprise upsell of the demo routes: demo/Layout.vue → layout/EmptyTemplate.vue
    // (section.container.empty-template), and the newer pages on layout/empty/Empty.vue (section.row.empty).
    promoContent: 'section.empty-template, section.row.empty',
    // The whole application, for the banner above it (index.html: #app-container > #app).
    page: '#app',
    // The flow page's YAML editor: inputs/EditorWrapper.vue renders inputs/Editor.vue (div.ks-editor, Monaco inside) with id="editorWrapper".
    flowEditor: '#editorWrapper',
    // The execution page's banner (flow, id, state, actions) above its tabs: executions/components/Banner.vue's root div.execution-banner.
    executionBanner: '.execution-banner',
  },
  '1.x': {
    // vue-sidebar-menu's root, id="side-menu" (SideBar.vue before the design-system sidebar).
    sidebar: '#side-menu',
    // The per-page TopNavBar.vue before 2.0: nav.top-bar and its right-hand `.side`.
    topBarActions: 'nav.top-bar .side',
    promoContent: 'section.empty-template',
    page: '#app',
    // inputs/EditorView.vue's source pane: div#editorWrapper around its Editor.
    flowEditor: '#editorWrapper',
    // The execution page's Overview tab: executions/Overview.vue's root div.execution-overview.
    executionBanner: '.execution-overview',
  },
};

/**
 * Tells the UI generation apart by landmarks only one of them has: 2.0's top bar slot or design-system
 * items, pre-2.0's vue-sidebar-menu or per-page top bar. Before either renders, 2.0.
 */
export function detectUiVersion(root: ParentNode = document): UiVersion {
  if (root.querySelector('#topnav-actions-slot, .ks-sidebar-item')) return '2.0';
  return root.querySelector('.v-sidebar-menu, .vsm--link, nav.top-bar') ? '1.x' : '2.0';
}

export function anchorSelector(name: AnchorName, version: UiVersion = detectUiVersion()): string {
  return ANCHORS[version][name];
}
