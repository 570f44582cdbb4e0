import { browser } from 'wxt/browser';
import { activeAddress } from './perch-addresses';
import { CONTENT_SCRIPT_ID } from './perch-origin';

/**
 * Only the background registers (options pages ask it by message), and its syncs run one after
 * another: saving an address fires several events at once (storage, permissions, the message).
 */
let queue: Promise<unknown> = Promise.resolve();

/**
 * Registers Perch's content script for the saved Perch origin when its host permission is granted,
 * and removes it otherwise. Idempotent: run at start-up and whenever the address or permissions change.
 */
export function syncContentScript(): Promise<'registered' | 'unregistered'> {
  const run = queue.then(sync, sync);
  queue = run.catch(() => undefined);
  return run;
}

async function sync(): Promise<'registered' | 'unregistered'> {
  const parsed = await activeAddress();
  const existing = await browser.scripting.getRegisteredContentScripts({ ids: [CONTENT_SCRIPT_ID] });
  if (existing.length > 0) await browser.scripting.unregisterContentScripts({ ids: [CONTENT_SCRIPT_ID] });
  if (!parsed || !(await browser.permissions.contains({ origins: [parsed.pattern] }))) return 'unregistered';
  const script = (matches: string[]) => ({ id: CONTENT_SCRIPT_ID, matches, js: ['content-scripts/perch.js'], runAt: 'document_idle' as const, world: 'MAIN' as const, persistAcrossSessions: true });
  const register = (matches: string[]) => browser.scripting.registerContentScripts([script(matches)]);
  // Firefox accepts a port in a match pattern but then never matches it (seen in ESR 153): there the
  // script is registered for the granted host, which is as far as the permission reaches anyway.
  if ('getBrowserInfo' in browser.runtime) {
    await register([parsed.pattern]);
    return 'registered';
  }
  try {
    // The exact origin, port included (Chromium accepts ports in match patterns).
    await register([`${parsed.origin}/*`]);
  } catch {
    // Browsers whose match patterns take no port: the granted host, which is as far as the permission reaches anyway.
    await register([parsed.pattern]);
  }
  return 'registered';
}
