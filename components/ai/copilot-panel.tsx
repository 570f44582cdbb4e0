import { useEffect, useMemo, useRef, useState } from 'preact/hooks';
import { z } from 'zod';
import { getJson, tenantApi } from '../app/api';
import { Button } from '../ui/button';
import { CopyButton } from '../ui/copy-button';
import { ErrorNotice } from '../ui/states';
import { replaceEditorText } from './editor-bridge';
import { takeProposal } from './handoff';
import { FlowDiff } from './flow-diff';
import { SuggestionProgress } from './suggestion-progress';
import { streamSuggestion } from './generation-stream';
import { copilotTexts as t } from './strings';

const flowSourceSchema = z.object({ source: z.string() });

const flowPath = (namespace: string, id: string) => `flows/${encodeURIComponent(namespace)}/${encodeURIComponent(id)}`;

/**
 * The AI copilot beside the stock flow editor: a prompt, the model's answer as it streams in, Perch's
 * checked suggestion (EE's generateFlow, asked as server-sent events),
 * its diff against the editor's text, Apply (undoable: in the editor with Ctrl/Cmd+Z, or here with Undo)
 * and Copy. The editor's text is the flow's saved source until the panel applies something (the
 * extension cannot read Monaco's model). Hooks: `#perch-copilot`, `[data-testid=copilot-toggle]`,
 * `copilot-prompt`, `copilot-generate`, `copilot-stream`, `copilot-problems`, `copilot-apply`, `copilot-undo`, `copilot-status`.
 */
export function CopilotPanel({ tenant, namespace, flowId }: { tenant: string; namespace: string; flowId: string }) {
  // A fix proposed on a failed execution's page arrives open, as the suggestion to review and apply.
  const [handedOver] = useState(() => takeProposal(namespace, flowId));
  const [open, setOpen] = useState(handedOver !== undefined);
  const [current, setCurrent] = useState<string | undefined>(undefined);
  const [prompt, setPrompt] = useState('');
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>(undefined);
  const [suggestion, setSuggestion] = useState<string | undefined>(handedOver?.yaml);
  const [previous, setPrevious] = useState<string | undefined>(undefined);
  const [status, setStatus] = useState<string>(handedOver ? t.handedOver(handedOver.from) : '');
  // The model's text as it streams in, and the problems Perch's checks found in the previous attempt.
  const [streamed, setStreamed] = useState('');
  const [problems, setProblems] = useState<string[]>([]);
  const conversationId = useMemo(() => crypto.randomUUID(), []);
  const promptRef = useRef<HTMLTextAreaElement>(null);

  useEffect(() => {
    if (!open || current !== undefined) return;
    getJson(tenantApi(tenant, flowPath(namespace, flowId)), flowSourceSchema).then(
      (flow) => setCurrent(flow.source),
      (e: unknown) => setError(new Error(t.loadFailed(e instanceof Error ? e.message : String(e)))),
    );
  }, [open, current, tenant, namespace, flowId]);
  useEffect(() => {
    if (open && !handedOver) promptRef.current?.focus();
  }, [open, handedOver]);

  const generate = async () => {
    if (!prompt.trim() || busy || current === undefined) return;
    setBusy(true);
    setError(undefined);
    setSuggestion(undefined);
    setStreamed('');
    setProblems([]);
    setStatus(t.generating);
    try {
      const yaml = await streamSuggestion(tenantApi(tenant, 'ai/generate/flow'), { conversationId, userPrompt: prompt, yaml: current ?? null, namespace }, {
        attempt: (n) => {
          setStreamed('');
          if (n > 1) setStatus(t.retrying(n));
        },
        delta: (text) => setStreamed((so) => so + text),
        problems: setProblems,
      }, t.cut);
      setSuggestion(yaml);
      setStreamed('');
      setProblems([]);
      setStatus('');
    } catch (e) {
      setError(e);
      setStatus('');
    } finally {
      setBusy(false);
    }
  };
  const apply = () => {
    if (suggestion === undefined) return;
    if (!replaceEditorText(suggestion)) {
      setStatus(t.noEditor);
      return;
    }
    setPrevious(current ?? '');
    setCurrent(suggestion);
    setSuggestion(undefined);
    setStatus(t.applied);
  };
  const undo = () => {
    if (previous === undefined || !replaceEditorText(previous)) return;
    setCurrent(previous);
    setPrevious(undefined);
    setStatus(t.undone);
  };

  return (
    <section id="perch-copilot" aria-label={t.title} class="my-2 rounded-lg border border-zinc-200 bg-white p-3 text-sm text-zinc-900 dark:border-zinc-700 dark:bg-zinc-900 dark:text-zinc-100">
      <Button data-testid="copilot-toggle" aria-expanded={open} aria-controls="perch-copilot-body" onClick={() => setOpen(!open)}>
        {open ? t.close : t.open}
      </Button>
      {open && (
        <div id="perch-copilot-body" class="mt-3 flex flex-col gap-3">
          <form
            class="flex flex-col gap-2"
            onSubmit={(e) => {
              e.preventDefault();
              void generate();
            }}
          >
            <label class="font-medium" for="perch-copilot-prompt">{t.prompt}</label>
            <textarea
              id="perch-copilot-prompt"
              ref={promptRef}
              data-testid="copilot-prompt"
              rows={3}
              aria-describedby="perch-copilot-hint"
              class="rounded-md border border-zinc-300 p-2 dark:border-zinc-600 dark:bg-zinc-800"
              value={prompt}
              onInput={(e) => setPrompt((e.target as HTMLTextAreaElement).value)}
              onKeyDown={(e) => {
                if (e.key === 'Enter' && (e.ctrlKey || e.metaKey)) {
                  e.preventDefault();
                  void generate();
                }
              }}
            />
            <p id="perch-copilot-hint" class="text-xs text-zinc-500 dark:text-zinc-400">{t.promptHint}</p>
            <div>
              <Button type="submit" variant="primary" data-testid="copilot-generate" disabled={busy || !prompt.trim() || current === undefined}>
                {t.generate}
              </Button>
            </div>
          </form>
          <p data-testid="copilot-status" role="status" aria-live="polite">{status}</p>
          <SuggestionProgress prefix="copilot" problems={problems} streamed={streamed} busy={busy} />
          {error !== undefined && <ErrorNotice error={error} />}
          {suggestion !== undefined && current !== undefined && (
            <div class="flex flex-col gap-2">
              <h3 class="font-medium">{t.changes}</h3>
              <FlowDiff before={current ?? ''} after={suggestion} />
              <div class="flex gap-2">
                <Button variant="primary" data-testid="copilot-apply" onClick={apply}>
                  {t.apply}
                </Button>
                <CopyButton text={suggestion} label={t.copy} />
              </div>
            </div>
          )}
          {previous !== undefined && (
            <div>
              <Button data-testid="copilot-undo" onClick={undo}>
                {t.undo}
              </Button>
            </div>
          )}
        </div>
      )}
    </section>
  );
}
