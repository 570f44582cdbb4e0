import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';

/** The path Perch serves its screens bundle at (the extension's content script, byte for byte). */
export const BUNDLE_PATH = '/perch/ext/perch.js';

/** The tag added to the Kestra UI's HTML. `defer`: it runs after the page's own scripts were parsed. */
export const BUNDLE_TAG = `<script src="${BUNDLE_PATH}" defer data-perch-screens></script>`;

export interface ScreensBundle {
  code: Buffer;
  etag: string;
}

/** Reads the built bundle once; undefined (and screens off) when it was not built. */
export async function loadScreensBundle(file: string): Promise<ScreensBundle | undefined> {
  try {
    const code = await readFile(file);
    return { code, etag: `"${createHash('sha256').update(code).digest('base64url').slice(0, 27)}"` };
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw error;
  }
}

/**
 * Adds the bundle's tag to an HTML page, in Kestra's `html-head` slot when it is there (the meta
 * Kestra replaces with `kestra.webserver.html-head`), else before `</head>`. Pages without a head
 * are left alone.
 */
export function injectScreens(html: string): string {
  if (html.includes('data-perch-screens')) return html;
  const slot = /<meta\s+name="html-head"\s+content="replace"\s*\/?>/i.exec(html);
  if (slot) return html.slice(0, slot.index) + BUNDLE_TAG + html.slice(slot.index);
  const head = html.search(/<\/head\s*>/i);
  return head < 0 ? html : html.slice(0, head) + BUNDLE_TAG + html.slice(head);
}
