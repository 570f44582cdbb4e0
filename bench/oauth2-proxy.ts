/**
 * oauth2-proxy v7.15.6 for bench:proxy, configured as a team puts it in front of Kestra OSS: cookie
 * sessions, htpasswd sign-in, the upstream's Basic credentials passed on. Built once with
 * `go install` and reused; the bcrypt line of the htpasswd file comes from a tiny Go helper (Go's own
 * golang.org/x/crypto/bcrypt, which oauth2-proxy already pulled into the module cache), cached likewise.
 * When Go or the module proxy is missing, `prepareOauth2Proxy` says why and the bench skips the row.
 */
import { execFile } from 'node:child_process';
import { access, mkdir, writeFile } from 'node:fs/promises';
import { homedir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);
export const OAUTH2_PROXY_MODULE = 'github.com/oauth2-proxy/oauth2-proxy/v7';
export const OAUTH2_PROXY_VERSION = 'v7.15.6';
const CACHE = path.join(homedir(), '.cache', 'perch-bench');

export type Oauth2ProxyTool = { ok: true; binary: string; bcrypt: string } | { ok: false; reason: string };

const exists = (file: string) => access(file).then(() => true, () => false);

/** The installed binary if it is the pinned version (`go version -m` reads the module version Go stamped into it). */
async function installedBinary(gobin: string): Promise<string | undefined> {
  const binary = path.join(gobin, 'oauth2-proxy');
  if (!(await exists(binary))) return undefined;
  const { stdout } = await run('go', ['version', '-m', binary]).catch(() => ({ stdout: '' }));
  return new RegExp(`\\bmod\\s+${OAUTH2_PROXY_MODULE.replaceAll('/', '\\/')}\\s+${OAUTH2_PROXY_VERSION.replaceAll('.', '\\.')}\\b`).test(stdout) ? binary : undefined;
}

export async function prepareOauth2Proxy(): Promise<Oauth2ProxyTool> {
  const go = await run('go', ['env', 'GOBIN', 'GOPATH']).catch(() => undefined);
  if (!go) return { ok: false, reason: 'Go is not installed (`go` not on PATH), so oauth2-proxy cannot be built' };
  const [gobinSet, gopath] = go.stdout.split('\n');
  const gobin = gobinSet || path.join(gopath!.split(':')[0]!, 'bin');
  let binary = await installedBinary(gobin);
  if (!binary) {
    console.log(`building oauth2-proxy ${OAUTH2_PROXY_VERSION} once (go install; cached in ${gobin})…`);
    try {
      await run('go', ['install', `${OAUTH2_PROXY_MODULE}@${OAUTH2_PROXY_VERSION}`], { timeout: 15 * 60_000 });
    } catch (error) {
      return { ok: false, reason: `go install ${OAUTH2_PROXY_MODULE}@${OAUTH2_PROXY_VERSION} failed: ${String((error as { stderr?: string }).stderr ?? error).trim().split('\n').slice(-2).join(' ')}` };
    }
    binary = await installedBinary(gobin);
    if (!binary) return { ok: false, reason: `go install finished but ${path.join(gobin, 'oauth2-proxy')} is not ${OAUTH2_PROXY_VERSION}` };
  }
  const bcrypt = path.join(CACHE, 'bcrypt-hash');
  if (!(await exists(bcrypt))) {
    const src = path.join(CACHE, 'bcrypt-src');
    await mkdir(src, { recursive: true });
    await writeFile(path.join(src, 'go.mod'), 'module perchbench/bcrypthash\n\ngo 1.22\n\nrequire golang.org/x/crypto v0.58.0\n');
    await writeFile(path.join(src, 'main.go'), `package main

import (
\t"fmt"
\t"os"

\t"golang.org/x/crypto/bcrypt"
)

// Prints the bcrypt hash of its argument, as "htpasswd -B" would store it.
func main() {
\th, err := bcrypt.GenerateFromPassword([]byte(os.Args[1]), bcrypt.DefaultCost)
\tif err != nil {
\t\tpanic(err)
\t}
\tfmt.Print(string(h))
}
`);
    try {
      await run('go', ['build', '-o', bcrypt, '.'], { cwd: src, env: { ...process.env, GOFLAGS: '-mod=mod' }, timeout: 5 * 60_000 });
    } catch (error) {
      return { ok: false, reason: `could not build the bcrypt helper for the htpasswd file: ${String((error as { stderr?: string }).stderr ?? error).trim()}` };
    }
  }
  return { ok: true, binary, bcrypt };
}

/** The htpasswd file (bcrypt, as `htpasswd -B` writes) and the command line, minus the binary. */
export async function oauth2ProxyArgs(options: { tool: { bcrypt: string }; work: string; port: number; upstreamPort: number; user: string; password: string; kestraPassword: string }): Promise<string[]> {
  const hash = (await run(options.tool.bcrypt, [options.password])).stdout;
  const htpasswd = path.join(options.work, 'oauth2-proxy.htpasswd');
  await writeFile(htpasswd, `${options.user}:${hash}\n`);
  return [
    `--http-address=127.0.0.1:${options.port}`,
    `--upstream=http://127.0.0.1:${options.upstreamPort}/`,
    // No OAuth provider is reached: sign-in is the htpasswd form. The default provider needs an id and secret to start.
    '--provider=google', '--client-id=perch-bench', '--client-secret=perch-bench',
    `--htpasswd-file=${htpasswd}`, '--email-domain=*',
    '--session-store-type=cookie', `--cookie-secret=${'0123456789abcdef0123456789abcdef'}`, '--cookie-secure=false',
    // Kestra OSS wants Basic credentials: the signed-in user's name with the configured password.
    '--pass-basic-auth=true', `--basic-auth-password=${options.kestraPassword}`,
    // Same footing as nginx (access_log off) and Perch (log level warn): no line per request.
    '--request-logging=false', '--auth-logging=false',
  ];
}
