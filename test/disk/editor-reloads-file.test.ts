// An editor whose document is reloaded from the file the daemon wrote (VS Code reloads a saved,
// unmodified document when its file changes on disk) reports the reload as a change of its
// document, and when the extension cannot tell it from typing (the file moved on again before it
// looked) it is sent as the person's edit. It holds a peer's words the editor had not been sent
// yet, or had not applied: the daemon took them as new text, and they were in the file twice, on
// every member (`vscode/save-while-peer-types`: 2 of 16 runs on the code before).
import fs from 'node:fs';
import path from 'node:path';
import { afterEach, expect, it } from 'vitest';
import { converged, pairWithEditors, stopAllPeers, until } from '../support/disk-peers.js';
import type { ScriptedEditorOptions } from '../support/scripted-editor.js';

afterEach(stopAllPeers);

const START = 'BOB:\nline one\n';
const WANT = 'BOB: a1 a2 a3\nline one\n';

/**
 * Two peers with `plan.txt` open in an editor each; A's editor applies what its daemon sends it
 * 2 s late (`aOpts` for more). B's person types three words on line one, and this resolves once
 * A's daemon has them, while A's editor has applied none.
 */
async function peerTypesWhileALags(aOpts: ScriptedEditorOptions = {}) {
  const pair = await pairWithEditors({ 'plan.txt': START }, 'plan.txt', 2000, aOpts);
  const { a, ea, eb } = pair;
  for (const w of [' a1', ' a2', ' a3']) {
    const at = eb.text('plan.txt').indexOf('\n');
    await eb.edit('plan.txt', at, at, w);
  }
  const ws = a.daemon.workspace;
  await until(() => ws.text(ws.index.idOf('plan.txt')!) === WANT, "the peer's words at A's daemon");
  expect(ea.revision('plan.txt')).toBe(0);
  return pair;
}

it("an editor's edit that is exactly the peer's words it had not applied yet (a reload of the file) puts them in once", async () => {
  // A's editor applies what the daemon sends it 2 s late, each change after the one before.
  const { a, b, ea, eb } = await peerTypesWhileALags();
  const want = WANT;
  // Its document is reloaded from a file that had the first two, reported as a change.
  await ea.edit('plan.txt', 4, 4, ' a1 a2');
  await ea.waitFor(() => ea.text('plan.txt') === want, "A's editor to get the third");
  const files = await converged(a, b);
  expect(files['plan.txt']).toBe(want);
  expect(fs.readFileSync(path.join(b.dir, 'plan.txt'), 'utf8')).toBe(want);
  await eb.waitFor(() => eb.text('plan.txt') === want, "B's editor");
});

it("a reload that rewrites the line with just the first of the peer's words puts that word in once", async () => {
  // VS Code reports a reload as the changed lines replaced; the daemon trims that to the word
  // inserted, the very change it had sent. Taken as a key typed where the peer's went (both
  // kept, trial s49 fault 5), the word was in the file twice on every member (CI, stop 62:
  // vscode/save-while-peer-types, a peer's word re-sent past the person's keys and reloaded).
  const { a, b, ea, eb } = await peerTypesWhileALags();
  await ea.edit('plan.txt', 0, 4, 'BOB: a1');
  await ea.waitFor(() => ea.text('plan.txt') === WANT, "A's editor to get the other two");
  const files = await converged(a, b);
  expect(files['plan.txt']).toBe(WANT);
  await eb.waitFor(() => eb.text('plan.txt') === WANT, "B's editor");
});

// Trial s62 F1: Neovim 0.7's LSP client sends no willSaveWaitUntil, and `:w` after the daemon
// wrote the file asks "The file has been changed since reading it"; while the question is up
// Neovim applies no change, and answering yes writes its buffer, which lacks the words a peer
// typed meanwhile. Taken in as a change of the file, that write deleted those words on every
// member (4 of 5 saves in the trial).
it("an editor's undeclared write of its buffer while a peer's words are on their way to it deletes none of them (decision 276)", async () => {
  // A's editor applies what the daemon sends it 2 s late: it is the Neovim held by its question,
  // through chorus lsp, which says at initialize that its client writes its buffers itself.
  const { a, b, ea, eb } = await peerTypesWhileALags({ savesItself: true });
  const want = WANT;
  await until(() => fs.readFileSync(path.join(a.dir, 'plan.txt'), 'utf8') === want, "the peer's words in A's folder");
  // It writes its buffer over the file, as Neovim does on `y`: the text before the peer's words.
  fs.writeFileSync(path.join(a.dir, 'plan.txt'), START);
  await ea.waitFor(() => ea.text('plan.txt') === want, "A's editor to get the peer's words");
  const files = await converged(a, b);
  expect(files['plan.txt']).toBe(want);
  await until(() => fs.readFileSync(path.join(a.dir, 'plan.txt'), 'utf8') === want, "the session's text back in A's folder");
  expect(fs.readFileSync(path.join(b.dir, 'plan.txt'), 'utf8')).toBe(want);
  await eb.waitFor(() => eb.text('plan.txt') === want, "B's editor");
});
