import type { PolicyRow } from '../authz/policy-map.js';

/*
 * Which Kestra operations maintenance stops (docs/operations.md).
 * New work: every call that starts an execution or task runs: creating an execution (API and UI),
 * webhooks, replay, restart, force-run, unqueue, and backfills (creating or resuming one). Resuming a
 * paused execution is not new work: running executions are left to finish.
 * Edits: changes to flows, namespaces (files), KV entries and triggers, which only instance owners may
 * make meanwhile.
 */

const key = (method: string, path: string) => `${method} ${path}`;

/** `METHOD path-template` of every operation that starts new work (its policy-map row). */
export const NEW_WORK_OPERATIONS: readonly string[] = Object.freeze(
  [
    ['POST', '/api/v1/{tenant}/executions/{namespace}/{id}'],
    ...['GET', 'POST', 'PUT'].flatMap((m) => [
      [m, '/api/v1/{tenant}/executions/webhook/{namespace}/{id}/{key}'],
      [m, '/api/v1/{tenant}/executions/webhook/{namespace}/{id}/{key}/{path}'],
    ]),
    ['POST', '/api/v1/{tenant}/executions/{executionId}/actions/replay'],
    ['POST', '/api/v1/{tenant}/executions/{executionId}/actions/replay-with-inputs'],
    ['POST', '/api/v1/{tenant}/executions/replay/by-ids'],
    ['POST', '/api/v1/{tenant}/executions/replay/by-query'],
    ['POST', '/api/v1/{tenant}/executions/{executionId}/actions/restart'],
    ['POST', '/api/v1/{tenant}/executions/restart/by-ids'],
    ['POST', '/api/v1/{tenant}/executions/restart/by-query'],
    ['POST', '/api/v1/{tenant}/executions/{executionId}/actions/force-run'],
    ['POST', '/api/v1/{tenant}/executions/force-run/by-ids'],
    ['POST', '/api/v1/{tenant}/executions/force-run/by-query'],
    ['POST', '/api/v1/{tenant}/executions/{executionId}/actions/unqueue'],
    ['POST', '/api/v1/{tenant}/executions/unqueue/by-ids'],
    ['POST', '/api/v1/{tenant}/executions/unqueue/by-query'],
    ['PUT', '/api/v1/{tenant}/triggers/backfill/create'],
    ['PUT', '/api/v1/{tenant}/triggers/backfill/unpause'],
    ['POST', '/api/v1/{tenant}/triggers/backfill/unpause/by-query'],
    ['POST', '/api/v1/{tenant}/triggers/backfill/unpause/by-triggers'],
  ].map(([m, p]) => key(m!, p!)),
);
const NEW_WORK = new Set(NEW_WORK_OPERATIONS);

/** Calls that start new executions (or task runs). */
export const isNewWork = (row: PolicyRow) => NEW_WORK.has(key(row.method, row.path));

const EDITED = new Set(['FLOW', 'NAMESPACE', 'KVSTORE', 'TRIGGER']);
const EDIT_ACTIONS = new Set(['CREATE', 'UPDATE', 'DELETE', 'IMPORT', 'ENABLE', 'DISABLE', 'MANAGE_FILES', 'UNLOCK']);

/** Changes to flows, namespaces, KV entries and triggers. */
export const isEdit = (row: PolicyRow) =>
  row.access === 'permission' && row.method !== 'GET' && EDITED.has(row.resource) && EDIT_ACTIONS.has(row.action) && !isNewWork(row);
