import type { FastifyRequest } from 'fastify';
import type { NamespaceSettings } from '../../lib/schemas/namespaces.js';
import type { PerchContext } from '../context.js';
import { HttpError } from '../http/errors.js';
import { principalOf } from '../http/request.js';
import { configuredBackendTypes } from '../secrets/backends/index.js';

/**
 * A namespace's dedicated secret manager (EE's `secretType`, `secretReadOnly`): one of the backends
 * configured under `secrets.backend` (their connections and credentials are the operator's, so a
 * per-namespace `secretConfiguration` is not taken). Choosing it is the instance owner's, as the
 * tenant's pick is: it decides which of the instance's managers holds a team's values.
 * Answers the settings to store.
 */
export function checkSecretManagerSetting(ctx: PerchContext, request: FastifyRequest, current: NamespaceSettings | undefined, next: NamespaceSettings): NamespaceSettings {
  const { secretConfiguration, ...settings } = next;
  if (secretConfiguration !== undefined && Object.keys(secretConfiguration).length > 0) {
    throw new HttpError(501, 'Perch does not implement a per-namespace secret manager connection (secretConfiguration): a namespace picks one of the managers configured under secrets.backend with secretType');
  }
  if (settings.secretReadOnly === true && !settings.secretType) throw new HttpError(422, 'secretReadOnly applies to a dedicated secret manager: set secretType too');
  const configured = configuredBackendTypes(ctx.config.secrets.backend);
  if (settings.secretType !== undefined && !configured.includes(settings.secretType)) {
    throw new HttpError(422, `No secret backend ${settings.secretType} is configured here (configured: ${configured.join(', ')}); add it under secrets.backend first`);
  }
  const changed = (current?.secretType ?? null) !== (settings.secretType ?? null) || (current?.secretReadOnly === true) !== (settings.secretReadOnly === true);
  if (changed && !principalOf(request).superAdmin) {
    throw new HttpError(403, 'Only an instance owner may choose a namespace\'s secret manager (secretType, secretReadOnly)');
  }
  return settings;
}
