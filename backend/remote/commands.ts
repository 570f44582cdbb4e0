import { readFile } from 'node:fs/promises';
import type { Command } from 'commander';
import { formatAnswer, formatJson } from '../cli-output.js';

/**
 * `perch` commands that act on a running Perch through its API, for CI jobs and scripts: every
 * call carries `Authorization: Bearer <token>` and goes through the same RBAC as a person's.
 */
export interface RemoteOptions {
  server?: string;
  apiToken?: string;
}

export class RemoteError extends Error {
  /** The status Perch answered, when it answered. */
  constructor(message: string, readonly status?: number) {
    super(message);
  }
}

function connection(options: RemoteOptions): { server: string; token: string } {
  const server = options.server ?? process.env.PERCH_SERVER;
  const token = options.apiToken ?? process.env.PERCH_API_TOKEN;
  if (!server) throw new RemoteError('give --server URL or set PERCH_SERVER');
  if (!token) throw new RemoteError('give --api-token TOKEN or set PERCH_API_TOKEN');
  if (!/^https?:\/\//.test(server) || !URL.canParse(server)) throw new RemoteError(`--server must be an http(s) URL, not ${server}`);
  return { server: server.replace(/\/+$/, ''), token };
}

/**
 * The URL of `path` on `server`. The token goes with the call, so the path must stay on the server:
 * one starting `@host`, `.host` or `:port` would move a string-joined URL elsewhere.
 */
function urlOn(server: string, path: string): string {
  const url = path.startsWith('/') && !path.startsWith('//') && URL.canParse(`${server}${path}`) ? new URL(`${server}${path}`) : null;
  if (!url || url.origin !== new URL(server).origin) throw new RemoteError(`the path must start with a single / and stay on ${server}, not ${path}`);
  return url.href;
}

/** One API call; a refusal becomes an error carrying Perch's own message. */
export async function callPerch(options: RemoteOptions, method: string, path: string, body?: { json?: unknown; yaml?: string }): Promise<unknown> {
  const { server, token } = connection(options);
  const url = urlOn(server, path);
  const headers: Record<string, string> = { authorization: `Bearer ${token}`, accept: 'application/json' };
  let payload: string | undefined;
  if (body?.json !== undefined) {
    headers['content-type'] = 'application/json';
    payload = JSON.stringify(body.json);
  } else if (body?.yaml !== undefined) {
    headers['content-type'] = 'application/x-yaml';
    payload = body.yaml;
  }
  // Loaded on the first call: the CLI's other commands (and --help) start without undici.
  const { request } = await import('undici');
  let res;
  try {
    res = await request(url, { method: method as 'GET', headers, body: payload, headersTimeout: 30_000, bodyTimeout: 30_000 });
  } catch (error) {
    throw new RemoteError(`cannot reach Perch at ${server}: ${(error as { code?: string }).code ?? (error as Error).message}`);
  }
  const text = await res.body.text();
  let parsed: unknown = text;
  try {
    parsed = text ? JSON.parse(text) : null;
  } catch {
    // not JSON: keep the text
  }
  // Anything but a 2xx is a failure: a redirect (say, a load balancer sending http to https) did nothing.
  if (res.statusCode < 200 || res.statusCode >= 300) {
    const location = res.headers.location;
    const message = res.statusCode < 400 ? `a redirect${location ? ` to ${String(location)}` : ''}, which is not followed (is --server right?)` : ((parsed as { message?: string } | null)?.message ?? text);
    throw new RemoteError(`${method} ${path} answered ${res.statusCode}: ${message}`, res.statusCode);
  }
  return parsed;
}

/** People get a table (cli-output.ts), scripts the JSON Perch answered (`--json`). */
const print = (value: unknown, json: boolean) => process.stdout.write(`${json ? formatJson(value) : formatAnswer(value)}\n`);

function remote(command: Command): Command {
  command
    .option('--server <url>', 'the Perch to act on (or PERCH_SERVER)')
    .option('--api-token <token>', 'an API token (or PERCH_API_TOKEN)');
  // `perch api` has a `--json <body>` of its own and prints Perch's JSON as it is.
  if (!command.options.some((option) => option.long === '--json')) command.option('--json', 'print the JSON Perch answered, for scripts');
  return command;
}

const printsJson = (command: Command) => command.name() === 'api' || command.opts().json === true;

/** A user named by email or id: an email is looked up (exact match) among the users Perch lists. */
async function userIdOf(options: RemoteOptions, who: string): Promise<string> {
  if (!who.includes('@')) return who;
  const email = who.trim().toLowerCase();
  const found = (await callPerch(options, 'GET', `/api/v1/users?size=50&q=${encodeURIComponent(email)}`)) as { results?: { id: string; username?: string; email?: string }[] };
  const user = found.results?.find((u) => (u.email ?? u.username)?.toLowerCase() === email);
  if (!user) throw new RemoteError(`no user with email ${email}`);
  return user.id;
}

export function registerRemoteCommands(
  program: Command,
  fail: (message: string) => never,
  /** `users list` without a server: the local store's users (users/cli.ts). */
  localUsersList?: (options: { json?: boolean; config?: string; query?: string }) => Promise<number>,
): void {
  const run = (work: (options: RemoteOptions & Record<string, string>, ...args: string[]) => Promise<unknown>) =>
    async (...args: unknown[]) => {
      const command = args[args.length - 1] as Command;
      const positional = args.slice(0, -2) as string[];
      try {
        print(await work(command.opts(), ...positional), printsJson(command));
      } catch (error) {
        if (error instanceof RemoteError) fail(error.message);
        throw error;
      }
    };

  const users = program.command('users').description('manage users on a running Perch');
  remote(users.command('list').description('list users (without --server / PERCH_SERVER: read this machine\'s store)').option('--query <text>', 'free-text filter').option('-c, --config <file>', 'YAML configuration file, for the local store (or PERCH_CONFIG)')).action(
    async (o: RemoteOptions & { json?: boolean; config?: string; query?: string }, command: Command) => {
      if (localUsersList && !o.server && !process.env.PERCH_SERVER) {
        process.exitCode = await localUsersList(o);
        return;
      }
      await run((opts) => callPerch(opts, 'GET', `/api/v1/users?size=500${opts.query ? `&q=${encodeURIComponent(opts.query)}` : ''}`))(o, command);
    },
  );
  remote(users.command('create').description('create a user').requiredOption('--email <email>').option('--password <password>')).action(
    run((o) => callPerch(o, 'POST', '/api/v1/users', { json: { email: o.email, ...(o.password ? { password: o.password } : {}) } })),
  );
  remote(users.command('disable').description('disable a user: their sessions end, and their tokens stop working until they are enabled again').argument('<email-or-id>')).action(
    run(async (o, who) => callPerch(o, 'PATCH', `/api/v1/users/${encodeURIComponent(await userIdOf(o, who!))}`, { json: { disabled: true } })),
  );

  const tokens = program.command('tokens').description("manage the calling account's API tokens");
  remote(tokens.command('list').description('list tokens')).action(run((o) => callPerch(o, 'GET', '/api/v1/me/api-tokens')));
  // No `tokens create`: a call authenticated by an API token may not mint tokens (docs/notes/authz-scope.md).
  remote(tokens.command('revoke').description('revoke a token').argument('<tokenId>')).action(
    run((o, id) => callPerch(o, 'DELETE', `/api/v1/me/api-tokens/${encodeURIComponent(id!)}`)),
  );

  const flows = program.command('flows').description('manage Kestra flows through Perch');
  remote(flows.command('push').description('create or update the flow in a YAML file').argument('<file>')).action(
    run(async (o, file) => {
      const yaml = await readFile(file!, 'utf8');
      const ns = /^namespace:\s*([\w.-]+)\s*$/m.exec(yaml)?.[1];
      const id = /^id:\s*([\w.-]+)\s*$/m.exec(yaml)?.[1];
      if (!ns || !id) throw new RemoteError(`${file} has no top-level id and namespace`);
      try {
        return await callPerch(o, 'PUT', `/api/v1/main/flows/${ns}/${id}`, { yaml });
      } catch (error) {
        if (!(error instanceof RemoteError) || !/answered 404/.test(error.message)) throw error;
        return callPerch(o, 'POST', '/api/v1/main/flows', { yaml });
      }
    }),
  );

  remote(program.command('api').description('call any Perch or Kestra API route, e.g. perch api GET /api/v1/me').argument('<method>').argument('<path>').option('--json <body>', 'a JSON request body')).action(
    run((o, method, path) => callPerch(o, method!.toUpperCase(), path!, o.json ? { json: JSON.parse(o.json) } : undefined)),
  );
}
