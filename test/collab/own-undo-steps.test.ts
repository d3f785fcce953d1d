// Own-edit undo over several steps of one editor while a peer edits them: an undo takes back
// exactly the person's step, in today's text. Pins the bug where, after a peer deleted the text of
// b's newer step, `buffer/undo` undid b's older step at positions shifted by the peer's deletion
// and deleted "two", a word nobody had typed in that step (user trial on main 0556395, Emacs).
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as P from '@chorus/protocol';
import type { Daemon } from '../../daemon/src/daemon.js';
import { aliceAndBob } from '../support/in-process.js';
import { waitForFile } from '../support/project-dir.js';
import type { ScriptedEditor } from '../support/scripted-editor.js';

const F = 'w.txt';
/** The other cases' files: the same text, their own histories. */
const G = 'v.txt';
const H = 'u.txt';
const T = 't.txt';
const S = 's.txt';
const ORIGINAL = 'line one\nline two\nline three';
let A: Daemon, B: Daemon;
let dirA: string, dirB: string;
let ea: ScriptedEditor, eb: ScriptedEditor;

beforeAll(async () => {
  ({ A, B, dirA, dirB, ea, eb } = await aliceAndBob({ [F]: ORIGINAL, [G]: ORIGINAL, [H]: ORIGINAL, [T]: ORIGINAL, [S]: ORIGINAL }, [F, G, H, T, S]));
});

afterAll(async () => {
  for (const e of [ea, eb]) e.close();
  await Promise.all([A, B].map((d) => d.stop()));
});

/** The text of `file` on both peers' disks and in both editors is `text`. */
async function everywhere(text: string, what: string, file = F): Promise<void> {
  for (const [dir, name] of [[dirA, 'alice'], [dirB, 'bob']] as const) {
    const p = path.join(dir, file);
    await waitForFile(p, (t) => t === text, `${what} in ${name}'s folder`, 15_000).catch((err: Error) => {
      throw new Error(`${err.message}: it holds ${JSON.stringify(fs.readFileSync(p, 'utf8'))}, not ${JSON.stringify(text)}`);
    });
  }
  for (const [e, name] of [[ea, 'ea'], [eb, 'eb']] as const) await e.waitFor(() => e.text(file) === text, `${what} in ${name}`);
}

describe('own-edit undo of an older step', () => {
  it('removes only that step\'s text when a peer already deleted the newer step\'s text', async () => {
    // Two steps by bob's editor: " B1" at the end of line 2, then "B2 " at the start of line 1.
    const endOfLine2 = ORIGINAL.indexOf('\nline three');
    await eb.edit(F, endOfLine2, endOfLine2, ' B1', { undoStop: true });
    await eb.edit(F, 0, 0, 'B2 ', { undoStop: true });
    await everywhere('B2 line one\nline two B1\nline three', 'bob\'s two steps');
    // A tool on alice's machine deletes bob's newer step's text.
    execFileSync('sed', ['-i', '1s/^B2 //', path.join(dirA, F)]);
    await everywhere('line one\nline two B1\nline three', 'the sed on alice\'s file');
    // The newer step is empty now: the undo takes the one before it, " B1", and nothing else.
    expect((await eb.conn.sendRequest(P.BufferUndo.type, { path: F })).applied).toBe(true);
    await everywhere(ORIGINAL, 'bob\'s undo');
    // Redo puts " B1" back where it was, and a second undo has nothing left (the newer step was emptied).
    expect((await eb.conn.sendRequest(P.BufferRedo.type, { path: F })).applied).toBe(true);
    await everywhere('line one\nline two B1\nline three', 'bob\'s redo');
    expect((await eb.conn.sendRequest(P.BufferUndo.type, { path: F })).applied).toBe(true);
    await everywhere(ORIGINAL, 'bob\'s second undo');
    expect((await eb.conn.sendRequest(P.BufferUndo.type, { path: F })).applied).toBe(false);
    expect(fs.readFileSync(path.join(dirB, F), 'utf8')).toBe(ORIGINAL);
  });

  it('takes back two steps in turn with nobody else typing, and redoes them', async () => {
    // The editor's own undo of the newer step shifted the older step's revert as if the older
    // step had been made after it: the second undo deleted "two" here too.
    const endOfLine2 = ORIGINAL.indexOf('\nline three');
    await eb.edit(G, endOfLine2, endOfLine2, ' B1', { undoStop: true });
    await eb.edit(G, 0, 0, 'B2 ', { undoStop: true });
    await everywhere('B2 line one\nline two B1\nline three', 'bob\'s two steps', G);
    for (const [method, text] of [
      [P.BufferUndo.type, 'line one\nline two B1\nline three'],
      [P.BufferUndo.type, ORIGINAL],
      [P.BufferRedo.type, 'line one\nline two B1\nline three'],
      [P.BufferRedo.type, 'B2 line one\nline two B1\nline three'],
    ] as const) {
      expect((await eb.conn.sendRequest(method, { path: G })).applied).toBe(true);
      await everywhere(text, `bob's ${method.method} to ${JSON.stringify(text)}`, G);
    }
  });

  it('after the editor\'s own native undo and redo of both steps, and a peer emptying the newest, takes back " B1" only', async () => {
    // What Neovim sends for `u`, `u`, `<C-r>`, `<C-r>` over the two steps: four more steps of its
    // own, each an ordinary edit (the trial saw "two" deleted after them too).
    const endOfLine2 = ORIGINAL.indexOf('\nline three');
    const steps: Array<[number, number, string, string]> = [
      [endOfLine2, endOfLine2, ' B1', 'line one\nline two B1\nline three'],
      [0, 0, 'B2 ', 'B2 line one\nline two B1\nline three'],
      [0, 3, '', 'line one\nline two B1\nline three'],
      [endOfLine2, endOfLine2 + 3, '', ORIGINAL],
      [endOfLine2, endOfLine2, ' B1', 'line one\nline two B1\nline three'],
      [0, 0, 'B2 ', 'B2 line one\nline two B1\nline three'],
    ];
    for (const [from, to, text, after] of steps) {
      await eb.edit(H, from, to, text, { undoStop: true });
      expect(eb.text(H)).toBe(after);
    }
    await everywhere('B2 line one\nline two B1\nline three', 'bob\'s steps', H);
    const fileA = path.join(dirA, H);
    fs.writeFileSync(fileA, fs.readFileSync(fileA, 'utf8').replace(/^B2 /, ''));
    await everywhere('line one\nline two B1\nline three', 'alice\'s deletion', H);
    expect((await eb.conn.sendRequest(P.BufferUndo.type, { path: H })).applied).toBe(true);
    await everywhere(ORIGINAL, 'bob\'s undo', H);
  });

  it("removes only the person's insertion when a peer typed right at its start (a trial: it deleted the peer's first character and kept the person's)", async () => {
    // Alice types "[alice" at the end of line 1; bob types " {bob}" after it, a key at a time;
    // alice, her caret still before bob's text, types " typing]", a key at a time. Bob's undo deleted alice's space and left his own: "[alicetyping] ".
    const end = 'line one'.length;
    await ea.edit(T, end, end, '[alice');
    await everywhere('line one[alice\nline two\nline three', "alice's text", T);
    const at = end + '[alice'.length;
    for (const [i, c] of [...' {bob}'].entries()) await eb.edit(T, at + i, at + i, c);
    await everywhere('line one[alice {bob}\nline two\nline three', "bob's text", T);
    for (const [i, c] of [...' typing]'].entries()) await ea.edit(T, at + i, at + i, c);
    await everywhere('line one[alice typing] {bob}\nline two\nline three', "alice's typing before bob's", T);
    expect((await eb.conn.sendRequest(P.BufferUndo.type, { path: T })).applied).toBe(true);
    await everywhere('line one[alice typing]\nline two\nline three', "bob's undo", T);
  });

  it('two people undo their adjacent words, then redo them: the words come back in the order typed (trial s58a F3)', async () => {
    // Bob's daemon sees alice's undo and redo as a peer's changes, and alice's his. Before
    // decision 266 bob's redo went in where alice's had, before it: "line one B2x A1x".
    const end = 'line one'.length;
    await ea.edit(S, end, end, ' A1x', { undoStop: true });
    await everywhere('line one A1x\nline two\nline three', "alice's word", S);
    await eb.edit(S, end + 4, end + 4, ' B2x', { undoStop: true });
    await everywhere('line one A1x B2x\nline two\nline three', "bob's word after it", S);
    for (const [e, undo, after] of [
      [ea, true, 'line one B2x'],
      [eb, true, 'line one'],
      [ea, false, 'line one A1x'],
      [eb, false, 'line one A1x B2x'],
    ] as const) {
      expect((await e.conn.sendRequest(undo ? P.BufferUndo.type : P.BufferRedo.type, { path: S })).applied).toBe(true);
      await everywhere(`${after}\nline two\nline three`, `${e === ea ? 'alice' : 'bob'}'s ${undo ? 'undo' : 'redo'}`, S);
    }
  });
});
