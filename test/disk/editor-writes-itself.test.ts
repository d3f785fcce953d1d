// An editor that writes its file itself after `buffer/save` (VS Code: its save cannot be handed
// over, only held; decisions 222 and 251). Fault s53b-3: with auto save on and a peer typing,
// the daemon's write-back of the peer's next key landed between the daemon's write for the save
// and VS Code's own, and VS Code refused to save ("The content of the file is newer"); its
// Overwrite wrote a text that lacked the peer's last keys, which the folder's take-in then took as
// their deletion, on every member.
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import * as P from '@chorus/protocol';
import { afterEach, expect, it } from 'vitest';
import { converged, editor, pairWithEditors, sharedPair, stopAllPeers, until } from '../support/disk-peers.js';

afterEach(stopAllPeers);

const sha256 = (text: string) => createHash('sha256').update(text, 'utf8').digest('hex');

it("an editor's own write of a text that lacks a peer's typing (VS Code's Overwrite) deletes none of it: the folder gets the shared text back", async () => {
  const start = 'BOB:\nline one\nline two\n';
  const { a, b } = await sharedPair({ 'plan.txt': start });
  await converged(a, b, 'the first sync');
  // A's editor takes what the daemon sends it late: its document lacks the peer's last keys.
  const ea = await editor(a.daemon.project.socketPath, { maxDelayMs: 4000, random: () => 0.99 });
  const eb = await editor(b.daemon.project.socketPath);
  await ea.open('plan.txt');
  await eb.open('plan.txt');
  for (const ch of 'typing') {
    const at = eb.text('plan.txt').indexOf('\n');
    void eb.edit('plan.txt', at, at, ch); // pipelined, as the trial's script typed
  }
  const want = 'BOB:typing\nline one\nline two\n';
  await until(() => fs.readFileSync(path.join(a.dir, 'plan.txt'), 'utf8') === want, "the peer's typing in A's folder");
  const stale = ea.text('plan.txt');
  expect(stale).toBe(start); // the case at hand: the editor has not been sent the typing yet
  // VS Code's save: the daemon writes (and holds its writes), then VS Code says what it writes and writes it.
  await ea.raw(P.BufferSave.method, { path: 'plan.txt', hold: true });
  await ea.raw(P.BufferSave.method, { path: 'plan.txt', writes: sha256(stale) });
  // The next auto save declares its text before the folder has shown this one (saves every 100 ms).
  await ea.raw(P.BufferSave.method, { path: 'plan.txt', writes: sha256(`${stale}x`) });
  fs.writeFileSync(path.join(a.dir, 'plan.txt'), stale); // in place, as VS Code writes
  await new Promise((r) => setTimeout(r, 1500)); // its take-in has come by now
  const files = await converged(a, b);
  expect(files['plan.txt']).toBe(want);
  await eb.waitFor(() => eb.text('plan.txt') === want, "B's editor to keep the typing");
  await ea.waitFor(() => ea.text('plan.txt') === want, "A's editor to get the typing");
  expect(a.lines.some((l) => /plan\.txt: an editor saved its own text over the file; .* not taken in as a change/.test(l))).toBe(true);
});

it("while an editor that writes its file itself saves, the daemon's write-backs of a peer's typing wait until that write has landed", async () => {
  const { a, b } = await sharedPair({ 'notes.txt': 'start\n' });
  await converged(a, b, 'the first sync');
  const ea = await editor(a.daemon.project.socketPath);
  const eb = await editor(b.daemon.project.socketPath);
  await ea.open('notes.txt');
  await eb.open('notes.txt');
  const file = path.join(a.dir, 'notes.txt');
  await ea.raw(P.BufferSave.method, { path: 'notes.txt', hold: true });
  const saved = fs.readFileSync(file, 'utf8');
  expect(saved).toBe('start\n');
  // The peer types while VS Code is between the daemon's write and its own.
  await eb.edit('notes.txt', 0, 0, 'peer ');
  const ws = a.daemon.workspace;
  await until(() => ws.text(ws.index.idOf('notes.txt')!) === 'peer start\n', "the peer's key at A's daemon");
  await new Promise((r) => setTimeout(r, 400)); // a write-back comes within 100 ms of quiet
  expect(fs.readFileSync(file, 'utf8')).toBe(saved); // the file is still what VS Code is told it holds
  // VS Code writes that very text: its write lands, and the held write-back goes on.
  await ea.raw(P.BufferSave.method, { path: 'notes.txt', writes: sha256(saved) });
  fs.writeFileSync(file, saved);
  await until(() => fs.readFileSync(file, 'utf8') === 'peer start\n', "the peer's key in A's folder once VS Code's write landed");
  const files = await converged(a, b);
  expect(files['notes.txt']).toBe('peer start\n');
});

it("a save naming the editor's revision has the file written with exactly the editor's text, without a peer's typing still on its way to it; the shared text follows once the editor has written (decision 273)", async () => {
  const start = 'BOB:\nline one\n';
  // A's editor applies what the daemon sends it 1.5 s late, each change after the one before.
  const { a, b, ea, eb } = await pairWithEditors({ 'plan.txt': start }, 'plan.txt', 1500);
  for (const ch of 'ty') {
    const at = eb.text('plan.txt').indexOf('\n');
    void eb.edit('plan.txt', at, at, ch);
  }
  const want = 'BOB:ty\nline one\n';
  const ws = a.daemon.workspace;
  await until(() => ws.text(ws.index.idOf('plan.txt')!) === want, "the peer's typing at A's daemon");
  expect(ea.text('plan.txt')).toBe(start); // the case at hand: the editor has not applied it yet
  const file = path.join(a.dir, 'plan.txt');
  // VS Code's save: the daemon writes the editor's own text, and holds its writes.
  await ea.raw(P.BufferSave.method, { path: 'plan.txt', hold: true, revision: ea.revision('plan.txt') });
  expect(fs.readFileSync(file, 'utf8')).toBe(start); // what VS Code is about to write: no "newer" file
  await new Promise((r) => setTimeout(r, 400)); // a write-back comes within 100 ms of quiet
  expect(fs.readFileSync(file, 'utf8')).toBe(start);
  // VS Code writes that very text: its write lands, and the shared text follows.
  await ea.raw(P.BufferSave.method, { path: 'plan.txt', writes: sha256(start) });
  fs.writeFileSync(file, start);
  await until(() => fs.readFileSync(file, 'utf8') === want, "the peer's typing in A's folder once the editor's write landed");
  const files = await converged(a, b);
  expect(files['plan.txt']).toBe(want);
  await ea.waitFor(() => ea.text('plan.txt') === want, "A's editor to get the typing");
  expect(ws.text(ws.index.idOf('plan.txt')!)).toBe(want); // nothing taken in twice or taken out
  // A revision that does not fit writes the shared text, as a save without one.
  await ea.raw(P.BufferSave.method, { path: 'plan.txt', hold: true, revision: 99 });
  expect(fs.readFileSync(file, 'utf8')).toBe(want);
});
