/**
 * Regenerates docker-engine-api.derived.json from Docker's API description:
 *   git show <commit>:api/swagger.yaml > swagger.yaml   (in a clone of moby/moby)
 *   npx tsx test/worker-groups/derive-docker-api.ts swagger.yaml <commit> test/worker-groups/docker-engine-api.derived.json
 * Keeps the two operations Perch's health check calls and the definitions they use, without prose.
 */
import fs from 'node:fs';
import { parse } from 'yaml';

type Json = unknown;
const PROSE = new Set(['description', 'example', 'x-go-name', 'x-nullable']);
const strip = (v: Json): Json => {
  if (Array.isArray(v)) return v.map(strip);
  if (v && typeof v === 'object') return Object.fromEntries(Object.entries(v).filter(([k]) => !PROSE.has(k)).map(([k, x]) => [k, strip(x)]));
  return v;
};

const [source, commit, target] = process.argv.slice(2);
if (!source || !commit || !target) throw new Error('usage: derive-docker-api.ts <swagger.yaml> <commit> <out.json>');
const doc = parse(fs.readFileSync(source, 'utf8'));
const get = (path: string) => doc.paths[path].get;
const out = {
  source: { repository: 'moby/moby', commit, path: 'api/swagger.yaml', title: doc.info.title, version: doc.info.version },
  operations: {
    SystemPing: { method: 'GET', path: '/_ping', produces: get('/_ping').produces, responses: { 200: strip(get('/_ping').responses[200]) } },
    SystemVersion: { method: 'GET', path: '/version', produces: get('/version').produces, responses: { 200: strip(get('/version').responses[200]), 500: strip(get('/version').responses[500]) } },
  },
  definitions: { SystemVersion: strip(doc.definitions.SystemVersion), ErrorResponse: strip(doc.definitions.ErrorResponse) },
};
fs.writeFileSync(target, `${JSON.stringify(out, null, 2)}\n`);
