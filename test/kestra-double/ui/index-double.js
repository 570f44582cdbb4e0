/*
 * The Kestra double's stand-in for the stock UI (served as /ui/assets/index-double.js): a small vanilla-JS
 * single-page app that renders the landmarks of Kestra's UI that Perch attaches to, with the ids, classes
 * and DOM nesting of the Kestra source files cited in docs/compatibility.md ("Stock UI landmarks").
 * It is not Kestra's code: only the structure Perch depends on is reproduced.
 *
 * 2.0 (default):
 *   - html.light|dark from localStorage `theme`; #app-container > #app (index.html).
 *   - SideBar.vue: the design system's KsSideBar with id="side-menu" (nav.ks-sidebar > __header, __body, __footer;
 *     ui/packages/design-system/…/KsSideBar*.vue @ c94e7743),
 *     `is-collapsed` when folded (width 0, overflow hidden) by its header button "Toggle menu"; the top bar then
 *     shows a button that unfolds it. Items are KsSideBarItem links (`a.ks-sidebar-item` > `.ks-sidebar-item__title`,
 *     `is-active`, `is-locked` + the LockOutline icon `.ks-sidebar-item__lock`, no id), top-level ones in
 *     `div.top-level-link`, the others in KsSideBarSection (`section.ks-sidebar-section`).
 *     People can hide items (SidebarCustomizeModal.vue): here `window.KESTRA_DOUBLE_HIDDEN_ITEMS = [title…]`.
 *   - AppTopNavBar.vue: one KsTopNavBar (nav.ks-topnavbar > div.title-section, div.side) for the whole layout
 *     (it stays across navigations) with
 *     span#topnav-title-slot, div#topnav-description-slot and div#topnav-actions-slot.d-flex.gap-2.align-items-center.
 *   - Demo (upsell) routes of routes.ts: the older pages render demo/Layout.vue → EmptyTemplate.vue
 *     (section.container.empty-template), the newer ones layout/empty/Empty.vue (section.row.empty > div.col… >
 *     KsEmptyState with a "Contact sales" link).
 *   - The flow editor (#editorWrapper, a textarea standing in for Monaco) and the execution page's banner
 *     (executions/components/Banner.vue: div.execution-banner, the state from GET /executions/{id}).
 *   - Boot calls (main.ts router guard, NotificationBell → stores/notifications.ts): GET /api/v1/configs/login and
 *     /api/v1/configs, then
 *     GET /api/v1/notifications/history?limit=20, /unread-count and the /notifications/follow event stream.
 *     As kestraHttp.ts does: a failure other than 400/401/404 that has a body shows an error pop-up
 *     (div.el-notification); as main.ts does: a failure of either configs call other than 401 goes to the `setup` route.
 *   - Page calls on load: the flows list (flows/search, then Flows.vue's execution-statistics chart per row through
 *     POST …/dashboards/charts/preview) and the home dashboard (Dashboard.vue: …/dashboards/settings/default-dashboards,
 *     then a stored default's GET …/dashboards/{id} and POST …/dashboards/{id}/charts/{chartId} for each chart,
 *     or else a bundled chart through the same preview), ui/src/components/flows/Flows.vue and
 *     ui/src/components/dashboard/Dashboard.vue @ c94e7743.
 *   History-mode routing under /ui/{tenant}/, pushState on link clicks, popstate re-renders from location,
 *   and `KestraRouterAfterEach` is dispatched on window after every navigation (init.ts).
 * 1.x (<html data-kestra-double-ui="1.x">): vue-sidebar-menu (#side-menu.v-sidebar-menu, .vsm--item, .vsm--link
 *   with ids, .vsm--link_active, .vsm--link_level-1, .lock-icon), the per-page TopNavBar.vue (nav.top-bar > …
 *   div.side), EmptyTemplate.vue upsells, paths without a tenant (/ui/flows), no notification bell.
 *
 * Test hook (double-only): `window.KESTRA_DOUBLE_OMIT = ['sidebar' | 'topBar' | 'promo']` set before this
 * script runs leaves that landmark out, as a Kestra upgrade that moved it would.
 *
 * Every text goes in through textContent and DOM APIs, never parsed as markup.
 */
(() => {
  const root = document.documentElement;
  const version = root.dataset.kestraDoubleUi === '1.x' ? '1.x' : '2.0';
  const omit = new Set(Array.isArray(window.KESTRA_DOUBLE_OMIT) ? window.KESTRA_DOUBLE_OMIT : []);
  const hiddenItems = new Set(Array.isArray(window.KESTRA_DOUBLE_HIDDEN_ITEMS) ? window.KESTRA_DOUBLE_HIDDEN_ITEMS : []);
  const BASE = '/ui/';

  // ---- theme (Kestra: switchTheme puts `light` or `dark` on <html>, remembered in localStorage `theme`) ----
  function applyTheme(theme) {
    root.classList.remove('light', 'dark', 'syncWithSystem');
    root.classList.add(theme === 'dark' ? 'dark' : 'light');
  }
  function currentTheme() {
    return root.classList.contains('dark') ? 'dark' : 'light';
  }
  applyTheme(localStorage.getItem('theme') || 'light');

  // ---- a tiny DOM builder ----
  function h(tag, attrs, ...children) {
    const el = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) {
      if (v === undefined || v === null || v === false) continue;
      if (k === 'class') el.className = v;
      else if (k.startsWith('on')) el.addEventListener(k.slice(2), v);
      else el.setAttribute(k, v === true ? '' : String(v));
    }
    for (const c of children.flat()) if (c !== undefined && c !== null && c !== false) el.append(c instanceof Node ? c : document.createTextNode(String(c)));
    return el;
  }

  // ---- routes ----
  // Left menu: [title, route below the tenant, locked, section] (section null = a top-level link).
  const MENU = [
    ['Dashboards', 'dashboards', false, null],
    ['Flows', 'flows', false, null],
    ['Apps', 'apps', true, null],
    ['Executions', 'executions', false, null],
    ['Logs', 'logs', false, null],
    ['Tests', 'tests', true, null],
    ['Assets', 'assets', true, null],
    ['Namespaces', 'namespaces', false, null],
    ['KV Store', 'kv', false, 'Tenant'],
    ['Secrets', 'secrets', false, 'Tenant'],
    ['Triggers', 'admin/triggers', false, 'Tenant'],
    ['Audit Logs', 'admin/auditlogs', true, 'Tenant'],
    ['IAM', 'admin/iam', true, 'Tenant'],
    ['Instance', 'admin/instance', true, 'Instance'],
    ['Tenants', 'admin/tenants/list', false, 'Instance'],
  ];
  // Demo (upsell) routes: pattern → [title, page kind]. `layout` = demo/Layout.vue over EmptyTemplate.vue,
  // `empty` = layout/empty/Empty.vue. 1.x knows only the first group (the others are 2.0 routes).
  const PROMO_1X = {
    apps: ['Apps', 'layout'],
    tests: ['Tests', 'layout'],
    assets: ['Assets', 'layout'],
    'admin/iam': ['IAM', 'layout'],
    'admin/auditlogs': ['Audit Logs', 'layout'],
    'admin/tenants/list': ['Tenants', 'layout'],
    'admin/instance': ['Instance', 'layout'],
  };
  const PROMO = version === '1.x' ? PROMO_1X : {
    ...PROMO_1X,
    cases: ['Cases', 'empty'],
    'admin/quotas': ['Quotas', 'empty'],
    'admin/policies': ['Policies', 'empty'],
    'promote/targets': ['Promote', 'empty'],
    'dashboards/new': ['Dashboards', 'empty'],
    'dashboards/*/edit': ['Dashboards', 'empty'],
  };
  const NOT_TENANTS = new Set(['dashboards', 'flows', 'executions', 'kv', 'secrets', 'blueprints', 'plugins', 'logs', 'namespaces', 'docs', 'preferences', 'admin', 'setup', 'login', 'welcome', 'apps', 'tests', 'assets', 'deploy', 'templates', 'errors', 'ai', 'cases', 'promote']);

  function parse(pathname) {
    const rest = pathname.startsWith(BASE) ? pathname.slice(BASE.length) : '';
    const segments = rest.split('/').filter(Boolean);
    if (version === '1.x') return { tenant: undefined, route: segments.join('/') };
    const tenant = segments[0] !== undefined && !NOT_TENANTS.has(segments[0]) ? segments[0] : 'main';
    const route = (NOT_TENANTS.has(segments[0] ?? '') ? segments : segments.slice(1)).join('/');
    return { tenant, route };
  }
  function href(route, tenant) {
    return version === '1.x' ? `${BASE}${route}` : `${BASE}${tenant}/${route}`;
  }
  function matches(pattern, route) {
    const want = pattern.split('/');
    const have = route.split('/');
    return have.length >= want.length && want.every((s, i) => s === '*' || s === have[i]);
  }
  function promoOf(route) {
    const pattern = Object.keys(PROMO).find((p) => matches(p, route));
    return pattern ? PROMO[pattern] : undefined;
  }
  function activeItem(route) {
    return MENU.find(([, r]) => matches(r, route)) ?? (route === '' ? MENU[0] : undefined);
  }
  function titleOf(route) {
    const promo = promoOf(route);
    if (promo) return promo[0];
    if (route === 'setup') return 'Setup';
    const item = activeItem(route);
    return item ? item[0] : 'Page not found';
  }

  // ---- layout ----
  const style = document.createElement('style');
  style.textContent = `
    html, body { margin: 0; height: 100%; }
    body { font-family: "Public Sans", system-ui, sans-serif; font-size: 14px; line-height: 1.5; background: #f9f9fa; color: #2f3342; }
    html.dark body { background: #1c1e27; color: #e3e6ee; }
    #loader-wrapper { display: none; }
    #app { display: flex; min-height: 100vh; }
    #side-menu { width: 215px; flex: none; box-sizing: border-box; overflow: hidden; background: #fff; border-right: 1px solid #e5e4f7; padding: 12px 8px; position: relative; transition: width .25s ease; }
    #side-menu.is-collapsed { width: 0; padding: 0; border-right-width: 0; }
    .v-sidebar-menu { width: 230px !important; }
    html.dark #side-menu { background: #262a35; border-color: #404559; }
    .logo { font-weight: 700; font-size: 18px; color: #8405ff; padding: 4px 12px 16px; }
    .header-toggle { position: absolute; top: 12px; right: 8px; font: inherit; border: 0; background: transparent; color: inherit; cursor: pointer; }
    .ks-sidebar-section__title { font-size: 11px; text-transform: uppercase; opacity: .6; padding: 10px 12px 4px; }
    .ks-sidebar-item, .vsm--link { display: flex; align-items: center; gap: 8px; padding: 6px 12px; border-radius: 6px; color: inherit; text-decoration: none; white-space: nowrap; }
    .ks-sidebar-item:hover, .vsm--link:hover { background: #f1eafe; }
    html.dark .ks-sidebar-item:hover, html.dark .vsm--link:hover { background: #33384a; }
    .ks-sidebar-item.is-active, .vsm--link_active { background: #e8dbff; color: #5a0ab8; font-weight: 600; }
    html.dark .ks-sidebar-item.is-active, html.dark .vsm--link_active { background: #3d2a66; color: #d7c2ff; }
    .ks-sidebar-item.is-locked, .vsm--link.locked { opacity: .75; }
    .menu-icon { width: 14px; height: 14px; border-radius: 3px; background: currentColor; opacity: .35; flex: none; }
    .ks-sidebar-item__lock, .lock-icon { margin-left: auto; font-size: 10px; border: 1px solid currentColor; border-radius: 4px; padding: 0 4px; opacity: .7; }
    main.main-content { flex: 1; min-width: 0; display: flex; flex-direction: column; }
    .ks-topnavbar, nav.top-bar { display: flex; align-items: center; justify-content: space-between; gap: 16px; padding: 10px 24px; border-bottom: 1px solid #e5e4f7; background: #fff; }
    html.dark .ks-topnavbar, html.dark nav.top-bar { background: #262a35; border-color: #404559; }
    .ks-topnavbar h1, nav.top-bar h1 { margin: 0; font-size: 18px; font-weight: 600; }
    .ks-topnavbar .side, nav.top-bar .side { display: flex; align-items: center; gap: 8px; }
    .d-flex { display: flex; } .gap-2 { gap: 8px; } .align-items-center { align-items: center; }
    .theme-toggle, .sidebar-toggle { font: inherit; border: 1px solid #c8c6e0; border-radius: 6px; background: transparent; color: inherit; padding: 4px 10px; cursor: pointer; }
    .content { padding: 24px; }
    .card { background: #fff; border: 1px solid #e5e4f7; border-radius: 8px; padding: 16px; }
    html.dark .card { background: #262a35; border-color: #404559; }
    section.empty-template, section.row.empty { text-align: center; padding: 64px 24px; }
    .enterprise-tag { display: inline-block; font-size: 12px; font-weight: 600; color: #8405ff; border: 1px solid #8405ff; border-radius: 999px; padding: 2px 10px; }
    section.empty-template h2, .ks-empty-state h2 { font-size: 24px; margin: 16px 0 8px; }
    section.empty-template a, .ks-empty-state a { color: #8405ff; }
    .el-notification { position: fixed; top: 16px; right: 16px; background: #fff; border: 1px solid #e03; border-radius: 8px; padding: 12px 16px; }
  `;
  document.head.append(style);

  const app = document.getElementById('app');
  let main;
  let topNav;
  let sideMenu;

  function link(route, tenant, attrs, ...children) {
    return h('a', { href: href(route, tenant), ...attrs }, ...children);
  }

  // ---- 2.0: SideBar.vue (KsSideBar#side-menu) ----
  function sideBarItem([title, route, locked], tenant) {
    return link(
      route,
      tenant,
      { class: `ks-sidebar-item${locked ? ' is-locked' : ''}`, 'data-route': route },
      h('span', { class: 'menu-icon' }),
      h('span', { class: 'ks-sidebar-item__title' }, title),
      // vue-material-design-icons' LockOutline: a span with role img labelled by its default title.
      locked ? h('span', { class: 'material-design-icon lock-outline-icon ks-sidebar-item__lock', role: 'img', 'aria-label': 'Lock Outline' }, 'EE') : null,
    );
  }
  function sidebar2(tenant) {
    const shown = MENU.filter(([title]) => !hiddenItems.has(title));
    const sections = [];
    for (const item of shown) {
      const section = item[3];
      if (section === null) sections.push(h('div', { class: 'top-level-link' }, sideBarItem(item, tenant)));
      else {
        let last = sections[sections.length - 1];
        if (!last || last.dataset.section !== section) {
          const inner = h('div', { class: 'ks-sidebar-section__body-inner' });
          last = h(
            'section',
            { class: 'ks-sidebar-section', 'data-section': section },
            h('div', { class: 'ks-sidebar-section__title' }, h('span', { class: 'ks-sidebar-section__title-text' }, section)),
            h('div', { class: 'ks-sidebar-section__body is-open' }, inner),
          );
          sections.push(last);
        }
        last.querySelector('.ks-sidebar-section__body-inner').append(sideBarItem(item, tenant));
      }
    }
    return h(
      'nav',
      { id: 'side-menu', class: 'ks-sidebar', 'aria-label': 'Sidebar' },
      h('div', { class: 'ks-sidebar__header' }, h('div', { class: 'logo' }, 'Kestra'), h('button', { type: 'button', class: 'header-toggle', 'aria-label': 'Toggle menu', onclick: () => setCollapsed(true) }, '⇤')),
      h('div', { class: 'ks-sidebar__body' }, sections),
      h('div', { class: 'ks-sidebar__footer' }),
    );
  }
  function setCollapsed(collapsed) {
    sideMenu?.classList.toggle('is-collapsed', collapsed);
    topNav?.querySelector('.sidebar-toggle')?.toggleAttribute('hidden', !collapsed);
  }

  // ---- 2.0: AppTopNavBar.vue (one KsTopNavBar for the layout) ----
  function topNavBar2() {
    return h(
      'nav',
      { class: 'ks-topnavbar d-flex align-items-center w-100' },
      h('button', { type: 'button', class: 'sidebar-toggle', 'data-testid': 'topnav-sidebar-toggle', 'aria-label': 'Open menu', hidden: true, onclick: () => setCollapsed(false) }, '⇥'),
      h('div', { class: 'title-section' }, h('h1', {}, h('span', { id: 'topnav-title-slot' })), h('div', { class: 'description' }, h('div', { id: 'topnav-description-slot' }))),
      h(
        'div',
        { class: 'side d-flex gap-2 flex-shrink-0 align-items-center' },
        omit.has('topBar') ? null : h('div', { id: 'topnav-actions-slot', class: 'd-flex gap-2 align-items-center' }),
        themeToggle(),
      ),
    );
  }

  function themeToggle() {
    return h('button', {
      type: 'button',
      class: 'theme-toggle',
      'aria-label': 'Switch theme',
      onclick: () => {
        const next = currentTheme() === 'dark' ? 'light' : 'dark';
        localStorage.setItem('theme', next);
        applyTheme(next);
      },
    }, 'Theme');
  }

  // ---- 1.x: vue-sidebar-menu and the per-page TopNavBar.vue ----
  function sidebar1() {
    return h(
      'div',
      { id: 'side-menu', class: 'v-sidebar-menu vsm_expanded' },
      h('div', { class: 'logo' }, 'Kestra'),
      h(
        'div',
        { class: 'vsm--scroll-wrapper' },
        h(
          'div',
          { class: 'vsm--menu' },
          MENU.map(([title, route, locked]) =>
            h(
              'div',
              { class: 'vsm--item' },
              link(
                route,
                undefined,
                { id: title.toLowerCase().replaceAll(' ', '-'), class: `vsm--link vsm--link_level-1${locked ? ' locked' : ''}`, 'data-route': route },
                h('i', { class: 'vsm--icon menu-icon' }),
                h('span', { class: 'vsm--title' }, title),
                locked ? h('span', { class: 'lock-icon', title: 'Enterprise Edition' }, 'EE') : null,
              ),
            ),
          ),
        ),
      ),
    );
  }
  function topBar1(title) {
    return h(
      'nav',
      { class: 'd-flex w-100 gap-3 top-bar' },
      h('div', { class: 'top-title' }, h('h1', {}, title)),
      omit.has('topBar') ? null : h('div', { class: 'side' }, h('div', { class: 'd-flex side gap-2' }), themeToggle()),
    );
  }

  // ---- pages ----
  function upsell(title, kind) {
    if (omit.has('promo')) return h('section', { class: 'container moved-upsell' }, h('h2', {}, `${title} is an Enterprise Edition feature`));
    if (kind === 'empty') {
      return h(
        'section',
        { class: 'row empty' },
        h(
          'div',
          { class: 'col-sm-12 col-md-8 offset-md-2 col-lg-6 offset-lg-3' },
          // KsEmptyState (ui/packages/design-system/…/Data/KsEmptyState.vue @ c94e7743).
          h(
            'section',
            { class: 'ks-empty-state' },
            h(
              'div',
              { class: 'ks-empty-state__inner' },
              h(
                'div',
                { class: 'ks-empty-state__text' },
                h('h2', { class: 'ks-empty-state__title' }, `${title} is available in the Enterprise Edition`),
                h('p', { class: 'ks-empty-state__description' }, 'Upgrade to Kestra Enterprise Edition to unlock this feature.'),
              ),
              h('div', { class: 'ks-empty-state__actions' }, h('a', { href: 'https://kestra.io/demo', target: '_blank', rel: 'noopener' }, 'Contact sales')),
            ),
          ),
        ),
      );
    }
    return h(
      'section',
      { class: 'container empty-template' },
      h('div', { class: 'message-block' }, h('div', { class: 'enterprise-tag' }, 'Enterprise Edition')),
      h('div', { class: 'msg-block' }, h('h2', {}, `${title} is available in the Enterprise Edition`), h('p', {}, 'Upgrade to Kestra Enterprise Edition to unlock this feature.'), h('a', { href: 'https://kestra.io/enterprise', target: '_blank', rel: 'noopener' }, 'Talk to us')),
    );
  }
  // The flow editor (2.0, route flows/update = flows/edit/:namespace/:id/:tab?, tab `edit`): EditorWrapper.vue
  // renders Editor.vue with id="editorWrapper" (div.ks-editor > div.editor-container > div.editor-wrapper >
  // Monaco). Monaco's own text input is a textarea.inputarea; here that textarea is the whole editor (its
  // native undo stack stands in for Monaco's). The source comes from GET /flows/{namespace}/{id}; Ctrl/Cmd+S
  // saves it with PUT, as EditorWrapper's handleGlobalSave → flowStore.save does. Double-only hook: the
  // editor's `data-saved` counts the successful saves.
  function flowEditor(tenant, namespace, id) {
    const input = h('textarea', { class: 'inputarea', 'aria-label': 'Editor content', spellcheck: 'false', rows: '16', style: 'width: 100%; font-family: monospace' });
    const editor = h('div', { id: 'editorWrapper', class: 'ks-editor', 'data-saved': '0' }, h('div', { class: 'editor-container full-height' }, h('div', { class: 'editor-wrapper' }, h('div', { class: 'monaco-editor' }, input))));
    const flowUrl = `/api/v1/${encodeURIComponent(tenant)}/flows/${encodeURIComponent(namespace)}/${encodeURIComponent(id)}`;
    void call(flowUrl).then(async (res) => {
      if (res?.ok) input.value = (await res.json()).source ?? '';
      editor.dataset.loaded = 'true';
    });
    input.addEventListener('keydown', async (event) => {
      if (!((event.ctrlKey || event.metaKey) && event.key === 's')) return;
      event.preventDefault();
      const res = await fetch(flowUrl, { method: 'PUT', credentials: 'same-origin', headers: { 'content-type': 'application/x-yaml', accept: 'application/json' }, body: input.value });
      if (res.ok) editor.dataset.saved = String(Number(editor.dataset.saved) + 1);
      else errorPopup(`${res.status}: ${await res.text()}`);
    });
    return h('div', { class: 'flow-root' }, editor);
  }

  // The execution page (2.0, route executions/update = /:tenant?/executions/:namespace/:flowId/:id with a
  // tab below it, executionTabs.ts): the execution's banner (executions/components/Banner.vue,
  // div.execution-banner: flow, id, state, actions) above the tab. The execution comes from
  // GET /executions/{id}. Double-only hook: the banner's `data-state` once loaded.
  function executionPage(tenant, namespace, flowId, id) {
    const state = h('span', { class: 'execution-banner__status' }, '…');
    const banner = h(
      'div',
      { class: 'execution-banner' },
      h('div', { class: 'execution-banner__content' }, h('div', { class: 'execution-banner__state' }, state), h('div', { class: 'execution-banner__top' }, h('a', { class: 'execution-banner__flow', href: href(`flows/edit/${encodeURIComponent(namespace)}/${encodeURIComponent(flowId)}/edit`, tenant) }, flowId), h('span', { class: 'execution-banner__id' }, h('code', {}, id)))),
    );
    void call(`/api/v1/${encodeURIComponent(tenant)}/executions/${encodeURIComponent(id)}`).then(async (res) => {
      const execution = res?.ok ? await res.json() : undefined;
      state.textContent = execution?.state?.current ?? 'unknown';
      banner.dataset.state = state.textContent;
    });
    return h('div', { class: 'execution-root' }, banner, h('div', { class: 'card' }, h('p', {}, `Execution ${id}: this is the Kestra double's stand-in tab.`)));
  }

  function content(route, title) {
    const promo = promoOf(route);
    if (promo) return upsell(promo[0], promo[1]);
    const edit = version === '2.0' ? /^flows\/edit\/([^/]+)\/([^/]+)\/edit$/.exec(route) : null;
    if (edit) return flowEditor(parse(location.pathname).tenant, decodeURIComponent(edit[1]), decodeURIComponent(edit[2]));
    const execution = version === '2.0' ? /^executions\/([^/]+)\/([^/]+)\/([^/]+)(?:\/[^/]+)?$/.exec(route) : null;
    if (execution) return executionPage(parse(location.pathname).tenant, ...execution.slice(1, 4).map(decodeURIComponent));
    if (route === 'setup') return h('div', { class: 'basic-auth-setup' }, h('p', {}, 'Kestra setup: create the first user.'));
    return h('div', { class: 'container' }, h('div', { class: 'card' }, h('p', {}, `${title}: this is the Kestra double's stand-in page.`)));
  }

  function render() {
    const { route } = parse(location.pathname);
    const title = titleOf(route);
    // Active state of the left menu (the menu itself stays, like Kestra's layout).
    const active = activeItem(route);
    for (const a of app.querySelectorAll('a[data-route]')) {
      const on = active !== undefined && a.dataset.route === active[1];
      a.classList.toggle(version === '1.x' ? 'vsm--link_active' : 'is-active', on);
      if (on) a.setAttribute('aria-current', 'page');
      else a.removeAttribute('aria-current');
    }
    if (version === '2.0') {
      // AppTopNavBar stays; the routed page's TopNavBar.vue only fills its title slot.
      topNav.querySelector('#topnav-title-slot').textContent = title;
      const view = h('div', { class: 'content' }, content(route, title));
      if (main) main.replaceWith(view);
      else topNav.after(view);
      main = view;
      return;
    }
    // 1.x: the routed view (TopNavBar + page) is a new component per route, as vue-router renders it.
    const view = h('main', { class: 'main-content' }, topBar1(title), h('div', { class: 'content' }, content(route, title)));
    if (main) main.replaceWith(view);
    else app.append(view);
    main = view;
  }

  function afterEach() {
    window.dispatchEvent(new CustomEvent('KestraRouterAfterEach'));
  }

  function push(url) {
    if (url === location.pathname + location.search) return;
    history.pushState({}, '', url);
    render();
    afterEach();
  }

  // ---- the API calls the UI makes for everyone, and how it reacts to their failures ----
  const apiCalls = [];
  function errorPopup(message) {
    document.body.append(h('div', { class: 'el-notification error', role: 'alert' }, message));
  }
  /** A GET, or a POST of `json` when given (the UI's raw axios calls). */
  async function call(url, json) {
    const init = json === undefined ? {} : { method: 'POST', body: JSON.stringify(json) };
    let res;
    try {
      res = await fetch(url, { ...init, credentials: 'same-origin', headers: { accept: 'application/json', ...(json === undefined ? {} : { 'content-type': 'application/json' }) } });
    } catch {
      apiCalls.push({ url, status: 0 });
      return undefined;
    }
    const body = await res.clone().text();
    apiCalls.push({ url, status: res.status });
    // kestraHttp.ts: 404 sets the page error, 400 and 401 are left to the caller, any other failure with a body pops up.
    if (!res.ok && res.status !== 400 && res.status !== 401 && res.status !== 404 && body) errorPopup(`${res.status}: ${body}`);
    return res;
  }
  // ---- what a page's components fetch when they mount (2.0), drawn from the cited source ----
  /** Flows.vue's execution-statistics column: one TimeSeries per flow row, its YAML naming the row's namespace and flow. */
  function flowStatisticsChart(namespace, id) {
    return [
      'id: total_executions_timeseries',
      'type: io.kestra.plugin.core.dashboard.chart.TimeSeries',
      'chartOptions:',
      '  displayName: Total Executions',
      '  column: date',
      '  colorByColumn: state',
      'data:',
      '  type: io.kestra.plugin.core.dashboard.data.Executions',
      '  columns:',
      '    date: {field: START_DATE, displayName: Date}',
      '    state: {field: STATE}',
      '    total: {displayName: Executions, agg: COUNT}',
      '    duration: {field: DURATION, displayName: Duration, agg: SUM}',
      '  where:',
      `    - {field: NAMESPACE, type: EQUAL_TO, value: ${namespace}}`,
      `    - {field: FLOW_ID, type: EQUAL_TO, value: ${id}}`,
    ].join('\n');
  }
  /** A chart of the bundled home dashboard (dashboard/assets/default_main_definition.yaml): executions per namespace. */
  const HOME_CHART = [
    'id: executions_per_namespace_bars',
    'type: io.kestra.plugin.core.dashboard.chart.Bar',
    'data:',
    '  type: io.kestra.plugin.core.dashboard.data.Executions',
    '  columns:',
    '    namespace: {field: NAMESPACE}',
    '    state: {field: STATE}',
    '    total: {displayName: Executions, agg: COUNT}',
  ].join('\n');
  const TIME_RANGE = { field: 'timeRange', value: 'PT24H', operation: 'EQUALS' };
  async function pageCalls(route, tenant) {
    const api = `/api/v1/${encodeURIComponent(tenant)}`;
    if (route === 'flows') {
      const res = await call(`${api}/flows/search?page=1&size=25`);
      const flows = res?.ok ? ((await res.clone().json().catch(() => ({}))).results ?? []) : [];
      for (const f of flows) await call(`${api}/dashboards/charts/preview`, { chart: flowStatisticsChart(f.namespace, f.id), globalFilter: { filters: [TIME_RANGE] } });
    } else if (route === 'dashboards' || route.startsWith('dashboards/default')) {
      // Dashboard.vue load("default"): the tenant's defaults first; a stored default home dashboard is loaded
      // (stores/dashboard.ts load(): not found → "Dashboard with id … could not be found" pop-up) and each of its
      // charts drawn by generate(); else the bundled charts, drawn by preview.
      const defaults = await call(`${api}/dashboards/settings/default-dashboards`);
      const home = defaults?.ok ? (await defaults.clone().json().catch(() => ({}))).defaultHomeDashboard : undefined;
      if (home) {
        const loaded = await call(`${api}/dashboards/${encodeURIComponent(home)}`);
        if (!loaded?.ok) {
          errorPopup(`Dashboard with id '${home}' could not be found`);
          return;
        }
        const { charts = [] } = await loaded.clone().json().catch(() => ({}));
        for (const c of charts) await call(`${api}/dashboards/${encodeURIComponent(home)}/charts/${encodeURIComponent(c.id)}`, { filters: [TIME_RANGE] });
      } else {
        await call(`${api}/dashboards/charts/preview`, { chart: HOME_CHART, globalFilter: { filters: [TIME_RANGE] } });
      }
    }
  }

  async function boot() {
    // main.ts's router guard: /configs/login, then /configs; an error that is not a 401 (or a login
    // config saying basic auth is not set up) sends the app to its setup page. The 2.0 line at c94e7743
    // reads isBasicAuthInitialized from /configs itself: false there goes to setup too.
    const login = await call('/api/v1/configs/login');
    const initialized = login?.ok ? (await login.clone().json().catch(() => ({}))).isBasicAuthInitialized === true : login?.status === 401;
    const configs = initialized ? await call('/api/v1/configs') : undefined;
    const configured = configs?.ok ? (await configs.clone().json().catch(() => ({}))).isBasicAuthInitialized === true : configs?.status === 401;
    if (!configured) {
      const { tenant } = parse(location.pathname);
      push(href('setup', tenant));
      return;
    }
    if (version !== '2.0') return;
    // NotificationBell (stores/notifications.ts): first history page, unread count, live stream.
    await call('/api/v1/notifications/history?limit=20');
    await call('/api/v1/notifications/unread-count');
    const stream = new EventSource('/api/v1/notifications/follow', { withCredentials: true });
    stream.onopen = () => apiCalls.push({ url: '/api/v1/notifications/follow', status: 200 });
    // Double-only: one failed attempt is recorded and the stream is not retried.
    stream.onerror = () => {
      if (stream.readyState !== EventSource.OPEN) {
        apiCalls.push({ url: '/api/v1/notifications/follow', status: 'error' });
        stream.close();
      }
    };
    const { tenant: bootTenant, route } = parse(location.pathname);
    await pageCalls(route, bootTenant);
  }

  // ---- boot ----
  const { tenant } = parse(location.pathname);
  if (version === '2.0') {
    if (!omit.has('sidebar')) app.append((sideMenu = sidebar2(tenant)));
    topNav = topNavBar2();
    app.append(h('main', { class: 'main-content' }, topNav));
  } else if (!omit.has('sidebar')) app.append(sidebar1());
  render();

  // Links inside the app navigate in place (router-link); modified clicks and other origins do not.
  app.addEventListener('click', (event) => {
    if (event.defaultPrevented || event.button !== 0 || event.metaKey || event.ctrlKey || event.shiftKey || event.altKey) return;
    const a = event.target instanceof Element ? event.target.closest('a[href]') : null;
    if (!a || a.target === '_blank') return;
    const url = new URL(a.href, location.href);
    if (url.origin !== location.origin || !url.pathname.startsWith(BASE)) return;
    event.preventDefault();
    push(url.pathname + url.search);
  });
  window.addEventListener('popstate', () => {
    render();
    afterEach();
  });
  window.__kestraDouble = { version, navigate: push, apiCalls };
  afterEach();
  void boot();
})();
