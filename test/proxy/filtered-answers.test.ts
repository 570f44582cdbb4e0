import type { IncomingMessage, ServerResponse } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Browser, signedInWithRole, startBehindUpstream } from '../support/perch.js';

/**
 * A list Perch filters by namespace for a person bound to some (`GET /flows/distinct-namespaces` here) is read as
 * JSON. An answer in any other form cannot be filtered: it is not shown (502), never passed on whole.
 */
describe('lists Perch filters, answered in a form it cannot read', () => {
  let close: () => Promise<void>;
  let viewer: Browser;
  /** What the stand-in Kestra answers the list with: a content type and a body naming both namespaces. */
  let answer: { type: string | null; body: string } = { type: 'application/json', body: '[]' };

  beforeAll(async () => {
    const started = await startBehindUpstream((req: IncomingMessage, res: ServerResponse) => {
      req.resume();
      req.on('end', () => {
        if ((req.url ?? '').startsWith('/api/v1/main/flows/distinct-namespaces')) {
          res.writeHead(200, answer.type === null ? {} : { 'content-type': answer.type });
          res.end(answer.body);
          return;
        }
        res.writeHead(404, { 'content-type': 'application/json' }).end('{"message":"not found"}');
      });
    });
    close = started.close;
    viewer = await signedInWithRole(started.perch, started.browser, 'viewer@example.com', 'viewer', 'company.team');
  });
  afterAll(async () => {
    await close?.();
  });

  it('filters a JSON answer to the person’s namespaces', async () => {
    answer = { type: 'application/json', body: JSON.stringify(['company.finance', 'company.team']) };
    const res = await viewer.fetch('GET', '/api/v1/main/flows/distinct-namespaces');
    expect(res.status, res.text).toBe(200);
    expect(res.json).toEqual(['company.team']);
  });

  it('shows nothing of an answer in another form, or of one without a type', async () => {
    for (const type of ['application/x-yaml', 'text/plain', 'text/csv', null]) {
      answer = { type, body: type === 'application/x-yaml' ? '- company.finance\n- company.team\n' : JSON.stringify(['company.finance', 'company.team']) };
      const res = await viewer.fetch('GET', '/api/v1/main/flows/distinct-namespaces', { headers: { accept: type ?? '*/*' } });
      expect(res.status, `${type}: ${res.text}`).toBe(502);
      expect(res.text).not.toContain('company.finance');
      expect(res.json.message).toContain('cannot filter by namespace');
    }
  });
});
