import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fileInputIdsOf } from '../../backend/authz/file-inputs.js';
import { multipartForm } from '../support/multipart.js';
import { type Browser, finishedExecution, signedInWithRole, startBehindKestra } from '../support/perch.js';

/**
 * Kestra takes a `kestra:///…` text given to a FILE input as that very file, not as a copy under the new
 * execution (docs/compatibility.md, "FILE inputs given as text"), and a flow hands its inputs on to its
 * subflows: a text input naming another namespace's file needs the right to open it there.
 */
describe('inputs given as text that name files', () => {
  let env: Awaited<ReturnType<typeof startBehindKestra>>;
  let editor: Browser;
  let teamExecution: string;
  let financeExecution: string;
  const multipart = (parts: Array<{ name: string; value: string; filename?: string }>) => multipartForm(parts.map(({ value, ...part }) => ({ ...part, data: value })));
  const withFileInput = (namespace: string, id: string) =>
    `id: ${id}\nnamespace: ${namespace}\ninputs:\n  - id: data\n    type: FILE\n  - id: note\n    type: STRING\n    defaults: none\ntasks:\n  - id: say\n    type: io.kestra.plugin.core.log.Log\n    message: "{{ inputs.data }}"\n`;
  const storageUri = (namespace: string, flowId: string, executionId: string) => `kestra:///${namespace.replaceAll('.', '/')}/${flowId}/executions/${executionId}/inputs/data/payroll.csv`;
  const starts = () => env.kestra.requests.filter((r) => r.method === 'POST' && r.url.startsWith('/api/v1/main/executions/'));

  beforeAll(async () => {
    env = await startBehindKestra();
    env.kestra.addFlow(withFileInput('company.team', 'reader'));
    env.kestra.addFlow(withFileInput('company.finance', 'payroll'));
    const start = (namespace: string, id: string) => finishedExecution(env.kestra, namespace, id, multipart([{ name: 'data', value: 'salaries', filename: 'payroll.csv' }]));
    teamExecution = await start('company.team', 'reader');
    financeExecution = await start('company.finance', 'payroll');
    editor = await signedInWithRole(env.perch, env.admin, 'editor@example.com', 'editor', 'company.team');
  });
  afterAll(async () => {
    await env?.close();
  });

  it('Kestra takes a storage URI given as text as the input file itself', async () => {
    const form = multipart([{ name: 'data', value: storageUri('company.finance', 'payroll', financeExecution) }]);
    const res = await fetch(`${env.kestra.url}/api/v1/main/executions/company.team/reader`, { method: 'POST', body: new Uint8Array(form.body), headers: { ...form.headers, authorization: env.kestra.authorization } });
    expect(res.status).toBe(200);
    expect(((await res.json()) as { inputs: { data: string } }).inputs.data).toBe(storageUri('company.finance', 'payroll', financeExecution));
  });

  it('refuses an execution whose text inputs name another namespace’s files, wherever they stand', async () => {
    env.kestra.clear();
    const values = [
      storageUri('company.finance', 'payroll', financeExecution),
      `["${storageUri('company.finance', 'payroll', financeExecution)}"]`,
      'KESTRA:///company/finance/payroll/executions/x/inputs/data/a.csv',
      'kestra:///company/../company/finance/payroll/executions/x/a.csv',
      'nsfile://company.finance/secrets.txt',
    ];
    for (const value of values) {
      for (const name of ['data', 'note']) {
        const res = await editor.fetch('POST', '/api/v1/main/executions/company.team/reader', multipart([{ name, value }]));
        expect(res.status, `${name}=${value}: ${res.text}`).toBe(403);
        expect(res.json.message).toContain(`input ${name}:`);
      }
    }
    for (const path of [`/api/v1/main/executions/${teamExecution}/actions/resume`, `/api/v1/main/executions/${teamExecution}/actions/replay-with-inputs`, '/api/v1/main/executions/company.team/reader/validate']) {
      const res = await editor.fetch('POST', path, multipart([{ name: 'data', value: storageUri('company.finance', 'payroll', financeExecution) }]));
      expect(res.status, `${path}: ${res.text}`).toBe(403);
    }
    expect(starts()).toHaveLength(0);
  });

  it('refuses a FILE input given as a host path, which Kestra 2.0.0 would read from its own disk', async () => {
    env.kestra.clear();
    for (const value of ['/proc/self/environ', 'confs/application.yml', '["kestra:///company/team/reader/executions/x/a.csv", "/etc/passwd"]']) {
      const res = await editor.fetch('POST', '/api/v1/main/executions/company.team/reader', multipart([{ name: 'data', value }]));
      expect(res.status, `${value}: ${res.text}`).toBe(403);
      expect(res.json.message).toContain('FILE inputs are given as text');
      expect(res.json.inputs).toEqual(['data']);
    }
    // Kestra's scheme test is case-sensitive: to it, `KESTRA:` starts a path.
    const upper = await editor.fetch('POST', '/api/v1/main/executions/company.team/reader', multipart([{ name: 'data', value: 'KESTRA:///company/team/reader/executions/x/a.csv' }]));
    expect(upper.status, upper.text).toBe(403);
    for (const path of [`/api/v1/main/executions/${teamExecution}/actions/resume`, `/api/v1/main/executions/${teamExecution}/actions/replay-with-inputs`, '/api/v1/main/executions/company.team/reader/validate']) {
      const res = await editor.fetch('POST', path, multipart([{ name: 'data', value: '/etc/passwd' }]));
      expect(res.status, `${path}: ${res.text}`).toBe(403);
    }
    expect(starts()).toHaveLength(0);
    // The execution's flow comes from the lookup that already placed the execution: read once at most.
    expect(env.kestra.requests.filter((r) => r.method === 'GET' && r.url === `/api/v1/main/executions/${teamExecution}`).length).toBeLessThanOrEqual(1);
    // The same text for a STRING input is only text.
    const text = await editor.fetch('POST', '/api/v1/main/executions/company.team/reader', multipart([{ name: 'data', value: 'salaries', filename: 'a.csv' }, { name: 'note', value: '/etc/passwd' }]));
    expect(text.status, text.text).toBe(200);
    expect(text.json.inputs.note).toBe('/etc/passwd');
  });

  it('starts an execution with the caller’s own files, given as text or uploaded', async () => {
    env.kestra.clear();
    const own = await editor.fetch('POST', '/api/v1/main/executions/company.team/reader', multipart([{ name: 'data', value: storageUri('company.team', 'reader', teamExecution) }, { name: 'note', value: 'nsfile:///readme.txt is ours' }]));
    expect(own.status, own.text).toBe(403); // nsfile:/// of company.team needs NAMESPACE MANAGE_FILES, which an Editor lacks
    expect(own.json.message).toContain('input note: nsfile:// reads the files of company.team');
    const text = await editor.fetch('POST', '/api/v1/main/executions/company.team/reader', multipart([{ name: 'data', value: storageUri('company.team', 'reader', teamExecution) }]));
    expect(text.status, text.text).toBe(200);
    const uploaded = await editor.fetch('POST', '/api/v1/main/executions/company.team/reader', multipart([{ name: 'data', value: `kestra:///company/finance/looks-like-a-uri`, filename: 'mine.csv' }]));
    expect(uploaded.status, uploaded.text).toBe(200);
    expect(starts()).toHaveLength(2);
  });
});

describe('fileInputIdsOf', () => {
  it('finds the FILE inputs of a flow and of its pauses, and nothing else', () => {
    const flow = {
      inputs: [{ id: 'a', type: 'FILE' }, { id: 'b', type: 'ARRAY', itemType: 'FILE' }, { id: 'c', type: 'ARRAY', itemType: 'STRING' }, { id: 'd', type: 'STRING' }, { name: 'legacy', type: 'FILE' }],
      tasks: [{ id: 'wrap', type: 'io.kestra.plugin.core.flow.Sequential', tasks: [{ id: 'approve', type: 'io.kestra.plugin.core.flow.Pause', onResume: [{ id: 'signed', type: 'FILE' }, { id: 'why', type: 'STRING' }] }] }],
    };
    expect([...fileInputIdsOf(flow)].sort()).toEqual(['a', 'b', 'legacy', 'signed']);
    expect(fileInputIdsOf(null).size).toBe(0);
    expect(fileInputIdsOf({ inputs: 'not a list' }).size).toBe(0);
  });
});
