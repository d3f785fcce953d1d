/**
 * Helpers for the Emacs tests: real `emacs --batch` processes with clients/emacs/chorus.el,
 * driven over a Unix socket (driver.el), against real daemons started through `chorus connect`.
 * Project folders, daemons and protocol clients come from the Neovim helpers (one Scene cleans
 * up everything); every Emacs started here is stopped by `EmacsScene.cleanup`.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { cli, repo, Scene, waitFor, type ProtocolClient } from '../neovim/support.js';
import { skipReason } from '../support/skip.js';

const here = path.dirname(fileURLToPath(import.meta.url));
export const clientDir = path.join(repo, 'clients', 'emacs');
export const ertFile = path.join(clientDir, 'test', 'chorus-tests.el');
const driver = path.join(here, 'driver.el');

function emacsVersion(): string | undefined {
  const r = spawnSync('emacs', ['--version'], { encoding: 'utf8' });
  return r.status === 0 ? r.stdout.split('\n')[0] : undefined;
}

/**
 * Whether these tests can run here. Without `emacs` (or without a built daemon) they skip with a
 * printed reason, unless CHORUS_REQUIRE_ALL=1, which turns the skip into a failure.
 */
export function emacsSkipReason(): string | undefined {
  let reason: string | undefined;
  const version = emacsVersion();
  if (!version) reason = 'emacs is not installed (apt-get install -y emacs-nox)';
  else if (!/GNU Emacs (2[89]|[3-9]\d)\./.test(version)) reason = `${version} is older than the 28.1 chorus.el needs`;
  else if (!fs.existsSync(cli)) reason = `the daemon is not built (${cli} missing; run npm run build)`;
  return skipReason('Emacs tests', reason);
}

/** The environment the ERT file and the driver read: how to run the daemon's CLI. */
export function emacsEnv(): NodeJS.ProcessEnv {
  return { ...process.env, CHORUS_TEST_NODE: process.execPath, CHORUS_TEST_CLI: cli };
}

/**
 * `emacs --batch -Q` with one native-compilation cache for the whole run, first in
 * `native-comp-eln-load-path`. Each test's Emacs has a HOME of its own, so its default cache
 * (~/.emacs.d/eln-cache) starts empty, and the `advice-add` on `message` that the ERT file and
 * the driver make had a native build compile the trampoline for `message` again in every Emacs
 * started: ~0.5 s of CPU each, with gcc (decision 216). The cache is in the run's temp folder.
 */
export function emacsBatch(): string[] {
  const cache = path.join(os.tmpdir(), 'emacs-eln-cache');
  return ['--batch', '-Q', '--eval', `(when (boundp 'native-comp-eln-load-path) (push ${elisp(cache)} native-comp-eln-load-path))`];
}

/** An Elisp string literal for `s`. */
export function elisp(s: string): string {
  return `"${s.replace(/\\/g, '\\\\').replace(/"/g, '\\"')}"`;
}

/** A batch Emacs with chorus.el and `global-chorus-mode`, evaluating forms the test sends. */
export class Emacs {
  private next = 1;
  private readonly waiting = new Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void }>();
  private constructor(
    readonly proc: ChildProcess,
    private readonly socket: net.Socket,
    private readonly tmp: string,
    readonly stderr: string[],
  ) {
    let pending = '';
    socket.setEncoding('utf8');
    socket.on('data', (chunk: string) => {
      pending += chunk;
      for (let nl = pending.indexOf('\n'); nl >= 0; nl = pending.indexOf('\n')) {
        const reply = JSON.parse(pending.slice(0, nl)) as { id: number; value?: unknown; error?: string };
        pending = pending.slice(nl + 1);
        const w = this.waiting.get(reply.id);
        this.waiting.delete(reply.id);
        if (reply.error !== undefined) w?.reject(new Error(`Emacs: ${reply.error}`));
        else w?.resolve(reply.value);
      }
    });
    const fail = () => {
      for (const w of this.waiting.values()) w.reject(new Error(`Emacs exited; stderr: ${this.stderr.join('').slice(-2000)}`));
      this.waiting.clear();
    };
    socket.on('close', fail);
    socket.on('error', fail);
  }

  /**
   * `init`: instead of the Chorus package, this init file, as a person's, with the system's
   * site files loaded (Debian's `elpa-eglot` is found through them); `env` adds to the environment.
   */
  static async start(opts: { init?: string; env?: Record<string, string> } = {}): Promise<Emacs> {
    const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'chorus-emacs-'));
    const sock = path.join(tmp, 'driver.sock');
    const batch = opts.init === undefined ? emacsBatch() : ['--batch', '--no-init-file', ...emacsBatch().slice(2)];
    const proc = spawn('emacs', [...batch, '-L', clientDir, '-l', driver], {
      env: { ...emacsEnv(), CHORUS_EMACS_SOCKET: sock, HOME: tmp, ...(opts.init === undefined ? {} : { CHORUS_EMACS_INIT: opts.init }), ...opts.env },
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    const stderr: string[] = [];
    proc.stderr!.setEncoding('utf8');
    proc.stderr!.on('data', (d: string) => stderr.push(d));
    await waitFor('emacs to start', () => stderr.join('').includes('READY') || (proc.exitCode !== null ? Promise.reject(new Error(stderr.join(''))) : undefined), 30000);
    const socket = net.createConnection(sock);
    await new Promise<void>((resolve, reject) => socket.once('connect', resolve).once('error', reject));
    return new Emacs(proc, socket, tmp, stderr);
  }

  /** Evaluate an Elisp form; its value, as JSON (plists become objects, lists arrays, nil null). */
  eval<T = unknown>(form: string): Promise<T> {
    const id = this.next++;
    return new Promise<T>((resolve, reject) => {
      this.waiting.set(id, { resolve: resolve as (v: unknown) => void, reject });
      this.socket.write(`${JSON.stringify({ id, form })}\n`);
    });
  }

  /** Visit a file in the selected window and wait until it is shared and in step. */
  async edit(file: string): Promise<void> {
    await this.eval(`(chorus-driver-visit ${elisp(file)})`);
    await waitFor(`${file} shared`, async () => (await this.status())?.status === 'open');
  }

  /** Type keys (a `kbd` string) in the current buffer. */
  async type(keys: string): Promise<void> {
    await this.eval(`(chorus-driver-type ${elisp(keys)})`);
  }

  /** Run a form as a command (post-command-hook runs after it: our cursor goes out). */
  command(form: string): Promise<unknown> {
    return this.eval(`(chorus-driver-command ${form})`);
  }

  /** The text Chorus holds for the current buffer (what the daemon must have). */
  text(): Promise<string | null> {
    return this.eval('(chorus-buffer-text)');
  }

  status(): Promise<{ status: string; pending: number; connection: string; path: string } | null> {
    return this.eval('(chorus-buffer-status)');
  }

  /** Wait until nothing of ours is queued or in flight. */
  async settled(): Promise<void> {
    await waitFor('edits acknowledged', async () => {
      const st = await this.status();
      return st?.status === 'open' && st.pending === 0;
    });
  }

  async messages(): Promise<string[]> {
    return (await this.eval<string[] | null>('(reverse chorus-driver-messages)')) ?? [];
  }

  async quit(): Promise<void> {
    if (this.proc.exitCode === null && this.proc.signalCode === null) {
      const exited = new Promise((r) => this.proc.once('exit', r));
      this.socket.write(`${JSON.stringify({ id: 0, form: '(kill-emacs 0)' })}\n`);
      await Promise.race([exited, new Promise((r) => setTimeout(r, 3000))]);
      if (this.proc.exitCode === null && this.proc.signalCode === null) this.proc.kill('SIGKILL');
    }
    this.socket.destroy();
    fs.rmSync(this.tmp, { recursive: true, force: true });
  }
}

/** A Scene (folders, daemons, Neovims, protocol clients) that also owns Emacs processes. */
export class EmacsScene extends Scene {
  readonly emacsen: Emacs[] = [];

  async emacs(opts: Parameters<typeof Emacs.start>[0] = {}): Promise<Emacs> {
    const e = await Emacs.start(opts);
    this.emacsen.push(e);
    return e;
  }

  override async cleanup(): Promise<void> {
    await Promise.all(this.emacsen.map((e) => e.quit()));
    await super.cleanup();
  }
}

/** Anything that shows the text Chorus holds for its current buffer (an Emacs, a Neovim). */
export interface Editor {
  text(): Promise<string | null>;
}

/**
 * Wait until the editors' buffers, the daemons (through `clients`) and the files on disk (in
 * `dirs`) all hold the same text; that text.
 */
export async function converged(editors: Editor[], clients: ProtocolClient[], dirs: string[], file: string): Promise<string> {
  let last = '';
  try {
    return await waitFor(`${file} to converge`, async () => {
      const texts = await Promise.all(editors.map((e) => e.text()));
      const daemons = await Promise.all(clients.map((c) => c.text(file)));
      const disks = dirs.map((d) => fs.readFileSync(path.join(d, file), 'utf8'));
      last = JSON.stringify({ editors: texts, daemons, disks });
      const want = daemons[0];
      return [...texts, ...daemons, ...disks].every((t) => t === want) ? want : undefined;
    }, 60000);
  } catch (e) {
    throw new Error(`${(e as Error).message}; last seen: ${last.slice(0, 3000)}`);
  }
}
