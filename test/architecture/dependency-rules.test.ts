/**
 * The direction of Perch's imports (issue 28), checked with dependency-cruiser and the rules in
 * .dependency-cruiser.cjs: the repository has no violation (the baseline of known ones,
 * .dependency-cruiser-known-violations.json, is empty and stays so), and each rule fails
 * on a deliberately wrong import in a scratch tree, a new feature folder included.
 */
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { cruise, type IReporterOutput } from 'dependency-cruiser';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const config = createRequire(import.meta.url)(path.join(REPO, '.dependency-cruiser.cjs')) as { forbidden: object[]; options: Record<string, unknown> };
const ROOTS = ['backend', 'lib', 'components', 'entrypoints'];

/** The rules' violations in `baseDir`, as `rule: from → to`. */
async function violations(baseDir: string, roots: string[], knownViolations: object[] = []): Promise<string[]> {
  const { tsConfig: _ts, ...options } = config.options;
  const result = (await cruise(roots, { ...options, baseDir, validate: true, ruleSet: { forbidden: config.forbidden }, knownViolations } as never)) as IReporterOutput;
  const output = result.output as { summary: { violations: Array<{ rule: { name: string; severity: string }; from: string; to: string }> } };
  return output.summary.violations.filter((v) => v.rule.severity !== 'ignore').map((v) => `${v.rule.name}: ${v.from} → ${v.to}`);
}

describe('import direction', () => {
  it('the repository breaks no rule beyond its known violations', async () => {
    const known = JSON.parse(await readFile(path.join(REPO, '.dependency-cruiser-known-violations.json'), 'utf8'));
    expect(await violations(REPO, ROOTS, known)).toEqual([]);
  }, 120_000);

  it('no violation is left to burn down: the baseline is empty (issue 28, point 1 done)', async () => {
    const known = JSON.parse(await readFile(path.join(REPO, '.dependency-cruiser-known-violations.json'), 'utf8'));
    expect(known).toEqual([]);
  });

  describe('each rule fails on a wrong import', () => {
    let dir: string;
    const write = async (file: string, text: string) => {
      await mkdir(path.dirname(path.join(dir, file)), { recursive: true });
      await writeFile(path.join(dir, file), text);
    };
    beforeAll(async () => {
      dir = await mkdtemp(path.join(tmpdir(), 'perch-deps-'));
      await write('backend/store/database.ts', 'export const db = 1;\n');
      await write('backend/http/request.ts', 'export const parse = 1;\n');
      await write('backend/billing/store.ts', "import { db } from '../store/database.js';\nexport const invoices = db;\n");
      await write('backend/audit/log.ts', "import { parse } from '../http/request.js';\nexport const log = parse;\n");
    });
    afterAll(() => rm(dir, { recursive: true, force: true }));

    const cases: Array<[string, string, string]> = [
      ['lib-stays-shared', 'lib/contract.ts', "import { db } from '../backend/store/database.js';\nexport const c = db;\n"],
      ['screens-not-backend', 'components/page.tsx', "import { db } from '../backend/store/database.js';\nexport const p = db;\n"],
      ['screens-not-backend', 'entrypoints/content.ts', "import { parse } from '../backend/http/request.js';\nexport const e = parse;\n"],
      ['authz-not-store', 'backend/authz/decide.ts', "import { db } from '../store/database.js';\nexport const d = db;\n"],
      // A feature folder that did not exist when the rules were written is covered as it is.
      ['audit-is-told', 'backend/audit/billing-states.ts', "import { invoices } from '../billing/store.js';\nexport const s = invoices;\n"],
    ];
    it.each(cases)('%s: %s', async (rule, file, text) => {
      await write(file, text);
      try {
        expect(await violations(dir, ROOTS.filter((r) => file.startsWith(r) || r === 'backend'))).toEqual(expect.arrayContaining([expect.stringMatching(new RegExp(`^${rule}: ${file.replace(/\./g, '\\.')} → `))]));
      } finally {
        await rm(path.join(dir, file));
      }
    });

    it('no-circular: two modules importing each other', async () => {
      await write('backend/users/a.ts', "import { b } from './b.js';\nexport const a = () => b;\n");
      await write('backend/users/b.ts', "import { a } from './a.js';\nexport const b = () => a;\n");
      expect(await violations(dir, ['backend'])).toEqual(expect.arrayContaining([expect.stringMatching(/^no-circular: backend\/users\/(a|b)\.ts → /)]));
    });

    it('plumbing and a feature’s own files are allowed', async () => {
      await rm(path.join(dir, 'backend/users'), { recursive: true, force: true });
      expect(await violations(dir, ['backend'])).toEqual([]);
    });
  });
});
