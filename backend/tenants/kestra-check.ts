import { probeKestraReady } from '../health/kestra-probe.js';
import { HttpError } from '../http/errors.js';

/**
 * A tenant's own Kestra must answer with the credentials given for it before anything is stored:
 * 422 when it refuses them (the request is wrong), 502 when it cannot be reached or answers
 * otherwise. Each names the URL, never the password.
 */
export async function checkTenantKestra(kestraUrl: string, username: string, password: string): Promise<void> {
  const answer = await probeKestraReady({ url: kestraUrl, username, password });
  if (answer.ready) return;
  if (answer.status === 401 || answer.status === 403) {
    throw new HttpError(422, `The Kestra at ${kestraUrl} refused the credentials of ${username} (${answer.status}): nothing was stored`, { kestraUrl });
  }
  const why = answer.status === undefined ? (answer.reason ?? 'no answer') : `it answered ${answer.status} to GET /api/v1/configs`;
  throw new HttpError(502, `The Kestra at ${kestraUrl} did not answer as Kestra (${why}): nothing was stored`, { kestraUrl });
}
