// Two people create the same new file in their editors at nearly the same moment and type into it
// (Neovim `:e notes/todo.md` on one peer, Emacs `find-file` on the other). A trial found one
// person's typing gone from every disk and from their own buffer (3 of 8 runs), or both texts
// doubled (5 of 8), with no conflict copy and no message (decision 218, "Still open").
// Whatever the timing, each person's typing must survive exactly once: at the path or in a
// conflict copy, and in that person's own buffer.
import fs from 'node:fs';
import path from 'node:path';
import { afterEach, expect, it } from 'vitest';
import { converged, editor, sharedPair, stopAllPeers, until, folderFiles } from '../support/disk-peers.js';

afterEach(stopAllPeers);

/** Type `text` at the start of a buffer that was empty, as one edit (`ialice todo<Esc>`) or a key at a time, each after the last (the person's own cursor). */
async function typeInto(e: Awaited<ReturnType<typeof editor>>, path: string, text: string, gapMs: number | 'whole'): Promise<void> {
  if (gapMs === 'whole') {
    await e.edit(path, 0, 0, text);
    return;
  }
  for (let n = 0; n < text.length; n++) {
    // After what this person typed so far, wherever others' typing has moved it.
    const typed = text.slice(0, n);
    const found = n ? e.text(path).indexOf(typed) : 0;
    const at = found < 0 ? e.text(path).length : found + n;
    await e.edit(path, at, at, text[n]!);
    if (gapMs) await new Promise((r) => setTimeout(r, gapMs));
  }
}

// `save`: each editor then writes its buffer to the file, as Emacs's `save-buffer` and Neovim's
// `:w` do (the trial's Emacs saved at once, and Neovim's `:w` doubled both texts).
/** Write each of an editor's buffers to its file, as a save does. */
function saveBuffer(e: Awaited<ReturnType<typeof editor>>, dir: string): void {
  for (const p of e.paths()) {
    fs.mkdirSync(path.dirname(path.join(dir, p)), { recursive: true });
    fs.writeFileSync(path.join(dir, p), e.text(p));
  }
}

for (const [name, gapA, gapB, lagB, save] of [
  ['each typed as one edit at once', 'whole', 'whole', 0, false],
  ['one opens a little later', 'whole', 'whole', 40, false],
  ['a key at a time', 15, 15, 0, false],
  ['each saved at once', 'whole', 'whole', 0, true],
  ['one opens a little later, each saved at once', 'whole', 'whole', 40, true],
] as const) {
  it(`two editors make the same new file at once (${name}): each person's typing is kept once, in their own buffer too`, async () => {
    const { a, b } = await sharedPair({ 'readme.md': 'hello\n' });
    await converged(a, b, 'the first sync');
    const ea = await editor(a.daemon.project.socketPath, { followRenames: true });
    const eb = await editor(b.daemon.project.socketPath, { followRenames: true });
    const alice = 'alice todo one';
    const bob = 'bob todo two';
    await Promise.all([
      (async () => {
        expect(await ea.open('notes/todo.md', '')).toBe('');
        await typeInto(ea, 'notes/todo.md', alice, gapA);
        if (save) saveBuffer(ea, a.dir);
      })(),
      (async () => {
        if (lagB) await new Promise((r) => setTimeout(r, lagB));
        // The later open may find the file made already, with some of alice's text: it is the
        // editor's new, empty buffer all the same (`:e`, `find-file`), and takes that text in.
        const found = await eb.open('notes/todo.md', '');
        expect(alice.startsWith(found)).toBe(true);
        await typeInto(eb, 'notes/todo.md', bob, gapB);
        if (save) saveBuffer(eb, b.dir);
      })(),
    ]);
    const texts = () => Object.values(folderFiles(a.dir)).join('\u0000');
    await until(() => texts().includes(alice) && texts().includes(bob), "both texts in A's folder");
    await new Promise((r) => setTimeout(r, 1500)); // a late settlement would have moved things by now
    const files = await converged(a, b);
    const all = Object.values(files).join('\u0000');
    const count = (s: string) => all.split(s).length - 1;
    expect({ files, alice: count(alice), bob: count(bob) }).toMatchObject({ alice: 1, bob: 1 });
    // Each person's buffer still holds what they typed, under whatever path it now has.
    const bufA = ea.paths().map((p) => ea.text(p)).join('\u0000');
    const bufB = eb.paths().map((p) => eb.text(p)).join('\u0000');
    expect(bufA).toContain(alice);
    expect(bufB).toContain(bob);
    // And each is in step with the folder.
    await ea.waitFor(() => ea.paths().every((p) => ea.text(p) === files[p]), "A's editor in step with the folder");
    await eb.waitFor(() => eb.paths().every((p) => eb.text(p) === files[p]), "B's editor in step with the folder");
  });
}

// The same race in any file: an editor saves its buffer (`:w`, Ctrl+S) while a peer's change is
// on its way to it. The saved file lacks that change and holds typing the daemon has already;
// taken in as a change of the folder, the typing was applied twice, or the peer's change undone.
it("an editor's save that lags behind a peer's change brings nothing new: no typing doubled, the peer's change kept", async () => {
  const { a, b } = await sharedPair({ 'plan.md': 'one\ntwo\nthree\n' });
  await converged(a, b, 'the first sync');
  // A's editor takes what the daemon sends it late, so its buffer lags behind the shared text.
  const ea = await editor(a.daemon.project.socketPath, { maxDelayMs: 1500, random: () => 0.99 });
  const eb = await editor(b.daemon.project.socketPath);
  await ea.open('plan.md');
  await eb.open('plan.md');
  await eb.edit('plan.md', 'one\ntwo\nthree\n'.length, 'one\ntwo\nthree\n'.length, 'four from bob\n');
  await until(() => a.daemon.workspace.text(a.daemon.workspace.index.idOf('plan.md')!).includes('four from bob'), "bob's line at A's daemon");
  await ea.edit('plan.md', 0, 0, 'zero from alice\n');
  saveBuffer(ea, a.dir); // without bob's line, not yet in A's buffer
  await new Promise((r) => setTimeout(r, 2500)); // the take-in of the save, and A's editor catching up
  const files = await converged(a, b);
  expect(files['plan.md']).toBe('zero from alice\none\ntwo\nthree\nfour from bob\n');
  await ea.settle();
  expect(ea.text('plan.md')).toBe(files['plan.md']);
  expect(a.lines.some((l) => /saved by an editor just before a peer's change/.test(l))).toBe(true);
});
