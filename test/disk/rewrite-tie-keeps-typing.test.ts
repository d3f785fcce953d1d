// Decision 148's tie (decision 263): a tool that rewrites a file (`sed -i`, a formatter, an
// editor that saves by renaming over) read it just before a write-back of the daemon's landed,
// and the write-back brought a peer's keys on the very line the tool changed. Both contents fit
// the tool's text equally well by lines, and the newest was taken as what the tool read: its
// change then deleted the peer's keys, which it never saw. The closer by characters is chosen
// now, which is the one the tool read, either way round.
import fs from 'node:fs';
import path from 'node:path';
import { afterEach, expect, it } from 'vitest';
import { converged, editor, sharedPair, stopAllPeers, until } from '../support/disk-peers.js';

afterEach(stopAllPeers);

const read = (f: string) => fs.readFileSync(f, 'utf8');

/** Write `text` into `file` as `sed -i` does: a new file renamed over the old one. */
function renameOver(file: string, text: string): void {
  const tmp = path.join(path.dirname(file), `.sed${process.pid}`);
  fs.writeFileSync(tmp, text);
  fs.renameSync(tmp, file);
}

for (const readFirst of [true, false]) {
  it(`a tool's rewrite of the line a peer types in keeps the keys it never saw, and takes out none it did (the tool read the ${readFirst ? 'content before' : 'newest'} write-back)`, async () => {
    const { a, b } = await sharedPair({ 'f.txt': 'top\nthe foo line\nend\n' });
    await converged(a, b, 'the first sync');
    const fa = path.join(a.dir, 'f.txt');
    const eb = await editor(b.daemon.project.socketPath);
    await eb.open('f.txt');
    const at = 'top\nthe foo line'.length;
    await eb.edit('f.txt', at, at, ' X');
    await until(() => read(fa) === 'top\nthe foo line X\nend\n', "Bob's X in A's folder");
    const before = read(fa);
    await eb.edit('f.txt', at + 2, at + 2, ' Y');
    await until(() => read(fa) === 'top\nthe foo line X Y\nend\n', "Bob's Y in A's folder");
    // The tool replaces `foo` with `bar` in what it read.
    renameOver(fa, (readFirst ? before : read(fa)).replace('foo', 'bar'));
    const want = 'top\nthe bar line X Y\nend\n';
    const ws = a.daemon.workspace;
    const id = ws.index.idOf('f.txt')!;
    await until(() => ws.text(id) === want && read(fa) === want && read(path.join(b.dir, 'f.txt')) === want && eb.text('f.txt') === want, 'the tool\'s change and both keys everywhere', 15_000).catch(() => undefined);
    expect({ shared: ws.text(id), a: read(fa), b: read(path.join(b.dir, 'f.txt')), bob: eb.text('f.txt') }).toEqual({ shared: want, a: want, b: want, bob: want });
  }, 60_000);
}
