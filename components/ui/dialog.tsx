import type { ComponentChildren } from 'preact';
import { useEffect, useRef } from 'preact/hooks';
import { strings } from '../app/strings';

/**
 * A modal dialog on the native <dialog>: focus moves in and is kept there, Escape closes, focus
 * returns to the opener. `side` renders it as a drawer on the right.
 */
export function Dialog({ title, onClose, children, side = false, footer }: { title: string; onClose: () => void; children: ComponentChildren; side?: boolean; footer?: ComponentChildren }) {
  const ref = useRef<HTMLDialogElement>(null);
  useEffect(() => {
    const dialog = ref.current!;
    const opener = (dialog.getRootNode() as ShadowRoot | Document).activeElement as HTMLElement | null;
    if (!dialog.open) dialog.showModal();
    return () => opener?.focus?.();
  }, []);
  const position = side ? 'ml-auto mr-0 h-full max-h-full w-[min(720px,95vw)] rounded-none' : 'm-auto w-[min(560px,95vw)] rounded-lg';
  return (
    <dialog
      ref={ref}
      aria-label={title}
      class={`${position} border border-zinc-200 bg-white p-0 text-zinc-800 shadow-2xl backdrop:bg-black/40 dark:border-zinc-700 dark:bg-zinc-900 dark:text-zinc-100`}
      onCancel={(event) => {
        event.preventDefault();
        onClose();
      }}
    >
      <div class="flex h-full flex-col">
        <header class="flex items-center justify-between border-b border-zinc-200 px-4 py-3 dark:border-zinc-700">
          <h2 class="text-base font-semibold">{title}</h2>
          <button type="button" aria-label={strings.common.close} class="rounded px-2 py-1 hover:bg-zinc-100 dark:hover:bg-zinc-800" onClick={onClose}>
            ✕
          </button>
        </header>
        <div class="flex-1 overflow-auto p-4">{children}</div>
        {footer && <footer class="flex justify-end gap-2 border-t border-zinc-200 px-4 py-3 dark:border-zinc-700">{footer}</footer>}
      </div>
    </dialog>
  );
}
