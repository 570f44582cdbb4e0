/**
 * A process's RSS sampled every 20 ms from /proc, each sample labelled with what the bench was doing
 * then: VmHWM says how high RSS went, this says when (start-up, sign-in, which load).
 */
import { rssMb } from './process-memory.js';

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
    let reading = false;
    const sample = () => {
      if (reading) return; // one read at a time: a slow one skips a tick rather than piling up
      reading = true;
      const ms = Date.now() - this.started;
      const phase = this.phase;
      rssMb(pid).then(
        (mb) => {
          if (mb) this.samples.push({ ms, phase, rssMb: mb });
        },
        () => {}, // the process is gone (stopped, or not started yet)
      ).finally(() => (reading = false));
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
