// Issue 17: pages and daemons in one session — presence with names both ways, concurrent edits
// converge, two pages keep editing over their WebRTC link when the daemon stops (and it catches
// up when back), and a page cut off from the network merges its edits when it reconnects.
import fs from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { chorus } from '../support/cli.js';
import { ScriptedEditor } from '../support/scripted-editor.js';
import { browserSkipReason, hook, peerEdit, peerText, Scene, until } from './support.js';
import type { Page } from 'playwright-core';

const skip = browserSkipReason();

function daemonName(dir: string): string {
  return (JSON.parse(fs.readFileSync(path.join(dir, '.chorus', 'identity.json'), 'utf8')) as { name: string }).name;
}

async function textIs(page: Page, file: string, want: string): Promise<boolean> {
  return (await peerText(page, file)) === want;
}

describe.skipIf(skip)('pages and daemons in one session (issue 17)', () => {
  const scene = new Scene();
  const editors: ScriptedEditor[] = [];
  afterEach(async () => {
    for (const e of editors.splice(0)) e.close();
    await scene.cleanup();
  });

  it('presence crosses both ways, with names', async () => {
    const { url, dir } = scene.share({ 'a.txt': 'one\ntwo\nthree\n' });
    const page = await scene.open(url);
    await until('the file in the page', () => textIs(page, 'a.txt', 'one\ntwo\nthree\n'));
    await hook(page, 'setName', 'Ada in a browser');
    const { editor } = ScriptedEditor.connect(dir);
    editors.push(editor);
    await editor.init();
    await editor.open('a.txt');
    await editor.conn.sendNotification('cursor/set', { path: 'a.txt', selections: [{ anchor: { line: 1, character: 0 }, head: { line: 1, character: 3 } }] });
    const daemon = await until('the editor in the page', async () => (await hook(page, 'people')).find((p) => !p.self && p.file === 'a.txt'));
    expect(daemon.name).toBe(daemonName(dir));
    expect(daemon.selections).toEqual([{ anchor: 4, head: 7 }]);
    await hook(page, 'setSelections', 'a.txt', [{ anchor: 8, head: 8 }]);
    await editor.waitFor(
      () => editor.notes.some((n) => n.method === 'cursor/didChange' && n.params.peer?.name === 'Ada in a browser' && n.params.selections?.[0]?.head?.line === 2),
      'the page cursor, with its name, in the editor',
    );
  });

  it('two pages and a daemon edit one file concurrently and converge', async () => {
    const { url, dir } = scene.share({ 'c.txt': 'base\n' });
    const [a, b] = [await scene.open(url), await scene.open(url)];
    for (const p of [a, b]) await until('the file in a page', () => textIs(p, 'c.txt', 'base\n'));
    const { editor } = ScriptedEditor.connect(dir);
    editors.push(editor);
    await editor.init();
    await editor.open('c.txt');
    // Everyone types at once, without waiting for the others.
    const typing: Array<Promise<unknown>> = [];
    for (let i = 0; i < 8; i++) {
      typing.push(peerEdit(a, 'c.txt', 0, 0, `a${i} `), peerEdit(b, 'c.txt', 0, 0, `b${i} `), editor.edit('c.txt', 0, 0, `e${i} `));
    }
    await Promise.all(typing);
    const final = await until('the three to agree', async () => {
      const [ta, tb] = [await peerText(a, 'c.txt'), await peerText(b, 'c.txt')];
      await editor.settle();
      return ta === tb && tb === editor.text('c.txt') && ta.split(' ').length === 25 ? ta : undefined;
    });
    for (let i = 0; i < 8; i++) for (const who of ['a', 'b', 'e']) expect(final).toContain(`${who}${i} `);
    expect(final.endsWith('base\n')).toBe(true);
    await until('the disk to agree', async () => fs.readFileSync(path.join(dir, 'c.txt'), 'utf8') === final);
  });

  it('two pages keep converging over WebRTC after the daemon stops; the daemon catches up when back', async () => {
    const { url, dir } = scene.share({ 'w.txt': 'start\n' });
    const [a, b] = [await scene.open(url), await scene.open(url)];
    for (const p of [a, b]) await until('the file in a page', () => textIs(p, 'w.txt', 'start\n'));
    const bId = (await hook(b, 'people')).find((p) => p.self)!.id;
    await until('a WebRTC link between the pages', async () => (await hook(a, 'links')).some((l) => l.id === bId && l.path === 'webrtc' && l.state === 'connected'));
    expect(chorus(['stop', dir]).status).toBe(0);
    await until('the daemon gone from the pages', async () => (await hook(a, 'status')).peers === 1);
    await peerEdit(a, 'w.txt', 0, 0, 'from a\n');
    await until('a page edit in the other page', () => textIs(b, 'w.txt', 'from a\nstart\n'));
    await peerEdit(b, 'w.txt', 'from a\nstart\n'.length, 'from a\nstart\n'.length, 'from b\n');
    await until('the reply back', () => textIs(a, 'w.txt', 'from a\nstart\nfrom b\n'));
    // Regression: pages stopped dialing a daemon nobody had news of for 20 s (the overlay's
    // ALIVE_MS), so one that came back later was never reached again. Stay away longer than that.
    await new Promise((r) => setTimeout(r, 22_000));
    // The daemon comes back on its saved port; the pages redial it and bring it level.
    const again = chorus(['share', dir, '--json']);
    expect(again.status, again.stderr).toBe(0);
    await until('the daemon to catch up on disk', async () => fs.readFileSync(path.join(dir, 'w.txt'), 'utf8') === 'from a\nstart\nfrom b\n');
  });

  it('a page cut off from the network keeps its edits and merges them when it reconnects', async () => {
    // WebSocket only: Chromium's offline emulation cuts WebSockets, not WebRTC data channels.
    const { url, dir } = scene.share({ 'o.txt': 'line\n' }, ['--no-webrtc']);
    const page = await scene.open(url);
    await until('the file in the page', () => textIs(page, 'o.txt', 'line\n'));
    const { editor } = ScriptedEditor.connect(dir);
    editors.push(editor);
    await editor.init();
    await editor.open('o.txt');
    await page.context().setOffline(true);
    await until('the page to notice', async () => (await hook(page, 'status')).state === 'offline');
    await peerEdit(page, 'o.txt', 0, 0, 'offline edit\n');
    expect((await hook(page, 'status')).unacknowledged).toBeGreaterThan(0);
    await editor.edit('o.txt', 'line\n'.length, 'line\n'.length, 'meanwhile\n');
    await new Promise((r) => setTimeout(r, 1000));
    expect(editor.text('o.txt')).toBe('line\nmeanwhile\n'); // the page's edit has not crossed
    await page.context().setOffline(false);
    const merged = 'offline edit\nline\nmeanwhile\n';
    await editor.waitFor(() => editor.text('o.txt') === merged, 'the offline edit in the editor');
    await until('the editor edit in the page', () => textIs(page, 'o.txt', merged));
    await until('acknowledged', async () => (await hook(page, 'status')).unacknowledged === 0);
  });
});
