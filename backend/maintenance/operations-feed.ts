import type { PerchContext } from '../context.js';

/**
 * Operations state (maintenance, kill switches) across replicas: a change is announced on the change
 * feed's `operations` topic under its name, and every replica re-reads that state from the store when it
 * hears it, or when the feed comes back after a drop (what was announced meanwhile is lost).
 */
export type OperationsState = 'maintenance' | 'kill-switches';

export function followOperations(ctx: PerchContext, state: OperationsState, reread: () => Promise<void>): void {
  const again = () => void reread().catch((error) => ctx.log.error({ err: error }, `could not read the ${state} state`));
  ctx.changes.subscribe('operations', (payload) => {
    if (payload === state) again();
  });
  ctx.changes.onResync(again);
}

export async function announceOperations(ctx: PerchContext, state: OperationsState): Promise<void> {
  await ctx.changes.publish('operations', state).catch((error) => ctx.log.error({ err: error }, `could not announce a ${state} change`));
}
