/** Output of Perch's commands: aligned tables for people, JSON (one document) for scripts. */

export type Cell = string | number | boolean | null | undefined;

/** Rows as an aligned text table under a header line; an empty list says so. */
export function formatTable(columns: readonly string[], rows: readonly (readonly Cell[])[], empty = '(none)'): string {
  if (rows.length === 0) return empty;
  const text = (cell: Cell) => (cell === null || cell === undefined ? '-' : String(cell));
  const widths = columns.map((column, i) => Math.max(column.length, ...rows.map((row) => text(row[i]).length)));
  const line = (cells: readonly string[]) => cells.map((cell, i) => (i === cells.length - 1 ? cell : cell.padEnd(widths[i]!))).join('  ');
  return [line(columns.map((c) => c.toUpperCase())), ...rows.map((row) => line(row.map(text)))].join('\n');
}

export function formatJson(value: unknown): string {
  return JSON.stringify(value, null, 2);
}

const isScalar = (value: unknown): value is Cell => value === null || ['string', 'number', 'boolean'].includes(typeof value);

/**
 * An API answer for people: a list (`{results: [...]}` or an array) as a table of its items' plain
 * fields, an object as field/value lines, with nested values as compact JSON; `null` says "done".
 */
export function formatAnswer(value: unknown): string {
  if (value === null || value === undefined || value === '') return 'done';
  if (isScalar(value)) return String(value);
  const list = Array.isArray(value) ? value : Array.isArray((value as { results?: unknown }).results) ? (value as { results: unknown[] }).results : null;
  if (list) {
    const items = list.filter((item): item is Record<string, unknown> => typeof item === 'object' && item !== null);
    const columns = [...new Set(items.flatMap((item) => Object.keys(item).filter((key) => isScalar(item[key]))))];
    const table = formatTable(columns, items.map((item) => columns.map((column) => item[column] as Cell)), 'no results');
    const total = (value as { total?: unknown }).total;
    return typeof total === 'number' && total > items.length ? `${table}\n(${items.length} of ${total})` : table;
  }
  const entries = Object.entries(value as Record<string, unknown>);
  return formatTable(['field', 'value'], entries.map(([key, field]) => [key, isScalar(field) ? field : JSON.stringify(field)]));
}
