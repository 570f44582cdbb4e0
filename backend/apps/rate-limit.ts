/**
 * How many writes one client address may make per minute on apps' pages (a fixed one-minute window
 * per address). Bounded: past `maxAddresses` the oldest window is forgotten, which can only let an
 * address in sooner, never lock one out.
 */
export class AddressRateLimit {
  private readonly windows = new Map<string, { start: number; count: number }>();

  constructor(private readonly perMinute: number, private readonly maxAddresses = 10_000, private readonly now: () => number = Date.now) {}

  /** Counts one write; false when the address has used up its minute (then the seconds until it may again). */
  take(address: string): { ok: true } | { ok: false; retryAfterSeconds: number } {
    const now = this.now();
    let window = this.windows.get(address);
    if (!window || now - window.start >= 60_000) {
      this.windows.delete(address);
      if (this.windows.size >= this.maxAddresses) this.windows.delete(this.windows.keys().next().value!);
      window = { start: now, count: 0 };
      this.windows.set(address, window);
    }
    if (window.count >= this.perMinute) return { ok: false, retryAfterSeconds: Math.max(1, Math.ceil((window.start + 60_000 - now) / 1000)) };
    window.count++;
    return { ok: true };
  }
}
