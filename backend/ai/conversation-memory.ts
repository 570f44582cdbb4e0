import type { ChatMessage } from './providers.js';

/*
 * Multi-turn memory of the copilot (issue 24; EE's prompts carry a client-chosen `conversationId` that
 * keeps multi-turn context): the last turns of a conversation, the person's prompt and the model's
 * final (checked) answer, so that a follow-up ("now add a retry") builds on them. Keyed by tenant,
 * person, operation and conversation id: nobody reads another person's conversation, and an app's
 * conversation does not leak into a flow's. Bounded per conversation (turns and characters, the
 * oldest turns go first) and in total (the conversation least recently added to goes first; each is forgotten after its
 * expiry).
 * Kept in this process's memory only: lost on a restart, not shared between replicas (a follow-up
 * served by another replica starts afresh). Never stored nor audited (the audit entry counts turns).
 */

export interface MemoryBounds {
  /** Turns (a prompt and its answer) kept per conversation. */
  turns: number;
  /** Characters of the kept turns, per conversation. */
  chars: number;
  /** Conversations kept in all. */
  conversations: number;
  /** A conversation not used for this long is forgotten. */
  ttlMs: number;
}

export const DEFAULT_MEMORY_BOUNDS: MemoryBounds = { turns: 8, chars: 60_000, conversations: 2_000, ttlMs: 60 * 60_000 };

interface Turn {
  prompt: string;
  answer: string;
}

export interface ConversationKey {
  tenant: string;
  personId: string;
  operation: string;
  conversationId: string;
}

/** One conversation, as an operation uses it: the turns before this request, and how to add this one. */
export interface Conversation {
  earlier: ChatMessage[];
  remember: (prompt: string, answer: string) => void;
}

const slot = (k: ConversationKey) => [k.tenant, k.personId, k.operation, k.conversationId].join('\u0000');
const size = (turns: Turn[]) => turns.reduce((n, t) => n + t.prompt.length + t.answer.length, 0);

export class ConversationMemory {
  private readonly conversations = new Map<string, { turns: Turn[]; usedAt: number }>();

  constructor(
    private readonly bounds: MemoryBounds = DEFAULT_MEMORY_BOUNDS,
    private readonly now: () => number = Date.now,
  ) {}

  /** How many conversations are kept (for tests). */
  get size(): number {
    return this.conversations.size;
  }

  /** The conversation of `key`; without a conversation id, nothing is remembered. */
  of(key: ConversationKey): Conversation {
    if (!key.conversationId) return { earlier: [], remember: () => {} };
    return {
      earlier: this.turns(key).flatMap((t): ChatMessage[] => [{ role: 'user', text: t.prompt }, { role: 'assistant', text: t.answer }]),
      remember: (prompt, answer) => this.add(key, { prompt, answer }),
    };
  }

  private turns(key: ConversationKey): Turn[] {
    const id = slot(key);
    const kept = this.conversations.get(id);
    if (!kept) return [];
    if (this.now() - kept.usedAt >= this.bounds.ttlMs) {
      this.conversations.delete(id);
      return [];
    }
    return [...kept.turns];
  }

  private add(key: ConversationKey, turn: Turn): void {
    const id = slot(key);
    const turns = [...this.turns(key), turn];
    while (turns.length > 0 && (turns.length > this.bounds.turns || size(turns) > this.bounds.chars)) turns.shift();
    this.conversations.delete(id);
    if (turns.length === 0) return;
    while (this.conversations.size >= this.bounds.conversations) this.conversations.delete(this.conversations.keys().next().value!);
    this.conversations.set(id, { turns, usedAt: this.now() });
  }
}
