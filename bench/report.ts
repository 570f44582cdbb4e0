import { execFileSync } from 'node:child_process';
import { readFile, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';

const FILE = path.resolve(import.meta.dirname, '../docs/benchmarks.md');

/** "AMD EPYC …, 2 cores": the machine a figure was measured on. */
export async function machineLine(): Promise<string> {
  const cpu = /model name\s*:\s*(.*)/.exec(await readFile('/proc/cpuinfo', 'utf8').catch(() => ''))?.[1]?.trim() ?? os.cpus()[0]?.model ?? 'unknown CPU';
  return `${cpu}, ${execFileSync('nproc').toString().trim()} cores`;
}

/**
 * Replaces this benchmark's section of docs/benchmarks.md (between its start and end markers),
 * keeping the sections other benchmarks wrote. `body` is the section without the markers.
 */
export async function writeBenchmarkSection(name: string, body: string): Promise<void> {
  const start = `<!-- bench:${name}:start -->`;
  const end = `<!-- bench:${name}:end -->`;
  const section = `${start}\n${body}\n${end}`;
  let doc = await readFile(FILE, 'utf8').catch(() => '# Benchmarks\n\nEach section is written by the command in its heading; rerun it to refresh the numbers.\n');
  const i = doc.indexOf(start);
  const j = doc.indexOf(end);
  doc = i >= 0 && j > i ? doc.slice(0, i) + section + doc.slice(j + end.length) : `${doc.trimEnd()}\n\n${section}\n`;
  await writeFile(FILE, doc);
  console.log('written to docs/benchmarks.md');
}

/** The middle value (the mean of the two middle ones for an even count). */
export const median = (values: readonly number[]): number => {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
};
