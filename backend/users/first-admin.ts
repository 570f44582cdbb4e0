import { passwordProblem, hashPassword } from '../auth/passwords.js';
import type { PerchConfig } from '../config/config.js';
import type { FirstAdminStatus } from '../context.js';
import type { Store } from '../store/database.js';
import { emailSchema } from '../../lib/schemas/users.js';
import { DEFAULT_TENANT } from '../../lib/tenants.js';
import { ensureManagedRoles, insertBinding } from '../iam/iam-store.js';
import { countUsers, createUser, findUserByEmail, type UserRow } from './user-store.js';

export const FIRST_ADMIN_HELP = [
  'Perch has no administrator yet, so it serves nothing but /perch/health.',
  'Create one with:  npx perch admin create --email you@example.com --password \'<a long passphrase>\'',
  '(or start Perch once with PERCH_ADMIN_EMAIL and PERCH_ADMIN_PASSWORD set).',
].join('\n');

/**
 * Creates an instance owner after checking the email and password rules, bound to the managed
 * Admin role tenant-wide: an instance owner administers Perch, the binding lets them run Kestra.
 */
export async function createInstanceOwner(db: Store, config: PerchConfig, email: string, password: string): Promise<UserRow> {
  const parsedEmail = emailSchema.safeParse(email);
  if (!parsedEmail.success) throw new Error(`"${email}" is not a valid email address`);
  const problem = passwordProblem(password, config.password);
  if (problem) throw new Error(problem);
  const passwordHash = await hashPassword(password);
  await ensureManagedRoles(db, DEFAULT_TENANT);
  return db.transaction().execute(async (trx) => {
    if (await findUserByEmail(trx, parsedEmail.data)) throw new Error(`A user with email ${parsedEmail.data} already exists`);
    const user = await createUser(trx, { email: parsedEmail.data, passwordHash, superAdmin: true });
    await insertBinding(trx, DEFAULT_TENANT, { type: 'USER', subjectId: user.id, roleId: 'admin', namespace: null });
    return user;
  });
}

/** Until an instance owner exists Perch refuses service; once one does, the check costs nothing. */
export class FirstAdminGate implements FirstAdminStatus {
  private ready = false;
  private checkedAt = 0;

  /**
   * Runs when an instance owner shows up that this process did not create (`perch admin create`
   * beside a running Perch, another replica), before any request is let through: the owner's Admin
   * binding must be in the decision index by then.
   */
  onFound: () => Promise<void> = async () => {};

  constructor(private readonly db: Store) {}

  /** True once an instance owner exists; answered from memory from then on. */
  get known(): boolean {
    return this.ready;
  }

  async isReady(): Promise<boolean> {
    if (this.ready) return true;
    const now = Date.now();
    if (now - this.checkedAt < 1000) return false;
    this.checkedAt = now;
    if ((await countUsers(this.db, { superAdmin: true })) === 0) return false;
    await this.onFound();
    this.ready = true;
    return true;
  }

  /**
   * On start: create the configured admin when the store has none. The caller reloads the index
   * whatever the outcome: another replica may have created the admin since this one read it.
   */
  async bootstrap(config: PerchConfig): Promise<'ready' | 'created' | 'waiting'> {
    if (await this.isReady()) return 'ready';
    const { email, password } = config.admin;
    if (email && password) {
      try {
        await createInstanceOwner(this.db, config, email, password);
      } catch (error) {
        // Another replica started at the same time with the same settings and created it first.
        this.checkedAt = 0;
        if (await this.isReady()) return 'ready';
        throw error;
      }
      this.ready = true;
      return 'created';
    }
    return 'waiting';
  }
}
