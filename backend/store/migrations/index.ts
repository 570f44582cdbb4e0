import type { Migration } from 'kysely';
import * as peopleAndSessions from './001-people-and-sessions.js';
import * as iam from './002-iam.js';
import * as audit from './003-audit.js';
import * as machineAccess from './004-machine-access.js';
import * as onboarding from './005-onboarding.js';
import * as sso from './006-sso.js';
import * as auditShipping from './007-audit-shipping.js';
import * as auditIndexOrder from './008-audit-index-order.js';
import * as tenants from './009-tenants.js';
import * as namespacesAndSecrets from './010-namespaces-and-secrets.js';
import * as operations from './011-operations.js';
import * as apps from './012-apps.js';
import * as workerGroups from './014-worker-groups.js';
import * as rateLimits from './015-rate-limits.js';
import * as aiProviders from './018-ai-providers.js';
import * as aiTenantLimits from './019-ai-tenant-limits.js';

/** Every migration, in order. A new one is one file plus one line here. */
export const migrations: Record<string, Migration> = {
  '001-people-and-sessions': peopleAndSessions,
  '002-iam': iam,
  '003-audit': audit,
  '004-machine-access': machineAccess,
  '005-onboarding': onboarding,
  '006-sso': sso,
  '007-audit-shipping': auditShipping,
  '008-audit-index-order': auditIndexOrder,
  '009-tenants': tenants,
  '010-namespaces-and-secrets': namespacesAndSecrets,
  '011-operations': operations,
  '012-apps': apps,
  '014-worker-groups': workerGroups,
  '015-rate-limits': rateLimits,
  '018-ai-providers': aiProviders,
  '019-ai-tenant-limits': aiTenantLimits,
};
