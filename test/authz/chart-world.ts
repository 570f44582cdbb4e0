import { expect } from 'vitest';
import { startKestraDouble, type KestraDouble } from '../kestra-double/kestra-double.js';
import { Browser, grantRole, startPerch, type RunningPerch } from '../support/perch.js';

/** The chart tests' world: Perch before the double, one finished execution per flow, and a viewer per binding set. */
export interface ChartWorld {
  kestra: KestraDouble;
  perch: RunningPerch;
  admin: Browser;
  /** Viewer of company.team (and its children). */
  viewer: Browser;
  /** Viewer of company.team and company.finance. */
  twoRoots: Browser;
}

export const YAML = { 'content-type': 'application/x-yaml' };

const flow = (namespace: string, id: string) =>
  `id: ${id}\nnamespace: ${namespace}\ntasks:\n  - id: say\n    type: io.kestra.plugin.core.log.Log\n    message: hello from ${namespace}\n`;

/** Executions: company.team 2, company.team.sub 1, company.team2 1 (a sibling sharing the prefix), company.finance 1. */
const FLOWS = [['company.team', 'hello'], ['company.team', 'other'], ['company.team.sub', 'deep'], ['company.team2', 'sibling'], ['company.finance', 'payroll']] as const;

export async function startChartWorld(): Promise<ChartWorld> {
  const kestra = await startKestraDouble({ stepMs: 5 });
  const perch = await startPerch({ config: { kestra: { url: kestra.url, username: kestra.username, password: kestra.password } } });
  const admin = new Browser(perch);
  await admin.login();
  const runs: string[] = [];
  for (const [ns, id] of FLOWS) {
    expect((await admin.fetch('POST', '/api/v1/main/flows', { body: flow(ns, id), headers: YAML })).status).toBe(200);
    runs.push((await admin.fetch('POST', `/api/v1/main/executions/${ns}/${id}`, { body: '' })).json.id);
  }
  for (const id of runs) await kestra.waitForExecution(id);
  const person = async (email: string, namespaces: string[]) => {
    const created = await admin.fetch('POST', '/api/v1/users', { json: { email, password: 'a good long password' } });
    for (const ns of namespaces) await grantRole(perch.perch, created.json.id, 'viewer', ns);
    const browser = new Browser(perch);
    await browser.login(email, 'a good long password');
    return browser;
  };
  return { kestra, perch, admin, viewer: await person('viewer@example.com', ['company.team']), twoRoots: await person('two@example.com', ['company.team', 'company.finance']) };
}

export async function stopChartWorld(world: ChartWorld | undefined): Promise<void> {
  await world?.perch.close();
  await world?.kestra.close();
  expect(world?.kestra.contractViolations ?? []).toEqual([]);
}

type Row = { namespace: string; total: number };
/** A chart's rows grouped by namespace, as `{namespace: total}`. */
export const byNamespace = (rows: Row[]) => Object.fromEntries(rows.map((r) => [r.namespace, r.total]));

/** A Table chart counting rows per namespace, as the 2.0 UI writes charts (YAML lines at the top level; indent them to nest). */
export function namespaceCountChart(id: string, dataType: string): string[] {
  return [
    `id: ${id}`,
    'type: io.kestra.plugin.core.dashboard.chart.Table',
    'data:',
    `  type: io.kestra.plugin.core.dashboard.data.${dataType}`,
    '  columns:',
    '    namespace:',
    '      field: NAMESPACE',
    '    total:',
    '      agg: COUNT',
  ];
}
