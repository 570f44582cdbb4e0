import { afterEach, describe, expect, it } from 'vitest';
import { Browser, startBehindUpstream, startPerch, type RunningPerch } from '../support/perch.js';

/** A Kestra UI page Kestra cannot serve is a page of Perch's saying why; the API keeps its JSON errors. */
describe('UI pages when Kestra cannot serve them', () => {
  const closing: (() => Promise<unknown>)[] = [];
  afterEach(async () => {
    while (closing.length) await closing.pop()!();
  });

  const page = async (browser: Browser, path = '/ui/main/flows') => browser.fetch('GET', path, { headers: { accept: 'text/html' } });
  const problem = (html: string) => /data-testid="kestra-problem">([^<]*)</.exec(html)?.[1];

  it('says Kestra is unreachable, what to check, and links to Perch’s own screens', async () => {
    const perch: RunningPerch = await startPerch({ config: { kestra: { url: 'http://127.0.0.1:9', username: 'perch@kestra.test', password: 'kestra-secret' } } });
    closing.push(() => perch.close());
    const browser = new Browser(perch);
    await browser.login();
    const answer = await page(browser);
    expect(answer.status).toBe(502);
    expect(answer.headers['content-type']).toMatch(/^text\/html/);
    expect(answer.headers['content-security-policy']).toContain("default-src 'none'");
    expect(problem(answer.text)).toMatch(/^Kestra is unreachable at http:\/\/127\.0\.0\.1:9 \(ECONNREFUSED\)$/);
    for (const link of ['/perch/iam', '/perch/audit', '/perch/account', '/perch/health/ready']) expect(answer.text).toContain(`href="${link}"`);
    expect(answer.text).toContain('PERCH_KESTRA_URL');
    // The API: JSON, as before.
    const api = await browser.fetch('GET', '/api/v1/main/flows/search');
    expect(api.status).toBe(502);
    expect(api.json.message).toMatch(/^Kestra is unreachable/);
  });

  it('names refused credentials, and an error Kestra answered itself', async () => {
    let status = 401;
    const stack = await startBehindUpstream((_req, res) => {
      res.writeHead(status, { 'content-type': 'text/plain' }).end('nope');
    });
    closing.push(() => stack.close());
    const refused = await page(stack.browser);
    expect(refused.status).toBe(502);
    expect(problem(refused.text)).toBe('Kestra refused Perch&#39;s credentials: check PERCH_KESTRA_USERNAME and PERCH_KESTRA_PASSWORD');
    status = 503;
    const failing = await page(stack.browser);
    expect(failing.status).toBe(502);
    expect(problem(failing.text)).toBe('Kestra answered 503 for this page');
    expect(failing.text).not.toContain('nope');
    // A static asset is not a page: Kestra's answer passes as it is.
    const asset = await stack.browser.fetch('GET', '/ui/assets/index.js');
    expect(asset.status).toBe(503);
    expect(asset.text).toBe('nope');
  });
});
