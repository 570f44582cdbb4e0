import { request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startBehindKestra } from '../support/perch.js';

/**
 * A session's SSE streams end when the session expires (the sweeper cuts them). An API token's
 * streams must end when the token expires too: anchors 4.4 §22, ASVS 7.4.1.
 */
describe('an SSE stream opened with an API token', () => {
  let env: Awaited<ReturnType<typeof startBehindKestra>>;
  beforeAll(async () => {
    env = await startBehindKestra();
  });
  afterAll(async () => {
    await env?.close();
  });

  it('ends once the token has expired and the sweeper ran', async () => {
    const { admin, perch } = env;
    const yaml = 'id: waits\nnamespace: company.team\ntasks:\n  - id: stop\n    type: io.kestra.plugin.core.flow.Pause\n';
    await admin.fetch('POST', '/api/v1/main/flows', { body: yaml, headers: { 'content-type': 'application/x-yaml' } });
    const run = await admin.fetch('POST', '/api/v1/main/executions/company.team/waits', { body: '' });
    const minted = await admin.fetch('POST', '/api/v1/me/api-tokens', { json: { name: 'short', maxAge: 'PT1S' } });
    expect(minted.status).toBe(200);
    const sse = await request(`${perch.url}/api/v1/main/executions/${run.json.id}/follow`, {
      headers: { authorization: `Bearer ${minted.json.fullToken}`, accept: 'text/event-stream' },
    });
    expect(sse.statusCode).toBe(200);
    const ended = new Promise<string>((resolve) => {
      sse.body.on('data', () => {});
      sse.body.on('end', () => resolve('end'));
      sse.body.on('error', () => resolve('error'));
    });
    await new Promise((r) => setTimeout(r, 1500));
    // The token is expired: a new call with it is refused…
    expect((await request(`${perch.url}/api/v1/main/flows/search`, { headers: { authorization: `Bearer ${minted.json.fullToken}` } })).statusCode).toBe(401);
    // …and the periodic sweep (every 60 s; run now) must end what it still holds open.
    await (perch.perch.ctx.sessions as unknown as { sweep(): Promise<void> }).sweep();
    const outcome = await Promise.race([ended, new Promise((r) => setTimeout(() => r('still open'), 2000))]);
    sse.body.destroy();
    expect(outcome).not.toBe('still open');
  });
});
