import { effect } from '@preact/signals';
import { render, type ComponentChild } from 'preact';
import css from './styles.css?inline';
import { theme } from './theme';

/** One parsed stylesheet shared by every Perch root: mounting a screen does not re-parse CSS. */
let sheet: CSSStyleSheet | undefined;
function perchStyles(): CSSStyleSheet {
  if (!sheet) {
    sheet = new CSSStyleSheet();
    sheet.replaceSync(css);
  }
  return sheet;
}

export interface MountedRoot {
  host: HTMLElement;
  unmount(): void;
}

/**
 * Renders a Preact tree inside an open shadow root on a `<perch-root>` element: Perch's Tailwind
 * styles stay inside, Kestra's stay outside (`all: initial` cuts inheritance at the host).
 */
export function mountInShadowRoot(featureId: string, place: (host: HTMLElement) => void, tree: ComponentChild): MountedRoot {
  const host = document.createElement('perch-root');
  host.dataset.feature = featureId;
  host.style.setProperty('all', 'initial');
  host.style.setProperty('display', 'contents');
  const shadow = host.attachShadow({ mode: 'open' });
  shadow.adoptedStyleSheets = [perchStyles()];
  const container = document.createElement('div');
  container.className = 'perch';
  shadow.append(container);
  const stopTheme = effect(() => {
    container.classList.toggle('dark', theme.value === 'dark');
  });
  place(host);
  render(tree, container);
  return {
    host,
    unmount() {
      render(null, container);
      stopTheme();
      host.remove();
    },
  };
}
