/**
 * In place of the stock UI's Enterprise upsell on the demo routes Perch has no screen for yet: an honest
 * "not available in Perch yet", never Kestra's sales page. Routes: ui/src/routes/routes.ts's demo pages
 * (routes.ossOnly.spec.ts lists them), cited in docs/compatibility.md; `deploy/targets` is the older name
 * of `promote/targets`. Apps has its own page (apps-page); `ai` is Kestra's own Copilot page, not an upsell.
 * Hook for end-to-end tests: `#perch-not-in-perch` (`data-feature-name` = the feature's name).
 */
import { defineFeature, type FeatureContext } from '../app/feature';
import { routeMatches } from '../app/routes';
import { strings } from '../app/strings';
import { Page } from '../ui/page';

const s = strings.notInPerch;

/** Route pattern below the tenant → the feature's name. */
const UNAVAILABLE: readonly (readonly [string, string])[] = [
  ['tests', s.features.tests],
  ['assets', s.features.assets],
  ['cases', s.features.cases],
  ['admin/quotas', s.features.quotas],
  ['admin/policies', s.features.policies],
  ['promote/targets', s.features.promote],
  ['deploy/targets', s.features.promote],
  ['dashboards/new', s.features.dashboards],
  ['dashboards/*/edit', s.features.dashboards],
];

export function unavailableFeature(context: FeatureContext): string {
  return UNAVAILABLE.find(([pattern]) => routeMatches([pattern], context.route))?.[1] ?? s.title;
}

export default defineFeature({
  id: 'not-in-perch-page',
  routes: UNAVAILABLE.map(([pattern]) => pattern),
  anchor: 'promoContent',
  placement: 'replace',
  title: s.title,
  render: (context) => {
    const feature = unavailableFeature(context);
    return (
      <div id="perch-not-in-perch" data-feature-name={feature}>
        <Page title={feature}>
          <div class="max-w-2xl rounded-lg border border-zinc-200 bg-white p-4 text-sm dark:border-zinc-700 dark:bg-zinc-900">
            <p class="mb-2 font-medium">{s.unavailable(feature)}</p>
            <p class="text-zinc-600 dark:text-zinc-400">{s.explanation}</p>
          </div>
        </Page>
      </div>
    );
  },
});
