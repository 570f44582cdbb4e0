/**
 * A virtual X display for the browser tests that need a headed browser: the permission prompt of
 * permissions.request() is native browser UI that headless Chromium never shows. The
 * prompt is answered the way a person would: XTEST key presses (xdotool) into the focused dialog
 * (Chromium) or a pointer click on its button (Firefox). Needs the Debian packages xvfb, xdotool and x11-apps (xwd), which .ci/run installs.
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { access } from 'node:fs/promises';
import { promisify } from 'node:util';

const run = promisify(execFile);
const TOOLS = ['/usr/bin/Xvfb', '/usr/bin/xdotool', '/usr/bin/xwd'];

export async function xvfbAvailable(): Promise<boolean> {
  const missing = (await Promise.all(TOOLS.map((tool) => access(tool).then(() => undefined, () => tool)))).filter(Boolean);
  if (missing.length === 0) return true;
  if (process.env.CI) throw new Error(`${missing.join(', ')} not found: CI must install xvfb, xdotool and x11-apps`);
  process.stderr.write(`*** ${missing.join(', ')} not found: the headed permission-prompt test is SKIPPED. apt-get install xvfb xdotool x11-apps to run it. ***\n`);
  return false;
}

export interface VirtualDisplay {
  /** ":N", for DISPLAY. */
  display: string;
  /** Colour of the screen's pixel at (x, y), as [r, g, b]. */
  pixel(x: number, y: number): Promise<[number, number, number]>;
  /** Presses keys (xdotool names: Tab, Return, Escape) into whatever has the keyboard focus. */
  keys(...names: string[]): Promise<void>;
  /** Moves the pointer to screen point (x, y) and presses the left button there, as a person's click. */
  click(x: number, y: number): Promise<void>;
  close(): Promise<void>;
}

/** Starts Xvfb on a free display number (it picks one and writes it to fd 3). */
export async function startXvfb(width = 1600, height = 1000): Promise<VirtualDisplay> {
  const server: ChildProcess = spawn('/usr/bin/Xvfb', ['-displayfd', '3', '-screen', '0', `${width}x${height}x24`, '-nolisten', 'tcp'], { stdio: ['ignore', 'ignore', 'ignore', 'pipe'] });
  const number = await new Promise<string>((resolve, reject) => {
    let text = '';
    server.stdio[3]!.on('data', (chunk: Buffer) => {
      text += chunk.toString();
      if (text.includes('\n')) resolve(text.trim());
    });
    server.once('exit', (code) => reject(new Error(`Xvfb exited (${code}) before it named its display`)));
  });
  const display = `:${number}`;
  const env = { ...process.env, DISPLAY: display };
  return {
    display,
    async pixel(x, y) {
      const { stdout } = await run('/usr/bin/xwd', ['-root', '-silent', '-display', display], { encoding: 'buffer', maxBuffer: 64 * 1024 * 1024 });
      return xwdPixel(stdout, x, y);
    },
    async keys(...names) {
      await run('/usr/bin/xdotool', ['key', ...names], { env });
    },
    async click(x, y) {
      await run('/usr/bin/xdotool', ['mousemove', String(Math.round(x)), String(Math.round(y)), 'click', '1'], { env });
    },
    async close() {
      if (server.exitCode !== null) return;
      const exited = new Promise((resolve) => server.once('exit', resolve));
      server.kill('SIGTERM');
      await exited;
    },
  };
}

/** Reads one pixel of an XWD dump (X Window Dump: a big-endian header, colour map, then rows) of a 24/32-bit TrueColor screen. */
export function xwdPixel(dump: Buffer, x: number, y: number): [number, number, number] {
  const field = (index: number) => dump.readUInt32BE(index * 4);
  const headerSize = field(0);
  const byteOrder = field(7); // 0: LSBFirst
  const bitsPerPixel = field(11);
  const bytesPerLine = field(12);
  const colours = field(19);
  if (bitsPerPixel !== 32) throw new Error(`xwd: ${bitsPerPixel} bits per pixel, 32 expected`);
  const at = headerSize + colours * 12 + y * bytesPerLine + x * 4;
  const value = byteOrder === 0 ? dump.readUInt32LE(at) : dump.readUInt32BE(at);
  // Each colour is where its mask says: shifted down by the mask's trailing zeros.
  const channel = (mask: number) => ((value & mask) >>> 0) >>> (31 - Math.clz32(mask & -mask));
  return [channel(field(14)), channel(field(15)), channel(field(16))];
}
