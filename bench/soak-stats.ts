/** The arithmetic of bench:soak, kept apart so it is unit-tested (test/bench/soak-stats.test.ts). */

/** The p-th percentile (0–100) by nearest rank; NaN for no samples. */
export function percentile(samples: readonly number[], p: number): number {
  if (!samples.length) return NaN;
  const sorted = Float64Array.from(samples).sort();
  const rank = Math.ceil((p / 100) * sorted.length);
  return sorted[Math.min(sorted.length, Math.max(1, rank)) - 1]!;
}

/** Least-squares slope of y over x (units of y per unit of x); NaN with fewer than two distinct x. */
export function slope(points: ReadonlyArray<readonly [x: number, y: number]>): number {
  const n = points.length;
  if (n < 2) return NaN;
  let sx = 0, sy = 0;
  for (const [x, y] of points) { sx += x; sy += y; }
  const mx = sx / n, my = sy / n;
  let sxy = 0, sxx = 0;
  for (const [x, y] of points) { sxy += (x - mx) * (y - my); sxx += (x - mx) ** 2; }
  return sxx === 0 ? NaN : sxy / sxx;
}

/**
 * How many requests an open-loop generator sends now to hold `rate` per second since it started:
 * counted from the elapsed time, not from ticks, so a late timer (a busy machine) sends the ones it
 * owes on its next tick instead of losing them.
 */
export class Pacer {
  private issued = 0;
  constructor(private readonly rate: number) {}
  due(elapsedMs: number): number {
    const owed = Math.floor((elapsedMs * this.rate) / 1000) - this.issued;
    this.issued += Math.max(0, owed);
    return Math.max(0, owed);
  }
}

/** Picks request kinds in proportion to their weights, by a fixed interleaved cycle (no randomness: runs compare). */
export function weightedCycle<K extends string>(weights: Record<K, number>): K[] {
  const entries = Object.entries(weights) as [K, number][];
  const total = entries.reduce((s, [, w]) => s + w, 0);
  const cycle: K[] = [];
  const credit = new Map<K, number>(entries.map(([k]) => [k, 0]));
  for (let i = 0; i < total; i++) {
    for (const [k, w] of entries) credit.set(k, credit.get(k)! + w);
    const [best] = entries.reduce((a, b) => (credit.get(b[0])! > credit.get(a[0])! ? b : a));
    credit.set(best, credit.get(best)! - total);
    cycle.push(best);
  }
  return cycle;
}

/** How many acknowledged writes (by request id) have no audit entry among those recorded. */
export function unaudited(acknowledged: readonly string[], recorded: ReadonlySet<string>): number {
  return acknowledged.reduce((n, id) => (recorded.has(id) ? n : n + 1), 0);
}

/**
 * The old generation's floor: from samples of its used size, the ones taken just after it shrank by
 * more than `drop` (a fraction) since the sample before, i.e. after a full collection: what was
 * still alive then. Under load the old generation climbs in a saw-tooth (garbage promoted from the
 * young one, freed at the next full collection), so its size at any one moment says nothing of a
 * leak; these floors rising from one collection to the next do.
 */
export function floorsAfterCollections(samples: ReadonlyArray<readonly [x: number, y: number]>, drop = 0.2): Array<[number, number]> {
  const floors: Array<[number, number]> = [];
  for (let i = 1; i < samples.length; i++) {
    const [x, y] = samples[i]!;
    if (y < samples[i - 1]![1] * (1 - drop)) floors.push([x, y]);
  }
  return floors;
}
