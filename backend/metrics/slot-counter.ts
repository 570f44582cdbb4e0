import { Counter, type Registry } from 'prom-client';

/**
 * A Prometheus counter whose label combinations are fixed at start, each a numbered slot: counting
 * is `counts[slot]++`, with no label object, hash string or closure made per call (prom-client's
 * bound children hash their labels on every `inc`). The counts reach prom-client only when scraped.
 */
export class SlotCounter<L extends string> {
  private readonly counts: Float64Array;

  constructor(
    registry: Registry,
    name: string,
    help: string,
    /** Every label combination, in slot order; built once. */
    private readonly slots: ReadonlyArray<Readonly<Record<L, string>>>,
  ) {
    this.counts = new Float64Array(slots.length);
    const labelNames = slots.length ? (Object.keys(slots[0]!) as L[]) : [];
    const counts = this.counts;
    new Counter<L>({
      name,
      help,
      labelNames,
      registers: [registry],
      collect() {
        this.reset();
        for (let i = 0; i < slots.length; i++) this.inc(slots[i] as Partial<Record<L, string>>, counts[i]!);
      },
    });
  }

  add(slot: number): void {
    this.counts[slot] = this.counts[slot]! + 1;
  }
}
