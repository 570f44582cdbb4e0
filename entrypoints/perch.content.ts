import { defineContentScript } from 'wxt/utils/define-content-script';
import { startPerch } from '../components/app/start';

/**
 * Perch's screens. Registered at runtime (background.ts) for the one Perch origin the person set on
 * the options page, in the page's main world: the very same file Perch injects into the UI pages it
 * serves, so both paths run one bundle.
 */
export default defineContentScript({
  registration: 'runtime',
  world: 'MAIN',
  matches: [],
  main() {
    startPerch();
  },
});
