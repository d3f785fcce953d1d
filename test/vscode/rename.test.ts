/**
 * A file open in VS Code is renamed on a peer, or with `mv` in the folder itself: the tab follows
 * the file to its new path (buffer/didRename) with its unsaved text and caret, the person is told
 * once in the status bar, and typing afterwards reaches the new file everywhere. Before, the tab
 * kept the old name: saving it made the old file again, and a reconnection re-opened the old path.
 * A rename in VS Code's own explorer, which moves the tab itself, must not be followed twice (an
 * early version did, and closed the shared buffer of the new path).
 * code-server with the freshly built .vsix, in Chromium, on project A; B is a peer's folder.
 */
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { pairWithVsCode, type VsCode, vscodeSkipReason, waitFor } from './support.js';
import { UNDO_GAP_MS } from '../../daemon/src/editor/undo-history.js';
import { daemonLogTail } from '../support/paths.js';

const skip = vscodeSkipReason();
const text = 'alpha\nbeta\ngamma\n';

describe.skipIf(skip)('VS Code extension: a file renamed while open', () => {
  let vs: VsCode;
  let a: string;
  let b: string;

  const read = (dir: string, file: string) => (fs.existsSync(path.join(dir, file)) ? fs.readFileSync(path.join(dir, file), 'utf8') : undefined);

  /** The labels of the editor tabs. */
  const tabs = () => vs.page.locator('.tabs-container .tab .label-name').allInnerTexts();

  /** Open `file`, put the caret after "beta" and type `typed` there, unsaved; wait until both folders have it. */
  async function typedInto(file: string, typed: string): Promise<string> {
    await vs.open(file);
    await vs.page.keyboard.press('Control+Home');
    await vs.page.keyboard.press('ArrowDown');
    await vs.page.keyboard.press('End');
    await vs.type(typed);
    const want = text.replace('beta', `beta${typed}`);
    await waitFor(`${file} typed, in both folders`, () => vs.text(file) === want && read(a, file) === want && read(b, file) === want);
    expect(vs.state()?.buffers[file]?.dirty).toBe(true); // unsaved in VS Code
    return want;
  }

  /** VS Code now edits `to` in place of `from`, with `want`, in one tab, told once, without a save prompt. */
  async function followed(from: string, to: string, want: string): Promise<void> {
    let seen: unknown;
    await waitFor(`the tab to follow ${from} to ${to}`, async () => {
      const st = vs.state();
      seen = { buffers: st?.buffers, active: st?.active, tabs: await tabs() };
      return st?.buffers[to]?.status === 'open' && !st.buffers[from] && st.active?.path === to && !(await tabs()).includes(path.basename(from));
    }, 60000).catch((e: Error) => {
      throw new Error(`${e.message}; last seen ${JSON.stringify(seen)}; log ${JSON.stringify(vs.state()?.log.slice(-15))}`);
    });
    // The extension says so once its tabs are moved (rename.ts moveEditors returned), which the
    // 100 ms state dump can show a moment after the tabs themselves: wait for the line, then count.
    const told = () => vs.state()?.log.filter((l) => l.includes(`told: ${from} was renamed to ${to}`)) ?? [];
    await waitFor(`the extension to tell of ${from} renamed to ${to}`, () => told().length > 0, 30000);
    expect(vs.text(to)).toBe(want);
    expect((await tabs()).filter((t) => t === path.basename(to))).toHaveLength(1);
    // Closing the old, modified tab asked nothing (saving it would make the old file again).
    expect(await vs.page.locator('.monaco-dialog-box').count()).toBe(0);
    expect((await vs.notifications()).filter((t) => /revert|fail|error|cannot/i.test(t))).toEqual([]);
    expect(told()).toHaveLength(1);
    await waitFor('the status bar message', async () => (await vs.page.locator('.statusbar').innerText()).includes(`${from} was renamed to ${to}`), 5000);
  }

  /** Typing goes on at the caret, in the new file, in both folders; the old file is nowhere. */
  async function typingContinues(from: string, to: string, want: string): Promise<void> {
    await vs.type('!');
    const after = want.replace('\ngamma', '!\ngamma');
    await waitFor(`typing in ${to} everywhere`, () => vs.text(to) === after && read(a, to) === after && read(b, to) === after).catch(async (e: Error) => {
      const focus = await vs.page.evaluate(() => `${document.activeElement?.tagName}.${document.activeElement?.className} in ${document.activeElement?.closest('[aria-label]')?.getAttribute('aria-label')}`);
      throw new Error(`${e.message}; focus ${focus}: vscode ${JSON.stringify(vs.text(to))}, A ${JSON.stringify(read(a, to))}, B ${JSON.stringify(read(b, to))}; buffers ${JSON.stringify(vs.state()?.buffers)}; active ${JSON.stringify(vs.state()?.active)}; log ${JSON.stringify(vs.state()?.log.slice(-20))}; VS Code's events ${JSON.stringify(vs.state()?.events?.slice(-30))}\nA's daemon.log: ${daemonLogTail(a)}\nB's daemon.log: ${daemonLogTail(b, 1500)}`);
    });
    expect(read(a, from)).toBeUndefined();
    expect(read(b, from)).toBeUndefined();
  }

  pairWithVsCode({ 'f.txt': text, 'h.txt': text, 'm.txt': text, 's1.txt': text }, (s) => ({ vs, a, b } = s));

  it('follows a rename made on a peer, keeping the unsaved text and the caret', async () => {
    const want = await typedInto('f.txt', ' typed');
    fs.renameSync(path.join(b, 'f.txt'), path.join(b, 'g.txt'));
    await followed('f.txt', 'g.txt', want);
    await vs.screenshot('renamed-on-a-peer');
    // The next key an undo step of its own, as after a person's pause: edits within UNDO_GAP_MS
    // of each other are one step, and on a fast machine the rename was followed within it, so
    // Ctrl+Z took " typed!" back whole.
    await new Promise((r) => setTimeout(r, UNDO_GAP_MS + 200));
    await typingContinues('f.txt', 'g.txt', want);
    // Own-edit undo goes on in the new file (the daemon kept the buffer's history).
    await vs.page.keyboard.press('Control+z');
    await waitFor('the undo everywhere', () => vs.text('g.txt') === want && read(a, 'g.txt') === want && read(b, 'g.txt') === want);
  });

  it('follows a rename made in its own folder (mv), into a subfolder', async () => {
    const want = await typedInto('h.txt', ' here');
    fs.mkdirSync(path.join(a, 'sub'));
    fs.renameSync(path.join(a, 'h.txt'), path.join(a, 'sub', 'k.txt'));
    await followed('h.txt', 'sub/k.txt', want);
    await typingContinues('h.txt', 'sub/k.txt', want);
  });

  it('a rename in VS Code’s own explorer (VS Code moves the tab itself) goes on in the new file', async () => {
    const want = await typedInto('m.txt', ' mine');
    await (await vs.explorerRow('m.txt')).click();
    await vs.page.keyboard.press('F2');
    await vs.page.keyboard.press('Control+a');
    await vs.type('n.txt');
    await vs.page.keyboard.press('Enter');
    await waitFor('VS Code to edit n.txt', () => vs.state()?.buffers['n.txt']?.status === 'open' && !vs.state()?.buffers['m.txt'], 60000).catch((e: Error) => {
      throw new Error(`${e.message}; ${JSON.stringify(vs.state()?.buffers)}; log ${JSON.stringify(vs.state()?.log.slice(-15))}`);
    });
    expect(vs.text('n.txt')).toBe(want);
    // VS Code moves the tab itself, a moment after the extension's state says n.txt is open: a
    // click before that can land in m.txt's closing editor, and the key typed then is typed into
    // a document VS Code is discarding (a full run under load). The one tab left is n.txt's.
    await waitFor('VS Code to show n.txt alone', async () => {
      const open = await tabs();
      return open.includes('n.txt') && !open.includes('m.txt') && vs.state()?.active?.path === 'n.txt' ? true : undefined;
    }, 60000);
    await vs.page.locator('.editor-instance .monaco-editor .view-lines').first().click();
    await vs.page.keyboard.press('Control+Home');
    await vs.page.keyboard.press('ArrowDown');
    await vs.page.keyboard.press('End');
    await typingContinues('m.txt', 'n.txt', want);
    expect(fs.readdirSync(a).filter((f) => f !== '.chorus').sort()).toEqual(fs.readdirSync(b).filter((f) => f !== '.chorus').sort());
  });

  it('a tab that followed a rename (mv), then renamed in VS Code’s own explorer, stays shared under the new name (trial s49, fault 3)', async () => {
    // Pins: the second rename left the buffer unshared ("its cursor in s3.txt was ignored: that
    // file is not open in this editor"), and typing after a peer's rename lost keys.
    const want = await typedInto('s1.txt', ' one');
    fs.renameSync(path.join(a, 's1.txt'), path.join(a, 's2.txt'));
    await followed('s1.txt', 's2.txt', want);
    await (await vs.explorerRow('s2.txt')).click();
    await vs.page.keyboard.press('F2');
    await vs.page.keyboard.press('Control+a');
    await vs.type('s3.txt');
    await vs.page.keyboard.press('Enter');
    await waitFor('VS Code to edit s3.txt', () => vs.state()?.buffers['s3.txt']?.status === 'open' && !vs.state()?.buffers['s2.txt'], 60000).catch((e: Error) => {
      throw new Error(`${e.message}; ${JSON.stringify(vs.state()?.buffers)}; log ${JSON.stringify(vs.state()?.log.slice(-25))}`);
    });
    await waitFor('VS Code to show s3.txt alone', async () => {
      const open = await tabs();
      return open.includes('s3.txt') && !open.includes('s2.txt') && vs.state()?.active?.path === 's3.txt' ? true : undefined;
    }, 60000);
    await vs.page.locator('.editor-instance .monaco-editor .view-lines').first().click();
    await vs.page.keyboard.press('Control+Home');
    await vs.page.keyboard.press('ArrowDown');
    await vs.page.keyboard.press('End');
    await typingContinues('s2.txt', 's3.txt', want);
    expect(daemonLogTail(a)).not.toContain('that file is not open in this editor');
    // A peer's rename then: the tab follows, and typing there reaches everyone, every key.
    const typed = want.replace('\ngamma', '!\ngamma');
    fs.renameSync(path.join(b, 's3.txt'), path.join(b, 's4.txt'));
    await followed('s3.txt', 's4.txt', typed);
    await vs.type(' ABCDEFGHIJKLMNOP');
    const after = typed.replace('!\ngamma', '! ABCDEFGHIJKLMNOP\ngamma');
    await waitFor('typing in s4.txt everywhere', () => vs.text('s4.txt') === after && read(a, 's4.txt') === after && read(b, 's4.txt') === after).catch((e: Error) => {
      throw new Error(`${e.message}: vscode ${JSON.stringify(vs.text('s4.txt'))}, A ${JSON.stringify(read(a, 's4.txt'))}, B ${JSON.stringify(read(b, 's4.txt'))}; log ${JSON.stringify(vs.state()?.log.slice(-20))}`);
    });
    for (const old of ['s1.txt', 's2.txt', 's3.txt']) expect([read(a, old), read(b, old)]).toEqual([undefined, undefined]);
  });
});
