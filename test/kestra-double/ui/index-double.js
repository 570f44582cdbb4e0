/*
 * The Kestra double's stand-in for the stock UI (served as /ui/assets/index-double.js): a small vanilla-JS
 * single-page app that reproduces the DOM landmarks of Kestra's UI that Perch attaches to
 * (shared/reference/kestra-oss-notes.md §7, components/app/anchors.ts). It is not Kestra's code.
 *
 * 2.0 (default): html.light|dark from localStorage `theme` (utils.ts switchTheme), #app-container > #app,
 *   an <aside> left menu of a.ks-sidebar-item (id = lower-cased title with dashes, is-active / is-locked +
 *   lock badge), a main area with nav.top-bar (h1 title + .side with a theme toggle) and the route's content;
 *   the Enterprise promo routes render section.container.empty-template with an "Enterprise Edition" upsell.
 *   History-mode routing under /ui/{tenant}/, pushState on link clicks, popstate re-renders from location,
 *   and `KestraRouterAfterEach` is dispatched on window after every navigation (init.ts).
 * 1.x (<html data-kestra-double-ui="1.x">): vue-sidebar-menu landmarks (#side-menu, .vsm--item, .vsm--link,
 *   .vsm--link_active, .vsm--link_level-1, .lock-icon) and paths without a tenant (/ui/flows).
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
  // [title, route below the tenant, locked]
  const MENU = [
    ['Dashboards', 'dashboards', false],
    ['Flows', 'flows', false],
    ['Apps', 'apps', true],
    ['Executions', 'executions', false],
    ['Logs', 'logs', false],
    ['Namespaces', 'namespaces', false],
    ['KV Store', 'kv', false],
    ['Secrets', 'secrets', false],
    ['Triggers', 'admin/triggers', false],
    ['Audit Logs', 'admin/auditlogs', true],
    ['IAM', 'admin/iam', true],
    ['Instance', 'admin/instance', true],
    ['Tenants', 'admin/tenants/list', false],
  ];
  const PROMO = {
    apps: 'Apps',
    tests: 'Tests',
    assets: 'Assets',
    'admin/iam': 'IAM',
    'admin/auditlogs': 'Audit Logs',
    'admin/tenants/list': 'Tenants',
    'admin/instance': 'Instance',
    'admin/quotas': 'Quotas',
    'admin/policies': 'Policies',
  };
  const NOT_TENANTS = new Set(['dashboards', 'flows', 'executions', 'kv', 'secrets', 'blueprints', 'plugins', 'logs', 'namespaces', 'docs', 'preferences', 'admin', 'setup', 'login', 'welcome', 'apps', 'tests', 'assets', 'deploy', 'templates', 'errors']);

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
  function titleOf(route) {
    const promo = Object.keys(PROMO).find((p) => route === p || route.startsWith(`${p}/`));
    if (promo) return PROMO[promo];
    const item = MENU.find(([, r]) => route === r || route.startsWith(`${r}/`));
    if (item) return item[0];
    return route === '' ? 'Dashboards' : 'Page not found';
  }
  function isPromo(route) {
    return Object.keys(PROMO).some((p) => route === p || route.startsWith(`${p}/`));
  }
  function activeItem(route) {
    return MENU.find(([, r]) => route === r || route.startsWith(`${r}/`)) ?? (route === '' ? MENU[0] : undefined);
  }

  // ---- layout ----
  const style = document.createElement('style');
  style.textContent = `
    html, body { margin: 0; height: 100%; }
    body { font-family: "Public Sans", system-ui, sans-serif; font-size: 14px; line-height: 1.5; background: #f9f9fa; color: #2f3342; }
    html.dark body { background: #1c1e27; color: #e3e6ee; }
    #loader-wrapper { display: none; }
    #app { display: flex; min-height: 100vh; }
    aside.ks-sidebar, #side-menu { width: 230px; flex: none; background: #fff; border-right: 1px solid #e5e4f7; padding: 12px 8px; box-sizing: border-box; }
    html.dark aside.ks-sidebar, html.dark #side-menu { background: #262a35; border-color: #404559; }
    .logo { font-weight: 700; font-size: 18px; color: #8405ff; padding: 4px 12px 16px; }
    .ks-sidebar-item, .vsm--link { display: flex; align-items: center; gap: 8px; padding: 6px 12px; border-radius: 6px; color: inherit; text-decoration: none; }
    .ks-sidebar-item:hover, .vsm--link:hover { background: #f1eafe; }
    html.dark .ks-sidebar-item:hover, html.dark .vsm--link:hover { background: #33384a; }
    .ks-sidebar-item.is-active, .vsm--link_active { background: #e8dbff; color: #5a0ab8; font-weight: 600; }
    html.dark .ks-sidebar-item.is-active, html.dark .vsm--link_active { background: #3d2a66; color: #d7c2ff; }
    .ks-sidebar-item.is-locked, .vsm--link.locked { opacity: .75; }
    .menu-icon { width: 14px; height: 14px; border-radius: 3px; background: currentColor; opacity: .35; flex: none; }
    .lock-badge, .lock-icon { margin-left: auto; font-size: 10px; border: 1px solid currentColor; border-radius: 4px; padding: 0 4px; opacity: .7; }
    main.main-content { flex: 1; min-width: 0; display: flex; flex-direction: column; }
    nav.top-bar { display: flex; align-items: center; justify-content: space-between; gap: 16px; padding: 10px 24px; border-bottom: 1px solid #e5e4f7; background: #fff; }
    html.dark nav.top-bar { background: #262a35; border-color: #404559; }
    nav.top-bar h1 { margin: 0; font-size: 18px; font-weight: 600; }
    nav.top-bar .side { display: flex; align-items: center; gap: 8px; }
    .theme-toggle { font: inherit; border: 1px solid #c8c6e0; border-radius: 6px; background: transparent; color: inherit; padding: 4px 10px; cursor: pointer; }
    .content { padding: 24px; }
    .card { background: #fff; border: 1px solid #e5e4f7; border-radius: 8px; padding: 16px; }
    html.dark .card { background: #262a35; border-color: #404559; }
    section.empty-template { text-align: center; padding: 64px 24px; }
    section.empty-template .badge { display: inline-block; font-size: 12px; font-weight: 600; color: #8405ff; border: 1px solid #8405ff; border-radius: 999px; padding: 2px 10px; }
    section.empty-template h2 { font-size: 24px; margin: 16px 0 8px; }
    section.empty-template a { color: #8405ff; }
  `;
  document.head.append(style);

  const app = document.getElementById('app');
  let main;

  function link(route, tenant, attrs, ...children) {
    return h('a', { href: href(route, tenant), ...attrs }, ...children);
  }

  function sidebar2(tenant) {
    return h(
      'aside',
      { class: 'ks-sidebar' },
      h('div', { class: 'logo' }, 'Kestra'),
      h(
        'nav',
        { class: 'ks-sidebar-menu' },
        MENU.map(([title, route, locked]) =>
          link(
            route,
            tenant,
            { id: title.toLowerCase().replaceAll(' ', '-'), class: `ks-sidebar-item${locked ? ' is-locked' : ''}`, 'data-route': route },
            h('span', { class: 'menu-icon' }),
            h('span', { class: 'title' }, title),
            locked ? h('span', { class: 'lock-badge', title: 'Enterprise Edition' }, 'EE') : null,
          ),
        ),
      ),
    );
  }

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

  function topBar(title) {
    return h(
      'nav',
      { class: 'top-bar' },
      h('div', { class: 'title-area' }, h('h1', {}, title)),
      omit.has('topBar')
        ? null
        : h(
            'div',
            { class: 'side' },
            h('button', {
              type: 'button',
              class: 'theme-toggle',
              'aria-label': 'Switch theme',
              onclick: () => {
                const next = currentTheme() === 'dark' ? 'light' : 'dark';
                localStorage.setItem('theme', next);
                applyTheme(next);
              },
            }, 'Theme'),
          ),
    );
  }

  function content(route, title) {
    if (isPromo(route)) {
      if (omit.has('promo')) return h('section', { class: 'container moved-upsell' }, h('h2', {}, `${title} is an Enterprise Edition feature`));
      return h(
        'section',
        { class: 'container empty-template' },
        h('span', { class: 'badge' }, 'Enterprise Edition'),
        h('h2', {}, `${title} is available in the Enterprise Edition`),
        h('p', {}, 'Upgrade to Kestra Enterprise Edition to unlock this feature.'),
        h('a', { href: 'https://kestra.io/enterprise', target: '_blank', rel: 'noopener' }, 'Talk to us'),
      );
    }
    return h('div', { class: 'container' }, h('div', { class: 'card' }, h('p', {}, `${title}: this is the Kestra double's stand-in page.`)));
  }

  function render() {
    const { tenant, route } = parse(location.pathname);
    const title = titleOf(route);
    // Active state of the left menu (the menu itself stays, like Kestra's layout).
    const active = activeItem(route);
    for (const a of app.querySelectorAll('a[data-route]')) {
      const on = active !== undefined && a.dataset.route === active[1];
      a.classList.toggle(version === '1.x' ? 'vsm--link_active' : 'is-active', on);
      if (on) a.setAttribute('aria-current', 'page');
      else a.removeAttribute('aria-current');
    }
    // The routed view (TopNavBar + page) is a new component per route, as vue-router renders it.
    const view = h('main', { class: 'main-content' }, topBar(title), h('div', { class: 'content' }, content(route, title)));
    if (main) main.replaceWith(view);
    else app.append(view);
    main = view;
    return tenant;
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

  // ---- boot ----
  const { tenant } = parse(location.pathname);
  if (!omit.has('sidebar')) app.append(version === '1.x' ? sidebar1() : sidebar2(tenant));
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
  window.__kestraDouble = { version, navigate: push };
  afterEach();
})();
