/**
 * In place of the stock UI's Enterprise upsell at /ui/{tenant}/apps: an honest "not available yet".
 * Hook for end-to-end tests: `#perch-apps`.
 */
import { defineFeature } from '../app/feature';
import { canSee } from '../app/session';
import { strings } from '../app/strings';
import { Page } from '../ui/page';

export default defineFeature({
  id: 'apps-page',
  routes: ['apps'],
  anchor: 'promoContent',
  placement: 'replace',
  title: strings.apps.title,
  visibleTo: (me) => canSee(me, 'APP'),
  render: () => (
    <div id="perch-apps">
      <Page title={strings.apps.title}>
        <div class="max-w-2xl rounded-lg border border-zinc-200 bg-white p-4 text-sm dark:border-zinc-700 dark:bg-zinc-900">
          <p class="mb-2 font-medium">{strings.apps.unavailable}</p>
          <p class="text-zinc-600 dark:text-zinc-400">{strings.apps.explanation}</p>
        </div>
      </Page>
    </div>
  ),
});
