import { FeatureManager } from './feature-manager';
import { FEATURES } from './features';
import { loadSession } from './session';
import { followKestraTheme } from './theme';
import { startScreenPage } from '../screens/screen-page';

declare global {
  interface Window {
    /** Set once Perch runs on the page: the extension and the server-injected script never both start. */
    __perch?: { manager: FeatureManager; source: string };
  }
}

/**
 * Starts Perch's screens on a Kestra UI page served by Perch. Runs once per page, whichever of the
 * server's injected script and the extension's content script arrives first.
 */
export function startPerch(source = document.currentScript ? 'server' : 'extension'): void {
  if (window.__perch) return;
  // A page of Perch's own (/perch/account, /perch/iam, …): the screen alone, no Kestra around it.
  const screen = location.pathname.startsWith('/perch/') ? document.getElementById('perch-screen') : null;
  if (screen) {
    void startScreenPage(screen);
    return;
  }
  if (!location.pathname.startsWith('/ui')) return;
  const manager = new FeatureManager(FEATURES);
  window.__perch = { manager, source };
  followKestraTheme();
  void loadSession().then(() => manager.start());
}
