// A folder (with files in it) deleted while its person's daemon was stopped came back, empty, on
// every peer once that daemon started again (user trial). The start-up scan took the files in as
// deleted but made the folder again, as a shared folder "the folder lacks". Decision 173.
// Real daemons, run by the built CLI.
import fs from 'node:fs';
import path from 'node:path';
import { expect, it } from 'vitest';
import { chorus, joinedPair, listTree, stopAfterEach, waitUntil } from '../support/cli.js';

const used = stopAfterEach();
const folders = (dir: string) => listTree(dir, 'folder');
const log = (dir: string) => fs.readFileSync(path.join(dir, '.chorus', 'daemon.log'), 'utf8');
const FILES = { 'top.txt': 'top\n', 'sub/a.txt': 'a\n', 'sub/b.txt': 'b\n', 'sub/deeper/c.txt': 'c\n' };

/**
 * Start `dir`'s daemon again (it rejoins its session: its start-up scan is done when the command
 * returns) and, with `peerUp` (the default), wait until it syncs with the running peer.
 */
async function startAgain(dir: string, peerUp = true): Promise<void> {
  const before = log(dir).length;
  const r = chorus(['share', dir, '--json', '--host', '127.0.0.1']);
  expect(r.status, r.stderr).toBe(0);
  expect(log(dir).slice(before)).toMatch(/took in \d+ files? from the folder/);
  if (peerUp) await waitUntil(`${dir} to sync again`, () => /syncing/.test(log(dir).slice(before)));
}

/**
 * A round trip through both daemons (a file made on `from` reaching `to`, and its deletion): what
 * either had to send before it has arrived, so a folder that would come back is back by now.
 */
async function roundTrip(from: string, to: string): Promise<void> {
  fs.writeFileSync(path.join(from, 'later.txt'), 'later\n');
  await waitUntil('later.txt to arrive', () => fs.existsSync(path.join(to, 'later.txt')));
  fs.rmSync(path.join(from, 'later.txt'));
  await waitUntil('later.txt to go', () => !fs.existsSync(path.join(to, 'later.txt')));
  await new Promise((r) => setTimeout(r, 1000)); // a folder made again would follow the file's change
}

for (const who of ['sharer', 'joiner'] as const) {
  it(`a folder with files the ${who} deleted while its daemon was stopped stays deleted on both peers`, async () => {
    const pair = joinedPair(FILES, used);
    const [here, peer] = who === 'sharer' ? [pair.a, pair.b] : [pair.b, pair.a];
    await waitUntil('the files on the joiner', () => listTree(pair.b).length === 4);
    expect(chorus(['stop', here]).status).toBe(0);
    fs.rmSync(path.join(here, 'sub'), { recursive: true });
    await startAgain(here);
    await waitUntil('the files to go on the peer', () => listTree(peer).join() === 'top.txt');
    await roundTrip(peer, here);
    for (const d of [here, peer]) {
      expect(listTree(d)).toEqual(['top.txt']);
      expect(folders(d)).toEqual([]);
    }
    // And across a restart of the peer: nothing brings it back.
    expect(chorus(['stop', peer]).status).toBe(0);
    await startAgain(peer);
    await roundTrip(here, peer);
    for (const d of [here, peer]) expect(folders(d)).toEqual([]);
  }, 180_000);
}

it('an empty folder deleted while the daemon was stopped stays deleted on both peers', async () => {
  const { a, b } = joinedPair({ 'top.txt': 'top\n', 'empty/.gone': '' }, used);
  fs.rmSync(path.join(a, 'empty', '.gone'));
  await waitUntil('the emptied folder on B', () => fs.existsSync(path.join(b, 'empty')) && listTree(b).join() === 'top.txt');
  expect(chorus(['stop', a]).status).toBe(0);
  fs.rmdirSync(path.join(a, 'empty'));
  await startAgain(a);
  await waitUntil('the folder to go on B', () => !fs.existsSync(path.join(b, 'empty')));
  await roundTrip(b, a);
  expect(folders(a)).toEqual([]);
  expect(folders(b)).toEqual([]);
}, 180_000);

it('a folder renamed while the daemon was stopped is at its new name only, on both peers', async () => {
  const { a, b } = joinedPair(FILES, used);
  await waitUntil('the files on B', () => listTree(b).length === 4);
  expect(chorus(['stop', a]).status).toBe(0);
  fs.renameSync(path.join(a, 'sub'), path.join(a, 'moved'));
  await startAgain(a);
  await waitUntil('the files at their new name on B', () => listTree(b).join() === 'moved/a.txt,moved/b.txt,moved/deeper/c.txt,top.txt');
  await roundTrip(b, a);
  for (const d of [a, b]) {
    expect(listTree(d)).toEqual(['moved/a.txt', 'moved/b.txt', 'moved/deeper/c.txt', 'top.txt']);
    expect(folders(d)).toEqual(['moved', 'moved/deeper']);
  }
  expect(log(a)).toMatch(/took in from the folder: 3 renamed, 2 new folder\(s\), 2 removed folder\(s\)/);
}, 180_000);

it("a folder deleted while away comes back with only the file a peer edited meanwhile, which the deletion never saw", async () => {
  const { a, b } = joinedPair(FILES, used);
  await waitUntil('the files on B', () => listTree(b).length === 4);
  expect(chorus(['stop', a]).status).toBe(0);
  fs.appendFileSync(path.join(b, 'sub', 'deeper', 'c.txt'), 'edited on B\n');
  await waitUntil("B to take its edit in", () => /took in from the folder: 1 changed \(sub\/deeper\/c\.txt\)/.test(log(b)));
  fs.rmSync(path.join(a, 'sub'), { recursive: true });
  await startAgain(a);
  await waitUntil('the other files to go on B', () => !fs.existsSync(path.join(b, 'sub', 'a.txt')) && !fs.existsSync(path.join(b, 'sub', 'b.txt')));
  await roundTrip(b, a);
  for (const d of [a, b]) {
    expect(listTree(d)).toEqual(['sub/deeper/c.txt', 'top.txt']);
    expect(folders(d)).toEqual(['sub', 'sub/deeper']);
    expect(fs.readFileSync(path.join(d, 'sub', 'deeper', 'c.txt'), 'utf8')).toBe('c\nedited on B\n');
  }
}, 180_000);

it('a folder deleted while away comes back with only the file a peer made in it meanwhile', async () => {
  const { a, b } = joinedPair(FILES, used);
  await waitUntil('the files on B', () => listTree(b).length === 4);
  expect(chorus(['stop', a]).status).toBe(0);
  fs.writeFileSync(path.join(b, 'sub', 'new.txt'), 'made on B\n');
  await waitUntil('B to take its new file in', () => /took in from the folder: 1 new \(sub\/new\.txt\)/.test(log(b)));
  fs.rmSync(path.join(a, 'sub'), { recursive: true });
  await startAgain(a);
  await waitUntil('the new file on A', () => fs.existsSync(path.join(a, 'sub', 'new.txt')));
  await roundTrip(b, a);
  for (const d of [a, b]) {
    expect(listTree(d)).toEqual(['sub/new.txt', 'top.txt']);
    expect(folders(d)).toEqual(['sub']);
  }
  expect(log(b)).toContain('kept the folder sub a peer removed: it holds sub/new.txt, which the session still has (the removal never saw it); it stays shared');
}, 180_000);

it('a folder with files deleted while the daemon runs stays deleted, across restarts of both', async () => {
  const { a, b } = joinedPair(FILES, used);
  await waitUntil('the files on B', () => listTree(b).length === 4);
  fs.rmSync(path.join(a, 'sub'), { recursive: true });
  await waitUntil('the folder to go on B', () => !fs.existsSync(path.join(b, 'sub')));
  for (const d of [a, b]) expect(chorus(['stop', d]).status).toBe(0);
  await startAgain(a, false);
  await startAgain(b);
  await roundTrip(b, a);
  for (const d of [a, b]) {
    expect(listTree(d)).toEqual(['top.txt']);
    expect(folders(d)).toEqual([]);
  }
}, 180_000);
