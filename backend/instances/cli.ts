import { createInterface } from 'node:readline/promises';
import path from 'node:path';
import type { Command } from 'commander';

const DEFAULT_ROOT = './instances';
// Loaded by the commands that use it: `perch --help` loads almost nothing.
const stacks = () => import('./instance-stacks.js');
const say = (line: string): void => void process.stdout.write(`${line}\n`);

/**
 * `perch instance new | list | remove`: one Kestra, database and Perch per client. With `--server`
 * the client's Kestra is also an INSTANCE tenant of that central Perch; without it, standalone.
 */
export function registerInstanceCommands(program: Command, fail: (message: string) => never): void {
  const instance = program.command('instance').description("one Kestra per client: each client's own stack (Kestra, PostgreSQL, Perch)");

  instance
    .command('new <client>')
    .description("make a client's stack (or bring it up to date, keeping its secrets); with --server, its Kestra becomes an INSTANCE tenant of that central Perch, otherwise the client gets a standalone Perch")
    .option('--dir <folder>', 'where the stacks live', DEFAULT_ROOT)
    .requiredOption('--admin-email <email>', "the client's first Perch administrator")
    .option('--port <port>', "the port the client's Perch publishes (default: the next free one from 8090)", (v) => Number(v))
    .option('--kestra-version <tag>', 'the kestra/kestra image tag', undefined)
    .option('--server <url>', "a central Perch: the client's Kestra is registered as its tenant (named like the client)")
    .option('--api-token <token>', "an instance owner's API token on the central Perch (or PERCH_API_TOKEN)")
    .option('--kestra-url <url>', "with --server: the URL the central Perch reaches the client's Kestra at (default http://127.0.0.1:<port + 1000>, which the stack publishes)")
    .option('--standalone', 'the client gets its own Perch and no central one (the default without --server)')
    .action(async (client: string, options: NewOptions) => {
      if (options.standalone && options.server) fail('--standalone and --server exclude each other: a standalone client has no central Perch');
      if (options.kestraUrl && !options.server) fail("--kestra-url is where a central Perch reaches the client's Kestra: give --server too");
      const root = path.resolve(options.dir);
      const { InstanceError, newInstance, planInstance } = await stacks();
      const registration = options.server ? await import('./tenant-registration.js') : undefined;
      try {
        const tenant = options.server ? { server: options.server, kestraUrl: options.kestraUrl } : undefined;
        const wanted = { client, adminEmail: options.adminEmail, port: options.port, kestraVersion: options.kestraVersion, tenant };
        // Checked before anything is written: the tenant id, the central Perch and its token, a tenant of that id.
        if (registration) {
          const { instance: planned } = await planInstance(root, wanted);
          const found = await registration.checkTenant({ server: options.server, apiToken: options.apiToken }, { ...planned, tenant: planned.tenant! }).catch((error: Error) => {
            throw new InstanceError(`${error.message}\nnothing was written: the stack in ${path.join(root, planned.client)} is as it was`);
          });
          say(`central Perch ${options.server}: tenant ${planned.client} ${found === 'kept' ? 'already has this Kestra' : 'not registered yet'}`);
        }
        const made = await newInstance(root, wanted, say);
        const folder = path.join(root, made.instance.client);
        let registered: string | undefined;
        let refused: Error | undefined;
        if (registration && made.instance.tenant) {
          const { server, kestraUrl } = made.instance.tenant;
          say(`[5/5] tenant ${made.instance.client} on ${server} (INSTANCE: its Kestra at ${kestraUrl})`);
          try {
            const outcome = await registration.registerTenant({ server, apiToken: options.apiToken }, root, { ...made.instance, tenant: made.instance.tenant });
            registered = outcome === 'created' ? `registered tenant ${made.instance.client} on ${server}` : `tenant ${made.instance.client} on ${server} already has this Kestra (${kestraUrl}): kept as it is`;
          } catch (error) {
            refused = error as Error;
          }
        }
        say(`${made.created ? 'made' : 'updated'} ${made.instance.client}: Perch on port ${made.instance.port}, in ${folder}`);
        // Shown even when registration failed: the password is never shown again.
        if (made.adminPassword) say(`first administrator ${made.instance.adminEmail}, password (shown this once): ${made.adminPassword}`);
        say(`start it: cd ${folder} && docker compose up -d --build`);
        if (refused) {
          const retry = ['npx perch instance new', client, '--dir', options.dir, '--admin-email', options.adminEmail, '--server', options.server!];
          if (options.kestraUrl) retry.push('--kestra-url', options.kestraUrl);
          fail(
            `step 5 (tenant ${client}) failed: ${refused.message}\n` +
              `left behind: the stack in ${folder} (with its secrets); no tenant was registered on ${options.server}\n` +
              `retry, once the central Perch can reach the client's Kestra: ${retry.join(' ')} --api-token <owner token>`,
          );
        }
        if (registered) say(registered);
      } catch (error) {
        if (error instanceof InstanceError) {
          fail(`${error.message}${error.leftBehind.length ? `\nleft behind: ${error.leftBehind.join(', ')}` : ''}`);
        }
        fail((error as Error).message);
      }
    });

  instance
    .command('list')
    .description("the clients' stacks")
    .option('--dir <folder>', 'where the stacks live', DEFAULT_ROOT)
    .option('--json', 'JSON for scripts')
    .option('--server <url>', "a central Perch: also shows whether each client's Kestra is its tenant")
    .option('--api-token <token>', "an instance owner's API token on the central Perch (or PERCH_API_TOKEN)")
    .action(async (options: { dir: string; json?: boolean; server?: string; apiToken?: string }) => {
      const instances = await (await stacks()).listInstances(path.resolve(options.dir));
      let registered: Map<string, string> | undefined;
      try {
        if (options.server) registered = await (await import('./tenant-registration.js')).registrations({ server: options.server, apiToken: options.apiToken }, instances);
      } catch (error) {
        fail((error as Error).message);
      }
      const shown = instances.map((i) => (registered ? { ...i, registered: registered.get(i.client)! } : i));
      if (options.json) return say(JSON.stringify(shown));
      if (instances.length === 0) return say(`no instances in ${path.resolve(options.dir)}`);
      const head = ['CLIENT', 'PORT', 'ADMIN', 'KESTRA', 'CREATED', ...(registered ? [`TENANT ON ${options.server}`] : [])];
      const rows = [head, ...shown.map((i) => [i.client, String(i.port), i.adminEmail, i.kestraVersion, i.created, ...('registered' in i ? [i.registered] : [])])];
      const widths = rows[0]!.map((_, c) => Math.max(...rows.map((r) => r[c]!.length)));
      for (const row of rows) say(row.map((cell, c) => cell.padEnd(widths[c]!)).join('  ').trimEnd());
    });

  instance
    .command('remove <client>')
    .description("move a client's stack aside (its secrets and backups are kept); stop it first with docker compose down. With --server, its tenant on that central Perch is deleted first")
    .option('--dir <folder>', 'where the stacks live', DEFAULT_ROOT)
    .option('--server <url>', "the central Perch the client's Kestra is a tenant of: the tenant is deleted (with its access and bindings there)")
    .option('--api-token <token>', "an instance owner's API token on the central Perch (or PERCH_API_TOKEN)")
    .option('--yes', 'do not ask for confirmation')
    .action(async (client: string, options: { dir: string; yes?: boolean; server?: string; apiToken?: string }) => {
      const root = path.resolve(options.dir);
      const { findInstance, removeInstance } = await stacks();
      const found = await findInstance(root, client).catch(() => undefined);
      if (!found) fail(`no instance ${client} in ${root}: nothing removed`);
      const what = options.server ? `its stack and its tenant on ${options.server}` : 'its stack';
      if (!options.yes) {
        if (!process.stdin.isTTY) fail(`removing ${client} needs confirmation: give --yes (no terminal to ask on)`);
        const prompt = createInterface({ input: process.stdin, output: process.stdout });
        const answer = await prompt.question(`Type the client's name (${client}) to remove ${what}: `);
        prompt.close();
        if (answer.trim() !== client) fail('not confirmed: nothing removed');
      }
      let tenantLine = '';
      if (options.server) {
        say(`[1/3] tenant ${client} on ${options.server}`);
        try {
          const outcome = await (await import('./tenant-registration.js')).unregisterTenant({ server: options.server, apiToken: options.apiToken }, found);
          tenantLine = outcome === 'deleted' ? `deleted tenant ${client} on ${options.server}; ` : `no tenant ${client} on ${options.server} (nothing to delete); `;
        } catch (error) {
          fail(`step 1 (tenant ${client}) failed: ${(error as Error).message}\nleft behind: the stack in ${path.join(root, client)}, untouched`);
        }
      }
      try {
        const kept = await removeInstance(root, client, say, options.server ? 1 : 0);
        say(`${tenantLine}removed ${client}: its folder, secrets and backups are in ${kept}; its containers and volumes: docker compose -p perch-${client} down`);
      } catch (error) {
        fail(`${tenantLine}${(error as Error).message}`);
      }
    });
}

interface NewOptions {
  dir: string;
  adminEmail: string;
  port?: number;
  kestraVersion?: string;
  server?: string;
  apiToken?: string;
  kestraUrl?: string;
  standalone?: boolean;
}
