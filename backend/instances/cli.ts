import { createInterface } from 'node:readline/promises';
import path from 'node:path';
import type { Command } from 'commander';

const DEFAULT_ROOT = './instances';
// Loaded by the commands that use it: `perch --help` loads almost nothing.
const stacks = () => import('./instance-stacks.js');
const say = (line: string): void => void process.stdout.write(`${line}\n`);

/** `perch instance new | list | remove`: one Kestra, database and Perch per client. */
export function registerInstanceCommands(program: Command, fail: (message: string) => never): void {
  const instance = program.command('instance').description("one Kestra per client: each client's own stack (Kestra, PostgreSQL, Perch)");

  instance
    .command('new <client>')
    .description("make a client's stack (or bring it up to date, keeping its secrets)")
    .option('--dir <folder>', 'where the stacks live', DEFAULT_ROOT)
    .requiredOption('--admin-email <email>', "the client's first Perch administrator")
    .option('--port <port>', "the port the client's Perch publishes (default: the next free one from 8090)", (v) => Number(v))
    .option('--kestra-version <tag>', 'the kestra/kestra image tag', undefined)
    .option('--standalone', "the client gets its own Perch (the only mode until tenants exist: issue 20)")
    .action(async (client: string, options: { dir: string; adminEmail: string; port?: number; kestraVersion?: string; standalone?: boolean }) => {
      if (!options.standalone) {
        fail("registering a client's Kestra as a tenant of a central Perch needs tenants, which Perch does not have yet: give --standalone for a client's own Perch");
      }
      const root = path.resolve(options.dir);
      const { InstanceError, newInstance } = await stacks();
      try {
        const made = await newInstance(root, { client, adminEmail: options.adminEmail, port: options.port, kestraVersion: options.kestraVersion }, say);
        const folder = path.join(root, made.instance.client);
        say(`${made.created ? 'made' : 'updated'} ${made.instance.client}: Perch on port ${made.instance.port}, in ${folder}`);
        if (made.adminPassword) say(`first administrator ${made.instance.adminEmail}, password (shown this once): ${made.adminPassword}`);
        say(`start it: cd ${folder} && docker compose up -d --build`);
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
    .action(async (options: { dir: string; json?: boolean }) => {
      const instances = await (await stacks()).listInstances(path.resolve(options.dir));
      if (options.json) return say(JSON.stringify(instances));
      if (instances.length === 0) return say(`no instances in ${path.resolve(options.dir)}`);
      const rows = [['CLIENT', 'PORT', 'ADMIN', 'KESTRA', 'CREATED'], ...instances.map((i) => [i.client, String(i.port), i.adminEmail, i.kestraVersion, i.created])];
      const widths = rows[0]!.map((_, c) => Math.max(...rows.map((r) => r[c]!.length)));
      for (const row of rows) say(row.map((cell, c) => cell.padEnd(widths[c]!)).join('  ').trimEnd());
    });

  instance
    .command('remove <client>')
    .description("move a client's stack aside (its secrets and backups are kept); stop it first with docker compose down")
    .option('--dir <folder>', 'where the stacks live', DEFAULT_ROOT)
    .option('--yes', 'do not ask for confirmation')
    .action(async (client: string, options: { dir: string; yes?: boolean }) => {
      if (!options.yes) {
        if (!process.stdin.isTTY) fail(`removing ${client} needs confirmation: give --yes (no terminal to ask on)`);
        const prompt = createInterface({ input: process.stdin, output: process.stdout });
        const answer = await prompt.question(`Type the client's name (${client}) to remove its stack: `);
        prompt.close();
        if (answer.trim() !== client) fail('not confirmed: nothing removed');
      }
      try {
        const kept = await (await stacks()).removeInstance(path.resolve(options.dir), client, say);
        say(`removed ${client}: its folder, secrets and backups are in ${kept}; its containers and volumes: docker compose -p perch-${client} down`);
      } catch (error) {
        fail((error as Error).message);
      }
    });
}
