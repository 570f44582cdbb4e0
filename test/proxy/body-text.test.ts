import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Browser, signedInWithRole, startBehindKestra } from '../support/perch.js';

/**
 * A flow's YAML is read by Perch and by Kestra as the same text, line for line (docs/compatibility.md):
 *  - Kestra's YAML parser (SnakeYAML, YAML 1.1) starts a new line at a lone CR, NEL, U+2028 and U+2029; Perch's
 *    YAML 1.2 parser does not, so what follows one inside a comment would be YAML to Kestra only.
 *  - Kestra's server decodes a text body with the Content-Type's charset, else the first Accept-Charset
 *    (Micronaut's StringBodyReader); in ISO-8859-1 the UTF-8 bytes of "Å" end in NEL.
 * Each hides a task reading another namespace's KV from Perch's flow check. The double reads both as Kestra does.
 */
describe('flow YAML is read as the same text by Perch and Kestra', () => {
  let env: Awaited<ReturnType<typeof startBehindKestra>>;
  let editor: Browser;
  const hidden = (lineBreak: string, id: string) =>
    `id: ${id}\nnamespace: company.team\ntasks:\n  - id: shown\n    type: io.kestra.plugin.core.log.Log\n    message: hi # note${lineBreak}  - id: hidden${lineBreak}    type: io.kestra.plugin.core.log.Log${lineBreak}    message: "{{ kv('payroll_key', namespace='company.finance') }}"\n`;
  const direct = (path: string, body: Buffer | string, headers: Record<string, string>) =>
    fetch(`${env.kestra.url}${path}`, { method: 'POST', body: typeof body === 'string' ? body : new Uint8Array(body), headers: { authorization: env.kestra.authorization, ...headers } });
  const taskIds = async (id: string) => {
    const res = await fetch(`${env.kestra.url}/api/v1/main/flows/company.team/${id}`, { headers: { authorization: env.kestra.authorization } });
    return ((await res.json()) as { tasks: { id: string }[] }).tasks.map((t) => t.id);
  };
  const flowWrites = () => env.kestra.requests.filter((r) => r.method === 'POST' && r.url === '/api/v1/main/flows');
  const YAML_TYPE = 'application/x-yaml';
  /** In ISO-8859-1 the UTF-8 "Å" is "Ã" and NEL: the "Ã" left at each line's end goes into a comment. */
  const LATIN_BREAK = ' #Å';

  beforeAll(async () => {
    env = await startBehindKestra();
    editor = await signedInWithRole(env.perch, env.admin, 'editor@example.com', 'editor', 'company.team');
  });
  afterAll(async () => {
    await env?.close();
  });

  it('Kestra reads a task after a lone CR, NEL, U+2028 or U+2029 in a comment', async () => {
    for (const [name, lineBreak] of [['cr', '\r'], ['nel', '\u0085'], ['ls', '\u2028'], ['ps', '\u2029']] as const) {
      const res = await direct('/api/v1/main/flows', hidden(lineBreak, `direct-${name}`), { 'content-type': YAML_TYPE });
      expect(res.status, await res.text()).toBe(200);
      expect(await taskIds(`direct-${name}`)).toEqual(['shown', 'hidden']);
    }
  });

  it('refuses such a line break in a flow, before anything reaches Kestra', async () => {
    env.kestra.clear();
    for (const lineBreak of ['\r', '\u0085', '\u2028', '\u2029']) {
      const res = await editor.fetch('POST', '/api/v1/main/flows', { body: hidden(lineBreak, 'through-perch'), headers: { 'content-type': YAML_TYPE } });
      expect(res.status, res.text).toBe(400);
      expect(res.json.message).toContain('line 6');
      expect(res.json.message).toContain('line break other than LF or CRLF');
    }
    expect(flowWrites()).toEqual([]);
    // The same flow without the hidden lines, and with CRLF line ends, is the editor's to write.
    const plain = hidden('\n', 'plain').replace(/\n {2}- id: hidden[\s\S]*$/, '\n').replace(/\n/g, '\r\n');
    const ok = await editor.fetch('POST', '/api/v1/main/flows', { body: plain, headers: { 'content-type': YAML_TYPE } });
    expect(ok.status, ok.text).toBe(200);
  });

  it('Kestra decodes a body in the charset the request names, where "Å" ends in a line break', async () => {
    const source = Buffer.from(hidden(LATIN_BREAK, 'latin'), 'utf8');
    const declared = await direct('/api/v1/main/flows', source, { 'content-type': `${YAML_TYPE}; charset=ISO-8859-1` });
    expect(declared.status, await declared.text()).toBe(200);
    expect(await taskIds('latin')).toEqual(['shown', 'hidden']);
    const accepted = await direct('/api/v1/main/flows', Buffer.from(hidden(LATIN_BREAK, 'accepted'), 'utf8'), { 'content-type': YAML_TYPE, 'accept-charset': 'iso-8859-1' });
    expect(accepted.status, await accepted.text()).toBe(200);
    expect(await taskIds('accepted')).toEqual(['shown', 'hidden']);
  });

  it('refuses a body declared in another charset than UTF-8, and keeps Accept-Charset from Kestra', async () => {
    env.kestra.clear();
    const source = Buffer.from(hidden(LATIN_BREAK, 'perch-latin'), 'utf8');
    for (const type of [`${YAML_TYPE}; charset=ISO-8859-1`, `${YAML_TYPE};Charset="latin1"`, `${YAML_TYPE}; charset=utf-8; charset=latin1`]) {
      const res = await editor.fetch('POST', '/api/v1/main/flows', { body: source, headers: { 'content-type': type } });
      expect(res.status, res.text).toBe(415);
      expect(res.json.message).toContain('UTF-8 only');
    }
    expect(flowWrites()).toEqual([]);
    // In UTF-8, "Å" is a letter in a comment: one task, to Perch and to Kestra, whatever Accept-Charset says.
    const res = await editor.fetch('POST', '/api/v1/main/flows', { body: Buffer.from(hidden(LATIN_BREAK, 'perch-accepted'), 'utf8'), headers: { 'content-type': YAML_TYPE, 'accept-charset': 'iso-8859-1' } });
    expect(res.status, res.text).toBe(200);
    expect(flowWrites()).toHaveLength(1);
    expect(flowWrites()[0]!.headers['accept-charset']).toBeUndefined();
    expect(await taskIds('perch-accepted')).toEqual(['shown']);
  });
});
