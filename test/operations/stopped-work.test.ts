/**
 * What maintenance and kill switches stop (backend/maintenance/stopped-work.ts) is named by policy-map
 * rows: every name must be a row, or a renamed row would silently stop being stopped.
 */
import { describe, expect, it } from 'vitest';
import { POLICY_MAP } from '../../backend/authz/policy-map.js';
import { isEdit, isNewWork, NEW_WORK_OPERATIONS } from '../../backend/maintenance/stopped-work.js';

const rowOf = (method: string, path: string) => POLICY_MAP.find((r) => r.method === method && r.path === path);

describe('work maintenance stops', () => {
  it('names only operations of the policy map', () => {
    const missing = NEW_WORK_OPERATIONS.filter((op) => !rowOf(op.split(' ')[0]!, op.split(' ')[1]!));
    expect(missing).toEqual([]);
    expect(POLICY_MAP.filter(isNewWork)).toHaveLength(NEW_WORK_OPERATIONS.length);
  });

  it('counts every operation that starts executions, and nothing that only reads or resumes', () => {
    for (const op of ['POST /api/v1/{tenant}/executions/{namespace}/{id}', 'POST /api/v1/{tenant}/executions/webhook/{namespace}/{id}/{key}', 'POST /api/v1/{tenant}/executions/replay/by-query', 'PUT /api/v1/{tenant}/triggers/backfill/create']) {
      expect(isNewWork(rowOf(op.split(' ')[0]!, op.split(' ')[1]!)!), op).toBe(true);
    }
    for (const op of ['GET /api/v1/{tenant}/executions/search', 'POST /api/v1/{tenant}/executions/{executionId}/actions/resume', 'POST /api/v1/{tenant}/executions/{namespace}/{id}/validate']) {
      expect(isNewWork(rowOf(op.split(' ')[0]!, op.split(' ')[1]!)!), op).toBe(false);
    }
  });

  it('counts flow, namespace-file, KV and trigger changes as edits, not their reads', () => {
    const edits = POLICY_MAP.filter(isEdit).map((r) => `${r.method} ${r.path}`);
    expect(edits).toEqual(expect.arrayContaining([
      'PUT /api/v1/{tenant}/flows/{namespace}/{id}', 'POST /api/v1/{tenant}/flows', 'DELETE /api/v1/{tenant}/flows/{namespace}/{id}',
      'POST /api/v1/{tenant}/namespaces/{namespace}/files', 'PUT /api/v1/{tenant}/namespaces/{namespace}/kv/{key}', 'PUT /api/v1/{tenant}/triggers/set-disabled',
    ]));
    expect(edits.filter((e) => e.startsWith('GET '))).toEqual([]);
    expect(edits).not.toContain('POST /api/v1/{tenant}/flows/validate');
  });
});
