/**
 * Debian's Firefox ESR driven over Marionette, Firefox's own automation protocol (the one geckodriver
 * speaks; Debian packages no geckodriver, and Playwright cannot launch a stock Firefox). The client
 * is the protocol itself: length-prefixed JSON over a loopback TCP socket. Marionette, unlike
 * WebDriver BiDi, opens moz-extension:// pages (the options page) and, with
 * -remote-allow-system-access, runs scripts in the browser's own (chrome) context, where the test
 * finds the permission prompt's buttons on screen and reads the extension's state.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { access, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import net from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';

export const FIREFOX = process.env.PERCH_FIREFOX ?? '/usr/bin/firefox-esr';

export async function firefoxAvailable(): Promise<boolean> {
  try {
    await access(FIREFOX);
    return true;
  } catch {
    if (process.env.CI) throw new Error(`Firefox not found at ${FIREFOX}: CI must install the firefox-esr package`);
    process.stderr.write(`*** Firefox not found at ${FIREFOX}: the Firefox extension tests are SKIPPED. apt-get install firefox-esr to run them. ***\n`);
    return false;
  }
}

/** Prefs for a quiet browser on a closed network; Marionette on a free port (written to MarionetteActivePort). */
const PREFS: Record<string, string | boolean | number> = {
  'marionette.port': 0,
  'browser.shell.checkDefaultBrowser': false,
  'app.update.disabledForTesting': true,
  'datareporting.policy.dataSubmissionEnabled': false,
  'toolkit.telemetry.enabled': false,
  'browser.startup.homepage_override.mstone': 'ignore',
  'browser.startup.page': 0,
  'network.captive-portal-service.enabled': false,
  'network.connectivity-service.enabled': false,
  'browser.safebrowsing.update.enabled': false,
  'extensions.update.enabled': false,
  'extensions.getAddons.cache.enabled': false,
  'browser.newtabpage.enabled': false,
  // Page and extension console lines on Firefox's stdout, shown with PERCH_FIREFOX_LOG=1.
  'devtools.console.stdout.chrome': true,
  'devtools.console.stdout.content': true,
};

/** Marionette's name for an element reference in a command's answer. */
const ELEMENT_KEY = 'element-6066-11e4-a52e-4f735466cecf';

export interface Firefox {
  /** Installs an unpacked extension as a temporary add-on (as about:debugging does); returns its id. */
  installTemporary(dir: string): Promise<string>;
  /** Runs a function body in the browser's chrome (privileged) context and returns its value. */
  chrome<T>(body: string, ...args: unknown[]): Promise<T>;
  /** Runs a function body in the current tab's page and returns its value. */
  page<T>(body: string, ...args: unknown[]): Promise<T>;
  /** Opens a new tab and makes it the current one. */
  newTab(): Promise<string>;
  switchTo(tab: string): Promise<void>;
  navigate(url: string): Promise<void>;
  /** Types into the element matching `css` (WebDriver key events). */
  type(css: string, text: string): Promise<void>;
  /** Clicks the element matching `css`: a WebDriver click, which counts as the person's gesture. */
  click(css: string): Promise<void>;
  close(): Promise<void>;
}

/** Starts Firefox with a fresh profile: headless, or headed on an X display (Xvfb) for native prompts. */
export async function launchFirefox(headed?: { display: string }): Promise<Firefox> {
  const profile = await mkdtemp(path.join(tmpdir(), 'perch-firefox-'));
  await writeFile(path.join(profile, 'user.js'), Object.entries(PREFS).map(([k, v]) => `user_pref(${JSON.stringify(k)}, ${JSON.stringify(v)});`).join('\n'));
  const args = [...(headed ? [] : ['-headless']), '-no-remote', '-profile', profile, '-marionette', '-remote-allow-system-access'];
  const child: ChildProcess = spawn(FIREFOX, args, {
    stdio: ['ignore', process.env.PERCH_FIREFOX_LOG ? 'inherit' : 'ignore', process.env.PERCH_FIREFOX_LOG ? 'inherit' : 'ignore'],
    env: headed ? { ...process.env, DISPLAY: headed.display } : process.env,
  });
  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) {
      const exited = new Promise((resolve) => child.once('exit', resolve));
      child.kill('SIGTERM');
      await exited;
    }
    await rm(profile, { recursive: true, force: true });
  };
  try {
    const session = await connect(await activePort(profile, child));
    await session.send('WebDriver:NewSession', { capabilities: {} });
    return browserOf(session, stop);
  } catch (error) {
    await stop();
    throw error;
  }
}

/** Waits for Firefox to write the port it listens on into the profile. */
async function activePort(profile: string, child: ChildProcess): Promise<number> {
  for (let attempt = 0; attempt < 150; attempt++) {
    if (child.exitCode !== null) throw new Error(`Firefox exited (${child.exitCode}) before Marionette started`);
    const port = Number(await readFile(path.join(profile, 'MarionetteActivePort'), 'utf8').catch(() => '0'));
    if (port > 0) return port;
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  throw new Error('Marionette did not start within 30 s');
}

interface Session {
  send(command: string, params?: object): Promise<any>;
  end(): void;
}

/** One Marionette connection: messages are `<length>:<json>`; commands [0, id, name, params], answers [1, id, error, result]. */
async function connect(port: number): Promise<Session> {
  const socket = net.connect(port, '127.0.0.1');
  await new Promise<void>((resolve, reject) => {
    socket.once('connect', resolve);
    socket.once('error', reject);
  });
  let buffer = Buffer.alloc(0);
  let greeted = false;
  let greeting: (() => void) | undefined;
  let last = 0;
  const waiting = new Map<number, { resolve(v: unknown): void; reject(e: Error): void }>();
  socket.on('data', (chunk: Buffer) => {
    buffer = Buffer.concat([buffer, chunk]);
    for (;;) {
      const colon = buffer.indexOf(':');
      if (colon < 0) return;
      const length = Number(buffer.subarray(0, colon).toString());
      if (buffer.length < colon + 1 + length) return;
      const message = JSON.parse(buffer.subarray(colon + 1, colon + 1 + length).toString()) as unknown;
      buffer = buffer.subarray(colon + 1 + length);
      if (!Array.isArray(message)) {
        greeted = true; // { applicationType, marionetteProtocol }
        greeting?.();
        continue;
      }
      const [, id, error, result] = message as [1, number, { error: string; message: string } | null, unknown];
      const handler = waiting.get(id);
      waiting.delete(id);
      if (error) handler?.reject(new Error(`Marionette ${error.error}: ${error.message}`));
      else handler?.resolve(result);
    }
  });
  socket.on('close', () => {
    for (const handler of waiting.values()) handler.reject(new Error('Marionette connection closed'));
    waiting.clear();
  });
  if (!greeted) await new Promise<void>((resolve) => (greeting = resolve));
  return {
    send: (command, params = {}) =>
      new Promise((resolve, reject) => {
        const id = ++last;
        waiting.set(id, { resolve, reject });
        const text = JSON.stringify([0, id, command, params]);
        socket.write(`${Buffer.byteLength(text)}:${text}`);
      }),
    end: () => socket.destroy(),
  };
}

function browserOf(session: Session, stop: () => Promise<void>): Firefox {
  let context: 'chrome' | 'content' = 'content';
  const useContext = async (wanted: 'chrome' | 'content') => {
    if (context === wanted) return;
    await session.send('Marionette:SetContext', { value: wanted });
    context = wanted;
  };
  const run = async <T>(where: 'chrome' | 'content', body: string, args: unknown[]): Promise<T> => {
    await useContext(where);
    // The body may await: run as an async script that hands its value to Marionette's callback.
    const script = `const done = arguments[arguments.length - 1]; (async (...args) => { ${body} })(...Array.from(arguments).slice(0, -1)).then(done, (e) => done({ __error: String(e) }));`;
    const { value } = (await session.send('WebDriver:ExecuteAsyncScript', { script, args })) as { value: T & { __error?: string } };
    if (value && typeof value === 'object' && '__error' in value) throw new Error(`in ${where}: ${value.__error}`);
    return value;
  };
  const element = async (css: string) => {
    await useContext('content');
    const { value } = (await session.send('WebDriver:FindElement', { using: 'css selector', value: css })) as { value: Record<string, string> };
    return value[ELEMENT_KEY]!;
  };
  return {
    async installTemporary(dir) {
      return ((await session.send('Addon:Install', { path: dir, temporary: true })) as { value: string }).value;
    },
    chrome: (body, ...args) => run('chrome', body, args),
    page: (body, ...args) => run('content', body, args),
    async newTab() {
      await useContext('content');
      const { handle } = (await session.send('WebDriver:NewWindow', { type: 'tab' })) as { handle: string };
      await session.send('WebDriver:SwitchToWindow', { handle });
      return handle;
    },
    async switchTo(tab) {
      await useContext('content');
      await session.send('WebDriver:SwitchToWindow', { handle: tab });
    },
    async navigate(url) {
      await useContext('content');
      await session.send('WebDriver:Navigate', { url });
    },
    async type(css, text) {
      await session.send('WebDriver:ElementSendKeys', { id: await element(css), text });
    },
    async click(css) {
      await session.send('WebDriver:ElementClick', { id: await element(css) });
    },
    async close() {
      await session.send('WebDriver:DeleteSession').catch(() => undefined);
      session.end();
      await stop();
    },
  };
}
