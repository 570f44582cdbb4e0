import { parse } from 'yaml';
import type { FlowGenerationPrompt } from '../../lib/schemas/ai.js';

/** At most this many plugin types have their properties in one prompt. */
export const MAX_DOCUMENTED_TYPES = 12;

/** Every `type` value anywhere in a parsed YAML document. */
function typesIn(node: unknown, found: Set<string>): void {
  if (Array.isArray(node)) for (const item of node) typesIn(item, found);
  else if (node && typeof node === 'object') {
    for (const [key, value] of Object.entries(node)) {
      if (key === 'type' && typeof value === 'string') found.add(value);
      else typesIn(value, found);
    }
  }
}

/**
 * The installed plugin types whose properties the model should see: those the editor's flow uses (tasks,
 * triggers, conditions, task runners at any depth), then those the request names, by full class name or by
 * a simple name only one installed type has ("Log", "Request"). Bounded by {@link MAX_DOCUMENTED_TYPES}.
 */
export function typesToDocument(body: FlowGenerationPrompt, installed: readonly string[]): string[] {
  const known = new Set(installed);
  const chosen = new Set<string>();
  if (body.yaml) {
    const used = new Set<string>();
    try {
      typesIn(parse(body.yaml), used);
    } catch {
      /* a flow the editor holds may not parse yet: no types from it */
    }
    for (const type of used) if (known.has(type)) chosen.add(type);
  }
  const bySimpleName = new Map<string, string | null>();
  for (const type of installed) {
    const simple = type.slice(type.lastIndexOf('.') + 1);
    bySimpleName.set(simple, bySimpleName.has(simple) ? null : type);
  }
  for (const word of body.userPrompt.match(/[A-Za-z_][\w.]*/g) ?? []) {
    const type = known.has(word) ? word : bySimpleName.get(word);
    if (type) chosen.add(type);
  }
  return [...chosen].slice(0, MAX_DOCUMENTED_TYPES);
}
