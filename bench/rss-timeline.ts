/**
 * A process's RSS sampled every 20 ms from /proc, each sample labelled with what the bench was doing
 * then: VmHWM says how high RSS went, this says when (start-up, sign-in, which load).
 */
import { readFileSync } from 'node:fs';

export interface RssSample {
  ms: number;
  phase: string;
  rssMb: number;
}

export class RssTimeline {
  readonly samples: RssSample[] = [];
  phase: string;
  private readonly started = Date.now();
  private readonly timer: NodeJS.Timeout;

  constructor(pid: number, firstPhase: string, everyMs = 20) {
    this.phase = firstPhase;
    // Synchronous reads: a sample is a few µs, and no two overlap.
    const sample = () => {
      try {
        const kb = Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1]);
        if (kb) this.samples.push({ ms: Date.now() - this.started, phase: this.phase, rssMb: kb / 1024 });
      } catch {
        // The process is gone (stopped, or not started yet).
      }
    };
    sample();
    this.timer = setInterval(sample, everyMs);
  }

  stop(): void {
    clearInterval(this.timer);
  }

  /** The highest sample, and each phase's highest, in the order the phases came. */
  peaks(): { top: RssSample | undefined; byPhase: RssSample[] } {
    const byPhase = new Map<string, RssSample>();
    for (const s of this.samples) if (!byPhase.has(s.phase) || byPhase.get(s.phase)!.rssMb < s.rssMb) byPhase.set(s.phase, s);
    const top = [...byPhase.values()].reduce<RssSample | undefined>((a, b) => (a && a.rssMb >= b.rssMb ? a : b), undefined);
    return { top, byPhase: [...byPhase.values()] };
  }
}
