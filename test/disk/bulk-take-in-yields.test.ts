// A tool that rewrites hundreds of files at once (`sed -i` over a tree, a formatter, a branch
// switch) was taken in in one go: each file became a live document and was merged, ~20 s for 387
// files on this machine and 60–116 s under load (trial s51b, N1), and all that time the daemon
// answered nothing. Its peers counted it unreachable after 10 s of silence and told their
// editors so; its own editor's keystrokes waited. Now the changed files are taken in a slice at a
// time with the event loop let run between slices (decision 246). Pinned here: the event loop
// runs while one burst is taken in, an editor's keystroke made during it merges with the
// rewrite, and every rewrite reaches the peer.
import fs from 'node:fs';
import path from 'node:path';
import { afterEach, expect, it } from 'vitest';
import { converged, editor, folderFiles, sharedPair, stopAllPeers, until } from '../support/disk-peers.js';

afterEach(stopAllPeers);

// Enough work that taking the whole burst in takes far longer than one slice (50 ms) on any
// machine: each file is ~8,000 characters, and making it a live document and merging the
// rewrite costs milliseconds each.
const N = 48;
const line = (i: number, j: number) => `export const value${i}_${j} = ${JSON.stringify('x'.repeat(40))};\n`;
const files = Object.fromEntries(Array.from({ length: N }, (_, i) => [`src/m${i}.ts`, Array.from({ length: 120 }, (_, j) => line(i, j)).join('')]));

it('a tree-wide rewrite is taken in a slice at a time: the event loop runs between them, a keystroke made meanwhile is merged, and the peer gets every rewrite', async () => {
  const { a, b } = await sharedPair(files);
  await converged(a, b, 'the first sync');
  const e = await editor(a.daemon.project.socketPath);
  await e.open('src/m9.ts'); // the last of the burst taken in (paths in order: m0, m1, m10, …, m9)

  // What happens on A's event loop from now on, in order: each file the folder's burst changed
  // ('take'), and each turn of the loop ('turn', from a setImmediate chain, which runs once per turn).
  const order: string[] = [];
  let typedAt = -1;
  a.daemon.workspace.on('text', (ev) => {
    if (ev.origin.kind !== 'disk') return;
    order.push('take');
    // The first file of the burst taken in: type into another, still waiting, file now. Its
    // keystroke lands between slices, before that file's rewrite is taken in (or, as before,
    // after the whole burst), and is merged with it either way.
    if (typedAt < 0) {
      typedAt = order.length;
      void e.edit('src/m9.ts', 0, 0, '// typed during the rewrite\n');
    }
  });
  let turning = true;
  const turn = () => {
    if (order.at(-1) !== 'turn') order.push('turn');
    if (turning) setImmediate(turn);
  };
  turn();

  const want: Record<string, string> = {};
  for (const [p, t] of Object.entries(files)) {
    want[p] = t.replaceAll('export const', 'export let');
    fs.writeFileSync(path.join(a.dir, p), want[p]!);
  }
  want['src/m9.ts'] = '// typed during the rewrite\n' + want['src/m9.ts'];
  try {
    await until(() => order.filter((o) => o === 'take').length >= N, 'A to take in every rewrite', 120_000);
  } finally {
    turning = false;
  }
  // The longest run of files taken in with no turn of the event loop between them. Before, one
  // burst was one run: every file of it (or, where the watcher split it into two batches, about
  // half). Now each run is one slice of at most 50 ms.
  let longest = 0;
  let run = 0;
  for (const o of order) {
    run = o === 'take' ? run + 1 : 0;
    longest = Math.max(longest, run);
  }
  expect(longest, `files taken in without the event loop running between them (of ${N}): ${order.join(' ')}`).toBeLessThan(N / 2);

  const holds = (dir: string) => {
    const f = folderFiles(dir);
    return Object.entries(want).every(([p, t]) => f[p] === t);
  };
  await until(() => holds(b.dir), "every rewrite and the keystroke in B's folder", 120_000);
  await converged(a, b, 'both folders to settle');
  expect(folderFiles(a.dir)).toEqual(want);
  expect(folderFiles(b.dir)).toEqual(want);
  await e.waitFor(() => e.text('src/m9.ts') === want['src/m9.ts'], "A's editor to hold the rewrite and its keystroke");
}, 300_000);
