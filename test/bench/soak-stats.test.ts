import { describe, expect, it } from 'vitest';
import { floorsAfterCollections, Pacer, percentile, slope, unaudited, weightedCycle } from '../../bench/soak-stats.js';

describe('bench:soak arithmetic', () => {
  it('takes the nearest-rank percentile', () => {
    const values = Array.from({ length: 100 }, (_, i) => 100 - i); // 100..1, unsorted
    expect(percentile(values, 50)).toBe(50);
    expect(percentile(values, 99)).toBe(99);
    expect(percentile(values, 100)).toBe(100);
    expect(percentile([7], 99)).toBe(7);
    expect(percentile([], 99)).toBeNaN();
  });

  it('fits a least-squares slope', () => {
    expect(slope([[0, 10], [1, 12], [2, 14], [3, 16]])).toBeCloseTo(2);
    expect(slope([[0, 5], [1, 7], [2, 5], [3, 7]])).toBeCloseTo(0.4);
    expect(slope([[1, 5], [1, 9]])).toBeNaN();
    expect(slope([[0, 1]])).toBeNaN();
  });

  it('paces an exact rate from the elapsed time, sending what late ticks owe', () => {
    const pacer = new Pacer(1000);
    expect([10, 20, 30].map((t) => pacer.due(t))).toEqual([10, 10, 10]);
    expect(pacer.due(75)).toBe(45); // a tick 35 ms late sends the 45 it owes
    expect(pacer.due(75)).toBe(0);
    const slow = new Pacer(15);
    const sent = Array.from({ length: 100 }, (_, i) => slow.due((i + 1) * 10)).reduce((a, b) => a + b, 0);
    expect(sent).toBe(15);
  });

  it('cycles kinds in proportion to their weights, interleaved', () => {
    const cycle = weightedCycle({ read: 3, write: 1 });
    expect(cycle).toHaveLength(4);
    expect(cycle.filter((k) => k === 'read')).toHaveLength(3);
    expect(cycle.filter((k) => k === 'write')).toHaveLength(1);
    const mixed = weightedCycle({ a: 500, b: 200, c: 5 });
    expect(mixed.filter((k) => k === 'c')).toHaveLength(5);
    expect(mixed.slice(0, 10).filter((k) => k === 'b').length).toBeGreaterThan(1); // not bunched at the end
  });

  it('counts acknowledged writes without an audit entry', () => {
    const recorded = new Set(['a', 'b', 'c']);
    expect(unaudited(['a', 'b', 'c'], recorded)).toBe(0);
    expect(unaudited(['a', 'x', 'c', 'y'], recorded)).toBe(2);
    expect(unaudited([], recorded)).toBe(0);
  });

  it('finds the old generation\'s floor after each full collection in a saw-tooth', () => {
    const sawTooth: Array<[number, number]> = [[0, 32], [1, 40], [2, 48], [3, 56], [4, 36], [5, 44], [6, 52], [7, 38], [8, 39], [9, 37]];
    expect(floorsAfterCollections(sawTooth)).toEqual([[4, 36], [7, 38]]);
    // Small dips (a young object's promotion undone, sampling noise) are not collections.
    expect(floorsAfterCollections([[0, 50], [1, 48], [2, 47]])).toEqual([]);
  });
});
