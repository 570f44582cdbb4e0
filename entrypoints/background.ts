import { browser } from 'wxt/browser';
import { defineBackground } from 'wxt/utils/define-background';
import { syncContentScript } from '../components/extension/registration';

/** Keeps the content script registered for exactly the Perch origin the person granted. */
export default defineBackground(() => {
  const sync = () => void syncContentScript().catch((error: unknown) => console.error('Perch: could not register the content script', error));
  browser.runtime.onInstalled.addListener(sync);
  browser.runtime.onStartup.addListener(sync);
  browser.permissions.onAdded.addListener(sync);
  browser.permissions.onRemoved.addListener(sync);
  browser.storage.onChanged.addListener(sync);
  browser.runtime.onMessage.addListener((message: unknown) => {
    if ((message as { type?: string })?.type === 'perch:sync') return syncContentScript();
    return undefined;
  });
});
