/**
 * Build step (a Vite plugin in wxt.config.ts) that takes out of the extension two code paths it
 * never uses and that store reviewers flag (`web-ext lint`: UNSAFE_VAR_ASSIGNMENT, DANGEROUS_EVAL):
 *
 * - preact's `dangerouslySetInnerHTML` sink (`dom.innerHTML = props.dangerouslySetInnerHTML.__html`,
 *   in preact/dist/preact.mjs): Perch's screens render text only and never pass that prop; the
 *   build makes using it throw instead of writing HTML.
 * - zod's JIT (zod/v4/core): `allowsEval` probes `new Function("")` and object schemas then compile
 *   validators with `new Function(...)`. The content script runs in the Kestra page's own world, where
 *   a strict CSP would report the probe; the build pins `allowsEval` to false (zod's interpreted path,
 *   the same one `z.config({ jitless: true })` selects) and makes the compilers throw if ever reached.
 *
 * Each rewrite must match exactly once: a dependency update that moves the code fails the build
 * here (and test/ui/extension-build.test.ts lints the output) rather than shipping the sink again.
 */
interface Rewrite {
  /** Which module (resolved path) it applies to. */
  file: RegExp;
  pattern: RegExp;
  replacement: string;
  why: string;
}

const NEVER = (what: string) => `(()=>{throw new Error(${JSON.stringify(`Perch's extension is built without ${what}`)})})()`;

export const REVIEW_REWRITES: readonly Rewrite[] = [
  {
    file: /[\\/]node_modules[\\/]preact[\\/]dist[\\/]preact\.mjs$/,
    pattern: /\((\w+)\.innerHTML=(\w+)\.__html\)/g,
    replacement: NEVER('dangerouslySetInnerHTML'),
    why: "preact's dangerouslySetInnerHTML sink",
  },
  {
    file: /[\\/]node_modules[\\/]zod[\\/]v4[\\/]core[\\/]util\.js$/,
    pattern: /export const allowsEval = \/\* @__PURE__\*\/ cached\(\(\) => \{[\s\S]*?\n\}\);/g,
    replacement: 'export const allowsEval = /* @__PURE__*/ cached(() => false);',
    why: "zod's new Function probe",
  },
  {
    file: /[\\/]node_modules[\\/]zod[\\/]v4[\\/]core[\\/]doc\.js$/,
    pattern: /const F = Function;/g,
    replacement: `const F = ${NEVER("zod's JIT")};`,
    why: "zod's JIT compiler (Doc.compile)",
  },
  {
    file: /[\\/]node_modules[\\/]zod[\\/]v4[\\/]core[\\/]compile\.js$/,
    pattern: /const F = Function;/g,
    replacement: `const F = ${NEVER("zod's compiler")};`,
    why: "zod's z.compile",
  },
];

/** Applies the rewrites for `id` to `code`; throws when one no longer matches exactly once. */
export function reviewClean(code: string, id: string): string | undefined {
  const rewrites = REVIEW_REWRITES.filter((r) => r.file.test(id.split('?')[0] ?? id));
  if (rewrites.length === 0) return undefined;
  let out = code;
  for (const rewrite of rewrites) {
    const found = out.match(rewrite.pattern)?.length ?? 0;
    if (found !== 1) throw new Error(`review-clean: expected one match for ${rewrite.why} in ${id}, found ${found}: update components/extension/review-clean.ts`);
    out = out.replace(rewrite.pattern, rewrite.replacement);
  }
  return out;
}

/** The Vite plugin (runs before esbuild/rolldown minify: patterns match the published sources). */
export function reviewCleanPlugin() {
  return {
    name: 'perch-review-clean',
    enforce: 'pre' as const,
    transform(code: string, id: string) {
      const out = reviewClean(code, id);
      return out === undefined ? undefined : { code: out, map: null };
    },
  };
}
