/**
 * The one origin the extension works on. People paste all sorts of things ("perch.acme.io",
 * "https://perch.acme.io/ui/main/flows"): keep only the scheme, host and port, or refuse.
 */
export function perchOrigin(input: string): { ok: true; origin: string; pattern: string } | { ok: false; message: string } {
  const text = input.trim();
  if (!text) return { ok: false, message: 'Enter the address of your Perch server.' };
  let url: URL;
  try {
    url = new URL(/^[a-z][a-z0-9+.-]*:\/\//i.test(text) ? text : `https://${text}`);
  } catch {
    return { ok: false, message: `"${text}" is not a web address.` };
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') return { ok: false, message: 'Perch is reached over http or https.' };
  if (url.username || url.password) return { ok: false, message: 'Leave credentials out of the address: you sign in at Perch.' };
  // A match pattern treats * as a wildcard: "*.acme.io" would put Perch's screens on every such site.
  if (url.hostname.includes('*')) return { ok: false, message: 'Enter the one address of your Perch server, without wildcards.' };
  // Match patterns carry no port: the permission covers the host, the script matches the exact origin.
  return { ok: true, origin: url.origin, pattern: `${url.protocol}//${url.hostname}/*` };
}

/** Where the extension keeps the address (chrome.storage.local). */
export const PERCH_ORIGIN_KEY = 'perchOrigin';
/** The id of the runtime-registered content script. */
export const CONTENT_SCRIPT_ID = 'perch';

/** What the options page sends the background to (re)register the content script. */
export const SYNC_MESSAGE = { type: 'perch:sync' } as const;
