import { z } from 'zod';

/**
 * The AI copilot (issue 24): the providers Perch calls on people's behalf (configured per instance,
 * keys kept server-side), and the EE API shapes of `/api/v1/{tenant}/ai/…` (Kestra EE's spec:
 * AiController.FlowGenerationPrompt, AiController.AiProviderResponse).
 */

export const AI_PROVIDER_KINDS = ['gemini', 'openai-compatible', 'anthropic', 'ollama'] as const;
export type AiProviderKind = (typeof AI_PROVIDER_KINDS)[number];

/** Where each kind is reached when `baseUrl` is not given (the provider's public API; Ollama's local port). */
export const DEFAULT_BASE_URLS: Record<AiProviderKind, string> = {
  gemini: 'https://generativelanguage.googleapis.com',
  'openai-compatible': 'https://api.openai.com/v1',
  anthropic: 'https://api.anthropic.com',
  ollama: 'http://127.0.0.1:11434',
};

const withoutCredentials = (url: string) => {
  const parsed = new URL(url);
  return !parsed.username && !parsed.password && !parsed.search;
};

/** What a provider is, wherever it is configured (the configuration file, or a tenant's own through the API). */
const aiProviderFields = {
  /** Named in the API (`providerId`), in audit entries and in error messages. */
  id: z.string().regex(/^[a-z0-9][a-z0-9-]{0,62}$/, 'use lowercase letters, digits and dashes (at most 63)'),
  displayName: z.string().min(1).max(100).optional(),
  kind: z.enum(AI_PROVIDER_KINDS),
  /** The API's root (e.g. https://api.openai.com/v1, an Azure deployment, a vLLM or OpenRouter address). */
  baseUrl: z.url({ protocol: /^https?$/ }).refine(withoutCredentials, 'must not contain credentials or a query: give the key as apiKey or apiKeyFile').optional(),
  model: z.string().min(1).max(200),
  /** The key itself; prefer apiKeyFile (a secret file), so that it is not in the configuration file. */
  apiKey: z.string().min(1).optional(),
  /** A file holding the key (read when the provider is first called; final line break dropped). */
  apiKeyFile: z.string().min(1).optional(),
  isDefault: z.boolean().default(false),
  /** How long Perch waits for one answer of the provider. */
  timeoutSeconds: z.number().int().min(1).max(600).default(120),
  /** The longest answer asked for (Anthropic requires it; the others take it as a cap). */
  maxOutputTokens: z.number().int().min(256).max(200_000).default(8192),
};

export const aiProviderConfigSchema = z
  .strictObject(aiProviderFields)
  .refine((p) => !(p.apiKey && p.apiKeyFile), { path: ['apiKeyFile'], message: 'give apiKey or apiKeyFile, not both' })
  .refine((p) => p.kind === 'ollama' || p.apiKey || p.apiKeyFile, { path: ['apiKey'], message: 'is required for this kind (or apiKeyFile)' });
export type AiProviderConfig = z.output<typeof aiProviderConfigSchema>;

export const aiConfigSchema = z
  .strictObject({
    providers: z.array(aiProviderConfigSchema).default([]),
    /** How many answers the model may give per request: each failed check goes back to it with the errors. */
    maxAttempts: z.number().int().min(1).max(10).default(3),
    /** Generation requests per person per minute. */
    requestsPerMinute: z.number().int().min(1).default(10),
    /** Keep the prompt text in each audit entry (off: only its size). */
    auditPrompts: z.boolean().default(false),
    /** Generation requests per tenant per minute (all its people together); unset: no tenant-wide rate. */
    tenantRequestsPerMinute: z.number().int().min(1).optional(),
    /** Tokens the providers report, per period; a request is refused (429) once a budget is used up. */
    tokenBudget: z
      .strictObject({
        /** The period budgets count over, in UTC: a calendar day or month. */
        period: z.enum(['day', 'month']).default('month'),
        /** Tokens per tenant per period (all its people together); unset: not limited. */
        perTenant: z.number().int().min(1).optional(),
        /** Tokens per person per tenant per period; unset: not limited. */
        perPerson: z.number().int().min(1).optional(),
      })
      .prefault({}),
    /**
     * Hosts (`host` or `host:port`) a tenant's own provider may be reached at, besides the providers'
     * public APIs (api.openai.com, api.anthropic.com, generativelanguage.googleapis.com): a tenant
     * admin must not be able to make Perch call any address it can reach.
     */
    tenantProviderHosts: z.array(z.string().min(1).max(300)).default([]),
  })
  .superRefine((value, ctx) => {
    const seen = new Set<string>();
    value.providers.forEach((p, i) => {
      if (seen.has(p.id)) ctx.addIssue({ code: 'custom', path: ['providers', i, 'id'], message: `provider id "${p.id}" is used twice` });
      seen.add(p.id);
    });
    if (value.providers.filter((p) => p.isDefault).length > 1) ctx.addIssue({ code: 'custom', path: ['providers'], message: 'at most one provider may be isDefault' });
  });
export type AiConfig = z.output<typeof aiConfigSchema>;

/**
 * A tenant's own provider, as a tenant admin gives it (Perch's own API, `/api/v1/{tenant}/ai/settings/providers`):
 * the configuration file's fields but a key file (a path on Perch's host). The key is write-only: on an
 * update, an absent `apiKey` keeps the stored one.
 */
export const aiTenantProviderInputSchema = z.strictObject((({ apiKeyFile: _file, ...fields }) => fields)(aiProviderFields));
export type AiTenantProviderInput = z.output<typeof aiTenantProviderInputSchema>;
export const aiTenantProviderUpdateSchema = aiTenantProviderInputSchema.omit({ id: true });

/** A tenant's own provider as the API answers it: never its key, only whether one is stored. */
export const aiTenantProviderViewSchema = z.object({
  id: z.string(),
  displayName: z.string().nullable(),
  kind: z.enum(AI_PROVIDER_KINDS),
  baseUrl: z.string().nullable(),
  model: z.string(),
  isDefault: z.boolean(),
  timeoutSeconds: z.number(),
  maxOutputTokens: z.number(),
  hasApiKey: z.boolean(),
  updatedAt: z.string(),
});
export type AiTenantProviderView = z.infer<typeof aiTenantProviderViewSchema>;

/** One token budget's state: used so far in the period, its limit (null: not limited). */
const aiBudgetUseSchema = z.object({ used: z.number(), limit: z.number().nullable() });
export type AiBudgetUse = z.infer<typeof aiBudgetUseSchema>;

/** The copilot's limits as a tenant's settings show them (`GET /api/v1/{tenant}/ai/settings/usage`). */
export const aiUsageViewSchema = z.object({
  period: z.enum(['day', 'month']),
  /** The period counted now (`2026-12-06`, `2026-12`) and when the next one starts. */
  current: z.string(),
  resetsAt: z.string(),
  tenant: aiBudgetUseSchema,
  /** The caller's own tokens in this tenant. */
  person: aiBudgetUseSchema,
  requestsPerMinute: z.object({ perPerson: z.number(), perTenant: z.number().nullable() }),
  /** Where the copilot's providers come from for this tenant: its own, or the instance's configuration. */
  providersFrom: z.enum(['tenant', 'instance']),
});
export type AiUsageView = z.infer<typeof aiUsageViewSchema>;

/**
 * An instance owner's overrides of one tenant's AI limits (`PUT /api/v1/{tenant}/ai/settings/limits`):
 * each a positive number, or null to keep the instance's setting. The person's request rate and the
 * budgets' period stay instance-wide.
 */
export const aiTenantLimitsSchema = z.strictObject({
  /** Requests per minute of the whole tenant (in place of `ai.tenantRequestsPerMinute`). */
  tenantRequestsPerMinute: z.number().int().min(1).max(1_000_000).nullable().default(null),
  /** Tokens per period for the whole tenant (in place of `ai.tokenBudget.perTenant`). */
  tokenBudgetPerTenant: z.number().int().min(1).max(Number.MAX_SAFE_INTEGER).nullable().default(null),
  /** Tokens per period for each person in the tenant (in place of `ai.tokenBudget.perPerson`). */
  tokenBudgetPerPerson: z.number().int().min(1).max(Number.MAX_SAFE_INTEGER).nullable().default(null),
});
export type AiTenantLimits = z.output<typeof aiTenantLimitsSchema>;

/** A tenant's AI limits as its settings show them: the overrides, the instance's settings, what applies, who may change them. */
export const aiTenantLimitsViewSchema = z.object({
  overrides: aiTenantLimitsSchema,
  instance: aiTenantLimitsSchema,
  effective: aiTenantLimitsSchema,
  /** Only instance owners change a tenant's limits (a tenant admin raising its own budget would defeat it). */
  canChange: z.boolean(),
  updatedAt: z.string().nullable(),
});
export type AiTenantLimitsView = z.infer<typeof aiTenantLimitsViewSchema>;

/** EE's `AiController.FlowGenerationPrompt` (FlowGenerationPrompt + providerId). */
export const flowGenerationPromptSchema = z.object({
  conversationId: z.string().min(1).max(200),
  userPrompt: z.string().min(1).max(20_000),
  /** The flow in the editor, to be changed; absent for a new flow. */
  yaml: z.string().max(512 * 1024).nullish(),
  namespace: z.string().max(500).nullish(),
  providerId: z.string().max(100).nullish(),
});
export type FlowGenerationPrompt = z.infer<typeof flowGenerationPromptSchema>;

/** EE's `AiController.AiProviderResponse`. */
export interface AiProviderResponse {
  id: string;
  displayName: string;
  isDefault: boolean;
}

/**
 * The server-sent events of a streamed generateFlow (Perch's own, not EE's): `attempt` (a new ask to
 * the model), `delta` (text as the model writes it), `problems` (the checks refused that attempt), then
 * `result` (the checked YAML) or `error` (the refusal's status and message).
 */
export const generationEventSchema = z.discriminatedUnion('event', [
  z.object({ event: z.literal('attempt'), data: z.object({ attempt: z.number().int().positive() }) }),
  z.object({ event: z.literal('delta'), data: z.object({ text: z.string() }) }),
  z.object({ event: z.literal('problems'), data: z.object({ problems: z.array(z.string()) }) }),
  z.object({ event: z.literal('result'), data: z.object({ yaml: z.string() }) }),
  z.object({ event: z.literal('error'), data: z.object({ status: z.number().int(), message: z.string() }) }),
]);
export type GenerationEvent = z.infer<typeof generationEventSchema>;

/**
 * The body of Perch's own "explain this failure" and "propose a fix" requests on a failed execution
 * (`POST /api/v1/{tenant}/ai/executions/{executionId}/explain|fix`; EE's spec has no AI operation on
 * executions). `userPrompt` adds the person's own question or wish to the failure Perch reads.
 */
export const executionHelpPromptSchema = z.object({
  conversationId: z.string().min(1).max(200),
  userPrompt: z.string().min(1).max(20_000).nullish(),
  providerId: z.string().max(100).nullish(),
});
export type ExecutionHelpPrompt = z.infer<typeof executionHelpPromptSchema>;

/**
 * The server-sent events of a streamed explanation: `delta` (text as the model writes it), then
 * `result` (the whole explanation) or `error`.
 */
export const explanationEventSchema = z.discriminatedUnion('event', [
  z.object({ event: z.literal('delta'), data: z.object({ text: z.string() }) }),
  z.object({ event: z.literal('result'), data: z.object({ text: z.string() }) }),
  z.object({ event: z.literal('error'), data: z.object({ status: z.number().int(), message: z.string() }) }),
]);
export type ExplanationEvent = z.infer<typeof explanationEventSchema>;

/** EE's `AppGenerationPrompt` (no field required by the spec; Perch needs something to do). */
export const appGenerationPromptSchema = z.object({
  conversationId: z.string().max(200).nullish(),
  userPrompt: z.string().min(1).max(20_000),
  /** The app's current source, to be changed; absent for a new app. */
  yaml: z.string().max(256 * 1024).nullish(),
  providerId: z.string().max(100).nullish(),
});
export type AppGenerationPrompt = z.infer<typeof appGenerationPromptSchema>;

/** EE's `AiController.DashboardGenerationPrompt` (DashboardGenerationPrompt + providerId). */
export const dashboardGenerationPromptSchema = z.object({
  conversationId: z.string().min(1).max(200),
  userPrompt: z.string().min(1).max(20_000),
  yaml: z.string().max(256 * 1024).nullish(),
  providerId: z.string().max(100).nullish(),
});
export type DashboardGenerationPrompt = z.infer<typeof dashboardGenerationPromptSchema>;
