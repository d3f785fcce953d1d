// Trial s55a F2: two members who rewrite the same line while apart. Alice's daemon is stopped and
// she rewrites line 2 in her folder; Bob, online, rewrites the same line in his; Alice starts
// again. Each take-in was a minimal character diff that kept stray letters of the old line, and
// the CRDT wove the two rewrites between them: `dace rewrot rewrote three` in both folders, a line
// neither wrote, 4 of 4 runs (decision 258). Each rewrite must come out whole.
import fs from 'node:fs';
import path from 'node:path';
import { expect, it } from 'vitest';
import { chorus, joinedPair, stopAfterEach, waitUntil } from '../support/cli.js';

const used = stopAfterEach();
const read = (f: string) => (fs.existsSync(f) ? fs.readFileSync(f, 'utf8') : '');

it.each([
  ['alice rewrote three', 'dan rewrote three'],
  ['const timeout = 30;', 'let timeout = 45; // per bob'],
])('two members who rewrote one line while apart (%j, %j) each find both rewrites whole', async (mine, theirs) => {
  const { a, b } = joinedPair({ 'f.txt': 'one\nsame line three\nend\n' }, used);
  const [fa, fb] = [path.join(a, 'f.txt'), path.join(b, 'f.txt')];
  await waitUntil('f.txt on B', () => read(fb) === 'one\nsame line three\nend\n');
  const stop = chorus(['stop', a]);
  expect(stop.status, stop.stderr).toBe(0);
  fs.writeFileSync(fa, `one\n${mine}\nend\n`);
  fs.writeFileSync(fb, `one\n${theirs}\nend\n`);
  // B took its own rewrite in before A is back.
  await waitUntil("B's take-in of its rewrite", () => /took in from the folder: 1 changed/.test(read(path.join(b, '.chorus', 'daemon.log'))));
  const start = chorus(['start', a]);
  expect(start.status, start.stderr).toBe(0);
  await waitUntil('both folders to agree', () => read(fa) === read(fb) && read(fa) !== `one\n${mine}\nend\n` && read(fa) !== `one\n${theirs}\nend\n`, 60_000);
  const text = read(fa);
  // Both rewrites whole, in either order (the CRDT's), the lines around them kept.
  expect([`one\n${mine}${theirs}\nend\n`, `one\n${theirs}${mine}\nend\n`], text).toContain(text);
}, 120_000);
