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
};
