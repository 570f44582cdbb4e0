import { signal } from '@preact/signals';

/** Kestra's theme: `html.dark` (utils.ts switchTheme adds `dark`, `light` or `syncWithSystem dark|light`). */
export const theme = signal<'light' | 'dark'>('light');

const read = (): 'light' | 'dark' => (document.documentElement.classList.contains('dark') ? 'dark' : 'light');

let observer: MutationObserver | undefined;

/** Follows the page's theme for as long as Perch runs (one observer for every screen). */
export function followKestraTheme(): void {
  theme.value = read();
  if (observer) return;
  observer = new MutationObserver(() => {
    theme.value = read();
  });
  observer.observe(document.documentElement, { attributes: true, attributeFilter: ['class'] });
}
