import type { KestraClient } from './kestra-client.js';

/**
 * Kestra's schedule triggers, read and switched through its API (Kestra OSS 2.0 TriggerController:
 * `GET /triggers/search` pages `{trigger, state}` pairs, `PUT /triggers/set-disabled` takes
 * `{namespace, flowId, triggerId, disabled}`; docs/compatibility.md).
 */
export interface TriggerRef {
  namespace: string;
  flowId: string;
  triggerId: string;
}

/** Trigger types that start executions on a clock (the legacy alias included). */
const SCHEDULE_TYPES = new Set(['io.kestra.plugin.core.trigger.Schedule', 'io.kestra.plugin.core.trigger.ScheduleOnDates', 'io.kestra.core.models.triggers.types.Schedule']);
const PAGE_SIZE = 100;
/** A bound on the pages read, so that a Kestra answering nonsense cannot keep Perch reading forever. */
const MAX_PAGES = 10_000;

interface TriggerPage {
  results: Array<{ trigger?: { type?: unknown } | null; state?: { namespace?: unknown; flowId?: unknown; triggerId?: unknown; disabled?: unknown } }>;
  total: number;
}

/** The schedule triggers that are enabled now: the ones maintenance disables. */
export async function enabledScheduleTriggers(kestra: KestraClient): Promise<TriggerRef[]> {
  const found: TriggerRef[] = [];
  for (let page = 1, seen = 0; page <= MAX_PAGES; page++) {
    const answer = await kestra.json<TriggerPage>('GET', `/triggers/search?page=${page}&size=${PAGE_SIZE}`);
    const results = answer?.results ?? [];
    for (const { trigger, state } of results) {
      if (!state || typeof trigger?.type !== 'string' || !SCHEDULE_TYPES.has(trigger.type) || state.disabled === true) continue;
      if (typeof state.namespace !== 'string' || typeof state.flowId !== 'string' || typeof state.triggerId !== 'string') continue;
      found.push({ namespace: state.namespace, flowId: state.flowId, triggerId: state.triggerId });
    }
    seen += results.length;
    if (results.length === 0 || seen >= (answer?.total ?? 0)) break;
  }
  return found;
}

export async function setTriggerDisabled(kestra: KestraClient, trigger: TriggerRef, disabled: boolean): Promise<void> {
  await kestra.json('PUT', '/triggers/set-disabled', { ...trigger, disabled });
}
