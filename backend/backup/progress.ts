/**
 * How far a backup or restore got, on stderr: a bar redrawn in place on a terminal; elsewhere (a log,
 * a pipe) a line at most every `everyMs`, as `perch audit verify` reports its long walks.
 */
export interface Progress {
  /** `step` of `steps` parts is under way; `count` records of it so far. */
  update(step: number, steps: number, label: string, count: number): void;
  done(): void;
}

const WIDTH = 24;

export function stderrProgress(stream: { write(text: string): unknown; isTTY?: boolean } = process.stderr, everyMs = 2000): Progress {
  let last = -Infinity;
  let drawn = false;
  return {
    update(step, steps, label, count) {
      const now = performance.now();
      const text = `${step}/${steps} ${label}: ${count.toLocaleString('en')}`;
      if (stream.isTTY) {
        const filled = Math.round((WIDTH * Math.min(step, steps)) / Math.max(steps, 1));
        stream.write(`\r[${'#'.repeat(filled)}${'.'.repeat(WIDTH - filled)}] ${text}\u001b[K`);
        drawn = true;
      } else if (now - last >= everyMs) {
        last = now;
        stream.write(`${text}\n`);
      }
    },
    done() {
      if (drawn) stream.write('\n');
      drawn = false;
    },
  };
}

/** For callers (tests, scripts) that want no progress. */
export const silentProgress: Progress = { update() {}, done() {} };
