/**
 * The browser page's user interface (clients/browser/src/ui/) on a scripted FakePeer, in headless
 * Chromium under a strict Content-Security-Policy: what a person sees and touches, and what the UI
 * asks of the peer. The engine's end-to-end tests cover the same page against real daemons.
 */
import fs from 'node:fs';
import path from 'node:path';
import type { BrowserContext, Page } from 'playwright-core';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { TextChange } from '../../clients/browser/src/peer-api.js';
import { startUiPage, uiSkipReason, type UiPage } from './ui-page.js';

const skip = uiSkipReason();

interface Opened {
  context: BrowserContext;
  page: Page;
  /** Uncaught errors, console errors and CSP violations in the page. */
  problems: string[];
}

describe.skipIf(skip !== undefined)('the browser page UI', () => {
  let ui: UiPage;
  const contexts: BrowserContext[] = [];

  beforeAll(async () => {
    ui = await startUiPage();
  });
  afterAll(async () => {
    await ui?.close();
  });
  afterEach(async () => {
    for (const c of contexts.splice(0)) await c.close().catch(() => undefined);
  });

  /** A fresh browser context (own localStorage) on the dev page. `name: null` leaves the name unset. */
  async function open(opts: { name?: string | null; query?: string; dark?: boolean } = {}): Promise<Opened> {
    const context = await ui.browser.newContext({ viewport: { width: 1280, height: 780 }, colorScheme: opts.dark ? 'dark' : 'light' });
    contexts.push(context);
    if (opts.name !== null) {
      await context.addInitScript((name) => {
        if (!localStorage.getItem('chorus.name')) localStorage.setItem('chorus.name', name);
      }, opts.name ?? 'Tester');
    }
    await context.addInitScript(() => {
      document.addEventListener('securitypolicyviolation', (e) => console.error(`CSP violation: ${e.violatedDirective} ${e.blockedURI}`));
    });
    const page = await context.newPage();
    const problems: string[] = [];
    page.on('pageerror', (e) => problems.push(`page error: ${e.message}`));
    page.on('console', (m) => {
      if (m.type() === 'error') problems.push(m.text());
    });
    await page.goto(`${ui.url}${opts.query ? `?${opts.query}` : ''}`);
    await page.getByTestId('file:README.md').waitFor();
    return { context, page, problems };
  }

  async function openFile(page: Page, path: string): Promise<void> {
    await page.getByTestId(`file:${path}`).click();
    await page.locator(`[data-testid="editor:${path}"] .cm-content`).waitFor();
  }

  const editorText = (page: Page, path: string): Promise<string> =>
    page.locator(`[data-testid="editor:${path}"] .cm-content`).evaluate((el) => [...el.querySelectorAll('.cm-line')].map((l) => l.textContent).join('\n'));
  const fakeText = (page: Page, path: string): Promise<string | undefined> => page.evaluate((p) => window.chorusFake.texts.get(p), path);
  const callsOf = (page: Page, method: string): Promise<unknown[][]> => page.evaluate((m) => window.chorusFake.callsOf(m), method);

  it('shows the project: file tree, people, status bar; nothing blocked by a strict CSP', async () => {
    const { page, problems } = await open();
    await expect(page.getByTestId('file:src/beds.ts').isVisible()).resolves.toBe(true);
    await expect(page.getByTestId('dir:src').getAttribute('aria-expanded')).resolves.toBe('true');
    await expect(page.getByTestId('person:Ana Lima').textContent()).resolves.toContain('Neovim');
    await expect(page.getByTestId('status').textContent()).resolves.toContain('Online');
    await openFile(page, 'src/beds.ts');
    await expect(page.getByTestId('tab:src/beds.ts').getAttribute('aria-selected')).resolves.toBe('true');
    // Highlighting for TypeScript loaded (a lazily imported chunk from the same origin).
    await page.locator('[data-testid="editor:src/beds.ts"] .tok-keyword').first().waitFor();
    const shots = process.env.CHORUS_UI_SCREENSHOTS;
    if (shots) {
      fs.mkdirSync(shots, { recursive: true });
      await page.screenshot({ path: path.join(shots, 'page-light.png') });
    }
    expect(problems).toEqual([]);
  });
});
