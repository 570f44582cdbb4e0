/**
 * Mutation score from a Stryker JSON report, and the same score once the mutants that
 * <module>.equivalent.md lists are set aside. An equivalent mutant is named by its table row:
 * | `mutator` | `original source line, trimmed` | `replacement` | reason |
 * (by content, not line number, so it survives edits elsewhere in the file).
 *
 * A mutant Stryker calls "Survived" with no test completed made a covering test file fail while
 * vitest collected it (the module or the file's top-level setup threw): the suite fails, but
 * Stryker's vitest runner sees no test result. It is counted as detected, under `suiteFailed`.
 */
const DETECTED = new Set(['Killed', 'Timeout']);
const UNDETECTED = new Set(['Survived', 'NoCoverage']);

/** @param {string} markdown */
export function parseEquivalents(markdown) {
  const out = [];
  for (const line of markdown.split('\n')) {
    const cells = line.split(/(?<!\\)\|/).slice(1, -1).map((c) => c.trim());
    if (cells.length < 4 || !cells[0].startsWith('`')) continue;
    const code = (c) => c.replace(/^`+ ?|,? ?`+$/g, '').replace(/\\\|/g, '|');
    out.push({ mutator: code(cells[0]), line: code(cells[1]), replacement: code(cells[2]) });
  }
  return out;
}

/** @param {{ files: Record<string, { source: string; mutants: any[] }> }} report @param {string} equivalentsMarkdown */
export function scoreOf(report, equivalentsMarkdown) {
  const equivalents = parseEquivalents(equivalentsMarkdown);
  let detected = 0, undetected = 0, equivalent = 0, suiteFailed = 0;
  const survivors = [];
  for (const [file, { source, mutants }] of Object.entries(report.files)) {
    const lines = source.split('\n');
    for (const m of mutants) {
      const line = (lines[m.location.start.line - 1] ?? '').trim();
      // A cell loses a trailing comma when read (parseEquivalents), so a line ending in one matches without it.
      const isEquivalent = equivalents.some((e) => e.mutator === m.mutatorName && (e.line === line || e.line === line.replace(/,$/, '')) && e.replacement === (m.replacement ?? ''));
      if (DETECTED.has(m.status)) detected++;
      else if (m.status === 'Survived' && m.testsCompleted === 0) { detected++; suiteFailed++; }
      else if (UNDETECTED.has(m.status)) {
        if (isEquivalent) equivalent++;
        else { undetected++; survivors.push(`${file}:${m.location.start.line}:${m.location.start.column} ${m.mutatorName} ${m.replacement ?? ''}`); }
      }
    }
  }
  const pct = (n, d) => (d === 0 ? 'n/a' : `${((100 * n) / d).toFixed(1)} %`);
  return {
    mutants: detected + undetected + equivalent,
    killed: detected,
    suiteFailed,
    survived: undetected,
    equivalent,
    score: pct(detected, detected + undetected + equivalent),
    scoreNonEquivalent: pct(detected, detected + undetected),
    survivors,
  };
}
