import type { ComponentChild } from 'preact';
import { defineFeature, type Feature, type FeatureContext } from '../app/feature';
import type { Me } from '../app/session';
import { Page } from '../ui/page';
import { screenStrings as s } from './strings';

/**
 * What a person lacking a screen's permission sees, in place of the screen (and of Kestra's
 * Enterprise sales page): what they lack, whom to ask. Hook: `#perch-no-access` (`data-screen`).
 */
export function NoAccess({ screen, title, needs, tenant }: { screen: string; title: string; needs: string; tenant: string }) {
  return (
    <div id="perch-no-access" data-screen={screen}>
      <Page title={s.noAccess.title(title)}>
        <div role="alert" class="max-w-2xl rounded-lg border border-amber-300 bg-amber-50 p-4 text-sm text-amber-950 dark:border-amber-800 dark:bg-amber-950 dark:text-amber-100">
          <p class="mb-2 font-medium" data-testid="no-access-lack">{s.noAccess.lack(needs)}</p>
          <p class="mb-2">{s.noAccess.ask(tenant)}</p>
          <p>
            {s.noAccess.yours} <a class="underline" href="/perch/account">{s.noAccess.account}</a>
          </p>
        </div>
      </Page>
    </div>
  );
}

/**
 * A Perch screen that replaces an Enterprise page: shown to everyone on its route, the screen to
 * those who may use it (`mayUse`), the "no access" page to the others. `needs` names the permission.
 */
export interface GuardedScreen extends Omit<Feature, 'visibleTo' | 'render'> {
  /** The screen's name in Perch's own pages: /perch/<screen>. */
  screen: string;
  mayUse: (me: Me) => boolean;
  needs: string;
  render(context: FeatureContext): ComponentChild;
}

export function guardedScreen({ screen, mayUse, needs, render, ...feature }: GuardedScreen): Feature & { screen: string; mayUse: (me: Me) => boolean } {
  return {
    ...defineFeature({
      ...feature,
      render: (context) => (mayUse(context.me) ? render(context) : <NoAccess screen={screen} title={feature.title} needs={needs} tenant={context.tenant} />),
    }),
    screen,
    mayUse,
  };
}
