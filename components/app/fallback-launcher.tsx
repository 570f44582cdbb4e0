import { useState } from 'preact/hooks';
import type { Feature, FeatureContext } from './feature';
import { strings } from './strings';

/** A small floating button that opens the features whose landmark is missing from this page. */
export function FallbackLauncher({ features, context }: { features: Feature[]; context: FeatureContext }) {
  const [open, setOpen] = useState<Feature | null>(null);
  const [menu, setMenu] = useState(false);
  return (
    <div class="fixed right-4 bottom-4 z-[2147483000] flex flex-col items-end gap-2">
      {open && (
        <section aria-label={open.title} class="max-h-[80vh] w-[min(90vw,960px)] overflow-auto rounded-lg border border-zinc-200 bg-white p-4 shadow-xl dark:border-zinc-700 dark:bg-zinc-900">
          <div class="mb-2 flex justify-end">
            <button type="button" class="rounded px-2 py-1 text-sm hover:bg-zinc-100 dark:hover:bg-zinc-800" onClick={() => setOpen(null)}>
              {strings.common.close}
            </button>
          </div>
          {open.render(context)}
        </section>
      )}
      {menu && (
        <ul role="menu" aria-label={strings.fallback.title} class="rounded-lg border border-zinc-200 bg-white py-1 shadow-lg dark:border-zinc-700 dark:bg-zinc-900">
          {features.map((f) => (
            <li key={f.id} role="none">
              <button
                type="button"
                role="menuitem"
                class="block w-full px-4 py-2 text-left text-sm hover:bg-zinc-100 dark:hover:bg-zinc-800"
                onClick={() => {
                  setOpen(f);
                  setMenu(false);
                }}
              >
                {f.title}
              </button>
            </li>
          ))}
        </ul>
      )}
      <button
        id="perch-fallback"
        type="button"
        aria-haspopup="menu"
        aria-expanded={menu}
        class="rounded-full bg-kestra-500 px-4 py-2 text-sm font-semibold text-white shadow-lg hover:bg-kestra-600 focus:outline-2 focus:outline-offset-2 focus:outline-kestra-500"
        onClick={() => setMenu(!menu)}
      >
        {strings.fallback.button}
      </button>
    </div>
  );
}
