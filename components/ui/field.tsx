import type { ComponentChildren, InputHTMLAttributes, SelectHTMLAttributes } from 'preact';
import { useId } from 'preact/hooks';

const INPUT = 'w-full rounded-md border border-zinc-300 bg-white px-2.5 py-1.5 text-sm text-zinc-900 focus:border-kestra-500 focus:outline-2 focus:outline-kestra-500/40 dark:border-zinc-600 dark:bg-zinc-800 dark:text-zinc-100';

/** A labelled text input: every control has a visible label tied to it. */
export function TextField({ label, hint, error, ...input }: InputHTMLAttributes<HTMLInputElement> & { label: string; hint?: string; error?: string }) {
  const id = useId();
  return (
    <div class="flex flex-col gap-1">
      <label for={id} class="text-sm font-medium">{label}</label>
      <input id={id} class={INPUT} aria-invalid={error ? true : undefined} aria-describedby={hint || error ? `${id}-hint` : undefined} {...input} />
      {(hint || error) && <p id={`${id}-hint`} class={`text-xs ${error ? 'text-red-600 dark:text-red-400' : 'text-zinc-500 dark:text-zinc-400'}`}>{error ?? hint}</p>}
    </div>
  );
}

export function SelectField({ label, children, ...select }: SelectHTMLAttributes<HTMLSelectElement> & { label: string; children: ComponentChildren }) {
  const id = useId();
  return (
    <div class="flex flex-col gap-1">
      <label for={id} class="text-sm font-medium">{label}</label>
      <select id={id} class={INPUT} {...select}>{children}</select>
    </div>
  );
}

export function CheckboxField({ label, checked, disabled, onChange }: { label: string; checked: boolean; disabled?: boolean; onChange: (checked: boolean) => void }) {
  const id = useId();
  return (
    <div class="flex items-center gap-2">
      <input id={id} type="checkbox" class="size-4 accent-kestra-500" checked={checked} disabled={disabled} onChange={(event) => onChange(event.currentTarget.checked)} />
      <label for={id} class="text-sm">{label}</label>
    </div>
  );
}
