/**
 * Helpers for the browser peer's tests (issue 17): real daemons started by `chorus share`, the
 * page they serve, opened in Chromium (`CHROMIUM`, test/support/paths.ts) through playwright-core. Everything a
 * test starts is stopped by `Scene.cleanup`, also after a failure.
 */
import fs from 'node:fs';
import path from 'node:path';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';
import { chorus, stopIfRunning } from '../support/cli.js';
import { CHROMIUM, CLI, chromiumMissing } from '../support/paths.js';
import { tempProject } from '../support/project-dir.js';
import { skipReason } from '../support/skip.js';

const PAGE_DIR = path.resolve(import.meta.dirname, '..', '..', 'daemon', 'dist', 'page');

/** Why the browser tests cannot run here (printed), or undefined. CHORUS_REQUIRE_ALL=1 throws instead. */
export function browserSkipReason(): string | undefined {
  let reason: string | undefined;
  if (chromiumMissing()) reason = chromiumMissing();
  else if (!fs.existsSync(CLI)) reason = `the daemon is not built (${CLI} missing; run npm run build)`;
  else if (!fs.existsSync(path.join(PAGE_DIR, 'index.html'))) reason = `the browser page is not built (${PAGE_DIR} missing; run npm run build)`;
  return skipReason('browser tests', reason);
}

export interface Shared {
  dir: string;
  code: string;
  url: string;
}

/** A page's console and policy violations, for assertions and for a failure's message. */
export interface PageLog {
  lines: string[];
  violations: string[];
}

/**
 * Everything a test file started: daemons (by folder) and browser contexts, stopped after each test
 * by `cleanup`; one Chromium for the whole file, closed by `close` (afterAll). Each page gets a
 * fresh context, which shares no storage, cookies or cache with any other, so one browser for the
 * file is as fresh as one per test; launching Chromium costs 2–3 s on a loaded machine.
 */
export class Scene {
  readonly dirs: string[] = [];
  #browser: Browser | undefined;
  readonly contexts: BrowserContext[] = [];
  readonly logs = new Map<Page, PageLog>();

  /** A project folder holding `files`, shared by its daemon on loopback. */
  share(files: Record<string, string>, extra: string[] = []): Shared {
    const dir = tempProject(files, 'chorus-browser-');
    this.dirs.push(dir);
    const r = chorus(['share', dir, '--json', '--host', '127.0.0.1', ...extra]);
    if (r.status !== 0) throw new Error(`chorus share failed (${r.status}): ${r.stderr}`);
    const { code, url } = JSON.parse(r.stdout) as { code: string; url: string };
    return { dir, code, url };
  }

  /** The file's Chromium, launched at first use (again if it went away, so one crash stays one test's). */
  async browser(): Promise<Browser> {
    if (this.#browser && !this.#browser.isConnected()) this.#browser = undefined;
    this.#browser ??= await chromium.launch({
      executablePath: CHROMIUM,
      headless: true,
      // Two tabs of one machine link over WebRTC with host candidates; Chromium hides them behind
      // mDNS names by default, which nothing resolves in a container.
      args: ['--disable-features=WebRtcHideLocalIpsWithMdns', '--no-sandbox'],
    });
    return this.#browser;
  }

  /**
   * A fresh browser context (its own storage: a different person) with a page at `url`. `name`:
   * the name this person already gave (null: none yet, the page asks).
   */
  async open(url: string, opts: { name?: string | null } = {}): Promise<Page> {
    const context = await (await this.browser()).newContext({ viewport: { width: 1280, height: 800 } });
    this.contexts.push(context);
    if (opts.name !== null) {
      const name = opts.name ?? `Page ${this.contexts.length}`;
      await context.addInitScript({ content: `if (!localStorage.getItem('chorus.name')) localStorage.setItem('chorus.name', ${JSON.stringify(name)});` });
    }
    const page = await context.newPage();
    const log: PageLog = { lines: [], violations: [] };
    this.logs.set(page, log);
    page.on('console', (m) => log.lines.push(`${m.type()}: ${m.text()}`));
    page.on('pageerror', (e) => log.lines.push(`pageerror: ${e.message}`));
    await page.addInitScript({
      content: "document.addEventListener('securitypolicyviolation', (e) => console.error('CSP violation: ' + e.violatedDirective + ' ' + e.blockedURI));",
    });
    page.on('console', (m) => {
      if (m.text().startsWith('CSP violation')) log.violations.push(m.text());
    });
    await page.goto(url);
    return page;
  }

  /** After each test: close its pages' contexts, stop its daemons, remove its folders (the browser stays). */
  async cleanup(): Promise<void> {
    // CHORUS_BROWSER_LOGS=1: what each page logged, for a failure's investigation.
    if (process.env.CHORUS_BROWSER_LOGS === '1') for (const [i, log] of [...this.logs.values()].entries()) console.log(`--- page ${i}\n${log.lines.join('\n')}`);
    this.logs.clear();
    await Promise.all(this.contexts.splice(0).map((c) => c.close().catch(() => undefined)));
    for (const d of this.dirs.splice(0)) {
      stopIfRunning(d); // as `chorus stop` would, from this process (test/support/cli.ts)
      fs.rmSync(d, { recursive: true, force: true });
    }
  }

  /** After the file (afterAll): everything `cleanup` does, and close the browser. */
  async close(): Promise<void> {
    await this.cleanup();
    await this.#browser?.close().catch(() => undefined);
    this.#browser = undefined;
  }
}

/** The page peer's status, read through the test hook. */
export async function pageStatus(page: Page): Promise<{ state: string; message?: string; peers: number; readOnly: boolean }> {
  return page.evaluate(() => (globalThis as unknown as { chorusPeer: { status(): { state: string; message?: string; peers: number; readOnly: boolean } } }).chorusPeer.status());
}

/** Poll in the test (not the page) until `fn` returns a value; a generous bound, never a timing assertion. */
export async function until<T>(what: string, fn: () => Promise<T | undefined | false>, ms = 60_000): Promise<T> {
  const end = Date.now() + ms;
  let last: unknown;
  for (;;) {
    try {
      const v = await fn();
      if (v !== undefined && v !== false) return v;
    } catch (e) {
      last = e;
    }
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}${last ? `: ${(last as Error).message}` : ''}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** The page's text of an open file, as the peer holds it (through the test hook). */
export async function peerText(page: Page, path: string): Promise<string> {
  return page.evaluate(async (p) => {
    const peer = (globalThis as unknown as { chorusPeer: { open(p: string): Promise<{ text: string }> } }).chorusPeer;
    return (await peer.open(p)).text;
  }, path);
}

/** Replace [from, to) of an open file with `insert`, as the interface would (through the hook). */
export async function peerEdit(page: Page, path: string, from: number, to: number, insert: string): Promise<void> {
  await page.evaluate(
    ([p, f, t, i]) => {
      const peer = (globalThis as unknown as { chorusPeer: { edit(p: string, c: Array<{ from: number; to: number; insert: string }>): void } }).chorusPeer;
      peer.edit(p as string, [{ from: f as number, to: t as number, insert: i as string }]);
    },
    [path, from, to, insert] as const,
  );
}

type Hook = {
  files(): Array<{ path: string }>;
  people(): Array<{ id: string; name: string; self: boolean; file?: string; selections?: Array<{ anchor: number; head: number }> }>;
  links(): Array<{ id: string; state: string; path?: string }>;
  setSelections(p: string, s: Array<{ anchor: number; head: number }>): void;
  setName(n: string): void;
  status(): { state: string; peers: number; unacknowledged: number; message?: string };
  /** The file's whole text as the page holds it (its editor renders only the lines in view). */
  open(p: string): Promise<{ path: string; text: string; editable: boolean }>;
  create(p: string, text?: string): Promise<void>;
  rename(from: string, to: string): Promise<void>;
};

/** Call one of the page peer's methods through the test hook (window.chorusPeer). */
export async function hook<K extends keyof Hook>(page: Page, method: K, ...args: Parameters<Hook[K]>): Promise<ReturnType<Hook[K]>> {
  return page.evaluate(
    ([m, a]) => {
      const peer = (globalThis as unknown as { chorusPeer: Record<string, (...x: unknown[]) => unknown> }).chorusPeer;
      return peer[m as string]!(...(a as unknown[]));
    },
    [method, args] as const,
  ) as Promise<ReturnType<Hook[K]>>;
}

/** Open a file as a person does: click it in the file tree; resolves once its editor shows. */
export async function openFile(page: Page, path: string): Promise<void> {
  await page.getByTestId(`file:${path}`).click();
  await page.locator(`[data-testid="editor:${path}"] .cm-content`).waitFor();
}

/** The text the file's CodeMirror editor shows (remote cursor labels left out). */
export async function editorText(page: Page, path: string): Promise<string> {
  return page.locator(`[data-testid="editor:${path}"] .cm-line`).evaluateAll((lines) =>
    lines
      .map((l) => {
        const copy = l.cloneNode(true) as unknown as { querySelectorAll(s: string): Iterable<{ remove(): void }>; textContent: string | null };
        for (const n of copy.querySelectorAll('.cm-chorus-cursor, .cm-widgetBuffer')) n.remove();
        return copy.textContent ?? '';
      })
      .join('\n'),
  );
}

/** Type into the file's editor like a person: click into it, go to its start or end, type. */
export async function typeIn(page: Page, path: string, text: string, where: 'start' | 'end' = 'start'): Promise<void> {
  await page.locator(`[data-testid="editor:${path}"] .cm-content`).click();
  await page.keyboard.press(where === 'start' ? 'Control+Home' : 'Control+End');
  await page.keyboard.type(text);
}
