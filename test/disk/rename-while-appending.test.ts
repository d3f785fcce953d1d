// A user trial's fault: on A a shell loop appended lines to log.txt while on B someone ran
// `mv log.txt renamed.txt`. A's daemon got the rename while A's folder held appends it had not
// taken in yet (the watcher reads a changed file at most about once a second); it wrote
// renamed.txt from the shared state and left log.txt where it was, so the file split: renamed.txt
// an older copy, log.txt everything. The appends were made to that very file: they must move with
// it and reach B in renamed.txt (decision 167). Appends made after the move make log.txt again,
// by name, as `mv` during the loop does on one machine: shared as a new file, never a stale copy.
import fs from 'node:fs';
import path from 'node:path';
import { afterEach, expect, it } from 'vitest';
import { converged, folderFiles, sharedPair, stopAllPeers, until, type Peer } from '../support/disk-peers.js';

afterEach(stopAllPeers);

const FROM = 'log.txt';
const TO = 'renamed.txt';
const START = 'line0\n';

/** Wait for `ready` to hold in both folders, then for both to hold the same files and stop changing. */
async function settled(a: Peer, b: Peer, ready: (files: Record<string, string>) => boolean): Promise<Record<string, string>> {
  await until(() => ready(folderFiles(a.dir)) && ready(folderFiles(b.dir)), 'both folders to hold what was written');
  let files = await converged(a, b, 'both folders to hold the same files');
  for (let i = 0; i < 20; i++) {
    await new Promise((r) => setTimeout(r, 1500)); // a late take-in or a stale copy would be back by now
    const again = await converged(a, b, 'both folders to settle');
    if (JSON.stringify(again) === JSON.stringify(files)) return files;
    files = again;
  }
  throw new Error('the folders kept changing');
}

it('lines appended on A while B renames the file: every line appended before the rename reached A is in the renamed file on both peers, in order, and none twice', async () => {
  const { a, b } = await sharedPair({ [FROM]: START, 'other.md': 'o\n' });
  await converged(a, b, 'the first sync');
  const aId = a.daemon.identity.id;
  /** Each line appended on A, and whether A's daemon had the rename when it was appended. */
  const appended: Array<{ line: string; after: boolean }> = [];
  const append = (i: number) => {
    const line = `line${i}\n`;
    appended.push({ line, after: a.daemon.workspace.index.idOf(TO) !== undefined });
    fs.appendFileSync(path.join(a.dir, FROM), line); // by name, as `echo … >> log.txt` does
  };
  // At least 150 lines, and on until A has had the rename for a few of them (a loaded machine
  // may take longer to deliver it), within a bound.
  for (let i = 1; i <= 150 || (appended.filter((x) => x.after).length < 5 && i <= 1000); i++) {
    if (i === 40) {
      // B renames the file; its change is held until A has just appended a line, so the rename
      // surely reaches A while A's folder holds appends its daemon has not taken in.
      b.net.hold(aId);
      fs.renameSync(path.join(b.dir, FROM), path.join(b.dir, TO));
      await until(() => b.daemon.workspace.index.idOf(TO) !== undefined, 'B to take its rename in');
      append(i);
      b.net.release(aId);
    } else append(i);
    await new Promise((r) => setTimeout(r, 50));
  }
  expect(appended.some((x) => !x.after)).toBe(true);
  expect(appended.some((x) => x.after)).toBe(true); // the rename reached A during the loop

  const all = START + appended.map((x) => x.line).join('');
  const files = await settled(a, b, (f) => ((f[TO] ?? '') + (f[FROM] ?? '')).length >= all.length);
  const before = START + appended.filter((x) => !x.after).map((x) => x.line).join('');
  // The renamed file holds every line appended before A had the rename, in order; the lines
  // after it are either there too (appended to the moved file) or in a new log.txt. Together the
  // two names hold each line once: no line lost, none twice, no stale copy.
  expect(files[TO]!.startsWith(before)).toBe(true);
  expect(files[TO]! + (files[FROM] ?? '')).toBe(all);
  expect(Object.keys(files).filter((p) => p !== FROM).sort()).toEqual(['other.md', TO]);
  expect(a.lines.filter((l) => l.includes(`kept ${FROM}`))).toEqual([]);
});

it('a file rewritten on A (not only added to) while B renames it: both versions are kept, and the log says so', async () => {
  const { a, b } = await sharedPair({ [FROM]: 'line0\nline1\n', 'other.md': 'o\n' });
  await converged(a, b, 'the first sync');
  const aId = a.daemon.identity.id;
  b.net.hold(aId);
  fs.renameSync(path.join(b.dir, FROM), path.join(b.dir, TO));
  await until(() => b.daemon.workspace.index.idOf(TO) !== undefined, 'B to take its rename in');
  // Rewritten on A just before the rename reaches it: which version the rename meant cannot be told.
  fs.writeFileSync(path.join(a.dir, FROM), 'rewritten\n');
  b.net.release(aId);
  await until(() => a.lines.some((l) => l.includes(`kept ${FROM}`)), `A to keep ${FROM}`);
  const files = await settled(a, b, (f) => f[FROM] !== undefined && f[TO] !== undefined);
  expect(files).toEqual({ [FROM]: 'rewritten\n', 'other.md': 'o\n', [TO]: 'line0\nline1\n' });
  expect(a.lines.find((l) => l.includes(`kept ${FROM}`))).toContain(`renamed it to ${TO}`);
});
