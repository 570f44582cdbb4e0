import { randomBytes, timingSafeEqual } from 'node:crypto';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { AppSource } from '../../lib/schemas/apps.js';
import { DEFAULT_TENANT } from '../../lib/tenants.js';
import type { AuditEntry } from '../audit/audit-log.js';
import { actorOf, outcomeOf, requestFields } from '../audit/entry-fields.js';
import { csrfProblem, loginRedirect } from '../auth/guard.js';
import type { PerchContext } from '../context.js';
import { HttpError } from '../http/errors.js';
import { escapeHtml } from '../http/perch-page.js';
import { isApprovalApp, mayApprove, mayUseApp } from './app-access.js';
import { APP_PAGE_POLICY, appPage, blocksFor, filesShown, LIVE_SCRIPT, renderBlocks, stageOf, TERMINAL_STATES, type BlockContext } from './app-page.js';
import { findApp, findRun, insertRun, sourceOf, type AppRow } from './app-store.js';
import { encodeForm, ReadForm } from './bodies.js';
import { inputDefsOf, readInputs, renderInputFields, type InputDef } from './input-form.js';
import { AppKestraClient, KestraUnavailable, type KestraExecution, type KestraFlow } from './kestra-client.js';
import { StoreRateLimit } from '../store/rate-limits.js';
import type { Admission } from '../proxy/admission.js';

/*
 * The pages people use (issue 23, points 2 and 3): `/ui/{tenant}/apps/{uid}` (EE's app address) shows
 * the app's OPEN stage, its form generated from the flow's inputs; a submission starts the flow through
 * Kestra as the app and leads to the run's page (`…/runs/{token}`), which follows the execution live
 * and shows the blocks of its stage. Approval apps list the flow's paused executions
 * (`…/approvals`) to the people allowed to use them, who resume (with the pause's inputs) or kill
 * them. Nothing of Kestra is reachable but what the app names.
 */

const CSRF_COOKIE = 'perch_app_csrf';
const MAX_COMMENT = 2000;

type Params = { tenant: string; id: string; token?: string; executionId?: string };
const paramsOf = (request: FastifyRequest) => request.params as Params;
const optional = { config: { access: 'optional' as const } };

class PageError extends Error {
  constructor(readonly status: number, message: string, readonly retryAfter?: number) {
    super(message);
  }
}

function sendPage(reply: FastifyReply, status: number, html: string): FastifyReply {
  return reply
    .code(status)
    .type('text/html; charset=utf-8')
    .header('cache-control', 'no-store')
    .header('content-security-policy', APP_PAGE_POLICY)
    .header('x-frame-options', 'DENY')
    .send(html);
}

/** The app a page is for: it exists, is enabled, and the caller may use it (else a page saying which). */
async function loadApp(ctx: PerchContext, request: FastifyRequest, reply: FastifyReply): Promise<{ row: AppRow; app: AppSource } | null> {
  const { tenant, id } = paramsOf(request);
  const row = tenant === DEFAULT_TENANT ? await findApp(ctx.db, tenant, id) : undefined;
  if (!row) throw new PageError(404, 'There is no such app.');
  if (row.enabled !== 1) throw new PageError(403, 'This app is disabled. Ask its owners to enable it again.');
  const app = sourceOf(row);
  if (await mayUseApp(ctx, request.principal, tenant, app)) return { row, app };
  if (!request.principal) {
    await reply.redirect(loginRedirect(request), 302);
    return null;
  }
  throw new PageError(403, 'You are not allowed to use this app (it needs the APP:EXECUTE permission, and membership of one of its groups when it names some).');
}

const appUrlOf = (ctx: PerchContext, request: FastifyRequest, row: AppRow) =>
  `${ctx.config.publicUrl ?? `${ctx.cookies.secure ? 'https' : 'http'}://${request.headers.host ?? ''}`}/ui/${row.tenant_id}/apps/${row.uid}`;

/** Registers the pages on `app`: a scope of their own (its error handler answers pages), whose body parsers read forms. */
export function registerAppPages(app: FastifyInstance, ctx: PerchContext, admissions: readonly Admission[] = []): void {
  const kestra = new AppKestraClient(ctx);
  app.addHook('onClose', () => kestra.close());
  const limit = new StoreRateLimit(ctx.db, 'app-submissions', ctx.config.apps.submissionsPerMinute);

  app.setErrorHandler(async (error: Error & { statusCode?: number }, request, reply) => {
    if (!request.url.startsWith('/ui/')) throw error;
    if (error instanceof PageError) {
      // A signed-in person's refused write is in the audit log (a stranger's is not: anyone could fill it).
      if (error.status === 403 && request.method === 'POST' && request.principal) await auditRefusal(request, error.message);
      if (error.retryAfter) reply.header('retry-after', String(error.retryAfter));
      return sendPage(reply, error.status, appPage(error.status === 429 ? 'Please slow down' : 'App unavailable', `<p class="error" role="alert">${escapeHtml(error.message)}</p>`));
    }
    if (error instanceof KestraUnavailable) return sendPage(reply, 503, appPage('App unavailable', `<p class="error" role="alert">Kestra, which runs this app, cannot be reached right now. Please try again in a moment.</p>`));
    const status = error instanceof HttpError ? error.status : error.statusCode ?? 500;
    if (status >= 500) ctx.log.error({ err: error }, 'app page failed');
    return sendPage(reply, status, appPage('Something went wrong', `<p class="error" role="alert">${escapeHtml(status >= 500 ? 'The app could not answer.' : error.message)}</p>`));
  });

  const csrfToken = (request: FastifyRequest, reply: FastifyReply): string => {
    const current = request.cookies[CSRF_COOKIE];
    if (current && /^[A-Za-z0-9_-]{43}$/.test(current)) return current;
    const token = randomBytes(32).toString('base64url');
    reply.setCookie(CSRF_COOKIE, token, { path: '/ui/', httpOnly: true, sameSite: 'strict', secure: ctx.cookies.secure });
    return token;
  };
  const csrfField = (token: string) => `<input type="hidden" name="_csrf" value="${token}">`;

  /** A write on an app page: same-origin, carrying the page's token, within the address's rate. */
  const checkWrite = async (request: FastifyRequest): Promise<ReadForm> => {
    const problem = csrfProblem(ctx, request);
    if (problem) throw new PageError(403, problem);
    if (!(request.body instanceof ReadForm)) throw new PageError(415, 'The form must be sent as multipart/form-data.');
    const sent = Buffer.from(request.body.field('_csrf') ?? '');
    const expected = Buffer.from(request.cookies[CSRF_COOKIE] ?? '');
    if (expected.length === 0 || sent.length !== expected.length || !timingSafeEqual(sent, expected)) {
      throw new PageError(403, 'This form has expired or did not come from this page: open the app again and resend it.');
    }
    const allowed = await limit.take(request.clientAddress ?? 'unknown');
    if (!allowed.ok) throw new PageError(429, `Too many submissions from your address: try again in ${allowed.retryAfterSeconds} seconds.`, allowed.retryAfterSeconds);
    return request.body;
  };

  const audit = async (request: FastifyRequest, row: AppRow, status: number, details: Record<string, unknown>): Promise<void> => {
    const entry: AuditEntry = {
      tenantId: row.tenant_id,
      actor: request.principal ? actorOf(request) : { type: 'ANONYMOUS', id: null, email: 'public' },
      action: 'EXECUTE',
      resourceType: 'APP',
      resourceId: row.uid,
      namespace: row.namespace,
      ...requestFields(request),
      outcome: outcomeOf(status),
      details: { app: row.id, flow: `${row.namespace}.${row.flow_id}`, submittedBy: request.principal?.email ?? 'public', ...details },
    };
    await ctx.audit.record(entry);
  };

  const auditRefusal = async (request: FastifyRequest, reason: string): Promise<void> => {
    const { tenant, id } = paramsOf(request);
    await ctx.audit.record({
      tenantId: tenant === DEFAULT_TENANT ? tenant : null, actor: actorOf(request), action: 'EXECUTE', resourceType: 'APP', resourceId: id,
      ...requestFields(request), outcome: 'REFUSED', details: { path: request.canonical.path, reason },
    });
  };

  const mustFlow = async (row: AppRow): Promise<KestraFlow> => {
    const flow = await kestra.flow(row.namespace, row.flow_id);
    if (!flow) throw new PageError(503, `The flow this app runs (${row.namespace}.${row.flow_id}) no longer exists in Kestra.`);
    return flow;
  };

  const openPage = async (reply: FastifyReply, request: FastifyRequest, row: AppRow, app: AppSource, shown: { values?: Record<string, unknown>; errors?: Record<string, string>; message?: string } = {}, status = 200) => {
    const flow = await mustFlow(row);
    const token = csrfToken(request, reply);
    const c: BlockContext = { app, appUrl: appUrlOf(ctx, request, row), csrfField: csrfField(token), formFields: renderInputFields(inputDefsOf(flow.inputs), shown.values, shown.errors) };
    const blocks = blocksFor(app, 'OPEN');
    const approvals = isApprovalApp(app) && (await mayApprove(ctx, request.principal, row.tenant_id, app)) ? `<p><a href="/ui/${row.tenant_id}/apps/${row.uid}/approvals">Requests waiting for approval</a></p>` : '';
    const message = shown.message ? `<p class="error" role="alert">${escapeHtml(shown.message)}</p>` : '';
    return sendPage(reply, status, appPage(row.name, `${message}${renderBlocks(blocks, c, { action: `/ui/${row.tenant_id}/apps/${row.uid}` })}${approvals}`));
  };

  app.get('/perch/apps/live.js', { config: { access: 'public' as const } }, async (_request, reply) =>
    reply.type('text/javascript; charset=utf-8').header('cache-control', 'no-cache').send(LIVE_SCRIPT));

  {
    const scope = app;
    // openApp, as a page.
    scope.get('/ui/:tenant/apps/:id', optional, async (request, reply) => {
      const loaded = await loadApp(ctx, request, reply);
      if (!loaded) return reply;
      return openPage(reply, request, loaded.row, loaded.app);
    });

    // The form's submission: starts the flow as the app.
    scope.post('/ui/:tenant/apps/:id', optional, async (request, reply) => {
      const loaded = await loadApp(ctx, request, reply);
      if (!loaded) return reply;
      const { row, app: source } = loaded;
      const form = await checkWrite(request);
      if (!blocksFor(source, 'OPEN').some((b) => /CreateExecution(Form|Button)$/.test(b.type))) throw new PageError(403, 'This app starts no execution.');
      const flow = await mustFlow(row);
      const read = readInputs(inputDefsOf(flow.inputs), form.parts);
      if (Object.keys(read.errors).length > 0) return openPage(reply, request, row, source, { values: read.values, errors: read.errors, message: 'Some fields need attention.' }, 422);
      // Maintenance and kill switches stop an app's new execution as they stop the API's.
      for (const admission of admissions) {
        const refused = admission.refusesNewExecution(row.namespace, row.flow_id);
        if (!refused) continue;
        await audit(request, row, refused.status, { operation: 'createExecution', refusedBy: 'Perch', message: refused.message });
        if (refused.retryAfter) reply.header('retry-after', String(refused.retryAfter));
        return openPage(reply, request, row, source, { values: read.values, message: refused.message }, refused.status);
      }
      let execution: KestraExecution;
      try {
        execution = await kestra.createExecution(row.namespace, row.flow_id, encodeForm(read.parts), row.uid);
      } catch (error) {
        if (error instanceof HttpError && error.status < 500 && !(error instanceof KestraUnavailable)) {
          await audit(request, row, error.status, { operation: 'createExecution', refusedBy: 'Kestra', message: error.message });
          return openPage(reply, request, row, source, { values: read.values, message: `Kestra refused the request: ${error.message}` }, 422);
        }
        throw error;
      }
      const token = await insertRun(ctx.db, row.uid, execution.id, request.principal?.userId ?? null);
      await audit(request, row, 200, { operation: 'createExecution', executionId: execution.id, inputs: read.parts.map((p) => p.name) });
      return reply.redirect(`/ui/${row.tenant_id}/apps/${row.uid}/runs/${token}`, 303);
    });

    const runOf = async (request: FastifyRequest, reply: FastifyReply) => {
      const loaded = await loadApp(ctx, request, reply);
      if (!loaded) return null;
      const executionId = await findRun(ctx.db, loaded.row.uid, paramsOf(request).token!);
      if (!executionId) throw new PageError(404, 'There is no such run of this app.');
      return { ...loaded, executionId, base: `/ui/${loaded.row.tenant_id}/apps/${loaded.row.uid}/runs/${paramsOf(request).token}` };
    };

    scope.get('/ui/:tenant/apps/:id/runs/:token', optional, async (request, reply) => {
      const run = await runOf(request, reply);
      if (!run) return reply;
      const execution = await kestra.execution(run.executionId);
      if (!execution) throw new PageError(404, 'This run no longer exists in Kestra.');
      const stage = stageOf(execution.state.current);
      const blocks = blocksFor(run.app, stage);
      const token = csrfToken(request, reply);
      const c: BlockContext = {
        app: run.app, appUrl: appUrlOf(ctx, request, run.row), execution, csrfField: csrfField(token),
        logs: blocks.some((b) => b.type.endsWith('.Logs')) ? await kestra.logs(execution.id) : undefined,
        fileUrl: (uri) => `${run.base}/files?path=${encodeURIComponent(uri)}`,
        cancelAction: TERMINAL_STATES.has(execution.state.current) ? undefined : `${run.base}/cancel`,
        // The requester waits at a pause: the approval form is for approvers (…/approvals).
        formFields: undefined,
      };
      const waiting = stage === 'PAUSE' ? '<p class="muted">This request is waiting for approval.</p>' : '';
      const follow = TERMINAL_STATES.has(execution.state.current) ? undefined : `${run.base}/events`;
      return sendPage(reply, 200, appPage(run.row.name, `${renderBlocks(blocks, c)}${waiting}`, { follow, state: execution.state.current, status: `Status: ${execution.state.current}` }));
    });

    // The run's live state: Kestra's follow stream of this one execution, reduced to its state.
    scope.get('/ui/:tenant/apps/:id/runs/:token/events', optional, async (request, reply) => {
      const run = await runOf(request, reply);
      if (!run) return reply;
      const upstream = await kestra.follow(run.executionId);
      reply.hijack();
      const res = reply.raw;
      res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-store', connection: 'keep-alive', 'x-accel-buffering': 'no' });
      let buffer = '';
      let last = '';
      const stop = () => {
        upstream.body.destroy();
        if (!res.writableEnded) res.end();
      };
      request.raw.on('close', stop);
      // A private app's stream is the person's: signing out (or being disabled) ends it, as for Kestra's streams.
      const principal = request.principal;
      if (principal && run.app.access.type === 'PRIVATE') res.once('close', ctx.sessions.trackStream(principal.sessionHash, stop, principal.expiresAt));
      upstream.body.on('error', stop);
      upstream.body.on('end', () => {
        if (!res.writableEnded) res.end('event: end\ndata: {}\n\n');
      });
      upstream.body.on('data', (chunk: Buffer) => {
        buffer += chunk.toString('utf8');
        let at;
        while ((at = buffer.indexOf('\n\n')) >= 0) {
          const event = buffer.slice(0, at);
          buffer = buffer.slice(at + 2);
          const data = event.split('\n').filter((l) => l.startsWith('data:')).map((l) => l.slice(5).trim()).join('\n');
          if (!data) continue;
          let state: unknown;
          try {
            state = (JSON.parse(data) as KestraExecution).state?.current;
          } catch {
            continue;
          }
          if (typeof state !== 'string' || state === last) continue;
          last = state;
          res.write(`event: state\ndata: ${JSON.stringify({ state })}\n\n`);
          if (TERMINAL_STATES.has(state)) stop();
        }
      });
      return reply;
    });

    // A file the app names (its Outputs at the run's stage), downloaded through Perch.
    scope.get('/ui/:tenant/apps/:id/runs/:token/files', optional, async (request, reply) => {
      const run = await runOf(request, reply);
      if (!run) return reply;
      const path = (request.query as { path?: unknown }).path;
      const execution = await kestra.execution(run.executionId);
      if (!execution || typeof path !== 'string' || !filesShown(run.app, stageOf(execution.state.current), execution).has(path)) {
        throw new PageError(404, 'This app offers no such file.');
      }
      const file = await kestra.file(execution.id, path);
      if (!file) throw new PageError(404, 'This file no longer exists in Kestra.');
      const name = decodeURIComponent(path.split('/').pop() ?? 'file').replace(/["\\\r\n]/g, '_');
      return reply.type('application/octet-stream').header('content-disposition', `attachment; filename="${name}"`).header('x-content-type-options', 'nosniff').send(file.body);
    });

    scope.post('/ui/:tenant/apps/:id/runs/:token/cancel', optional, async (request, reply) => {
      const run = await runOf(request, reply);
      if (!run) return reply;
      await checkWrite(request);
      const execution = await kestra.execution(run.executionId);
      if (!execution) throw new PageError(404, 'This run no longer exists in Kestra.');
      if (!blocksFor(run.app, stageOf(execution.state.current)).some((b) => b.type.endsWith('.CancelExecutionButton'))) throw new PageError(403, 'This app offers no cancelling at this stage.');
      await kestra.kill(execution.id);
      await audit(request, run.row, 200, { operation: 'kill', executionId: execution.id });
      return reply.redirect(run.base, 303);
    });

    // ---- Approvals --------------------------------------------------------------------------------

    const approverApp = async (request: FastifyRequest, reply: FastifyReply) => {
      const loaded = await loadApp(ctx, request, reply);
      if (!loaded) return null;
      if (!isApprovalApp(loaded.app)) throw new PageError(404, 'This app approves nothing.');
      if (!(await mayApprove(ctx, request.principal, loaded.row.tenant_id, loaded.app))) {
        if (!request.principal) {
          await reply.redirect(loginRedirect(request), 302);
          return null;
        }
        throw new PageError(403, 'Approving needs the APP:EXECUTE permission (and membership of one of the app\'s groups when it names some).');
      }
      return { ...loaded, base: `/ui/${loaded.row.tenant_id}/apps/${loaded.row.uid}/approvals` };
    };

    scope.get('/ui/:tenant/apps/:id/approvals', optional, async (request, reply) => {
      const loaded = await approverApp(request, reply);
      if (!loaded) return reply;
      const paused = await kestra.pausedExecutions(loaded.row.namespace, loaded.row.flow_id);
      const list = paused.length === 0
        ? '<p class="muted">No request is waiting for approval.</p>'
        : `<ul class="approvals">${paused.map((e) => `<li><a href="${loaded.base}/${encodeURIComponent(e.id)}">${escapeHtml(e.id)}</a></li>`).join('')}</ul>`;
      return sendPage(reply, 200, appPage(`${loaded.row.name}: waiting for approval`, list));
    });

    /** A paused execution of the app's flow, and the inputs its Pause task takes on resume. */
    const pausedOf = async (row: AppRow, executionId: string): Promise<{ execution: KestraExecution; onResume: InputDef[] }> => {
      const execution = await kestra.execution(executionId);
      if (!execution || execution.namespace !== row.namespace || execution.flowId !== row.flow_id) throw new PageError(404, 'This app has no such request.');
      if (execution.state.current !== 'PAUSED') throw new PageError(409, `This request is no longer waiting for approval (it is ${execution.state.current}).`);
      const pausedTask = (execution.taskRunList ?? []).find((t) => t.state.current === 'PAUSED')?.taskId;
      const flow = await mustFlow(row);
      return { execution, onResume: inputDefsOf(pausedTask ? findTask(flow.tasks, pausedTask)?.onResume : undefined) };
    };

    const approvalPage = async (request: FastifyRequest, reply: FastifyReply, loaded: NonNullable<Awaited<ReturnType<typeof approverApp>>>, shown: { values?: Record<string, unknown>; errors?: Record<string, string>; message?: string } = {}, status = 200) => {
      const executionId = paramsOf(request).executionId!;
      const { execution, onResume } = await pausedOf(loaded.row, executionId);
      const token = csrfToken(request, reply);
      const blocks = blocksFor(loaded.app, 'PAUSE');
      const c: BlockContext = {
        app: loaded.app, appUrl: appUrlOf(ctx, request, loaded.row), execution, csrfField: csrfField(token),
        logs: blocks.some((b) => b.type.endsWith('.Logs')) ? await kestra.logs(execution.id) : undefined,
        formFields: renderInputFields(onResume, shown.values, shown.errors),
      };
      const comment = `<div class="field"><label for="comment">Comment (kept in the audit log)</label><textarea id="comment" name="_comment" rows="3" maxlength="${MAX_COMMENT}"></textarea></div>`;
      const reject = ' <button type="submit" name="_decision" value="kill" class="secondary" formnovalidate>Reject</button>';
      const message = shown.message ? `<p class="error" role="alert">${escapeHtml(shown.message)}</p>` : '';
      const body = `${message}<p class="state">Request ${escapeHtml(execution.id)}</p>${renderBlocks(blocks.filter((b) => !b.type.endsWith('.CancelExecutionButton')), c, { action: `${loaded.base}/${encodeURIComponent(execution.id)}`, beforeButton: comment, afterButton: reject })}`;
      return sendPage(reply, status, appPage(`${loaded.row.name}: approval`, body));
    };

    scope.get('/ui/:tenant/apps/:id/approvals/:executionId', optional, async (request, reply) => {
      const loaded = await approverApp(request, reply);
      if (!loaded) return reply;
      return approvalPage(request, reply, loaded);
    });

    // Resume (with the pause's inputs) or kill, with a comment kept in the audit entry.
    scope.post('/ui/:tenant/apps/:id/approvals/:executionId', optional, async (request, reply) => {
      const loaded = await approverApp(request, reply);
      if (!loaded) return reply;
      const form = await checkWrite(request);
      const decision = form.field('_decision') === 'kill' ? 'kill' : 'resume';
      const comment = (form.field('_comment') ?? '').slice(0, MAX_COMMENT);
      const { execution, onResume } = await pausedOf(loaded.row, paramsOf(request).executionId!);
      if (decision === 'kill') {
        await kestra.kill(execution.id);
      } else {
        const read = readInputs(onResume, form.parts);
        if (Object.keys(read.errors).length > 0) return approvalPage(request, reply, loaded, { values: read.values, errors: read.errors, message: 'Some fields need attention.' }, 422);
        await kestra.resume(execution.id, encodeForm(read.parts));
      }
      await audit(request, loaded.row, 200, { operation: decision, executionId: execution.id, comment });
      const done = decision === 'kill' ? 'The request was rejected.' : 'The request was approved.';
      return sendPage(reply, 200, appPage(`${loaded.row.name}: approval`, `<div class="alert alert-success" role="status"><p>${done}</p></div><p><a href="${loaded.base}">Back to the requests waiting for approval</a></p>`));
    });
  }
}

/** A task of the flow by id, at any depth (flowable tasks hold theirs in lists such as `tasks`, `then`, `else`). */
function findTask(tasks: unknown, id: string): Record<string, unknown> | undefined {
  if (Array.isArray(tasks)) {
    for (const t of tasks) {
      const found = findTask(t, id);
      if (found) return found;
    }
    return undefined;
  }
  if (!tasks || typeof tasks !== 'object') return undefined;
  const task = tasks as Record<string, unknown>;
  if (task.id === id && typeof task.type === 'string') return task;
  for (const value of Object.values(task)) {
    if (Array.isArray(value) || (value && typeof value === 'object')) {
      const found = findTask(value, id);
      if (found) return found;
    }
  }
  return undefined;
}
