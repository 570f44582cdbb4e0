/** The copilot's check-and-retry loop (issue 24, point 2), without HTTP: bounded, problems fed back, nothing unchecked returned. */
import { describe, expect, it } from 'vitest';
import { generateChecked, SuggestionRefused, yamlOfAnswer } from '../../backend/ai/generation-loop.js';
import type { ChatMessage } from '../../backend/ai/providers.js';

function scripted(answers: string[], verdicts: Record<string, string[]>) {
  const seen: ChatMessage[][] = [];
  let i = 0;
  return {
    seen,
    ask: async (messages: ChatMessage[]) => {
      seen.push(messages.map((m) => ({ ...m })));
      return answers[i++]!;
    },
    check: async (yaml: string) => verdicts[yaml] ?? [],
  };
}

describe('generateChecked', () => {
  it('returns the first answer that passes, after sending each failure back with its problems', async () => {
    const model = scripted(['```yaml\nbad: 1\n```', 'good: 2'], { 'bad: 1\n': ['tasks: must not be empty'] });
    const result = await generateChecked({ system: 's', userPrompt: 'make it', maxAttempts: 3, ...model });
    expect(result).toEqual({ yaml: 'good: 2\n', attempts: 2, answerChars: '```yaml\nbad: 1\n```'.length + 'good: 2'.length });
    expect(model.seen[1]!.map((m) => m.role)).toEqual(['user', 'assistant', 'user']);
    expect(model.seen[1]![2]!.text).toContain('- tasks: must not be empty');
  });

  it('refuses (422) with the last problems once maxAttempts answers all failed, asking no more', async () => {
    const model = scripted(['a: 1', 'a: 2', 'a: 3'], { 'a: 1\n': ['one'], 'a: 2\n': ['two'], 'a: 3\n': ['three'] });
    const error = await generateChecked({ system: 's', userPrompt: 'p', maxAttempts: 2, ...model }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(SuggestionRefused);
    expect((error as SuggestionRefused).status).toBe(422);
    expect((error as SuggestionRefused).attempts).toBe(2);
    expect((error as SuggestionRefused).details).toEqual({ attempts: 2, problems: ['two'] });
    expect(model.seen).toHaveLength(2);
  });

  it('reads the YAML of a fenced answer, or the whole answer', () => {
    expect(yamlOfAnswer('Sure:\n```yml\nid: a\n```\nDone.')).toBe('id: a\n');
    expect(yamlOfAnswer('\nid: b\n\n')).toBe('id: b\n');
  });
});
