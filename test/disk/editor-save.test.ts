// `buffer/save` (decision 222): an editor's save (`:w`, Ctrl+S) has the daemon write the shared
// text, instead of writing its own buffer. A buffer that lacks a peer's change on its way to it,
// written by the editor, was taken in as a change of the file: the editor's last typing applied a
// second time, or the peer's change undone (a trial: 4 of 7 runs doubled blocks of lines).
import fs from 'node:fs';
import path from 'node:path';
import * as P from '@chorus/protocol';
import { afterEach, expect, it } from 'vitest';
import { converged, editor, readOnlyPeer, sharedPair, stopAllPeers, until } from '../support/disk-peers.js';

afterEach(stopAllPeers);

const START = 'one\ntwo\nthree\n';

it("a save while a peer's change is on its way to the editor writes the shared text: nothing doubled, the peer's change kept", async () => {
  const { a, b } = await sharedPair({ 'plan.md': START });
  await converged(a, b, 'the first sync');
  // A's editor takes what the daemon sends it late, so its buffer lags behind the shared text.
  const ea = await editor(a.daemon.project.socketPath, { maxDelayMs: 1500, random: () => 0.99 });
  const eb = await editor(b.daemon.project.socketPath);
  await ea.open('plan.md');
  await eb.open('plan.md');
  await eb.edit('plan.md', START.length, START.length, 'four from bob\n');
  const ws = a.daemon.workspace;
  await until(() => ws.text(ws.index.idOf('plan.md')!).includes('four from bob'), "bob's line at A's daemon");
  await ea.edit('plan.md', 0, 0, 'zero from alice\n');
  expect(ea.text('plan.md')).not.toContain('four from bob'); // the buffer lags: the case at hand
  await ea.raw(P.BufferSave.method, { path: 'plan.md' });
  const want = `zero from alice\n${START}four from bob\n`;
  // Answered once written: the folder has the shared text now.
  expect(fs.readFileSync(path.join(a.dir, 'plan.md'), 'utf8')).toBe(want);
  await new Promise((r) => setTimeout(r, 1500)); // a take-in of the save would have come by now
  const files = await converged(a, b);
  expect(files['plan.md']).toBe(want);
  await ea.waitFor(() => ea.text('plan.md') === want, "A's editor to catch up");
  await eb.waitFor(() => eb.text('plan.md') === want, "B's editor to have alice's line");
});

it('a save answers once the file holds every edit sent before it; a buffer that is not shared is refused, for the editor to write itself', async () => {
  const { a, b } = await sharedPair({ 'notes.md': 'a\n', '.gitignore': 'local.txt\n' });
  await converged(a, b, 'the first sync');
  fs.writeFileSync(path.join(a.dir, 'local.txt'), 'mine\n');
  const ea = await editor(a.daemon.project.socketPath);
  await ea.open('notes.md');
  for (const ch of 'typed') {
    const at = ea.text('notes.md').length;
    void ea.edit('notes.md', at, at, ch); // pipelined, as an editor types
  }
  await ea.raw(P.BufferSave.method, { path: 'notes.md' });
  expect(fs.readFileSync(path.join(a.dir, 'notes.md'), 'utf8')).toBe('a\ntyped');
  // Saved again with nothing new: answered, nothing changed.
  await ea.raw(P.BufferSave.method, { path: 'notes.md' });
  expect(fs.readFileSync(path.join(a.dir, 'notes.md'), 'utf8')).toBe('a\ntyped');
  await until(() => fs.readFileSync(path.join(b.dir, 'notes.md'), 'utf8') === 'a\ntyped', "B's folder to have the typing");
  // An ignored file is the editor's to write; a buffer never opened is no buffer.
  expect(await ea.raw(P.BufferOpen.method, { path: 'local.txt' })).toMatchObject({ shared: false, content: 'mine\n' });
  await expect(ea.raw(P.BufferSave.method, { path: 'local.txt' })).rejects.toThrow(/local\.txt is not shared .* save it as a local file/);
  await expect(ea.raw(P.BufferSave.method, { path: 'other.md' })).rejects.toThrow(/other\.md is not open in this editor/);
});

it("a read-only member's save is refused in words, for its editor to write the file itself (a trial: it answered as saved and wrote nothing)", async () => {
  const { a } = await sharedPair({ 'notes.md': START });
  const c = await readOnlyPeer(a);
  await until(() => fs.existsSync(path.join(c.dir, 'notes.md')), "the reader's copy");
  const ec = await editor(c.daemon.project.socketPath);
  await ec.open('notes.md');
  await expect(ec.raw(P.BufferSave.method, { path: 'notes.md' })).rejects.toThrow(/you joined this session read-only, so the daemon does not save notes\.md for you: the editor saves it as a local file/);
});
