// A trial: `.chorus/blobs` kept every version of every whole file for good, on every member (a
// 10 MB file rewritten three times and deleted left 29 MB behind; a writer could fill members'
// disks). A daemon's start now removes the versions no file has and the folder does not hold.
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { expect, it } from 'vitest';
import { chorus, joinedPair, stopAfterEach, waitUntil } from '../support/cli.js';

const used = stopAfterEach();
const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');
/** A whole (binary) file's bytes: a NUL keeps it from being live text. */
const bin = (n: number) => Buffer.concat([Buffer.from([0]), Buffer.alloc(64 * 1024, n)]);
const blobs = (dir: string) => new Set(fs.readdirSync(path.join(dir, '.chorus', 'blobs')));
const same = (dir: string, f: string, b: Buffer) => fs.existsSync(path.join(dir, f)) && fs.readFileSync(path.join(dir, f)).equals(b);

it('a start removes stored versions of files that no file has now; the current ones stay and sync goes on', async () => {
  const { a, b } = joinedPair({ 'a.txt': 'a\n' }, used);
  fs.writeFileSync(path.join(a, 'pic.bin'), bin(1));
  await waitUntil('pic.bin on B', () => same(b, 'pic.bin', bin(1)));
  for (const n of [2, 3, 4]) {
    fs.writeFileSync(path.join(a, 'pic.bin'), bin(n));
    await waitUntil(`version ${n} on B`, () => same(b, 'pic.bin', bin(n)));
  }
  fs.writeFileSync(path.join(a, 'gone.bin'), bin(9));
  await waitUntil('gone.bin on B', () => same(b, 'gone.bin', bin(9)));
  fs.rmSync(path.join(a, 'gone.bin'));
  await waitUntil('gone.bin gone from B', () => !fs.existsSync(path.join(b, 'gone.bin')));
  const old = [1, 2, 3, 9].map((n) => sha(bin(n)));
  for (const d of [a, b]) expect(old.filter((h) => blobs(d).has(h)).length, d).toBeGreaterThan(0);

  for (const d of [a, b]) expect(chorus(['stop', d]).status).toBe(0);
  for (const d of [a, b]) expect(chorus(['start', d]).status).toBe(0);
  for (const d of [a, b]) {
    await waitUntil(`${d}'s start to prune`, () => /removed \d+ stored versions? of files that no file has now/.test(fs.readFileSync(path.join(d, '.chorus', 'daemon.log'), 'utf8')));
    expect(old.filter((h) => blobs(d).has(h)), d).toEqual([]);
    expect(blobs(d).has(sha(bin(4))), d).toBe(true);
  }
  // The session goes on: a new version still reaches the peer.
  fs.writeFileSync(path.join(a, 'pic.bin'), bin(5));
  await waitUntil('version 5 on B', () => same(b, 'pic.bin', bin(5)));
});
