import type { ComponentChildren } from 'preact';
import { useRef } from 'preact/hooks';

/** A Perch page in Kestra's look: title, optional actions, content. */
export function Page({ title, actions, children }: { title: string; actions?: ComponentChildren; children: ComponentChildren }) {
  return (
    <section class="perch-page min-h-[60vh] px-8 py-6" aria-label={title}>
      <header class="mb-4 flex items-center justify-between gap-4">
        <h1 class="text-xl font-semibold">{title}</h1>
        {actions && <div class="flex gap-2">{actions}</div>}
      </header>
      {children}
    </section>
  );
}

/** Tabs with arrow-key navigation (WAI-ARIA tabs pattern); the selected tab lives in the URL's `tab` query. */
export function Tabs<T extends string>({ tabs, selected, onSelect, label }: { tabs: readonly { id: T; title: string }[]; selected: T; onSelect: (id: T) => void; label: string }) {
  const list = useRef<HTMLDivElement>(null);
  const move = (delta: number) => {
    const index = (tabs.findIndex((t) => t.id === selected) + delta + tabs.length) % tabs.length;
    onSelect(tabs[index]!.id);
    queueMicrotask(() => list.current?.querySelector<HTMLButtonElement>(`[data-tab="${tabs[index]!.id}"]`)?.focus());
  };
  return (
    <div
      ref={list}
      role="tablist"
      aria-label={label}
      class="mb-4 flex gap-1 border-b border-zinc-200 dark:border-zinc-700"
      onKeyDown={(event) => {
        if (event.key === 'ArrowRight') move(1);
        else if (event.key === 'ArrowLeft') move(-1);
      }}
    >
      {tabs.map((tab) => (
        <button
          key={tab.id}
          type="button"
          role="tab"
          data-tab={tab.id}
          aria-selected={tab.id === selected}
          tabIndex={tab.id === selected ? 0 : -1}
          class={`-mb-px border-b-2 px-3 py-2 text-sm font-medium ${tab.id === selected ? 'border-kestra-500 text-kestra-600 dark:text-kestra-100' : 'border-transparent text-zinc-600 hover:text-zinc-900 dark:text-zinc-400 dark:hover:text-zinc-100'}`}
          onClick={() => onSelect(tab.id)}
        >
          {tab.title}
        </button>
      ))}
    </div>
  );
}
