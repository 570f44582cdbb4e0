import type { PerchContext } from '../context.js';

const DAY = 24 * 3_600_000;
/** The first purge waits a little after start, so a restart loop does not purge in a loop. */
const FIRST_RUN_DELAY = 60_000;

/** Purges entries older than `audit.retention` daily when it is set; returns a stop function. */
export function startRetention(ctx: PerchContext, options: { firstRunDelay?: number; every?: number } = {}): () => void {
  const retention = ctx.config.audit.retention;
  if (retention === undefined) return () => {};
  const olderThan = `PT${Math.round(retention / 1000)}S`;
  const run = async () => {
    try {
      const results = await ctx.audit.purge(Date.now() - retention, { type: 'SYSTEM', id: 'perch-retention' }, olderThan);
      for (const r of results) ctx.log.info({ event: 'audit.purged', ...r }, `audit log: purged ${r.count} entries older than ${olderThan} from chain ${r.tenantId}`);
    } catch (error) {
      ctx.log.error({ err: error }, 'audit log retention purge failed');
    }
  };
  let interval: NodeJS.Timeout | null = null;
  const first = setTimeout(() => {
    void run();
    interval = setInterval(() => void run(), options.every ?? DAY);
    interval.unref();
  }, options.firstRunDelay ?? FIRST_RUN_DELAY);
  first.unref();
  return () => {
    clearTimeout(first);
    if (interval) clearInterval(interval);
  };
}
