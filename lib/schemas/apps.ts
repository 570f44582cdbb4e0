import { z } from 'zod';

/**
 * Apps (issue 23) in Kestra EE's shapes: the app source its authors write in YAML (behaviour spec §13,
 * "App YAML schema" and "Block types") and the API's answers (`AppsController.ApiApp`, `ApiAppSource`,
 * `ApiAppCatalogItem`, `ApiAppTags`, `ApiBulkOperationRequest/Response`, `ApiBulkImportResponse`).
 */

export const APP_TYPE = 'io.kestra.plugin.ee.apps.Execution';

/** The stages a layout is given for: before any execution, then one per state of the app's execution. */
export const APP_STAGES = ['OPEN', 'CREATED', 'RUNNING', 'PAUSE', 'RESUME', 'SUCCESS', 'FAILURE', 'ERROR', 'FALLBACK'] as const;
export type AppStage = (typeof APP_STAGES)[number];

const CORE = 'io.kestra.plugin.ee.apps.core.blocks.';
const EXEC = 'io.kestra.plugin.ee.apps.execution.blocks.';

/** Every block type EE documents, by its short name. */
export const BLOCK_TYPES = {
  Markdown: `${CORE}Markdown`,
  RedirectTo: `${CORE}RedirectTo`,
  Loading: `${CORE}Loading`,
  AutoRefresh: `${CORE}AutoRefresh`,
  Alert: `${CORE}Alert`,
  Button: `${CORE}Button`,
  CreateExecutionForm: `${EXEC}CreateExecutionForm`,
  CreateExecutionButton: `${EXEC}CreateExecutionButton`,
  CancelExecutionButton: `${EXEC}CancelExecutionButton`,
  ResumeExecutionForm: `${EXEC}ResumeExecutionForm`,
  ResumeExecutionButton: `${EXEC}ResumeExecutionButton`,
  Inputs: `${EXEC}Inputs`,
  Outputs: `${EXEC}Outputs`,
  Logs: `${EXEC}Logs`,
  TaskOutputs: `${EXEC}TaskOutputs`,
} as const;
export type BlockName = keyof typeof BLOCK_TYPES;
const BLOCK_NAME_BY_TYPE = new Map<string, BlockName>(Object.entries(BLOCK_TYPES).map(([name, type]) => [type, name as BlockName]));
export const blockNameOf = (type: string): BlockName | undefined => BLOCK_NAME_BY_TYPE.get(type);

/** Blocks that act on the execution: allowed only at the stages where their action makes sense. */
const BLOCK_STAGES: Partial<Record<BlockName, readonly AppStage[]>> = {
  CreateExecutionForm: ['OPEN'],
  CreateExecutionButton: ['OPEN'],
  CancelExecutionButton: ['CREATED', 'RUNNING', 'PAUSE'],
  ResumeExecutionForm: ['PAUSE'],
  ResumeExecutionButton: ['PAUSE'],
};
export const stagesAllowing = (name: BlockName): readonly AppStage[] => BLOCK_STAGES[name] ?? APP_STAGES;

const text = (max: number) => z.string().max(max);
const style = z.enum(['DEFAULT', 'SUCCESS', 'DANGER', 'INFO', 'WARNING', 'ERROR', 'PRIMARY']);
const filter = z.object({ include: z.array(text(200)).max(200).optional(), exclude: z.array(text(200)).max(200).optional() }).strict();

/** Each block's properties, checked strictly so a misspelt property is an error at its line. */
const BLOCK_PROPS: Record<BlockName, z.ZodObject> = {
  Markdown: z.object({ content: text(20_000) }),
  RedirectTo: z.object({ url: text(2000), delay: text(64).optional() }),
  Loading: z.object({}),
  AutoRefresh: z.object({ delay: text(64).optional() }),
  Alert: z.object({ style: z.enum(['SUCCESS', 'WARNING', 'ERROR', 'INFO']).optional(), showIcon: z.boolean().optional(), content: text(20_000) }),
  Button: z.object({ text: text(200), url: text(2000), style: style.optional() }),
  CreateExecutionForm: z.object({}),
  CreateExecutionButton: z.object({ text: text(200).optional(), style: style.optional(), size: z.enum(['SMALL', 'MEDIUM', 'LARGE']).optional() }),
  CancelExecutionButton: z.object({ text: text(200).optional(), style: style.optional(), size: z.enum(['SMALL', 'MEDIUM', 'LARGE']).optional() }),
  ResumeExecutionForm: z.object({}),
  ResumeExecutionButton: z.object({ text: text(200).optional(), style: style.optional(), size: z.enum(['SMALL', 'MEDIUM', 'LARGE']).optional() }),
  Inputs: z.object({ filter: filter.optional() }),
  Outputs: z.object({ filter: filter.optional() }),
  Logs: z.object({ filter: z.object({ logLevel: z.enum(['TRACE', 'DEBUG', 'INFO', 'WARN', 'ERROR']).optional(), taskIds: z.array(text(200)).max(200).optional() }).strict().optional() }),
  TaskOutputs: z.object({
    outputs: z.array(z.object({ displayName: text(200), value: text(2000), type: z.enum(['STRING', 'FILE', 'JSON']).optional() }).strict()).max(100),
  }),
};

export const blockSchema = z.looseObject({ type: z.string() }).superRefine((block, ctx) => {
  const name = blockNameOf(block.type);
  if (!name) {
    ctx.addIssue({ code: 'custom', path: ['type'], message: `Unknown block type ${block.type}; known: ${Object.values(BLOCK_TYPES).join(', ')}` });
    return;
  }
  const { type: _type, ...props } = block;
  const result = BLOCK_PROPS[name].strict().safeParse(props);
  if (!result.success) for (const issue of result.error.issues) ctx.addIssue({ ...issue, path: issue.path as PropertyKey[] } as never);
});
export type AppBlock = z.infer<typeof blockSchema>;

const layoutEntrySchema = z
  .object({ on: z.enum(APP_STAGES), blocks: z.array(blockSchema).max(100) })
  .strict()
  .superRefine((entry, ctx) => {
    entry.blocks.forEach((block, index) => {
      const name = blockNameOf(block.type);
      if (name && !stagesAllowing(name).includes(entry.on)) {
        ctx.addIssue({ code: 'custom', path: ['blocks', index, 'type'], message: `${name} is not allowed on ${entry.on} (only on ${stagesAllowing(name).join(', ')})` });
      }
    });
  });

/** PUBLIC: anyone with the link; PRIVATE: signed-in people with APP:EXECUTE, in one of `groups` when given. */
export const appAccessSchema = z.union([
  z.enum(['PUBLIC', 'PRIVATE']).transform((type) => ({ type, groups: [] as string[], catalog: false })),
  z
    .object({ type: z.enum(['PUBLIC', 'PRIVATE']), groups: z.array(text(200)).max(100).optional(), catalog: z.boolean().optional() })
    .strict()
    .transform((a) => ({ type: a.type, groups: a.groups ?? [], catalog: a.catalog ?? false })),
]);
export type AppAccess = z.output<typeof appAccessSchema>;

const NAMESPACE = /^[a-z0-9][a-z0-9._-]*$/;
const ID = /^[a-zA-Z0-9][a-zA-Z0-9._-]*$/;

/** An app's source, as EE reads it. Absent `access` is PRIVATE: nothing is public unless its author says so. */
export const appSourceSchema = z
  .object({
    id: z.string().min(1).max(100).regex(ID, 'must start with a letter or digit and hold only letters, digits, ".", "_" and "-"'),
    type: z.literal(APP_TYPE, { error: `must be ${APP_TYPE}` }),
    displayName: text(400).optional(),
    description: text(4000).optional(),
    namespace: z.string().min(1).max(400).regex(NAMESPACE, 'must be a Kestra namespace (lower-case letters, digits, ".", "_" and "-")'),
    flowId: z.string().min(1).max(100).regex(ID, 'must be a Kestra flow id'),
    executionId: text(100).optional(),
    access: appAccessSchema.optional().transform((a) => a ?? { type: 'PRIVATE' as const, groups: [], catalog: false }),
    tags: z.array(text(100)).max(50).optional().transform((t) => [...new Set(t ?? [])]),
    thumbnail: text(2000).optional(),
    layout: z.array(layoutEntrySchema).min(1).max(20),
  })
  .strict();
export type AppSource = z.output<typeof appSourceSchema>;

// ---- API shapes ---------------------------------------------------------------------------------

export const apiAppSchema = z.object({
  uid: z.string(),
  id: z.string(),
  name: z.string(),
  type: z.string(),
  namespace: z.string(),
  flowId: z.string(),
  tags: z.array(z.string()),
  enabled: z.boolean(),
  created: z.string(),
  updated: z.string(),
});
export type ApiApp = z.infer<typeof apiAppSchema>;

export const apiAppSourceSchema = z.object({
  uid: z.string(),
  name: z.string(),
  namespace: z.string(),
  tags: z.array(z.string()),
  disabled: z.boolean(),
  source: z.string(),
  created: z.string(),
  updated: z.string(),
});
export type ApiAppSource = z.infer<typeof apiAppSourceSchema>;

export const apiAppCatalogItemSchema = z.object({
  uid: z.string(),
  name: z.string(),
  description: z.string().optional(),
  type: z.string(),
  tags: z.array(z.string()),
  thumbnail: z.string().optional(),
});
export type ApiAppCatalogItem = z.infer<typeof apiAppCatalogItemSchema>;

export const appPageSchema = <T extends z.ZodType>(item: T) => z.object({ results: z.array(item), total: z.number().int() });

export const bulkOperationRequestSchema = z.object({ uids: z.array(z.string().min(1).max(32)).min(1).max(1000) });
export const bulkOperationResponseSchema = z.object({ success: z.array(z.string()) });
export const bulkImportResponseSchema = z.object({ success: z.array(z.string()), errors: z.array(z.object({ source: z.string(), message: z.string() })) });
export type BulkImportResponse = z.infer<typeof bulkImportResponseSchema>;

/** A source error at its place in the YAML (1-based line and column), as the editor shows it. */
export const appSourceErrorSchema = z.object({ path: z.string(), message: z.string(), line: z.number().int().nullable(), column: z.number().int().nullable() });
export type AppSourceError = z.infer<typeof appSourceErrorSchema>;
