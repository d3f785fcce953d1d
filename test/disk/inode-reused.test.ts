// test/cli/disk-races.test.ts, made quicker (appends every 20 ms on B, `sed -i` every 150 ms on A,
// two CPU burners): 13 and 20 of B's lines lost, on both peers, with nothing in the logs. A's
// daemon wrote back the lines (its newest content, in a new file with inode N); two `sed -i`
// rewrites then came within one take-in, the first made on the content before that write-back
// (read just before it landed). The first rename freed inode N, and the file system gave N to the
// second's new file. The take-in saw inode N, took the file for the write-back's own file changed
// in place (WriteBack.baseFor, decision 148), diffed the rewrite from the newest content, and
// deleted the lines the write-back had brought. Here the reuse is forced (the take-in is shown
// the inode number of the write-back's file); the file's birth time still tells the two apart.
import fs from 'node:fs';
import path from 'node:path';
import { afterEach, expect, it, vi } from 'vitest';
import { converged, sharedPair, stopAllPeers, until } from '../support/disk-peers.js';

afterEach(async () => {
  vi.restoreAllMocks();
  await stopAllPeers();
});

const read = (f: string) => (fs.existsSync(f) ? fs.readFileSync(f, 'utf8') : '');

/** Does this file system keep a file's birth time (ext4, btrfs, xfs, APFS do)? Without it a reused inode number cannot be told from the same file. */
function keepsBirthTimes(dir: string): boolean {
  const f = path.join(dir, '.birth-probe');
  fs.writeFileSync(f, '');
  const born = fs.statSync(f).birthtimeMs;
  fs.rmSync(f);
  return born > 0;
}

it("a rewrite made on the content before a write-back, in a file that got the write-back file's inode number, keeps what the write-back brought", async (ctx) => {
  const { a, b } = await sharedPair({ 'f.txt': 'top\nL1\n' });
  if (!keepsBirthTimes(a.dir)) ctx.skip(); // nothing to tell the files apart by: baseFor goes by the inode, as before
  await converged(a, b, 'the first sync');
  const fa = path.join(a.dir, 'f.txt');
  const fb = path.join(b.dir, 'f.txt');

  // A line appended on A (taken in: A's folder content is now a known base there)...
  fs.appendFileSync(fa, 'L2\n');
  await until(() => read(fb) === 'top\nL1\nL2\n', 'L2 on B');
  // ...and one appended on B, which A's daemon writes back: its newest content, in a new file.
  await new Promise((r) => setTimeout(r, 300));
  fs.appendFileSync(fb, 'L3\n');
  await until(() => read(fa) === 'top\nL1\nL2\nL3\n', "B's L3 written back on A");
  const written = fs.lstatSync(fa).ino;

  // A `sed -i` on A that read the file just before that write-back landed: its change of line 1
  // made on the content without L3, renamed over the file. Its new file gets the inode number of
  // the write-back's file (the file system reuses a freed one; forced here).
  const tmp = path.join(a.dir, 'sedXYZ');
  fs.writeFileSync(tmp, 'top2\nL1\nL2\n');
  const sedIno = fs.lstatSync(tmp).ino;
  const lstat = fs.promises.lstat.bind(fs.promises);
  vi.spyOn(fs.promises, 'lstat').mockImplementation(async (p, opts) => {
    const st = (await lstat(p, opts as fs.StatOptions)) as fs.Stats;
    return st.ino === sedIno ? Object.assign(Object.create(Object.getPrototypeOf(st) as object) as fs.Stats, st, { ino: written }) : st;
  });
  fs.renameSync(tmp, fa);
  // Shown to the take-in only: once it is in, the file is looked at as it is (a write-back looks
  // at it with other calls, which the forced number would make look changed forever).
  const id = a.daemon.workspace.index.idOf('f.txt')!;
  const end = Date.now() + 15_000;
  while (!a.daemon.workspace.text(id).startsWith('top2\n') && Date.now() < end) await new Promise((r) => setTimeout(r, 2));
  vi.restoreAllMocks();
  // Taken in while the number was shown (else the take-in saw the real one, and this proves nothing).
  expect(a.daemon.workspace.text(id).startsWith('top2\n'), 'the rewrite taken in within 15 s').toBe(true);

  const want = 'top2\nL1\nL2\nL3\n';
  await until(() => read(fa) === want && read(fb) === want, 'both folders to hold the rewrite and L3', 15_000).catch(() => undefined);
  expect({ a: read(fa), b: read(fb) }).toEqual({ a: want, b: want });
  await new Promise((r) => setTimeout(r, 1500));
  expect({ a: read(fa), b: read(fb) }).toEqual({ a: want, b: want });
}, 60_000);
