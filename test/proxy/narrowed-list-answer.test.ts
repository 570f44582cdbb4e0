/**
 * A list Perch bounds to the caller's namespaces (kestra-answers.ts, `filteringResponse`): every item
 * is checked; when none is dropped and the total stands, Kestra's text goes out as it came, otherwise
 * the list less the dropped items, with its total recounted.
 */
import type { FastifyReply, FastifyRequest } from 'fastify';
import { Readable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import type { PerchContext } from '../../backend/context.js';
import { kestraAnswers, type UpstreamAnswer } from '../../backend/proxy/kestra-answers.js';
import type { KestraTarget } from '../../backend/proxy/kestra-target.js';

const answers = kestraAnswers({} as PerchContext, { host: 'kestra:8080', origin: 'http://kestra:8080', url: 'http://kestra:8080', timeout: 1000 } as KestraTarget, false);

/** What Perch answers for Kestra's `text`, filtered to the namespaces `visible` keeps. */
async function answered(text: string, visible: (ns: string) => boolean, exact: boolean): Promise<{ sent: unknown; type?: string; upstreamStatus?: number }> {
  const out: { sent?: unknown; type?: string } = {};
  const reply = {
    removeHeader: () => reply,
    type: (t: string) => ((out.type = t), reply),
    send: (body: unknown) => ((out.sent = body), reply),
  };
  const request = { kestraCall: { row: {}, namespaces: [] } } as unknown as FastifyRequest & { kestraCall: { upstreamStatus?: number } };
  // Kestra's answer in two chunks, split inside an item.
  const res: UpstreamAnswer = { statusCode: 200, headers: { 'content-type': 'application/json' }, stream: Readable.from([Buffer.from(text.slice(0, 7)), Buffer.from(text.slice(7))]) };
  await answers.filteringResponse({ where: 'results[].namespace', visible, exact })(request, reply as unknown as FastifyReply, res);
  return { sent: out.sent, type: out.type, upstreamStatus: request.kestraCall.upstreamStatus };
}

const page = '{ "results": [ {"id":"a","namespace":"company.team"}, {"id":"b","namespace":"company.team.sub"} ],\n  "total": 2 }';

describe('a narrowed list', () => {
  it('goes out as Kestra wrote it when every item is visible and the total stands', async () => {
    const { sent, type, upstreamStatus } = await answered(page, (ns) => ns.startsWith('company.team'), true);
    expect(sent).toBe(page);
    expect(type).toBe('application/json');
    expect(upstreamStatus).toBe(200);
  });

  it('loses the items the caller may not see, and its total counts only the rest', async () => {
    const { sent } = await answered(page, (ns) => ns === 'company.team', true);
    expect(JSON.parse(sent as string)).toEqual({ results: [{ id: 'a', namespace: 'company.team' }], total: 1 });
  });

  it('loses an item whose namespace cannot be read, even when nothing else is dropped', async () => {
    const { sent } = await answered('{"results":[{"id":"a","namespace":"company.team"},{"id":"x"}],"total":2}', () => true, true);
    expect(JSON.parse(sent as string)).toEqual({ results: [{ id: 'a', namespace: 'company.team' }], total: 1 });
  });

  it('recounts an inexact total even when nothing is dropped', async () => {
    const { sent } = await answered('{"results":[{"id":"a","namespace":"company.team"}],"total":40}', () => true, false);
    expect(JSON.parse(sent as string)).toEqual({ results: [{ id: 'a', namespace: 'company.team' }], total: 1 });
  });
});
