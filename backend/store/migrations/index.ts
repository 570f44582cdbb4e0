import type { Migration } from 'kysely/migration';
import * as peopleAndSessions from './001-people-and-sessions.js';
import * as iam from './002-iam.js';
import * as audit from './003-audit.js';
import * as machineAccess from './004-machine-access.js';

/** Every migration, in order. A new one is one file plus one line here. */
export const migrations: Record<string, Migration> = {
  '001-people-and-sessions': peopleAndSessions,
  '002-iam': iam,
  '003-audit': audit,
  '004-machine-access': machineAccess,
};
