import { browser } from 'wxt/browser';
import { defineBackground } from 'wxt/utils/define-background';
import { SYNC_MESSAGE } from '../components/extension/perch-origin';
import { refreshBadge } from '../components/extension/perch-status';
import { syncContentScript } from '../components/extension/registration';

/** Keeps the content script registered for exactly the Perch origin the person granted. */
export default defineBackground(() => {
  const sync = () => {
    void syncContentScript().catch((error: unknown) => console.error('Perch: could not register the content script', error));
    // The badge says when the Perch address is missing, not granted or not answering.
    void refreshBadge().catch((error: unknown) => console.error('Perch: could not check the Perch server', error));
  };
  browser.runtime.onInstalled.addListener(sync);
  browser.runtime.onStartup.addListener(sync);
  browser.permissions.onAdded.addListener(sync);
  browser.permissions.onRemoved.addListener(sync);
  browser.storage.onChanged.addListener(sync);
  // The options page waits for the answer before it says the screens are active.
  browser.runtime.onMessage.addListener((message: unknown, _sender, sendResponse: (answer: unknown) => void) => {
    if ((message as { type?: string })?.type !== SYNC_MESSAGE.type) return undefined;
    syncContentScript().then(
      (state) => sendResponse({ state }),
      (error: unknown) => sendResponse({ error: String(error) }),
    );
    return true;
  });
});
