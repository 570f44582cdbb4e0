import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Browser, signedInWithRole, startBehindKestra } from '../support/perch.js';

/**
 * A backfill's inputs and labels are rendered by Kestra's scheduler as Pebble, with the full engine, in the
 * trigger's namespace, for every execution it starts; the inputs are then read as an execution's
 * (SchedulableExecutionFactory; docs/compatibility.md). So a backfill reaches what a flow's expressions reach,
 * and a FILE input given a host path is read off Kestra's disk: Perch checks them as it checks a flow's YAML and
 * an execution's inputs. The double keeps the backfill and starts nothing.
 */
describe('backfills: what Kestra renders of their inputs and labels', () => {
  let env: Awaited<ReturnType<typeof startBehindKestra>>;
  let editor: Browser;
  const TIMED = 'id: timed\nnamespace: company.team\ninputs:\n  - id: day\n    type: STRING\n    defaults: x\n  - id: report\n    type: FILE\n    defaults: kestra:///company/team/timed/seed.txt\ntasks:\n  - id: say\n    type: io.kestra.plugin.core.log.Log\n    message: "{{ inputs.day }}"\ntriggers:\n  - id: nightly\n    type: io.kestra.plugin.core.trigger.Schedule\n    cron: "0 2 * * *"\n';
  const backfills = () => env.kestra.requests.filter((r) => r.url === '/api/v1/main/triggers/backfill/create');
  const backfill = (extra: Record<string, unknown>, trigger = { namespace: 'company.team', flowId: 'timed', triggerId: 'nightly' }) =>
    editor.fetch('PUT', '/api/v1/main/triggers/backfill/create', { json: { ...trigger, backfill: { start: '2026-11-01T00:00:00Z', end: '2026-11-03T00:00:00Z', ...extra } } });
  const clearBackfill = () => env.kestra.store.triggers.clear();

  beforeAll(async () => {
    env = await startBehindKestra();
    env.kestra.addFlow(TIMED);
    editor = await signedInWithRole(env.perch, env.admin, 'editor@example.com', 'editor', 'company.team');
  });
  afterAll(async () => {
    // The double's backfill answers keep to the spec's ApiTriggerState.
    expect(env.kestra.contractViolations).toEqual([]);
    await env?.close();
  });

  it('passes on a backfill whose inputs and labels stay in the trigger’s namespace', async () => {
    clearBackfill();
    env.kestra.clear();
    const res = await backfill({
      inputs: { day: '{{ trigger.date }}', report: 'kestra:///company/team/timed/executions/abc/report.txt' },
      labels: [{ key: 'reason', value: "replay {{ kv('cutoff') }}" }],
    });
    expect(res.status, res.text).toBe(200);
    expect(res.json.backfill.inputs.day).toBe('{{ trigger.date }}');
    expect(backfills()).toHaveLength(1);
  });

  it('refuses inputs or labels that Kestra would render into another namespace’s data or a global secret', async () => {
    clearBackfill();
    env.kestra.clear();
    const cases: Array<[Record<string, unknown>, string]> = [
      [{ inputs: { day: "{{ kv('payroll', namespace='company.finance') }}" } }, 'KVSTORE VIEW in company.finance'],
      [{ labels: [{ key: 'leak', value: "{{ secret('FINANCE_TOKEN') }}" }] }, 'SECRET VIEW tenant-wide'],
      [{ inputs: { day: "{{ read('nsfile://company.finance/ledger.csv') }}" } }, 'in company.finance'],
      [{ inputs: { report: 'kestra:///company/finance/payroll/executions/x/pay.csv' } }, 'EXECUTION ACCESS_FILES in company.finance'],
      // Shapes Kestra's JSON binding reads the same: a one-element list for a label's text, for the backfill itself.
      [{ labels: [{ key: 'leak', value: ["{{ kv('payroll', namespace='company.finance') }}"] }] }, 'KVSTORE VIEW in company.finance'],
      [{ inputs: { nested: { deeper: ["{{ kv('payroll', namespace='company.finance') }}"] } } }, 'backfill.inputs.nested.deeper.0'],
    ];
    for (const [extra, needs] of cases) {
      const res = await backfill(extra);
      expect(res.status, `${JSON.stringify(extra)}: ${res.text}`).toBe(403);
      expect(res.json.message, JSON.stringify(extra)).toContain(needs);
    }
    const wrapped = await editor.fetch('PUT', '/api/v1/main/triggers/backfill/create', {
      json: { namespace: 'company.team', flowId: 'timed', triggerId: 'nightly', backfill: [{ start: '2026-11-01T00:00:00Z', inputs: { day: "{{ kv('payroll', namespace='company.finance') }}" } }] },
    });
    expect(wrapped.status, wrapped.text).toBe(403);
    // Inputs in a shape Jackson would not bind to an object are not guessed at.
    const shapeless = await backfill({ inputs: ['one', 'two'] });
    expect(shapeless.status, shapeless.text).toBe(400);
    expect(shapeless.json.message).toContain('`backfill.inputs` must be an object');
    expect(backfills()).toEqual([]);
  });

  it('refuses a host path given to a FILE input, which Kestra would read off its own disk', async () => {
    clearBackfill();
    env.kestra.clear();
    for (const report of ['/proc/self/environ', ['/etc/passwd'], 'relative/secrets.txt']) {
      const res = await backfill({ inputs: { report } });
      expect(res.status, `${JSON.stringify(report)}: ${res.text}`).toBe(403);
      expect(res.json.message, JSON.stringify(report)).toContain('FILE inputs are given as text');
    }
    // Kestra's scheme test is case-sensitive: to it this is a path too.
    expect((await backfill({ inputs: { report: 'KESTRA:///company/team/x.txt' } })).status).toBe(403);
    expect(backfills()).toEqual([]);
    // The same text for a STRING input is only text.
    const res = await backfill({ inputs: { day: '/proc/self/environ' } });
    expect(res.status, res.text).toBe(200);
  });
});
