/**
 * The person types steadily in VS Code while a peer's daemon renames the file (or its folder):
 * every key must reach the renamed file, once, in place, on every member; no file may be left at
 * the old path, no tab on a gone path, and no "Do you want to save" dialog. A trial (s58a, F1 and
 * F2) lost a word in 11 of 14 renames: keys typed into the old tab after the new document had
 * taken its text were closed away with it, and with several files open a folder rename left the
 * old tabs open, modified, at the gone paths ("Could NOT open editor"), one of them focused.
 * code-server with the freshly built .vsix, in Chromium, on project A; B is a peer's folder.
 */
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { pairWithVsCode, type VsCode, vscodeSkipReason, waitFor } from './support.js';

const skip = vscodeSkipReason();
const text = 'alpha\nbeta\ngamma\n';

describe.skipIf(skip)('VS Code extension: typing on while a peer renames the file', () => {
  let vs: VsCode;
  let a: string;
  let b: string;

  const read = (dir: string, file: string) => (fs.existsSync(path.join(dir, file)) ? fs.readFileSync(path.join(dir, file), 'utf8') : undefined);
  const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

  /** Open a project file by Quick Open and put the caret at the end of its line 2 ("beta"). */
  async function openAtBeta(file: string): Promise<void> {
    await vs.page.keyboard.press('Control+p');
    await vs.page.locator('.quick-input-widget input').waitFor({ state: 'visible' });
    await vs.page.keyboard.type(file);
    await vs.page.locator(`.quick-input-list .monaco-list-row:has-text("${path.basename(file)}")`).first().waitFor({ state: 'visible' });
    await sleep(300); // the list settles on the best match
    await vs.page.keyboard.press('Enter');
    await waitFor(`${file} shared and shown`, () => vs.state()?.buffers[file]?.status === 'open' && vs.state()?.active?.path === file, 30000);
    await vs.page.locator('.editor-instance .monaco-editor .view-lines').first().click();
    await vs.page.keyboard.press('Control+Home');
    await vs.page.keyboard.press('ArrowDown');
    await vs.page.keyboard.press('End');
  }

  /**
   * Type `count` tokens (`<tag><i>;`), one every ~150 ms, calling `rename` after `renameAt` of
   * them; resolves the tokens typed.
   */
  async function typeThrough(tag: string, count: number, renameAt: number, rename: () => void): Promise<string[]> {
    const tokens: string[] = [];
    for (let i = 0; i < count; i++) {
      if (i === renameAt) rename();
      const token = `${tag}${i};`;
      await vs.page.keyboard.type(token, { delay: 25 });
      tokens.push(token);
      await sleep(80);
    }
    return tokens;
  }

  /** `to` ends with every token once, in order, at the end of line 2, in VS Code and both folders; nothing at `from`. */
  async function everyKey(from: string, to: string, tokens: string[]): Promise<void> {
    const want = text.replace('beta', `beta${tokens.join('')}`);
    const last = tokens[tokens.length - 1]!;
    const seen = () => ({ vscode: vs.text(to), A: read(a, to), B: read(b, to) });
    await waitFor(`${to} to settle with the last token everywhere`, () => {
      const s = seen();
      return s.vscode !== undefined && s.vscode === s.A && s.A === s.B && s.vscode.includes(last);
    }, 60000).catch((e: Error) => {
      throw new Error(`${e.message}: ${JSON.stringify(seen())}; log ${JSON.stringify(vs.state()?.log.slice(-20))}; events ${JSON.stringify(vs.state()?.events?.slice(-40))}`);
    });
    expect(seen(), `every key typed, once, in place; VS Code's events ${JSON.stringify(vs.state()?.events?.slice(-60))}; log ${JSON.stringify(vs.state()?.log.slice(-20))}`).toEqual({ vscode: want, A: want, B: want });
    expect([read(a, from), read(b, from)]).toEqual([undefined, undefined]);
  }

  /** No tab on a gone path (the old names), each of `files` in one tab, no dialog, `active` active. */
  async function tabsFollowed(gone: string[], files: string[], active: string): Promise<void> {
    const tabs = () => (vs.state()?.tabs ?? []).map((t) => ({ ...t, file: path.relative(a, t.file) }));
    await waitFor('the tabs to follow', () => {
      const t = tabs();
      return files.every((f) => t.some((x) => x.file === f)) && !t.some((x) => gone.includes(x.file)) && vs.state()?.active?.path === active;
    }, 30000).catch((e: Error) => {
      throw new Error(`${e.message}: tabs ${JSON.stringify(tabs())}, active ${JSON.stringify(vs.state()?.active)}; log ${JSON.stringify(vs.state()?.log.slice(-20))}`);
    });
    await sleep(1500); // nothing comes back a moment later (a dialog, an old tab)
    const t = tabs();
    expect(t.filter((x) => gone.includes(x.file))).toEqual([]);
    for (const f of files) expect(t.filter((x) => x.file === f), f).toHaveLength(1);
    expect(vs.state()?.active?.path).toBe(active);
    expect(await vs.page.locator('.monaco-dialog-box').count()).toBe(0);
  }

  pairWithVsCode({ 'p1.txt': text, 'p2.txt': text, 'p3.txt': text, 'd/x1.txt': text, 'd/x2.txt': text, 'd/x3.txt': text }, (s) => ({ vs, a, b } = s));

  it('every key typed while a peer renames the file (rename(2) in its folder) reaches the new file', async () => {
    await openAtBeta('p1.txt');
    const tokens = await typeThrough('k', 30, 8, () => fs.renameSync(path.join(b, 'p1.txt'), path.join(b, 'q1.txt')));
    await everyKey('p1.txt', 'q1.txt', tokens);
    await tabsFollowed(['p1.txt'], ['q1.txt'], 'q1.txt');
  });

  it('every key typed while the file is renamed in this folder reaches the new file', async () => {
    await openAtBeta('p2.txt');
    const tokens = await typeThrough('m', 30, 8, () => fs.renameSync(path.join(a, 'p2.txt'), path.join(a, 'q2.txt')));
    await everyKey('p2.txt', 'q2.txt', tokens);
    await tabsFollowed(['p1.txt', 'p2.txt'], ['q1.txt', 'q2.txt'], 'q2.txt');
  });

  it('after a pause in typing, the keyboard is still in the renamed file’s tab', async () => {
    await openAtBeta('p3.txt');
    await vs.type('w1;');
    await sleep(4000); // longer than the extension takes for "is typing"
    fs.renameSync(path.join(b, 'p3.txt'), path.join(b, 'q3.txt'));
    await tabsFollowed(['p1.txt', 'p2.txt', 'p3.txt'], ['q1.txt', 'q2.txt', 'q3.txt'], 'q3.txt');
    await vs.type('w2;');
    await everyKey('p3.txt', 'q3.txt', ['w1;', 'w2;']);
  });

  it('a peer renames the folder of three open files while the person types in one: every tab follows, every key arrives (trial s58a F2)', async () => {
    await openAtBeta('d/x1.txt');
    await openAtBeta('d/x3.txt');
    await openAtBeta('d/x2.txt');
    // The peer changes the two others first: modified in VS Code (not saved), as in the trial,
    // where closing such a tab at a gone path asked whether to save it.
    const peers = `peer\n${text}`;
    for (const f of ['d/x1.txt', 'd/x3.txt']) fs.writeFileSync(path.join(b, f), peers);
    await waitFor('the peer’s changes in VS Code', () => ['d/x1.txt', 'd/x3.txt'].every((f) => vs.text(f) === peers && vs.state()?.buffers[f]?.dirty), 30000);
    const tokens = await typeThrough('f', 30, 8, () => fs.renameSync(path.join(b, 'd'), path.join(b, 'e')));
    await everyKey('d/x2.txt', 'e/x2.txt', tokens);
    await tabsFollowed(['d/x1.txt', 'd/x2.txt', 'd/x3.txt'], ['e/x1.txt', 'e/x2.txt', 'e/x3.txt'], 'e/x2.txt');
    for (const f of ['e/x1.txt', 'e/x3.txt']) expect([vs.text(f), read(a, f), read(b, f)], f).toEqual([peers, peers, peers]);
    for (const f of ['d/x1.txt', 'd/x3.txt']) expect([read(a, f), read(b, f)], f).toEqual([undefined, undefined]);
  });
});
