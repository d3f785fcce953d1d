// A file deleted while an editor that had it open was away (its daemon stopped, the editor's
// connection gone), and the editor re-opening its buffer once its daemon is back (user trial:
// the file came back as `name (conflict …)`). The re-open made a new file at the path: with no
// typing since, a deleted file came back (on the peer, and in no folder on this side); beside the
// deleted file that a peer brought back for edits it never saw, it made two files at one path, and
// one became the conflict copy. Decision 160. Real daemons, run by the built CLI.
import fs from 'node:fs';
import path from 'node:path';
import { afterEach, expect, it } from 'vitest';
import { chorus, joinedPair, listTree, stopAfterEach, waitUntil } from '../support/cli.js';
import { ScriptedEditor } from '../support/scripted-editor.js';

const used = stopAfterEach();
const editors: ScriptedEditor[] = [];
afterEach(() => {
  for (const e of editors.splice(0)) e.close();
});

const read = (dir: string) => fs.readFileSync(path.join(dir, 'f.txt'), { encoding: 'utf8', flag: 'r' });
const has = (dir: string) => fs.existsSync(path.join(dir, 'f.txt'));
const log = (dir: string) => fs.readFileSync(path.join(dir, '.chorus', 'daemon.log'), 'utf8');

async function editorOn(dir: string): Promise<ScriptedEditor> {
  const e = await ScriptedEditor.socket(path.join(dir, '.chorus', 'daemon.sock'), { name: 'bob-editor' });
  editors.push(e);
  await e.init();
  return e;
}

/**
 * A and B share f.txt; B's editor typed "B: " into it (A has it), then B's daemon stopped with the
 * editor's connection; A deleted f.txt; B's daemon started again and took the deletion in. Returns
 * the folders and B's editor, connected again, not yet re-opened.
 */
async function deletedWhileAway(): Promise<{ a: string; b: string; editor: ScriptedEditor }> {
  const { a, b } = joinedPair({ 'f.txt': 'one\ntwo\n' }, used);
  const first = await editorOn(b);
  await first.open('f.txt');
  await first.edit('f.txt', 0, 0, 'B: ');
  await waitUntil("A to have B's edit", () => has(a) && read(a) === 'B: one\ntwo\n');
  first.close();
  expect(chorus(['stop', b]).status).toBe(0);
  fs.rmSync(path.join(a, 'f.txt'));
  await waitUntil('A to take the deletion in', () => /took in from the folder: 1 deleted \(f\.txt\)/.test(log(a)));
  expect(chorus(['share', b, '--json']).status).toBe(0); // B's daemon again: it rejoins
  await waitUntil('B to take the deletion in', () => !has(b) && /syncing/.test(log(b).split('rejoining session')[1] ?? ''));
  return { a, b, editor: await editorOn(b) };
}

it('a re-opened buffer with nothing typed since its file was deleted does not bring the file back', async () => {
  const { a, b, editor } = await deletedWhileAway();
  // The editor had the buffer in step ("B: one\ntwo\n") and typed nothing since.
  expect(await editor.open('f.txt', 'B: one\ntwo\n', 'B: one\ntwo\n')).toBe('B: one\ntwo\n');
  // Before the fix the re-open made f.txt again: back on A, and in B's index but not B's folder.
  // A round trip through both daemons (a file made on B reaching A) shows nothing else is coming.
  fs.writeFileSync(path.join(b, 'later.txt'), 'later\n');
  await waitUntil('later.txt on A', () => fs.existsSync(path.join(a, 'later.txt')));
  expect(listTree(a)).toEqual(['later.txt']);
  expect(listTree(b)).toEqual(['later.txt']);
  expect(log(b)).toMatch(/f\.txt was deleted while an editor that had it open was away; .* so it stays deleted/);
  // Typing in the buffer is an edit the deletion never saw: it brings the file back, at its path.
  await editor.edit('f.txt', 0, 0, 'again ');
  await waitUntil('f.txt back on A with the typing', () => has(a) && read(a) === 'again B: one\ntwo\n');
  await waitUntil('f.txt back on B', () => has(b) && read(b) === 'again B: one\ntwo\n');
  expect(listTree(a)).toEqual(['f.txt', 'later.txt']);
}, 180_000);

it('a re-opened buffer typed in while its file was deleted brings it back at its own name, one file, and both daemons say why', async () => {
  const { a, b, editor } = await deletedWhileAway();
  const typed = 'B: one\ntwo\ntyped while away\n';
  expect(await editor.open('f.txt', typed, 'B: one\ntwo\n')).toBe(typed);
  await waitUntil('f.txt back on A with the typing', () => has(a) && read(a) === typed);
  await waitUntil('f.txt back on B with the typing', () => has(b) && read(b) === typed);
  expect(listTree(a)).toEqual(['f.txt']);
  expect(listTree(b)).toEqual(['f.txt']);
  await waitUntil("B's log to say why", () => /kept f\.txt: it was deleted on one side and edited on another; it is back with those edits rather than lose them/.test(log(b)));
  await waitUntil("A's log to say why", () => /f\.txt is back: it was deleted, but a peer edited it and kept it with those edits rather than lose them/.test(log(a)));
  // The buffer is the file: the editor's next keystroke lands in it, everywhere.
  await editor.edit('f.txt', 0, 0, '> ');
  await waitUntil('the next keystroke on A', () => read(a) === `> ${typed}`);
  expect(listTree(a)).toEqual(['f.txt']);
}, 180_000);

// Trial s49 (2 of 2): the file was deleted by a peer while the editor was connected and was told
// (its tab stayed open), and only then did the daemon stop; the editor's reconnect re-opened the
// tab, and the file came back on every member, with no word why.
it('a buffer whose file a peer deleted while the editor watched, re-opened after its daemon restarted, does not bring the file back', async () => {
  const { a, b } = joinedPair({ 'f.txt': 'one\ntwo\n' }, used);
  const first = await editorOn(b);
  await first.open('f.txt');
  fs.rmSync(path.join(a, 'f.txt'));
  await waitUntil('B to take the deletion in', () => !has(b));
  first.close();
  expect(chorus(['stop', b]).status).toBe(0);
  expect(chorus(['share', b, '--json']).status).toBe(0); // B's daemon again: it rejoins
  await waitUntil('B back in the session', () => /syncing/.test(log(b).split('rejoining session')[1] ?? ''));
  const editor = await editorOn(b);
  const r = (await editor.raw('buffer/open', { path: 'f.txt', content: 'one\ntwo\n', base: 'one\ntwo\n' })) as { content: string; shared?: boolean; notShared?: string };
  expect(r.content).toBe('one\ntwo\n');
  expect(r.shared).toBe(false);
  expect(r.notShared).toMatch(/^f\.txt is not in the session any more: .* so it stays deleted\. The editor keeps its text as a local file; save it to share it again$/);
  fs.writeFileSync(path.join(b, 'later.txt'), 'later\n');
  await waitUntil('later.txt on A', () => fs.existsSync(path.join(a, 'later.txt')));
  await new Promise((r) => setTimeout(r, 1000));
  expect(listTree(a)).toEqual(['later.txt']);
  expect(listTree(b)).toEqual(['later.txt']);
}, 180_000);
