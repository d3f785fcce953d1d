// A daemon whose saved index (the list of shared files) is lost or damaged must take the folder in
// as it is. Before, its ledger of files it had written named every file the fresh index lacked,
// so the start-up scan took them all for files a peer had removed and deleted them; the next
// start then shared those deletions, and every peer's folder was emptied (found by a trial, 6 of 6).
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { chorus, daemonsFor, joinedFolder, joinedPair, listTree, shareCode, stopAfterEach, waitUntil } from '../support/cli.js';
import { tempProject } from '../support/project-dir.js';

const used = stopAfterEach();
const FILES = { 'f1.txt': 'one\n', 'f2.txt': 'two\n', 'sub/f3.txt': 'three\n' };

const pair = () => joinedPair(FILES, used);

/** Start the daemon of a folder that is in a session (it rejoins by itself). */
function start(dir: string): void {
  const r = chorus(['share', dir, '--host', '127.0.0.1']);
  expect(r.status, r.stderr).toBe(0);
}

function stop(dir: string): void {
  expect(chorus(['stop', dir]).status).toBe(0);
}

function kill(dir: string): void {
  for (const pid of daemonsFor(dir)) process.kill(pid, 'SIGKILL');
}

const state = (dir: string, file = ''): string => path.join(dir, '.chorus', 'state', file);
const log = (dir: string): string => fs.readFileSync(path.join(dir, '.chorus', 'daemon.log'), 'utf8');
const same = (a: string, b: string, want: string[]): boolean => listTree(a).join() === want.join() && listTree(b).join() === want.join();

/** Both folders hold exactly `want`, with the content `contents` gives, now and after `b` restarts again. */
async function expectKept(a: string, b: string, want: string[], contents: Record<string, string>): Promise<void> {
  expect(listTree(b)).toEqual(want); // at once: the start-up scan deleted them before
  await waitUntil('both folders to hold every file', () => same(a, b, want));
  await new Promise((r) => setTimeout(r, 1500)); // a deletion by the other peer would have followed by now
  for (const d of [a, b]) for (const [rel, text] of Object.entries(contents)) expect(fs.readFileSync(path.join(d, rel), 'utf8')).toBe(text);
  stop(b);
  start(b);
  await new Promise((r) => setTimeout(r, 1500));
  expect(listTree(b)).toEqual(want);
  expect(listTree(a)).toEqual(want);
  expect(log(b)).not.toMatch(/took in from the folder: .*deleted/);
  // What it rebuilt was saved whole: the restart found it, and no change repeated an actor's
  // sequence number (Automerge refuses to save or load such a document: "duplicate seq").
  expect(log(b).match(/did not load whole/g)?.length ?? 0).toBeLessThanOrEqual(1);
  for (const d of [a, b]) expect(log(d)).not.toMatch(/duplicate seq|could not compact/);
}

describe('one sharer, four joiners', () => {
  // One sharer for these four (decision 151): each damages, stops and restarts only its own
  // joiner, and checks that the sharer's folder still holds FILES and nothing else.
  let sharer: { a: string; code: string } | undefined;
  beforeAll(() => {
    const a = tempProject(FILES);
    sharer = { a, code: shareCode(a) };
  });
  afterAll(() => {
    if (sharer) stop(sharer.a);
  });
  for (const [how, damage] of [
    ['deleted', (b: string) => fs.rmSync(state(b, 'index.snap'))],
    ['overwritten with garbage', (b: string) => fs.writeFileSync(state(b, 'index.snap'), 'not an automerge document at all')],
    ['cut short', (b: string) => fs.truncateSync(state(b, 'index.snap'), 60)],
    ['gone with all saved state', (b: string) => fs.rmSync(state(b), { recursive: true })],
  ] as const) {
    it(`a joiner whose saved file list was ${how} keeps every file, and so does every peer`, async () => {
      const a = sharer!.a;
      const b = joinedFolder(sharer!.code, used);
      stop(b); // compacts: the index is all in index.snap
      expect(fs.existsSync(state(b, 'index.snap'))).toBe(true);
      damage(b);
      start(b);
      await expectKept(a, b, ['f1.txt', 'f2.txt', 'sub/f3.txt'], FILES);
      expect(log(b)).toContain('the saved list of shared files did not load whole');
    });
  }
});

it('a joiner whose file list lost its snapshot but kept the log after it keeps every file, and so does every peer', async () => {
  const { a, b } = pair();
  stop(b);
  start(b);
  fs.writeFileSync(path.join(b, 'f4.txt'), 'four\n');
  await waitUntil('f4.txt on the sharer', () => fs.existsSync(path.join(a, 'f4.txt')));
  kill(b); // no compaction on the way out: index.log holds the change that adds f4.txt
  expect(fs.statSync(state(b, 'index.log')).size).toBeGreaterThan(0);
  fs.rmSync(state(b, 'index.snap'));
  start(b);
  await expectKept(a, b, ['f1.txt', 'f2.txt', 'f4.txt', 'sub/f3.txt'], { ...FILES, 'f4.txt': 'four\n' });
  expect(log(b)).toContain('the saved list of shared files did not load whole (part of it is missing)');
});

it('a sharer whose saved file list is lost keeps every file, and so does the joiner', async () => {
  const { a, b } = pair();
  stop(a);
  fs.rmSync(state(a, 'index.snap'));
  start(a);
  await expectKept(b, a, ['f1.txt', 'f2.txt', 'sub/f3.txt'], FILES);
});
