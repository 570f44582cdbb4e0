/**
 * The notification bell's API as Kestra 2.0 OSS serves it (NotificationController, docs/compatibility.md): one
 * list for OSS's single implicit user, un-tenanted. The double runs no asynchronous operation, so the list stays
 * empty; the answers have Kestra's shapes (the spec's NotificationController.* schemas, tagged EE there although
 * OSS serves them, hence a contract exception in misc.ts; kestra-double-ui-calls.test.ts checks them).
 */
import { type Ctx, type Route, badRequest, nowIso, openSse, sendEmpty, sendJson } from './http.js';

/** `?since=` is an Instant and required (Micronaut answers 400 when it is missing or unreadable). */
function pollSince(ctx: Ctx): void {
  const since = ctx.query.get('since');
  if (since === null || Number.isNaN(Date.parse(since))) throw badRequest('Required QueryValue [since] not specified or not an instant');
  sendJson(ctx, 200, { notifications: [], serverTime: nowIso() });
}

/** `?before=` is a cursor `<createdDate>,<id>`; anything else is refused as Kestra's parseCursor refuses it. */
function history(ctx: Ctx): void {
  const before = ctx.query.get('before');
  if (before !== null && before.trim() !== '') {
    const [created, id] = before.split(',', 2);
    if (id === undefined || Number.isNaN(Date.parse(created ?? ''))) throw badRequest("Invalid cursor, expected '<createdDate>,<id>'");
  }
  sendJson(ctx, 200, { notifications: [], serverTime: nowIso(), nextCursor: null });
}

function unreadCount(ctx: Ctx): void {
  sendJson(ctx, 200, 0);
}

/** Idempotent: an unknown id is a no-op, answered 204 like a known one. */
function markOne(ctx: Ctx): void {
  sendEmpty(ctx, 204);
}

function markAllRead(ctx: Ctx): void {
  sendJson(ctx, 200, { updated: 0 });
}

/** The live stream: open until the client leaves or the double closes (nothing is ever pushed). */
function follow(ctx: Ctx): void {
  openSse(ctx);
}

export const notificationRoutes: Route[] = [
  { method: 'GET', path: '/api/v1/notifications/since', handler: pollSince },
  { method: 'GET', path: '/api/v1/notifications/follow', handler: follow },
  { method: 'GET', path: '/api/v1/notifications/history', handler: history },
  { method: 'GET', path: '/api/v1/notifications/unread-count', handler: unreadCount },
  { method: 'POST', path: '/api/v1/notifications/read-all', handler: markAllRead },
  { method: 'POST', path: '/api/v1/notifications/:id/read', handler: markOne },
  { method: 'POST', path: '/api/v1/notifications/:id/unread', handler: markOne },
];
