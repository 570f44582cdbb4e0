import { browser } from 'wxt/browser';
import { CONTENT_SCRIPT_ID, PERCH_ORIGIN_KEY, perchOrigin } from './perch-origin';

/**
 * Registers Perch's content script for the saved Perch origin when its host permission is granted,
 * and removes it otherwise. Idempotent: run at start-up and whenever the address or permissions change.
 */
export async function syncContentScript(): Promise<'registered' | 'unregistered'> {
  const stored = (await browser.storage.local.get(PERCH_ORIGIN_KEY))[PERCH_ORIGIN_KEY];
  const parsed = typeof stored === 'string' ? perchOrigin(stored) : undefined;
  const existing = await browser.scripting.getRegisteredContentScripts({ ids: [CONTENT_SCRIPT_ID] });
  if (existing.length > 0) await browser.scripting.unregisterContentScripts({ ids: [CONTENT_SCRIPT_ID] });
  if (!parsed?.ok || !(await browser.permissions.contains({ origins: [parsed.pattern] }))) return 'unregistered';
  const register = (matches: string[]) =>
    browser.scripting.registerContentScripts([
      { id: CONTENT_SCRIPT_ID, matches, js: ['content-scripts/perch.js'], runAt: 'document_idle', world: 'MAIN', persistAcrossSessions: true },
    ]);
  try {
    // The exact origin, port included (Chromium accepts ports in match patterns).
    await register([`${parsed.origin}/*`]);
  } catch {
    // Browsers whose match patterns take no port: the granted host, which is as far as the permission reaches anyway.
    await register([parsed.pattern]);
  }
  return 'registered';
}
