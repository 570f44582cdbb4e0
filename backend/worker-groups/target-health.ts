import { Agent, request } from 'undici';

/*
 * A worker group target's health, as Perch can observe it (docs/design/worker-groups.md §7): the
 * Docker Engine API's `GET /_ping` answers `OK` and `GET /version` names the engine (operations
 * SystemPing and SystemVersion of Docker's API description). Plain HTTP or a unix socket, like
 * Kestra's Docker runner; bounded in time and size.
 */

export interface TargetHealth {
  state: 'RUNNING' | 'UNREACHABLE';
  checkedAt: number;
  engine?: { version: string; apiVersion: string; os?: string; arch?: string };
  problem?: string;
}

const MAX_BYTES = 64 * 1024;

/** Where to send HTTP for a stored (canonical) target host. */
function endpointOf(host: string): { origin: string; socketPath?: string } {
  if (host.startsWith('unix://')) return { origin: 'http://localhost', socketPath: host.slice('unix://'.length) };
  return { origin: `http://${host.slice('tcp://'.length)}` };
}

export async function checkDockerTarget(host: string, timeoutMs: number): Promise<TargetHealth> {
  const { origin, socketPath } = endpointOf(host);
  const dispatcher = new Agent({ connect: { timeout: timeoutMs, ...(socketPath ? { socketPath } : {}) }, headersTimeout: timeoutMs, bodyTimeout: timeoutMs, maxResponseSize: MAX_BYTES });
  const get = async (path: string) => {
    const res = await request(`${origin}${path}`, { method: 'GET', dispatcher, signal: AbortSignal.timeout(timeoutMs) });
    return { status: res.statusCode, text: await res.body.text() };
  };
  const down = (problem: string): TargetHealth => ({ state: 'UNREACHABLE', checkedAt: Date.now(), problem });
  try {
    const ping = await get('/_ping');
    if (ping.status !== 200 || ping.text.trim() !== 'OK') return down(`GET /_ping answered ${ping.status}`);
    const version = await get('/version');
    if (version.status !== 200) return down(`GET /version answered ${version.status}`);
    const body = JSON.parse(version.text) as Record<string, unknown>;
    if (typeof body.Version !== 'string' || typeof body.ApiVersion !== 'string') return down('GET /version did not name the engine version');
    const text = (v: unknown) => (typeof v === 'string' ? v : undefined);
    return { state: 'RUNNING', checkedAt: Date.now(), engine: { version: body.Version, apiVersion: body.ApiVersion, ...(text(body.Os) ? { os: text(body.Os) } : {}), ...(text(body.Arch) ? { arch: text(body.Arch) } : {}) } };
  } catch (error) {
    return down((error as Error).name === 'SyntaxError' ? 'GET /version did not answer JSON' : `not reachable (${(error as { code?: string }).code ?? (error as Error).name})`);
  } finally {
    await dispatcher.destroy().catch(() => {});
  }
}
