/**
 * `POST /api/v1/{tenant}/expressions/render` (ExpressionController.renderExpressions, docs/compatibility.md):
 * the expressions are rendered in one context, chosen in Kestra's order: the execution named by `executionId`,
 * else the flow source in `flow`, else the stored flow `namespace` + `flowId`, else none. An expression that
 * names something the context lacks comes back unchanged. The body's fields are bound as Kestra's JSON
 * mapper binds them (`jacksonText`): `"executionId": ["…"]` names that execution.
 * Only the double's `{{ a.b.c }}` lookups are rendered (not Kestra's restricted Pebble engine).
 */
import { currentRevision, findFlow, parseFlowSource } from './flows.js';
import { type Ctx, type Route, badRequest, jacksonText, jacksonTexts, jsonBody, notFound, sendJson } from './http.js';
import { MissingVariableError, renderContext, renderIn } from './executions.js';

const MAX_EXPRESSIONS = 500;

function variablesFor(ctx: Ctx, request: Record<string, unknown>): Record<string, unknown> {
  const executionId = jacksonText(request.executionId, 'request');
  if (executionId !== null) {
    const execution = ctx.rt.store.executions.get(executionId);
    if (!execution) throw notFound(`Unable to find execution '${executionId}'`);
    return renderContext(execution);
  }
  const source = jacksonText(request.flow, 'request');
  if (source !== null) {
    const flow = parseFlowSource(ctx.rt, source);
    return { flow: { id: flow.id, namespace: flow.namespace } };
  }
  const namespace = jacksonText(request.namespace, 'request');
  const flowId = jacksonText(request.flowId, 'request');
  if (namespace !== null && flowId !== null) {
    const flow = findFlow(ctx.rt, namespace, flowId);
    if (!flow) throw notFound(`Unable to find flow '${namespace}.${flowId}'`);
    return { flow: { id: flow.id, namespace: flow.namespace, revision: currentRevision(flow).revision } };
  }
  return {};
}

function renderExpressions(ctx: Ctx): void {
  const request = jsonBody(ctx, 'request');
  if (request === null || typeof request !== 'object' || Array.isArray(request)) throw badRequest('Failed to convert argument [request]: an object is required');
  const fields = request as Record<string, unknown>;
  const expressions = jacksonTexts(fields.expressions, 'request') ?? [];
  if (expressions.length === 0) throw badRequest('request.expressions: must not be empty');
  if (expressions.length > MAX_EXPRESSIONS) throw badRequest(`request.expressions: size must be between 0 and ${MAX_EXPRESSIONS}`);
  const variables = variablesFor(ctx, fields);
  const rendered: Record<string, string> = {};
  for (const expression of expressions) {
    try {
      rendered[expression] = renderIn(expression, variables, true);
    } catch (err) {
      if (!(err instanceof MissingVariableError)) throw err;
      rendered[expression] = expression;
    }
  }
  sendJson(ctx, 200, { rendered });
}

export const expressionRoutes: Route[] = [{ method: 'POST', path: '/api/v1/:tenant/expressions/render', handler: renderExpressions }];
