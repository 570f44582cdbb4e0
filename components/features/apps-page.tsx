/**
 * The Apps page, in place of the stock UI's Enterprise upsell at /ui/{tenant}/apps: the catalog of the
 * tenant's apps (search, tag filter, enable/disable, open and copy the public link) and the YAML editor
 * (errors at their line, preview).
 *
 * Stable hooks for end-to-end tests: `#perch-apps`; `[data-testid=app-row]` (`data-app-uid`),
 * `app-create`, `app-edit`, `app-toggle`; in the editor `app-source`, `app-save`, `app-preview`,
 * `app-errors` with one `app-error-line` (`data-line`) per error, `app-preview-blocks`.
 */
import { AppsScreen } from '../apps/apps-screen';
import { defineFeature } from '../app/feature';
import { canSee } from '../app/session';
import { strings } from '../app/strings';

export default defineFeature({
  id: 'apps-page',
  routes: ['apps'],
  anchor: 'promoContent',
  placement: 'replace',
  title: strings.apps.title,
  visibleTo: (me) => canSee(me, 'APP'),
  render: (context) => (
    <div id="perch-apps">
      <AppsScreen tenant={context.tenant} me={context.me!} />
    </div>
  ),
});
