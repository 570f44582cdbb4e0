/**
 * The gate's one timing test, apart from canonical-request.test.ts so that mutation testing
 * (stryker/modules.mjs) never lets a stopwatch decide a mutant.
 */
import { expect, it } from 'vitest';
import { canonicalizeRequest } from '../../backend/proxy/canonical-request.js';

it('stays linear on hostile input', () => {
  const urls = ['/' + 'a/'.repeat(4000), '/x?' + '%41'.repeat(2700), '/x?' + '&'.repeat(8000), '/x?' + '_method'.repeat(1100)];
  const t0 = performance.now();
  for (let i = 0; i < 200; i++) for (const url of urls) canonicalizeRequest({ method: 'GET', url, rawHeaders: ['Host', 'perch.example'] });
  expect(performance.now() - t0).toBeLessThan(2000);
});
