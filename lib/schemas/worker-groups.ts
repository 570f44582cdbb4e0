import { z } from 'zod';

/**
 * Worker groups (issue 25) in Kestra EE's shapes (`WorkerGroupController.ApiCreateWorkerGroupRequest`,
 * `ApiUpdateWorkerGroupRequest`, `ApiWorkerGroup`, `ApiWorkerGroupList`), with what Perch adds: the
 * execution targets of a group and the namespaces bound to it (docs/design/worker-groups.md §4, §6).
 */

/** EE's worker group ids (and Perch's target ids) are RFC 1123 labels. */
export const RFC1123_LABEL = /^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$/;
const label = z.string().regex(RFC1123_LABEL, 'must be an RFC 1123 label: lower-case letters, digits and -, at most 63 characters');

const DNS_NAME = '[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?(?:\\.[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?)*';
const IPV4 = '(?:25[0-5]|2[0-4]\\d|1\\d\\d|[1-9]?\\d)(?:\\.(?:25[0-5]|2[0-4]\\d|1\\d\\d|[1-9]?\\d)){3}';
const PORT = '(?:6553[0-5]|655[0-2]\\d|65[0-4]\\d{2}|6[0-4]\\d{3}|[1-5]\\d{4}|[1-9]\\d{0,3})';
/**
 * The one spelling of a Docker API address Perch stores and flows must repeat byte for byte:
 * `tcp://` with a lower-case name or IPv4 address and an explicit port, or `unix://` with an absolute
 * path; no user info, path, query or fragment (the design, §4).
 */
export const DOCKER_HOST = new RegExp(`^(?:tcp://(?:${DNS_NAME}|${IPV4}):${PORT}|unix:///(?!.*(?:^|/)\\.\\.?(?:/|$))[A-Za-z0-9._-]+(?:/[A-Za-z0-9._-]+)*)$`);

/** Kestra's namespace names. */
const NAMESPACE = /^[A-Za-z0-9][A-Za-z0-9._-]*$/;

export const workerTargetSchema = z.object({
  id: label,
  kind: z.literal('docker'),
  host: z.string().max(300).regex(DOCKER_HOST, 'must be tcp://<lower-case host>:<port> or unix:///<absolute path>, spelled exactly as flows will write it'),
}).strict();
export type WorkerTarget = z.infer<typeof workerTargetSchema>;

const unique = <T>(what: string, key: (item: T) => string) => (items: T[], ctx: z.RefinementCtx) => {
  const seen = new Set<string>();
  for (const item of items) {
    if (seen.has(key(item))) ctx.addIssue({ code: 'custom', message: `${what} ${key(item)} is listed twice` });
    seen.add(key(item));
  }
};

/** EE's subscriptions name worker queues, which Perch has none of: routing is by Docker host. */
const subscriptionsSchema = z.array(z.unknown()).max(0, 'Perch has no worker queues (its groups route by Docker host): subscriptions must be an empty list');

const perchParts = {
  description: z.string().max(1000).optional(),
  subscriptions: subscriptionsSchema,
  targets: z.array(workerTargetSchema).max(100).superRefine(unique('target', (t: WorkerTarget) => t.id)).superRefine(unique('host', (t: WorkerTarget) => t.host)).default([]),
  namespaces: z.array(z.string().max(400).regex(NAMESPACE, 'must be a Kestra namespace name')).max(1000).superRefine(unique('namespace', (n: string) => n)).default([]),
};

export const createWorkerGroupRequestSchema = z.object({ id: label, name: z.string().min(1).max(200), ...perchParts });
export const updateWorkerGroupRequestSchema = z.object({ name: z.string().min(1).max(200), ...perchParts });
export type CreateWorkerGroupRequest = z.infer<typeof createWorkerGroupRequestSchema>;
export type UpdateWorkerGroupRequest = z.infer<typeof updateWorkerGroupRequestSchema>;

/**
 * What the last health check of a target saw (docs/design/worker-groups.md §7), absent before the
 * first: RUNNING with the engine's versions, or UNREACHABLE with why.
 */
export const targetHealthSchema = z.object({
  state: z.enum(['RUNNING', 'UNREACHABLE']),
  checkedAt: z.string(),
  engine: z.object({ version: z.string(), apiVersion: z.string(), os: z.string().optional(), arch: z.string().optional() }).optional(),
  problem: z.string().optional(),
});
export type ApiTargetHealth = z.infer<typeof targetHealthSchema>;

/** A target as the registry answers it: as written, with this replica's last health check. */
export const apiWorkerTargetSchema = workerTargetSchema.extend({ health: targetHealthSchema.optional() });

export const apiWorkerGroupSchema = z.object({
  id: z.string(),
  name: z.string(),
  description: z.string().optional(),
  subscriptions: z.array(z.never()),
  tokens: z.array(z.never()),
  deletable: z.boolean(),
  createdAt: z.string(),
  updatedAt: z.string(),
  targets: z.array(apiWorkerTargetSchema),
  namespaces: z.array(z.string()),
});
export type ApiWorkerGroup = z.infer<typeof apiWorkerGroupSchema>;
export const apiWorkerGroupListSchema = z.object({ workerGroups: z.array(apiWorkerGroupSchema) });
export type ApiWorkerGroupList = z.infer<typeof apiWorkerGroupListSchema>;
