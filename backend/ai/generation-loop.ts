import { HttpError } from '../http/errors.js';
import type { ChatMessage } from './providers.js';

/**
 * Ask, check, and send the problems back: the model answers, its YAML is checked, and on failure the
 * problems go back to it as the next turn, at most `maxAttempts` answers in all. A suggestion that
 * never passes is refused (422) with the last problems; nothing unchecked is ever returned.
 */
export interface GenerationLoop {
  system: string;
  userPrompt: string;
  /** The conversation's earlier turns (the person's prompts and the model's final answers), before this prompt. */
  earlier?: ChatMessage[];
  maxAttempts: number;
  ask: (messages: ChatMessage[]) => Promise<string>;
  check: (yaml: string) => Promise<string[]>;
}

export interface Generated {
  yaml: string;
  attempts: number;
  /** Characters received from the model over all attempts. */
  answerChars: number;
}

/** A refusal after the last attempt; carries how far it went, for the audit entry. */
export class SuggestionRefused extends HttpError {
  constructor(readonly attempts: number, readonly answerChars: number, problems: string[]) {
    super(422, `The AI's suggestion still fails the checks after ${attempts} attempt(s): ${problems.join('; ')}`, { attempts, problems });
  }
}

/** The YAML of an answer: the first fenced block when there is one, else the whole text. */
export function yamlOfAnswer(answer: string): string {
  const fenced = /```(?:ya?ml)?[ \t]*\r?\n([\s\S]*?)```/i.exec(answer);
  const text = (fenced ? fenced[1]! : answer).replace(/^\s*\n/, '').trimEnd();
  return `${text}\n`;
}

export async function generateChecked(loop: GenerationLoop): Promise<Generated> {
  const messages: ChatMessage[] = [...(loop.earlier ?? []), { role: 'user', text: loop.userPrompt }];
  let answerChars = 0;
  let problems: string[] = [];
  for (let attempt = 1; attempt <= loop.maxAttempts; attempt++) {
    const answer = await loop.ask(messages);
    answerChars += answer.length;
    const yaml = yamlOfAnswer(answer);
    problems = await loop.check(yaml);
    if (problems.length === 0) return { yaml, attempts: attempt, answerChars };
    messages.push({ role: 'assistant', text: answer }, {
      role: 'user',
      text: `That flow cannot be used:\n${problems.map((p) => `- ${p}`).join('\n')}\nAnswer again with the whole corrected flow as YAML only.`,
    });
  }
  throw new SuggestionRefused(loop.maxAttempts, answerChars, problems);
}
