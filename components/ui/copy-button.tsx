import { useState } from 'preact/hooks';
import { strings } from '../app/strings';
import { Button } from './button';

export function CopyButton({ text, label = strings.common.copy }: { text: string; label?: string }) {
  const [copied, setCopied] = useState(false);
  return (
    <Button
      aria-label={label}
      onClick={() => {
        void navigator.clipboard?.writeText(text).then(() => setCopied(true));
      }}
    >
      {copied ? strings.common.copied : label}
    </Button>
  );
}
