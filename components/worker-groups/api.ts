import { z } from 'zod';
import { apiWorkerGroupListSchema, apiWorkerGroupSchema, type CreateWorkerGroupRequest, type UpdateWorkerGroupRequest } from '../../lib/schemas/worker-groups';
import { getJson, send } from '../app/api';

/** Perch's worker group registry (EE's `/api/v1/instance/worker-groups`, instance owners only). */
const BASE = '/api/v1/instance/worker-groups';
const one = (id: string) => `${BASE}/${encodeURIComponent(id)}`;

export const workerGroups = {
  list: () => getJson(BASE, apiWorkerGroupListSchema).then((answer) => answer.workerGroups),
  create: (body: CreateWorkerGroupRequest) => send('post', BASE, body, apiWorkerGroupSchema),
  update: (id: string, body: UpdateWorkerGroupRequest) => send('put', one(id), body, apiWorkerGroupSchema),
  /** Forced: the confirmation has said which namespaces the deletion frees. */
  remove: (id: string) => send('delete', `${one(id)}?force=true`),
  /** Checks the group's targets now (EE's listRunningWorkers); what is seen becomes their last check. */
  checkNow: (id: string) => getJson(`${one(id)}/workers`, z.object({ workers: z.array(z.unknown()) })),
};
