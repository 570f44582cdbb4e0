import { useState } from 'preact/hooks';
import { defineFeature } from '../app/feature';
import { uiConfig } from '../app/session';
import { strings } from '../app/strings';

const TONE = {
  INFO: 'border-sky-300 bg-sky-50 text-sky-900 dark:border-sky-800 dark:bg-sky-950 dark:text-sky-100',
  WARNING: 'border-amber-300 bg-amber-50 text-amber-900 dark:border-amber-800 dark:bg-amber-950 dark:text-amber-100',
  ERROR: 'border-red-300 bg-red-50 text-red-900 dark:border-red-800 dark:bg-red-950 dark:text-red-100',
} as const;

const DISMISSED = 'perch:dismissed-banners';

function Banners() {
  const config = uiConfig.value;
  const [dismissed, setDismissed] = useState<string[]>(() => JSON.parse(sessionStorage.getItem(DISMISSED) ?? '[]') as string[]);
  if (!config) return null;
  const banners = config.banners.filter((b) => !dismissed.includes(b.id));
  if (!config.inMaintenance && banners.length === 0) return null;
  return (
    <div role="region" aria-label={strings.banner.region} class="flex flex-col">
      {config.inMaintenance && (
        <p id="perch-maintenance" role="status" class={`border-b px-4 py-2 text-sm font-medium ${TONE.WARNING}`}>
          {config.maintenanceMessage ?? strings.banner.maintenance}
        </p>
      )}
      {banners.map((banner) => (
        <div key={banner.id} data-banner={banner.id} class={`flex items-center justify-between gap-4 border-b px-4 py-2 text-sm ${TONE[banner.type]}`}>
          <span>{banner.message}</span>
          <button
            type="button"
            aria-label={strings.banner.dismiss}
            class="rounded px-2 hover:bg-black/10"
            onClick={() => {
              const next = [...dismissed, banner.id];
              sessionStorage.setItem(DISMISSED, JSON.stringify(next));
              setDismissed(next);
            }}
          >
            ✕
          </button>
        </div>
      ))}
    </div>
  );
}

/** Announcements and the maintenance notice, above the whole UI on every page (EE: a strip at the top). */
export default defineFeature({
  id: 'banner',
  routes: ['*'],
  anchor: 'page',
  placement: 'before',
  title: strings.banner.region,
  render: () => <Banners />,
});
