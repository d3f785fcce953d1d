// Two people create the same new file in their editors at nearly the same moment and type into it
// (Neovim `:e notes/todo.md` on one peer, Emacs `find-file` on the other). A trial found one
// person's typing gone from every disk and from their own buffer (3 of 8 runs), or both texts
// doubled (5 of 8), with no conflict copy and no message (decision 218, "Still open").
// Whatever the timing, each person's typing must survive exactly once: at the path or in a
// conflict copy, and in that person's own buffer.
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

for (const [name, gapA, gapB, lagB] of [
  ['each typed as one edit at once', 'whole', 'whole', 0],
  ['one opens a little later', 'whole', 'whole', 40],
  ['a key at a time', 15, 15, 0],
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
      })(),
      (async () => {
        if (lagB) await new Promise((r) => setTimeout(r, lagB));
        // The later open may find the file made already, with some of alice's text: it is the
        // editor's new, empty buffer all the same (`:e`, `find-file`), and takes that text in.
        const found = await eb.open('notes/todo.md', '');
        expect(alice.startsWith(found)).toBe(true);
        await typeInto(eb, 'notes/todo.md', bob, gapB);
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

