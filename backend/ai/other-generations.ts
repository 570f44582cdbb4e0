import type { FastifyInstance } from 'fastify';
import { parseDocument } from 'yaml';
import { z } from 'zod';
import { appGenerationPromptSchema, dashboardGenerationPromptSchema, type GenerationEvent } from '../../lib/schemas/ai.js';
import { APP_STAGES, appSourceSchema, BLOCK_TYPES } from '../../lib/schemas/apps.js';
import { dashboardSourceSchema } from '../../lib/schemas/dashboards.js';
import type { Action, Resource } from '../../lib/authz/catalogue.js';
import { authoredSource } from '../apps/api-routes.js';
import { AppSourceInvalid } from '../apps/app-source.js';
import type { PerchContext } from '../context.js';
import { forbidden, HttpError } from '../http/errors.js';
import { parse, signedIn } from '../http/request.js';
import { may } from '../iam/access.js';
import { generateCheckedSource, serveAiRequest, type AiAdmission, type Asked, type GenerationEvents, type GenerationRecord } from './ai-request.js';

/*
 * EE's generateApp and generateDashboard (issue 24, point 1), each answered with checked YAML like
 * generateFlow: the same check-and-retry loop, with the checks Perch can make. An app is checked
 * by Perch's own app rules (its schema, and the author's right to run the flow it starts: what a
 * save through Perch's app API checks); a dashboard by the shape of Kestra's Dashboard model (Kestra
 * is not asked: its dashboard validation is off where custom dashboards are). Saving needs APP or
 * DASHBOARD CREATE (UPDATE when a source is given): checked before a provider is asked.
 * generateTestSuite stays 501: Kestra OSS has no test suites, so nothing could check or run one.
 */

const shapeOf = (schema: z.ZodType) => JSON.stringify(z.toJSONSchema(schema, { io: 'input', unrepresentable: 'any' }));

const APP_SYSTEM = [
  'You write Kestra apps (forms and pages that start a flow and show its execution). Answer with one complete app as YAML, in a ```yaml block, and nothing else.',
  `Its shape (JSON Schema): ${shapeOf(appSourceSchema)}`,
  `layout is a list of {on: a stage (${APP_STAGES.join(', ')}), blocks: [{type, ...properties}]}; block types: ${Object.values(BLOCK_TYPES).join(', ')}.`,
].join('\n\n');

const DASHBOARD_SYSTEM = [
  'You write Kestra dashboards. Answer with one complete dashboard as YAML, in a ```yaml block, and nothing else.',
  `Its shape (JSON Schema): ${shapeOf(dashboardSourceSchema)}`,
  'Each chart has an id, a chart plugin type (e.g. io.kestra.plugin.core.dashboard.chart.TimeSeries, Bar, Pie, Table, Markdown), chartOptions, and a data source (e.g. io.kestra.plugin.core.dashboard.data.Executions, Logs, Metrics) with its columns.',
].join('\n\n');

/** The YAML checks of one kind of source: the problems, for the model to fix. */
type SourceCheck = (yaml: string, asked: Asked) => string[];

const appCheck = (ctx: PerchContext): SourceCheck => (yaml, asked) => {
  try {
    authoredSource(ctx, asked.principal, asked.tenant, yaml);
    return [];
  } catch (error) {
    if (error instanceof AppSourceInvalid) return error.errors.map((e) => `Invalid app source: ${e.path ? `${e.path}: ` : ''}${e.message}${e.line === null ? '' : ` (line ${e.line})`}`);
    if (error instanceof HttpError) return [`The person asking could not save this app (${error.status}): ${error.message}`];
    throw error;
  }
};

const dashboardCheck: SourceCheck = (yaml) => {
  const doc = parseDocument(yaml, { uniqueKeys: true, merge: false, prettyErrors: false });
  const syntax = [...doc.errors, ...doc.warnings.filter((w) => w.code === 'DUPLICATE_KEY')];
  if (syntax.length > 0) return syntax.map((e) => `Invalid YAML: ${e.message.split('\n')[0]}`);
  let value: unknown;
  try {
    value = doc.toJS({ maxAliasCount: 0 });
  } catch {
    return ['YAML anchors and aliases are not accepted in a dashboard'];
  }
  const result = dashboardSourceSchema.safeParse(value);
  return result.success ? [] : result.error.issues.map((i) => `Invalid dashboard: ${i.path.join('.') || '(root)'}: ${i.message}`);
};

interface Generation {
  operation: string;
  path: string;
  resource: Resource;
  kind: string;
  system: string;
  schema: typeof appGenerationPromptSchema | typeof dashboardGenerationPromptSchema;
  check: SourceCheck;
}

export function registerOtherGenerations(app: FastifyInstance, ctx: PerchContext, admission: AiAdmission): void {
  const generations: Generation[] = [
    { operation: 'generateApp', path: 'app', resource: 'APP', kind: 'app', system: APP_SYSTEM, schema: appGenerationPromptSchema, check: appCheck(ctx) },
    { operation: 'generateDashboard', path: 'dashboard', resource: 'DASHBOARD', kind: 'dashboard', system: DASHBOARD_SYSTEM, schema: dashboardGenerationPromptSchema, check: dashboardCheck },
  ];
  for (const g of generations) {
    type Body = z.infer<typeof g.schema>;
    app.post(`/api/v1/:tenant/ai/generate/${g.path}`, signedIn, (request, reply) =>
      serveAiRequest<GenerationEvent, Body, Body>(ctx, admission, request, reply, {
        operation: g.operation,
        answer: { type: 'application/yaml', result: (yaml) => ({ yaml }) },
        body: (r) => parse(g.schema, r.body),
        prepare: async (body, asked, record) => {
          record.body = { conversationId: body.conversationId ?? '', userPrompt: body.userPrompt, yaml: body.yaml, namespace: null, providerId: body.providerId };
          const action: Action = body.yaml ? 'UPDATE' : 'CREATE';
          if (!may(ctx, asked.principal, asked.tenant, g.resource, action)) throw forbidden(`Permission ${g.resource}:${action} on tenant ${asked.tenant} is required to have the copilot write a ${g.kind} (nothing was asked of the AI)`);
          return body;
        },
        run: (body, asked, record, events) => generateSource(ctx, g, body, asked, record, events),
      }),
    );
  }

  // generateTestSuite: Kestra OSS has no test suites; Perch cannot check (or run) one.
  app.post('/api/v1/:tenant/ai/generate/test', signedIn, async () => {
    throw new HttpError(501, 'Perch does not implement the Kestra EE operation generateTestSuite: Kestra OSS has no test suites, so a generated one could be neither checked nor run', { operationId: 'generateTestSuite' });
  });
}

function generateSource(ctx: PerchContext, g: Generation, body: { userPrompt: string; yaml?: string | null }, asked: Asked, record: GenerationRecord, events?: GenerationEvents): Promise<string> {
  const system = body.yaml ? `${g.system}\n\nThe ${g.kind} to change:\n\`\`\`yaml\n${body.yaml}\n\`\`\`` : `${g.system}\n\nThere is no ${g.kind} yet: write a new one.`;
  return generateCheckedSource(ctx, asked, record, events, { system, userPrompt: body.userPrompt }, async (yaml) => g.check(yaml, asked));
}
