import { useEffect, useMemo, useState } from 'preact/hooks';
import { z } from 'zod';
import { getJson, tenantApi } from '../app/api';
import { navigate, uiPath } from '../app/routes';
import { Button } from '../ui/button';
import { CopyButton } from '../ui/copy-button';
import { ErrorNotice } from '../ui/states';
import { FlowDiff } from './flow-diff';
import { SuggestionProgress } from './suggestion-progress';
import { streamExplanation, streamSuggestion } from './generation-stream';
import { handOver } from './handoff';
import { copilotTexts, executionHelpTexts as t } from './strings';

const executionStateSchema = z.object({ state: z.object({ current: z.string() }) });
const flowSourceSchema = z.object({ source: z.string() });

const seg = encodeURIComponent;

/**
 * "Explain this failure" and "Propose a fix" below a failed execution's banner. Shown only when the
 * person can read the execution (Perch answers its state) and it FAILED; Perch checks COPILOT:USE and
 * the reads again on each request. The explanation streams in as text; the fix, checked by Perch, is
 * shown as a diff against the flow's current source, and "Open in the flow editor" carries it to the
 * editor's copilot panel to apply (undoable). Hooks: `#perch-execution-copilot`,
 * `[data-testid=exec-explain|exec-fix|exec-explanation|exec-stream|exec-problems|exec-apply|exec-status]`.
 */
export function ExecutionHelpPanel({ tenant, uiTenant, namespace, flowId, executionId }: { tenant: string; uiTenant: string | undefined; namespace: string; flowId: string; executionId: string }) {
  const [failed, setFailed] = useState(false);
  const [busy, setBusy] = useState(false);
  const [status, setStatus] = useState('');
  const [error, setError] = useState<unknown>(undefined);
  const [explanation, setExplanation] = useState('');
  const [streamed, setStreamed] = useState('');
  const [problems, setProblems] = useState<string[]>([]);
  const [fix, setFix] = useState<{ before: string; after: string } | undefined>(undefined);
  const conversationId = useMemo(() => crypto.randomUUID(), []);
  const base = `ai/executions/${seg(executionId)}`;

  useEffect(() => {
    // Not readable (403, 404) or not failed: no actions here.
    getJson(tenantApi(tenant, `executions/${seg(executionId)}`), executionStateSchema).then(
      (execution) => setFailed(execution.state.current === 'FAILED'),
      () => setFailed(false),
    );
  }, [tenant, executionId]);
  if (!failed) return null;

  const start = (message: string) => {
    setBusy(true);
    setError(undefined);
    setExplanation('');
    setStreamed('');
    setProblems([]);
    setFix(undefined);
    setStatus(message);
  };
  const finish = (e?: unknown) => {
    if (e !== undefined) setError(e);
    setStatus('');
    setBusy(false);
  };

  const explain = async () => {
    start(t.explaining);
    try {
      setExplanation(await streamExplanation(tenantApi(tenant, `${base}/explain`), { conversationId }, (text) => setExplanation((so) => so + text), copilotTexts.cut));
      finish();
    } catch (e) {
      finish(e);
    }
  };
  const proposeFix = async () => {
    start(t.fixing);
    try {
      const [after, flow] = await Promise.all([
        streamSuggestion(tenantApi(tenant, `${base}/fix`), { conversationId }, {
          attempt: (n) => {
            setStreamed('');
            if (n > 1) setStatus(copilotTexts.retrying(n));
          },
          delta: (text) => setStreamed((so) => so + text),
          problems: setProblems,
        }, copilotTexts.cut),
        getJson(tenantApi(tenant, `flows/${seg(namespace)}/${seg(flowId)}`), flowSourceSchema),
      ]);
      setFix({ before: flow.source, after });
      setStreamed('');
      setProblems([]);
      finish();
    } catch (e) {
      finish(e);
    }
  };
  const openInEditor = () => {
    if (!fix) return;
    handOver({ namespace, flowId, yaml: fix.after, from: executionId });
    navigate(uiPath(`flows/edit/${seg(namespace)}/${seg(flowId)}/edit`, uiTenant));
  };

  return (
    <section id="perch-execution-copilot" aria-label={t.title} class="my-2 flex flex-col gap-3 rounded-lg border border-zinc-200 bg-white p-3 text-sm text-zinc-900 dark:border-zinc-700 dark:bg-zinc-900 dark:text-zinc-100">
      <div class="flex flex-wrap items-center gap-2">
        <Button data-testid="exec-explain" disabled={busy} onClick={() => void explain()}>
          {t.explain}
        </Button>
        <Button data-testid="exec-fix" disabled={busy} onClick={() => void proposeFix()}>
          {t.fix}
        </Button>
        <span class="text-xs text-zinc-500 dark:text-zinc-400">{t.redacted}</span>
      </div>
      <p data-testid="exec-status" role="status" aria-live="polite">{status}</p>
      {explanation && (
        // Plain text (never parsed as markup); not a live region while it streams, the status line says what is happening.
        <div>
          <h3 class="font-medium">{t.explanation}</h3>
          <div data-testid="exec-explanation" class="max-h-80 overflow-auto whitespace-pre-wrap rounded-md bg-zinc-50 p-2 dark:bg-zinc-800" tabIndex={0}>
            {explanation}
          </div>
        </div>
      )}
      <SuggestionProgress prefix="exec" problems={problems} streamed={streamed} busy={busy} />
      {error !== undefined && <ErrorNotice error={error} />}
      {fix && (
        <div class="flex flex-col gap-2">
          <h3 class="font-medium">{t.fixChanges}</h3>
          <FlowDiff before={fix.before} after={fix.after} />
          <p class="text-xs text-zinc-500 dark:text-zinc-400">{t.applyHint}</p>
          <div class="flex gap-2">
            <Button variant="primary" data-testid="exec-apply" onClick={openInEditor}>
              {t.apply}
            </Button>
            <CopyButton text={fix.after} label={copilotTexts.copy} />
          </div>
        </div>
      )}
    </section>
  );
}
