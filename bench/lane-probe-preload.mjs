// Loaded into Perch by bench/lane-probe.ts (--import), for measuring only: GC entries with wall-clock times
// (dumped to $PROBE_OUT.gc.json on SIGWINCH), and a sampling heap profile started and stopped by SIGUSR2.
import { PerformanceObserver, performance } from 'node:perf_hooks';
import { Session } from 'node:inspector';
import { writeFileSync, appendFileSync } from 'node:fs';
const out = process.env.PROBE_OUT;
const gcs = [];
const obs = new PerformanceObserver((list) => {
  for (const e of list.getEntries()) gcs.push([performance.timeOrigin + e.startTime, e.duration, e.detail?.kind ?? e.kind]);
});
obs.observe({ entryTypes: ['gc'] });
let session = null;
process.on('SIGUSR2', () => {
  if (!session) {
    session = new Session(); session.connect();
    session.post('HeapProfiler.startSampling', { samplingInterval: Number(process.env.PROBE_INTERVAL ?? 256), includeObjectsCollectedByMinorGC: true, includeObjectsCollectedByMajorGC: true }, (err) => { if (err) console.error('probe', err); });
    gcs.length = 0;
    return;
  }
  session.post('HeapProfiler.stopSampling', (err, res) => {
    if (err) console.error('probe', err);
    else writeFileSync(out + '.heapprofile', JSON.stringify(res.profile));
    session.disconnect(); session = null;
  });
});
// Dump GC entries on demand (SIGWINCH: harmless, unhandled otherwise).
process.on('SIGWINCH', () => { writeFileSync(out + '.gc.json', JSON.stringify(gcs)); gcs.length = 0; });
// A full GC of V8's ordinary kind (not the memory reducer's) on SIGURG, when Perch runs with --expose-gc (PROBE_GC_AT).
if (typeof globalThis.gc === 'function') process.on('SIGURG', () => globalThis.gc());
