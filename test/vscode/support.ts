/**
 * Helpers for the VS Code end-to-end tests: code-server (VS Code in a browser, installed by
 * scripts/install-code-server.sh outside the repo) served on 127.0.0.1 with a throwaway profile,
 * the extension installed from a freshly built .vsix, and Debian's Chromium driven by
 * playwright-core. Every process and folder made here goes in `cleanup`.
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { chromium, type Browser, type Locator, type Page } from 'playwright-core';
import { afterAll, afterEach, beforeAll, expect } from 'vitest';
import { cli, repo, Scene, waitFor } from '../neovim/support.js';
import { CHROMIUM, chromiumMissing } from '../support/paths.js';
import { skipReason } from '../support/skip.js';

export const CODE_SERVER_VERSION = '4.100.3';
export const codeServerDir = process.env.CHORUS_CODE_SERVER_DIR ?? path.join(process.env.XDG_CACHE_HOME ?? path.join(os.homedir(), '.cache'), 'chorus', `code-server-${CODE_SERVER_VERSION}`);
const entry = path.join(codeServerDir, 'node_modules', 'code-server', 'out', 'node', 'entry.js');
const extensionDir = path.join(repo, 'clients', 'vscode');
export const vsix = path.join(extensionDir, 'dist', 'chorus-0.1.0.vsix');

/**
 * Why the VS Code tests cannot run here, or undefined. Skips are printed; CHORUS_REQUIRE_ALL=1
 * turns them into a failure.
 */
export function vscodeSkipReason(): string | undefined {
  let reason: string | undefined;
  if (!fs.existsSync(path.join(codeServerDir, '.chorus-installed'))) reason = `code-server ${CODE_SERVER_VERSION} is not installed in ${codeServerDir} (run scripts/install-code-server.sh)`;
  else if (chromiumMissing()) reason = chromiumMissing();
  else if (process.versions.node.split('.')[0] !== '20') reason = `code-server ${CODE_SERVER_VERSION} needs Node 20, this is ${process.version}`;
  else if (!fs.existsSync(cli)) reason = `the daemon is not built (${cli} missing; run npm run build)`;
  return skipReason('VS Code tests', reason);
}

/**
 * Build the extension and package it as a .vsix (the same npm script a person runs), once per
 * test run: every VS Code test file needs the same package, and each build took 5–15 s. The run's
 * own temp folder (TMPDIR, set per run by global-setup.ts) records that it is built; a file that
 * asks while another file's build is under way (the two workers) waits for it, and builds it
 * itself if that build failed.
 */
export function buildVsix(): void {
  const built = path.join(os.tmpdir(), 'vscode-vsix-built');
  const building = path.join(os.tmpdir(), 'vscode-vsix-building');
  if (fs.existsSync(built)) return;
  let mine = true;
  try {
    fs.mkdirSync(building);
  } catch {
    mine = false;
  }
  if (!mine) {
    const sleeper = new Int32Array(new SharedArrayBuffer(4));
    const until = Date.now() + 150_000;
    while (fs.existsSync(building) && !fs.existsSync(built) && Date.now() < until) Atomics.wait(sleeper, 0, 0, 200);
    if (fs.existsSync(built)) return;
  }
  try {
    execFileSync('npm', ['run', 'package', '-w', 'chorus-vscode'], { cwd: repo, stdio: 'pipe', timeout: 120000 });
    fs.writeFileSync(built, '');
  } finally {
    if (mine) fs.rmSync(building, { recursive: true, force: true });
  }
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as net.AddressInfo).port;
      s.close(() => resolve(port));
    });
    s.once('error', reject);
  });
}

/** What the extension reports about its buffers (CHORUS_VSCODE_STATE_FILE). */
export interface ExtensionState {
  connected: boolean;
  state?: string;
  peers: string[];
  following: string | null;
  active: { path: string; top: number; bottom: number } | null;
  log: string[];
  /** VS Code's last document and editor events, oldest first (clients/vscode/src/test-state.ts). */
  events?: string[];
  buffers: Record<string, { text: string; status: string; dirty: boolean; editorRevision: number; daemonRevision: number; dropped: number }>;
  /** Every text tab: its file (absolute), group, whether it is its group's active tab, and modified. */
  tabs?: Array<{ file: string; group: number; active: boolean; dirty: boolean }>;
}

/** code-server with the extension, one Chromium page on it. */
export class VsCode {
  private constructor(
    readonly proc: ChildProcess,
    readonly browser: Browser,
    readonly page: Page,
    readonly home: string,
    readonly stateFile: string,
    private readonly log: () => string,
  ) {}

  /**
   * Start code-server on `folder` with the freshly built extension, and open it in Chromium.
   * `connects`: wait for the extension to connect to the folder's daemon (false: a folder that is
   * not a project yet, where it only activates).
   */
  static async start(folder: string, settings: Record<string, unknown> = {}, connects = true): Promise<VsCode> {
    const home = fs.mkdtempSync(path.join(os.tmpdir(), 'chorus-vscode-'));
    const userData = path.join(home, 'user-data');
    const extensions = path.join(home, 'extensions');
    fs.mkdirSync(path.join(userData, 'User'), { recursive: true });
    fs.writeFileSync(
      path.join(userData, 'User', 'settings.json'),
      JSON.stringify({
        // Without these, activation waits ~60 s (workspace trust, git scanning).
        'security.workspace.trust.enabled': false,
        'git.enabled': false,
        'git.autoRepositoryDetection': false,
        'workbench.startupEditor': 'none',
        'workbench.tips.enabled': false,
        'telemetry.telemetryLevel': 'off',
        'extensions.autoCheckUpdates': false,
        'extensions.autoUpdate': false,
        // Keys arrive as typed: no auto-closing, no suggestions.
        'editor.autoClosingBrackets': 'never',
        'editor.autoClosingQuotes': 'never',
        'editor.autoIndent': 'none',
        'editor.quickSuggestions': { other: false, comments: false, strings: false },
        'editor.suggestOnTriggerCharacters': false,
        'editor.wordBasedSuggestions': 'off',
        'editor.acceptSuggestionOnEnter': 'off',
        'files.autoSave': 'off',
        'files.insertFinalNewline': false,
        'files.trimTrailingWhitespace': false,
        'workbench.editor.enablePreview': false,
        'chorus.path': cli,
        'chorus.debug': true,
        'chorus.reconnectDelays': [200, 500, 1000],
        ...settings,
      }),
    );
    const env = { ...process.env, XDG_CONFIG_HOME: path.join(home, 'config'), XDG_DATA_HOME: path.join(home, 'data') };
    execFileSync(process.execPath, [entry, '--user-data-dir', userData, '--extensions-dir', extensions, '--install-extension', vsix], { env, stdio: 'pipe', timeout: 60000 });
    const port = await freePort();
    const stateFile = path.join(home, 'state.json');
    const proc = spawn(
      process.execPath,
      [entry, '--bind-addr', `127.0.0.1:${port}`, '--auth', 'none', '--disable-telemetry', '--disable-update-check', '--disable-workspace-trust', '--disable-getting-started-override', '--user-data-dir', userData, '--extensions-dir', extensions, folder],
      { env: { ...env, CHORUS_VSCODE_STATE_FILE: stateFile }, stdio: ['ignore', 'pipe', 'pipe'], detached: true },
    );
    let log = '';
    const keep = (d: Buffer) => (log = (log + d.toString()).slice(-20000));
    proc.stdout!.on('data', keep);
    proc.stderr!.on('data', keep);
    let browser: Browser | undefined;
    try {
      await waitFor('code-server to listen', () => log.includes('HTTP server listening'), 60000);
      browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage'] });
      const page = await browser.newPage({ viewport: { width: 1280, height: 720 } });
      await page.goto(`http://127.0.0.1:${port}/?folder=${encodeURIComponent(folder)}`);
      const vs = new VsCode(proc, browser, page, home, stateFile, () => log);
      await page.waitForSelector('.monaco-workbench', { timeout: 90000 });
      if (connects) await waitFor('the extension to connect', () => vs.state()?.connected, 90000);
      else await waitFor('the extension to activate', () => vs.state() !== undefined, 90000);
      return vs;
    } catch (e) {
      await browser?.close().catch(() => undefined);
      killGroup(proc);
      fs.rmSync(home, { recursive: true, force: true });
      throw new Error(`${(e as Error).message}; code-server said: ${log.slice(-3000)}`);
    }
  }

  /** The extension's view of its buffers, or undefined before it first wrote it. */
  state(): ExtensionState | undefined {
    try {
      return JSON.parse(fs.readFileSync(this.stateFile, 'utf8')) as ExtensionState;
    } catch {
      return undefined;
    }
  }

  /** VS Code's text of a shared file (once the extension has it open). */
  text(file: string): string | undefined {
    return this.state()?.buffers[file]?.text;
  }

  /** A top-level file's row in the explorer, once it shows. */
  async explorerRow(file: string): Promise<Locator> {
    const item = this.page.locator(`.explorer-folders-view .monaco-list-row[aria-label="${file}"], .explorer-folders-view .monaco-list-row:has(.label-name:text-is("${file}"))`).first();
    await waitFor(`${file} in the explorer`, async () => (await item.count()) > 0, 30000);
    return item;
  }

  /** Open a top-level file from the explorer and wait until it is shared and in step. */
  async open(file: string): Promise<void> {
    await (await this.explorerRow(file)).click();
    await waitFor(`${file} shared`, () => this.state()?.buffers[file]?.status === 'open', 30000);
    await this.page.locator('.editor-instance .monaco-editor .view-lines').first().click();
  }

  /** Put the caret at the end of the document (Ctrl+End). */
  async end(): Promise<void> {
    await this.page.keyboard.press('Control+End');
  }

  async type(text: string, delay = 15): Promise<void> {
    await this.page.keyboard.type(text, { delay });
  }

  /** Run a command from the palette (F1), picking `pick` in a quick pick that follows, if given. */
  async command(title: string, pick?: string): Promise<void> {
    await this.page.keyboard.press('F1');
    await this.page.locator('.quick-input-widget input').waitFor({ state: 'visible' });
    await this.page.keyboard.type(title);
    await this.page.locator(`.quick-input-list .monaco-list-row:has-text("${title}")`).first().waitFor({ state: 'visible' });
    await this.page.keyboard.press('Enter');
    if (pick === undefined) return;
    await this.page.locator(`.quick-input-list .monaco-list-row:has-text("${pick}")`).first().waitFor({ state: 'visible' });
    await this.page.keyboard.press('Enter');
  }

  /** Type `text` into the input box a command opened, and accept it. */
  async answer(text: string): Promise<void> {
    const input = this.page.locator('.quick-input-widget input');
    await input.waitFor({ state: 'visible' });
    await this.page.keyboard.type(text);
    await this.page.keyboard.press('Enter');
  }

  /** The texts of the notifications shown now. */
  async notifications(): Promise<string[]> {
    return this.page.locator('.notifications-toasts .notification-list-item').allInnerTexts();
  }

  /** The text of Chorus's status-bar item as the person sees it (its icon left out). */
  async statusBar(): Promise<string> {
    const item = this.page.locator('.statusbar-item:has-text("Chorus")').first();
    return (await item.innerText()).trim();
  }

  /**
   * Where VS Code's window has the caret, as its status bar says it ("Ln 1, Col 4"): the window's
   * own cursor, which a key typed now goes to, not what the extension host was last told.
   */
  async caret(): Promise<string> {
    return (await this.page.locator('[id="status.editor.selection"]').first().innerText()).trim();
  }

  async screenshot(name: string): Promise<string> {
    const dir = path.join(repo, 'test', 'vscode', 'screenshots');
    fs.mkdirSync(dir, { recursive: true });
    const file = path.join(dir, `${name}.png`);
    await this.page.screenshot({ path: file });
    return file;
  }

  /**
   * For an afterEach: when the test failed, a screenshot, the notifications shown and the
   * extension's state go to stderr, for whoever reads the failure (CI's output included).
   */
  async reportIfFailed(task: { name: string; result?: { state?: string } }): Promise<void> {
    if (task.result?.state !== 'fail') return;
    const shot = await this.screenshot(`failed-${task.name.replace(/\W+/g, '-').slice(0, 60)}`);
    console.error(`screenshot: ${shot}\nnotifications: ${JSON.stringify(await this.notifications())}\nextension state: ${JSON.stringify(this.state(), null, 1).slice(0, 4000)}`);
  }

  /**
   * Edits of VS Code's the daemon refused, from the extension's log: each is something the
   * extension sent that the protocol does not allow (only the re-open fallback saved the text).
   */
  refusedEdits(): string[] {
    return (this.state()?.log ?? []).filter((l) => l.includes('refused'));
  }

  /** The names shown in remote-cursor badges in the visible editor (rendered as CSS content). */
  async badges(): Promise<string[]> {
    return this.page.evaluate(() => {
      const out: string[] = [];
      for (const el of Array.from(document.querySelectorAll('.monaco-editor .view-lines span, .monaco-editor .view-lines span *'))) {
        for (const pseudo of ['::before', '::after']) {
          const c = getComputedStyle(el, pseudo).content;
          if (c && c !== 'none' && c !== 'normal' && c !== '""' && c.replace(/["'\u200b]/g, '').trim()) out.push(c.replace(/^["']|["']$/g, ''));
        }
      }
      return out;
    });
  }

  /**
   * The pid of code-server's extension host (the process the extension runs in): the one process
   * of code-server's group whose command line says `--type=extensionHost`. Throws if there is none.
   */
  extensionHostPid(): number {
    for (const pid of fs.readdirSync('/proc').filter((d) => /^\d+$/.test(d))) {
      try {
        const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
        const pgid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[2]);
        if (pgid === this.proc.pid && fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes('--type=extensionHost')) return Number(pid);
      } catch {
        // gone meanwhile
      }
    }
    throw new Error("code-server's extension host is not running");
  }

  get output(): string {
    return this.log();
  }

  async close(): Promise<void> {
    await this.browser.close().catch(() => undefined);
    killGroup(this.proc);
    await new Promise((r) => setTimeout(r, 200));
    fs.rmSync(this.home, { recursive: true, force: true });
  }
}

/** Stop code-server and everything it started (extension host, `chorus connect`). */
function killGroup(proc: ChildProcess): void {
  if (proc.pid === undefined || proc.exitCode !== null) return;
  try {
    process.kill(-proc.pid, 'SIGKILL');
  } catch {
    proc.kill('SIGKILL');
  }
}

export { waitFor };

/**
 * The usual scene of a VS Code test file, its hooks registered (call it inside `describe`): two
 * peers sharing `files`, A with code-server and the freshly built .vsix (started once for the
 * file), and after each test a report if it failed and the check that every edit VS Code sent was
 * accepted (a refused one means the extension sent something the protocol does not allow, and
 * only the re-open fallback saved the text). `ready` gets the scene once it is up; `beforeClose`
 * runs before code-server and the scene are closed.
 */
export function pairWithVsCode(
  files: Record<string, string>,
  ready: (s: { vs: VsCode; a: string; b: string; scene: Scene }) => void,
  beforeClose?: () => void,
): void {
  const scene = new Scene();
  let vs: VsCode | undefined;
  beforeAll(async () => {
    buildVsix();
    const { a, b } = scene.pair(files);
    vs = await VsCode.start(a);
    ready({ vs, a, b, scene });
  }, 240_000);
  afterEach(async (ctx) => {
    await vs?.reportIfFailed(ctx.task);
    expect(vs?.refusedEdits()).toEqual([]);
  });
  afterAll(async () => {
    beforeClose?.();
    await vs?.close();
    await scene.cleanup();
  }, 60_000);
}
