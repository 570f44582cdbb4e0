import { explanationEventSchema, generationEventSchema } from '../../lib/schemas/ai';
import { ApiError, postForEvents } from '../app/api';

/** What a streamed flow suggestion reports while it is written and checked. */
export interface SuggestionProgress {
  attempt(n: number): void;
  delta(text: string): void;
  problems(problems: string[]): void;
}

/**
 * Asks for a checked flow suggestion as server-sent events (generateFlow, or a fix of a failed
 * execution): reports the progress, answers the checked YAML; an `error` event (or a stream cut
 * before the result) throws.
 */
export async function streamSuggestion(path: string, body: unknown, progress: SuggestionProgress, cut: string): Promise<string> {
  let yaml: string | undefined;
  await postForEvents(path, body, (raw) => {
    const parsed = generationEventSchema.safeParse(raw);
    if (!parsed.success) return; // an event this screen does not know: nothing to show
    const event = parsed.data;
    switch (event.event) {
      case 'attempt':
        progress.attempt(event.data.attempt);
        break;
      case 'delta':
        progress.delta(event.data.text);
        break;
      case 'problems':
        progress.problems(event.data.problems);
        break;
      case 'result':
        yaml = event.data.yaml;
        break;
      case 'error':
        throw new ApiError(event.data.message, event.data.status);
    }
  });
  if (yaml === undefined) throw new ApiError(cut, 0);
  return yaml;
}

/** Asks for an explanation as server-sent events: each piece as it is written, then the whole text. */
export async function streamExplanation(path: string, body: unknown, delta: (text: string) => void, cut: string): Promise<string> {
  let text: string | undefined;
  await postForEvents(path, body, (raw) => {
    const parsed = explanationEventSchema.safeParse(raw);
    if (!parsed.success) return;
    const event = parsed.data;
    if (event.event === 'delta') delta(event.data.text);
    else if (event.event === 'result') text = event.data.text;
    else throw new ApiError(event.data.message, event.data.status);
  });
  if (text === undefined) throw new ApiError(cut, 0);
  return text;
}
