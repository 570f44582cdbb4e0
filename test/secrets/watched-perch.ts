import { mkdtemp, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { PassThrough } from 'node:stream';
import type { PerchConfigInput } from '../../backend/config/config.js';
import { secretsSync } from '../../backend/secrets/cli.js';
import { startSignedIn, type Answer, type Browser, type RunningPerch } from '../support/perch.js';
import { expectNoPlainValues } from './no-plain-values.js';


/** A signed-in Perch whose answers and debug log lines are kept, for the no-plain-value check of the manager suites. */
export interface WatchedPerch {
  perch: RunningPerch;
  admin: Browser;
  /** The owner's call; its answer is kept. */
  call(method: string, url: string, json?: unknown): Promise<Answer>;
  /** `perch secrets sync` into a new env file: the file's text and what the command printed. */
  sync(): Promise<{ exitCode: number; env: string; printed: string }>;
  /** None of `values` in any kept answer, log line, audit row or stored secret row. */
  expectNoPlainValues(values: string[]): Promise<void>;
  close(): Promise<void>;
}

export async function startWatchedPerch(config: PerchConfigInput): Promise<WatchedPerch> {
  const logs: string[] = [];
  const answers: Answer[] = [];
  const logStream = new PassThrough();
  logStream.on('data', (chunk: Buffer) => logs.push(chunk.toString('utf8')));
  const { perch, admin } = await startSignedIn({ logStream, config: { logLevel: 'debug', ...config } });
  return {
    perch,
    admin,
    async call(method, url, json) {
      const res = await admin.fetch(method, url, json === undefined ? {} : { json });
      answers.push(res);
      return res;
    },
    async sync() {
      const file = path.join(await mkdtemp(path.join(tmpdir(), 'perch-manager-sync-')), 'kestra.env');
      const printed: string[] = [];
      const exitCode = await secretsSync(perch.perch.ctx.config, { file }, { out: (l) => printed.push(l), err: (l) => printed.push(l) });
      return { exitCode, env: await readFile(file, 'utf8'), printed: printed.join('\n') };
    },
    expectNoPlainValues: (values) => expectNoPlainValues(perch, values, { answers, logs }),
    close: () => perch.close(),
  };
}
