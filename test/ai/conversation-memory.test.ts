/**
 * Multi-turn memory by `conversationId` (issue 24): a follow-up request carries the conversation's
 * earlier turns (the person's prompts and the model's checked answers) to the provider; another person
 * with the same conversationId, or another conversation, starts afresh; the memory holds its bounds
 * (turns and characters per conversation, conversations in all, expiry); the prompts are not audited.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConversationMemory } from '../../backend/ai/conversation-memory.js';
import { bind, signedInPerson } from '../iam/iam-helpers.js';
import { startKestraDouble, type KestraDouble } from '../kestra-double/kestra-double.js';
import { Browser, startPerch, type RunningPerch } from '../support/perch.js';
import { startProviderStandIn, type ProviderStandIn } from './provider-stand-ins.js';

const flow = (message: string) => `id: hello\nnamespace: company.team\ntasks:\n  - id: say\n    type: io.kestra.plugin.core.log.Log\n    message: ${message}\n`;
const fenced = (yaml: string) => `\`\`\`yaml\n${yaml}\`\`\`\n`;
const ask = (conversationId: string, userPrompt: string) => ({ json: { conversationId, userPrompt, namespace: 'company.team' } });
const FIRST = 'Write a flow that logs a greeting';
const FOLLOW_UP = 'Now add a retry to the task';

describe('AI copilot: a conversation\'s earlier turns', () => {
  let model: ProviderStandIn;
  let kestra: KestraDouble;
  let perch: RunningPerch;
  let owner: Browser;
  /** The messages (role and text) the provider received in its last call. */
  const lastMessages = () => (model.calls.at(-1)!.body.messages as Array<{ role: string; content: string }>).map((m) => ({ role: m.role, content: m.content }));

  beforeAll(async () => {
    model = await startProviderStandIn('anthropic');
    kestra = await startKestraDouble();
    perch = await startPerch({ config: { kestra: { url: kestra.url, username: kestra.username, password: kestra.password, timeout: 'PT5S' }, ai: { requestsPerMinute: 1000, providers: [{ id: 'claude', kind: 'anthropic', baseUrl: model.url, model: 'claude', apiKey: 'sk-memory-test' }] } } });
    owner = new Browser(perch);
    await owner.login();
  });
  afterAll(async () => {
    await perch?.close();
    await kestra?.close();
    await model?.close();
  });

  it('sends a follow-up with the earlier prompt and checked answer; not to another person with the same conversationId, nor in another conversation', async () => {
    model.script = [fenced(flow('hello'))];
    expect((await owner.fetch('POST', '/api/v1/main/ai/generate/flow', ask('conv-a', FIRST))).status).toBe(200);
    expect(lastMessages()).toEqual([{ role: 'user', content: FIRST }]);

    model.script = [fenced(flow('hello with retry'))];
    const followUp = await owner.fetch('POST', '/api/v1/main/ai/generate/flow', { ...ask('conv-a', FOLLOW_UP), headers: { accept: 'text/event-stream' } });
    expect(followUp.status).toBe(200);
    expect(followUp.text).toContain('hello with retry');
    expect(lastMessages()).toEqual([
      { role: 'user', content: FIRST },
      { role: 'assistant', content: fenced(flow('hello')).trimEnd() },
      { role: 'user', content: FOLLOW_UP },
    ]);

    // A third turn carries both earlier ones.
    expect((await owner.fetch('POST', '/api/v1/main/ai/generate/flow', ask('conv-a', 'And log the date'))).status).toBe(200);
    expect(lastMessages().map((m) => m.content)).toEqual([FIRST, fenced(flow('hello')).trimEnd(), FOLLOW_UP, fenced(flow('hello with retry')).trimEnd(), 'And log the date']);

    // Another person using the same conversationId reads nothing of it.
    const alice = await signedInPerson(perch, owner, 'memory-alice');
    await bind(owner, { type: 'USER', externalId: alice.id, roleId: 'editor', namespaceId: null });
    expect((await alice.browser.fetch('POST', '/api/v1/main/ai/generate/flow', ask('conv-a', 'Her own question'))).status).toBe(200);
    expect(lastMessages()).toEqual([{ role: 'user', content: 'Her own question' }]);
    // Another conversation of the same person starts afresh.
    expect((await owner.fetch('POST', '/api/v1/main/ai/generate/flow', ask('conv-b', 'Something else'))).status).toBe(200);
    expect(lastMessages()).toEqual([{ role: 'user', content: 'Something else' }]);

    // The audit entries count the earlier turns but keep no prompt text (ai.auditPrompts is off).
    const entries = await perch.perch.ctx.db.selectFrom('audit_log').select('details').where('resource_type', '=', 'COPILOT').orderBy('seq').execute();
    expect(entries.map((e) => JSON.parse(e.details).earlierTurns ?? 0)).toEqual([0, 1, 2, 0, 0]);
    const audited = JSON.stringify(entries);
    for (const text of [FIRST, FOLLOW_UP, 'Her own question']) expect(audited).not.toContain(text);
  });

  it('does not remember a refused suggestion', async () => {
    model.script = ['not a flow at all'];
    expect((await owner.fetch('POST', '/api/v1/main/ai/generate/flow', ask('conv-refused', 'Break it'))).status).toBe(422);
    model.script = [fenced(flow('fine'))];
    expect((await owner.fetch('POST', '/api/v1/main/ai/generate/flow', ask('conv-refused', 'Try again'))).status).toBe(200);
    expect(lastMessages()).toEqual([{ role: 'user', content: 'Try again' }]);
  });
});

describe('the conversation memory\'s bounds', () => {
  const key = (conversationId: string, personId = 'p1') => ({ tenant: 'main', personId, operation: 'generateFlow', conversationId });
  const prompts = (memory: ConversationMemory, conversationId: string) => memory.of(key(conversationId)).earlier.filter((m) => m.role === 'user').map((m) => m.text);

  it('keeps the last turns per conversation, within its characters', () => {
    const memory = new ConversationMemory({ turns: 3, chars: 100, conversations: 10, ttlMs: 60_000 });
    for (let i = 1; i <= 5; i++) memory.of(key('c')).remember(`p${i}`, `a${i}`);
    expect(prompts(memory, 'c')).toEqual(['p3', 'p4', 'p5']);
    memory.of(key('c')).remember('x'.repeat(47), 'y'.repeat(47));
    // The newest turn's 94 characters leave room for p5/a5 (4) only.
    expect(prompts(memory, 'c')).toEqual(['p5', 'x'.repeat(47)]);
    // A turn larger than the whole bound is not kept, nor are the others.
    memory.of(key('c')).remember('z'.repeat(101), '');
    expect(prompts(memory, 'c')).toEqual([]);
    // No conversation id: nothing remembered.
    memory.of(key('')).remember('p', 'a');
    expect(memory.of(key('')).earlier).toEqual([]);
  });

  it('keeps a bounded number of conversations, the least recently added to going first, and forgets them after their expiry', () => {
    let now = 0;
    const memory = new ConversationMemory({ turns: 5, chars: 1000, conversations: 2, ttlMs: 1000 }, () => now);
    memory.of(key('one')).remember('p1', 'a1');
    memory.of(key('two')).remember('p2', 'a2');
    memory.of(key('one')).remember('p1b', 'a1b');
    memory.of(key('three')).remember('p3', 'a3');
    expect(memory.size).toBe(2);
    expect(prompts(memory, 'two')).toEqual([]);
    expect(prompts(memory, 'one')).toEqual(['p1', 'p1b']);
    expect(memory.of(key('one', 'p2')).earlier).toEqual([]);
    now = 1000;
    expect(prompts(memory, 'three')).toEqual([]);
  });
});
