/**
 * Helpers for the Neovim conformance tests: real `nvim --embed --headless` processes with the
 * plugin from clients/neovim, real daemons started through `chorus connect`, and a small scripted
 * protocol client that reads the daemon's text. Every process started here is killed by `cleanup`.
 */
import { execFileSync, spawn, spawnSync, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { attach, type NeovimClient } from 'neovim';
import { tempDir } from '../support/project-dir.js';
import { createMessageConnection, StreamMessageReader, StreamMessageWriter, type MessageConnection } from 'vscode-jsonrpc/node';
import { skipReason } from '../support/skip.js';

const here = path.dirname(fileURLToPath(import.meta.url));
export const repo = path.resolve(here, '..', '..');
export const cli = path.join(repo, 'daemon', 'dist', 'cli.js');
const pluginDir = path.join(repo, 'clients', 'neovim');
const initLua = path.join(here, 'init.lua');

function nvimVersion(): string | undefined {
  const r = spawnSync('nvim', ['--version'], { encoding: 'utf8' });
  return r.status === 0 ? r.stdout.split('\n')[0] : undefined;
}

/**
 * Whether these tests can run here. Without `nvim` (or without a built daemon) they skip with a
 * printed reason, unless CHORUS_REQUIRE_ALL=1, which turns the skip into a failure.
 */
export function neovimSkipReason(): string | undefined {
  let reason: string | undefined;
  if (!nvimVersion()) reason = 'nvim is not installed (apt-get install -y neovim)';
  else if (!fs.existsSync(cli)) reason = `the daemon is not built (${cli} missing; run npm run build)`;
  return skipReason('Neovim tests', reason);
}

/** Whether the built daemon binds a protocol method (by its constant name in protocol/). */
export function daemonHas(constName: string): boolean {
  const dir = path.join(repo, 'daemon', 'dist');
  const walk = (d: string): boolean =>
    fs.readdirSync(d, { withFileTypes: true }).some((e) => {
      const p = path.join(d, e.name);
      if (e.isDirectory()) return walk(p);
      return e.name.endsWith('.js') && new RegExp(`\\bP\\.${constName}\\b|\\b${constName}\\.type\\b`).test(fs.readFileSync(p, 'utf8'));
    });
  return walk(dir);
}

/** Skip (or, with CHORUS_REQUIRE_ALL=1, fail) when the daemon lacks a feature. */
export function featureSkipReason(constName: string, what: string): string | undefined {
  if (daemonHas(constName)) return undefined;
  const reason = `the daemon does not implement ${what} (${constName}) yet`;
  if (process.env.CHORUS_REQUIRE_ALL === '1') throw new Error(`required but ${reason}`);
  console.warn(`skipping: ${reason}`);
  return reason;
}

export async function waitFor<T>(what: string, fn: () => Promise<T | undefined | false> | T | undefined | false, ms = 30000): Promise<T> {
  const end = Date.now() + ms;
  let last: unknown;
  for (;;) {
    try {
      const v = await fn();
      if (v !== undefined && v !== false) return v as T;
    } catch (e) {
      last = e;
    }
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}${last ? `: ${(last as Error).message}` : ''}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** The daemon log of project `dir`, one entry per logged line (with its continuation lines); none yet: empty. */
export function logOf(dir: string): string[] {
  try {
    return fs.readFileSync(path.join(dir, '.chorus', 'daemon.log'), 'utf8').split(/\n(?=\d{4}-)/);
  } catch {
    return [];
  }
}

/** Everything a test started, stopped at the end. */
export class Scene {
  readonly dirs: string[] = [];
  readonly nvims: Nvim[] = [];
  readonly clients: ProtocolClient[] = [];

  /** A fresh project folder (with `.chorus/`) holding `files`; its daemon calls itself `name`. */
  project(files: Record<string, string> = {}, name?: string): string {
    const dir = tempDir('chorus-nvim-');
    fs.mkdirSync(path.join(dir, '.chorus'));
    if (name) fs.writeFileSync(path.join(dir, '.chorus', 'identity.json'), JSON.stringify({ name }));
    for (const [name, text] of Object.entries(files)) {
      fs.mkdirSync(path.dirname(path.join(dir, name)), { recursive: true });
      fs.writeFileSync(path.join(dir, name), text);
    }
    this.dirs.push(dir);
    return dir;
  }

  /**
   * Two peered daemons on loopback: `chorus share <a> --host 127.0.0.1`, then `chorus join` into
   * an empty folder b (also --host 127.0.0.1: nothing here listens on or dials another address).
   */
  pair(files: Record<string, string>, joinFlags: string[] = []): { a: string; b: string } {
    const a = this.project(files, 'Ada');
    const b = this.project({}, 'Bob');
    const run = (...args: string[]) => execFileSync(process.execPath, [cli, ...args], { encoding: 'utf8', timeout: 60000 });
    const { code } = JSON.parse(run('share', a, '--json', '--host', '127.0.0.1')) as { code: string };
    run('join', code, b, '--json', '--host', '127.0.0.1', ...joinFlags);
    return { a, b };
  }

  async nvim(setup: Record<string, unknown> = {}): Promise<Nvim> {
    const n = await Nvim.start(setup);
    this.nvims.push(n);
    return n;
  }

  async client(dir: string): Promise<ProtocolClient> {
    const c = await ProtocolClient.start(dir);
    this.clients.push(c);
    return c;
  }

  async cleanup(): Promise<void> {
    // Editors first, together (each waits for its own exit), so that none reconnects to a
    // daemon being stopped and starts it again.
    await Promise.all(this.nvims.map((n) => n.quit()));
    for (const c of this.clients) c.close();
    await Promise.all(
      this.dirs.map(
        (dir) =>
          new Promise<void>((resolve) => {
            // (exits non-zero when no daemon runs: already stopped)
            const p = spawn(process.execPath, [cli, 'stop', dir], { stdio: 'ignore' });
            const t = setTimeout(() => p.kill('SIGKILL'), 20000);
            p.on('exit', () => {
              clearTimeout(t);
              fs.rmSync(dir, { recursive: true, force: true });
              resolve();
            });
          }),
      ),
    );
  }
}

/** A headless Neovim with the plugin loaded, driven over msgpack-RPC. */
export class Nvim {
  /**
   * Rejects once Neovim exits unasked. Every call races it: Neovim 0.7.2 itself segfaulted once
   * in a full run (end-of-buffer, "segfault at …" in the kernel log, while the plugin set a
   * buffer's lines), and the calls pending then never settled, so each later case of the file
   * waited out its 120 s and said only "timed out".
   */
  private readonly gone: Promise<never>;
  private quitting = false;

  private constructor(
    readonly proc: ChildProcess,
    readonly api: NeovimClient,
  ) {
    this.gone = new Promise<never>((_, reject) => {
      proc.once('exit', (code, signal) => {
        if (!this.quitting) reject(new Error(`Neovim exited while the test drove it (${signal ? `killed by ${signal}${signal === 'SIGSEGV' ? ': Neovim crashed' : ''}` : `exit code ${code}`})`));
      });
    });
    this.gone.catch(() => undefined); // only a call racing it reports it
  }

  /** `call`, or the reason Neovim went, whichever comes first. */
  private alive<T>(call: Promise<T>): Promise<T> {
    return Promise.race([call, this.gone]);
  }

  /** `init`: another init file (the LSP tests start Neovim's own LSP client instead of the plugin); `env`: extra variables for it. */
  static async start(setup: Record<string, unknown> = {}, init = initLua, env: Record<string, string> = {}): Promise<Nvim> {
    const proc = spawn('nvim', ['--embed', '--headless', '-n', '-i', 'NONE', '-u', init], {
      env: {
        ...process.env,
        ...env,
        CHORUS_NVIM_PLUGIN: pluginDir,
        CHORUS_NVIM_CMD: JSON.stringify([process.execPath, cli]),
        CHORUS_NVIM_SETUP: JSON.stringify(setup),
        XDG_STATE_HOME: tempDir('chorus-nvim-state-'),
        // Its own cache too: Neovim 0.7 keeps lsp.log there, which was ~/.cache/nvim/lsp.log,
        // shared by every test and run (and left in the home folder).
        XDG_CACHE_HOME: tempDir('chorus-nvim-cache-'),
      },
    });
    const api = attach({ proc, options: { logger: silentLogger() } });
    const n = new Nvim(proc, api);
    await api.eval('1');
    return n;
  }

  lua<T = unknown>(code: string, args: unknown[] = []): Promise<T> {
    return this.alive(this.api.lua(code, args as never) as Promise<T>);
  }

  command(cmd: string): Promise<void> {
    return this.alive(this.api.command(cmd) as Promise<void>);
  }

  /** Type keys as a person would (nvim_input, with <Esc>, <CR> and friends). */
  async input(keys: string): Promise<void> {
    await this.alive(this.api.input(keys));
    await this.alive(this.api.eval('1')); // keys processed before the next request
  }

  /** The text Chorus holds for the current buffer (what the daemon must have). */
  text(): Promise<string | null> {
    return this.lua<string | null>('return require("chorus").buffer_text(0)');
  }

  status(): Promise<{ status: string; pending: number; connection: string; path: string } | null> {
    return this.lua('return require("chorus").buffer_status(0)');
  }

  /** Open a file and wait until it is shared and in step. */
  async edit(file: string): Promise<void> {
    await this.command(`edit ${file}`);
    await waitFor(`${file} shared`, async () => (await this.status())?.status === 'open');
  }

  /** Wait until nothing of ours is queued or in flight. */
  async settled(): Promise<void> {
    await waitFor('edits acknowledged', async () => {
      const st = await this.status();
      return st?.status === 'open' && st.pending === 0;
    });
  }

  messages(): Promise<{ msg: string; level: number }[]> {
    return this.lua('return _G.chorus_messages');
  }

  async quit(): Promise<void> {
    this.quitting = true;
    if (this.proc.exitCode !== null || this.proc.signalCode !== null) return;
    const exited = new Promise((r) => this.proc.once('exit', r));
    // The answer to qa! never comes (Neovim exits first): wait for the process instead.
    this.api.command('qa!').catch(() => undefined);
    await Promise.race([exited, new Promise((r) => setTimeout(r, 3000))]);
    if (this.proc.exitCode === null && this.proc.signalCode === null) this.proc.kill('SIGKILL');
  }
}

function silentLogger() {
  const noop = () => undefined;
  return { info: noop, warn: noop, error: noop, debug: noop, log: noop } as never;
}

/** A scripted editor on the daemon: reads the daemon's text (it never edits unless asked). */
export class ProtocolClient {
  private constructor(
    readonly proc: ChildProcess,
    readonly conn: MessageConnection,
  ) {}
  readonly notes: { method: string; params: any }[] = [];

  static async start(dir: string, name = 'script'): Promise<ProtocolClient> {
    const proc = spawn(process.execPath, [cli, 'connect', dir], { stdio: ['pipe', 'pipe', 'pipe'] });
    const conn = createMessageConnection(new StreamMessageReader(proc.stdout!), new StreamMessageWriter(proc.stdin!));
    const c = new ProtocolClient(proc, conn);
    conn.onNotification((method, params) => {
      c.notes.push({ method, params });
    });
    conn.listen();
    await conn.sendRequest('initialize', { protocolVersion: 1, clientInfo: { name }, positionEncodings: ['utf-8'] });
    return c;
  }

  /** The daemon's current text of `file`. */
  async text(file: string): Promise<string> {
    const r = (await this.conn.sendRequest('buffer/open', { path: file })) as { content: string };
    return r.content;
  }

  request(method: string, params: unknown): Promise<any> {
    return this.conn.sendRequest(method, params);
  }

  notify(method: string, params: unknown): Promise<void> {
    return this.conn.sendNotification(method, params);
  }

  close(): void {
    this.conn.dispose();
    this.proc.kill('SIGTERM');
  }
}

/**
 * Wait until the Neovim buffers, the daemons (through `clients`) and the files on disk (in `dirs`)
 * all hold the same text.
 */
export async function converged(nvims: Nvim[], clients: ProtocolClient | ProtocolClient[], dirs: string | string[], file: string): Promise<string> {
  const cs = Array.isArray(clients) ? clients : [clients];
  const ds = Array.isArray(dirs) ? dirs : [dirs];
  let last = '';
  try {
    return await waitFor(`${file} to converge`, async () => {
      const texts = await Promise.all(nvims.map((n) => n.text()));
      const daemons = await Promise.all(cs.map((c) => c.text(file)));
      const disks = ds.map((d) => fs.readFileSync(path.join(d, file), 'utf8'));
      const short = (t: string | null) => JSON.stringify(t && t.length > 300 ? `${t.slice(0, 150)}…${t.slice(-150)} (${t.length})` : t);
      last = `neovim ${texts.map(short).join(', ')}; daemon ${daemons.map(short).join(', ')}; disk ${disks.map(short).join(', ')}`;
      const want = daemons[0];
      return [...texts, ...daemons, ...disks].every((t) => t === want) ? want : undefined;
    });
  } catch (e) {
    throw new Error(`${(e as Error).message}; last seen: ${last}`);
  }
}
