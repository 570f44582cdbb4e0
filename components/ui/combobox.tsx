import { useEffect, useId, useState } from 'preact/hooks';
import { useDebounced } from './use-debounced';

export interface ComboOption {
  id: string;
  label: string;
  detail?: string;
}

const INPUT = 'w-full rounded-md border border-zinc-300 bg-white px-2.5 py-1.5 text-sm text-zinc-900 focus:border-kestra-500 focus:outline-2 focus:outline-kestra-500/40 dark:border-zinc-600 dark:bg-zinc-800 dark:text-zinc-100';

/**
 * A labelled text input with suggestions (WAI-ARIA combobox with a listbox): typing asks `suggest`
 * (debounced), ArrowUp/ArrowDown move through the list, Enter or a click picks, Escape closes the
 * list; it closes by itself once the text equals a suggestion. The text stays free: when `suggest` fails (no right to list) the field is a plain input.
 */
export function Combobox({ label, value, onInput, onPick, suggest, hint, error, required, placeholder, name, autoFocus }: {
  label: string;
  value: string;
  onInput: (text: string) => void;
  onPick: (option: ComboOption) => void;
  suggest: (text: string) => Promise<ComboOption[]>;
  hint?: string;
  error?: string;
  required?: boolean;
  placeholder?: string;
  name?: string;
  autoFocus?: boolean;
}) {
  const id = useId();
  const [open, setOpen] = useState(false);
  const [options, setOptions] = useState<ComboOption[]>([]);
  const [active, setActive] = useState(-1);
  const query = useDebounced(value, 200);
  useEffect(() => {
    if (!open) return;
    let live = true;
    suggest(query).then(
      (found) => {
        if (!live) return;
        setOptions(found);
        setActive(-1);
      },
      () => live && setOptions([]),
    );
    return () => {
      live = false;
    };
  }, [query, open]);
  // Once the text is exactly one of the suggestions there is nothing left to pick: the list closes
  // (and stops covering what follows, e.g. the form's buttons).
  const exact = options.some((o) => o.label.toLowerCase() === value.trim().toLowerCase());
  const expanded = open && options.length > 0 && !exact;
  const pick = (option: ComboOption) => {
    onPick(option);
    setOpen(false);
  };
  return (
    <div class="relative flex flex-col gap-1">
      <label for={id} class="text-sm font-medium">{label}</label>
      <input
        id={id}
        name={name}
        class={INPUT}
        role="combobox"
        autoComplete="off"
        autoFocus={autoFocus}
        required={required}
        placeholder={placeholder}
        aria-autocomplete="list"
        aria-expanded={expanded}
        aria-controls={`${id}-list`}
        aria-activedescendant={expanded && active >= 0 ? `${id}-option-${active}` : undefined}
        aria-invalid={error ? true : undefined}
        aria-describedby={hint || error ? `${id}-hint` : undefined}
        value={value}
        onInput={(event) => {
          onInput(event.currentTarget.value);
          setOpen(true);
        }}
        onFocus={() => setOpen(true)}
        onBlur={() => setOpen(false)}
        onKeyDown={(event) => {
          if (event.key === 'ArrowDown') {
            event.preventDefault();
            setOpen(true);
            setActive((a) => Math.min(a + 1, options.length - 1));
          } else if (event.key === 'ArrowUp') {
            event.preventDefault();
            setActive((a) => Math.max(a - 1, 0));
          } else if (event.key === 'Enter' && expanded && active >= 0) {
            event.preventDefault();
            pick(options[active]!);
          } else if (event.key === 'Escape' && expanded) {
            // Close the list only, not the dialog around it.
            event.preventDefault();
            event.stopPropagation();
            setOpen(false);
          }
        }}
      />
      <ul
        id={`${id}-list`}
        role="listbox"
        hidden={!expanded}
        class="absolute top-full right-0 left-0 z-10 mt-1 max-h-60 overflow-auto rounded-md border border-zinc-200 bg-white py-1 shadow-lg dark:border-zinc-700 dark:bg-zinc-900"
      >
        {options.map((option, index) => (
          <li
            key={option.id}
            id={`${id}-option-${index}`}
            role="option"
            aria-selected={index === active}
            class={`cursor-pointer px-3 py-1.5 text-sm ${index === active ? 'bg-kestra-50 dark:bg-zinc-700' : 'hover:bg-zinc-100 dark:hover:bg-zinc-800'}`}
            onMouseDown={(event) => {
              event.preventDefault();
              pick(option);
            }}
          >
            {option.label}
            {option.detail && <span class="ml-2 text-xs text-zinc-500 dark:text-zinc-400">{option.detail}</span>}
          </li>
        ))}
      </ul>
      {(hint || error) && <p id={`${id}-hint`} class={`text-xs ${error ? 'text-red-600 dark:text-red-400' : 'text-zinc-500 dark:text-zinc-400'}`}>{error ?? hint}</p>}
    </div>
  );
}
