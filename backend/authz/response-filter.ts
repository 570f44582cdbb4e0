/**
 * Drops the items of a Kestra answer whose namespace the caller may not see. `where` is a policy
 * map `responseNamespace`: dot-separated keys, `[]` = every element of an array, `{}` = every key
 * of an object is a namespace (e.g. `results[].namespace`, `[]`, `[].namespace`, `{}`).
 * Returns the filtered value and how many items were dropped.
 */
export function filterByNamespace(value: unknown, where: string, visible: (namespace: string) => boolean): { value: unknown; dropped: number } {
  let dropped = 0;
  const steps = where.split('.').flatMap((part) => (part.endsWith('[]') && part !== '[]' ? [part.slice(0, -2), '[]'] : [part]));

  /** Reads the namespace at the remaining steps below one item; undefined when absent. */
  const namespaceAt = (item: unknown, rest: string[]): unknown => rest.reduce<unknown>((node, key) => (node && typeof node === 'object' ? (node as Record<string, unknown>)[key] : undefined), item);

  const walk = (node: unknown, index: number): unknown => {
    if (index >= steps.length) return node;
    const step = steps[index]!;
    if (step === '[]') {
      if (!Array.isArray(node)) return node;
      const rest = steps.slice(index + 1);
      return node.filter((item) => {
        const ns = rest.length === 0 ? item : namespaceAt(item, rest);
        // An item whose namespace cannot be read is not shown: fail closed.
        const keep = typeof ns === 'string' && visible(ns);
        if (!keep) dropped++;
        return keep;
      });
    }
    if (step === '{}') {
      if (!node || typeof node !== 'object') return node;
      const entries = Object.entries(node as Record<string, unknown>).filter(([ns]) => visible(ns) || (dropped++, false));
      return Object.fromEntries(entries);
    }
    if (!node || typeof node !== 'object') return node;
    return { ...(node as Record<string, unknown>), [step]: walk((node as Record<string, unknown>)[step], index + 1) };
  };

  const result = walk(value, 0);
  return { value: result, dropped };
}
