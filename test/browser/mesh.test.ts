// Issue 17: pages and daemons in one session — remote cursors with names both ways, concurrent
// typing converges, two pages keep editing over their WebRTC link when the daemon stops (and it
// catches up when back), and a page cut off from the network merges its edits when it reconnects.
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { chorus } from '../support/cli.js';
import { ScriptedEditor } from '../support/scripted-editor.js';
import { browserSkipReason, editorText, hook, openFile, Scene, typeIn, until } from './support.js';
import type { Page } from 'playwright-core';

const skip = browserSkipReason();

function daemonName(dir: string): string {
  return (JSON.parse(fs.readFileSync(path.join(dir, '.chorus', 'identity.json'), 'utf8')) as { name: string }).name;
}

function onDisk(dir: string, file: string): string {
  return fs.readFileSync(path.join(dir, file), 'utf8');
}

async function shows(page: Page, file: string, want: string): Promise<boolean> {
  return (await editorText(page, file)) === want;
}

describe.skipIf(skip)('pages and daemons in one session (issue 17)', () => {
  const scene = new Scene();
  afterAll(() => scene.close());
  const editors: ScriptedEditor[] = [];
  afterEach(async () => {
    for (const e of editors.splice(0)) e.close();
    await scene.cleanup();
  });

  async function scripted(dir: string, file: string): Promise<ScriptedEditor> {
    const { editor } = ScriptedEditor.connect(dir);
    editors.push(editor);
    await editor.init();
    await editor.open(file);
    return editor;
  }

  /** Two people's pages at `url`, opened at once (nothing here depends on which is first), each showing `file` as `text`. */
  async function twoPages(url: string, file: string, text: string): Promise<[Page, Page]> {
    const pages = await Promise.all([scene.open(url), scene.open(url)]);
    await Promise.all(
      pages.map(async (p) => {
        await openFile(p, file);
        await until('the file in a page', () => shows(p, file, text));
      }),
    );
    return pages;
  }

  it('remote cursors render with names, both ways', async () => {
    const { url, dir } = scene.share({ 'a.txt': 'one\ntwo\nthree\n' });
    const page = await scene.open(url, { name: 'Ada in a browser' });
    await openFile(page, 'a.txt');
    const editor = await scripted(dir, 'a.txt');
    await editor.conn.sendNotification('cursor/set', { path: 'a.txt', selections: [{ anchor: { line: 1, character: 0 }, head: { line: 1, character: 3 } }] });
    const label = page.locator(`[data-testid="editor:a.txt"] .cm-chorus-cursor-label[data-person="${daemonName(dir)}"]`);
    await label.waitFor({ state: 'attached' });
    await page.locator('[data-testid="editor:a.txt"] .cm-chorus-selection').first().waitFor({ state: 'attached' });
    // The page's cursor (a click on the third line) reaches the editor, with the page's name.
    await page.locator('[data-testid="editor:a.txt"] .cm-line').nth(2).click();
    await editor.waitFor(
      () => editor.notes.some((n) => n.method === 'cursor/didChange' && n.params.peer?.name === 'Ada in a browser' && n.params.selections?.[0]?.head?.line === 2),
      "the page's cursor, with its name, in the editor",
    );
  });

  it('two pages and a daemon type into one file at once and converge', async () => {
    const { url, dir } = scene.share({ 'c.txt': 'base\n' });
    const [a, b] = await twoPages(url, 'c.txt', 'base\n');
    const editor = await scripted(dir, 'c.txt');
    // Each types at its own spot: page a at the end, page b at the start, the editor right after
    // "base". (At one spot, runs typed at once may interleave whatever the order rule: a CRDT
    // orders concurrent inserts after one character arbitrarily, so "b0 b1 b2 e6 b3" converged
    // too, and this test read it as a failure once.)
    const editorTyping = (async () => {
      for (let i = 0; i < 8; i++) {
        const at = editor.text('c.txt').indexOf('base') + 'base'.length;
        await editor.edit('c.txt', at, at, ` e${i}`);
      }
    })();
    await Promise.all([typeIn(a, 'c.txt', 'a0 a1 a2 a3 ', 'end'), typeIn(b, 'c.txt', 'b0 b1 b2 b3 ', 'start'), editorTyping]);
    const final = await until('the three to agree', async () => {
      const [ta, tb] = [await editorText(a, 'c.txt'), await editorText(b, 'c.txt')];
      await editor.settle();
      return ta === tb && tb === editor.text('c.txt') && !ta.includes('  ') ? ta : undefined;
    });
    for (const token of ['a0 a1 a2 a3 ', 'b0 b1 b2 b3 ', ...Array.from({ length: 8 }, (_, i) => ` e${i}`)]) expect(final).toContain(token);
    expect(final).toContain('base e7 e6 e5 e4 e3 e2 e1 e0\n');
    await until('the disk to agree', async () => onDisk(dir, 'c.txt') === final);
  });

  it('two pages keep converging over WebRTC after the daemon stops; the daemon catches up when back', async () => {
    const { url, dir } = scene.share({ 'w.txt': 'start\n' });
    const [a, b] = await twoPages(url, 'w.txt', 'start\n');
    const bId = (await hook(b, 'people')).find((p) => p.self)!.id;
    await until('a WebRTC link between the pages', async () => (await hook(a, 'links')).some((l) => l.id === bId && l.path === 'webrtc' && l.state === 'connected'));
    expect(chorus(['stop', dir]).status).toBe(0);
    await until('the daemon gone from the pages', async () => (await hook(a, 'status')).peers === 1 && (await hook(b, 'status')).peers === 1);
    // Regression: pages stopped dialing a daemon nobody had news of for 20 s (the overlay's
    // ALIVE_MS), so one that came back later was never reached again. Stay away longer than that,
    // counted from when both pages last had news of it (their links to it went down by now).
    const goneAt = Date.now();
    await typeIn(a, 'w.txt', 'from a\n', 'start');
    await until('the typing in the other page', () => shows(b, 'w.txt', 'from a\nstart\n'));
    await typeIn(b, 'w.txt', 'from b\n', 'end');
    await until('the reply back', () => shows(a, 'w.txt', 'from a\nstart\nfrom b\n'));
    await new Promise((r) => setTimeout(r, Math.max(0, goneAt + 22_000 - Date.now())));
    // The daemon comes back on its saved port; the pages redial it and bring it level.
    const again = chorus(['share', dir, '--json']);
    expect(again.status, again.stderr).toBe(0);
    await until('the daemon to catch up on disk', async () => onDisk(dir, 'w.txt') === 'from a\nstart\nfrom b\n');
  });

  it('a page cut off from the network keeps its edits and merges them when it reconnects', async () => {
    // WebSocket only: Chromium's offline emulation cuts WebSockets, not WebRTC data channels.
    const { url, dir } = scene.share({ 'o.txt': 'line\n' }, ['--no-webrtc']);
    const page = await scene.open(url);
    await openFile(page, 'o.txt');
    await until('the file in the page', () => shows(page, 'o.txt', 'line\n'));
    const editor = await scripted(dir, 'o.txt');
    await page.context().setOffline(true);
    await until('the page to notice', async () => (await hook(page, 'status')).state === 'offline');
    // From the browser's own `offline` event, not the dead-link timer's silence.
    expect((await hook(page, 'status')).message).toMatch(/this browser is offline/i);
    await typeIn(page, 'o.txt', 'offline edit\n');
    expect((await hook(page, 'status')).unacknowledged).toBeGreaterThan(0);
    await page.getByTestId('status-unacknowledged').waitFor();
    await editor.edit('o.txt', 'line\n'.length, 'line\n'.length, 'meanwhile\n');
    await new Promise((r) => setTimeout(r, 1000));
    expect(editor.text('o.txt')).toBe('line\nmeanwhile\n'); // the page's edit has not crossed
    await page.context().setOffline(false);
    const merged = 'offline edit\nline\nmeanwhile\n';
    await editor.waitFor(() => editor.text('o.txt') === merged, 'the offline edit in the editor');
    await until('the editor edit in the page', () => shows(page, 'o.txt', merged));
    await until('acknowledged', async () => (await hook(page, 'status')).unacknowledged === 0);
    await until('on disk', async () => onDisk(dir, 'o.txt') === merged);
  });
});
