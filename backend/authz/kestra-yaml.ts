/**
 * Line breaks beyond LF and CRLF: Kestra's YAML 1.1 parser (SnakeYAML, under Jackson) and Java's `(?m)^…$` start a
 * line at a lone CR, NEL, U+2028 and U+2029; Perch's YAML 1.2 parser does not, so text after one inside a comment
 * would be YAML to Kestra only (docs/compatibility.md). YAML Perch reads to decide is refused with one of them.
 */
export const OTHER_LINE_BREAKS = /\r(?!\n)|[\u0085\u2028\u2029]/;

/** The 1-based line (counting LF only) of the first line break Kestra's YAML reads and Perch's does not, or null. */
export function otherLineBreakLine(text: string): number | null {
  const found = OTHER_LINE_BREAKS.exec(text);
  return found ? text.slice(0, found.index).split('\n').length : null;
}

export const OTHER_LINE_BREAK_REFUSAL = 'a line break other than LF or CRLF (a lone CR, NEL, U+2028 or U+2029) is refused: Kestra reads a new line there, Perch would not';
