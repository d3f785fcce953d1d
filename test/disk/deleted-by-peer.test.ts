// Decision 207.
// A peer's deletion moves this folder's copy to `.chorus/deleted/<time>/` instead of removing it,
// and the person is told once for the lot. User trial (helper-95): `git clean -fd` on one peer
// removed the other's new, untracked files (one made in Neovim, one from a shell) from its disk
// within 2 s, with no word in its log or editor and no copy a person could find. Two real daemons
// on loopback, a scripted editor on each over its real socket.
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import * as P from '@chorus/protocol';
import type { Daemon } from '../../daemon/src/daemon.js';
import { pruneDeleted, DELETED_KEEP_MS } from '../../daemon/src/lifecycle/kept-copies.js';
import { aliceAndBob, logsOf } from '../support/in-process.js';
import type { ScriptedEditor } from '../support/scripted-editor.js';
import { waitUntil } from '../support/cli.js';

let A: Daemon, B: Daemon;
let dirA: string, dirB: string;
let ea: ScriptedEditor, eb: ScriptedEditor;

beforeAll(async () => {
  ({ A, B, dirA, dirB, ea, eb } = await aliceAndBob({ 'keep.txt': 'k\n' }, ['keep.txt']));
});

afterAll(async () => {
  for (const e of [ea, eb]) e?.close();
  await Promise.all([A, B].map((d) => d?.stop()));
});

const deletedIn = (dir: string) => path.join(dir, '.chorus', 'deleted');

it("a peer's deletion of files made here moves them to .chorus/deleted/ and says so once", async () => {
  // Bob makes two files (one in a new folder), as a person does; they reach alice.
  fs.mkdirSync(path.join(dirB, 'newdir'));
  fs.writeFileSync(path.join(dirB, 'newB.txt'), 'bob wrote this\n');
  fs.writeFileSync(path.join(dirB, 'newdir', 'x.txt'), 'and this\n');
  await waitUntil('both files at alice', () => fs.existsSync(path.join(dirA, 'newB.txt')) && fs.existsSync(path.join(dirA, 'newdir', 'x.txt')));
  // Alice removes them (`git clean -fd`).
  fs.rmSync(path.join(dirA, 'newB.txt'));
  fs.rmSync(path.join(dirA, 'newdir'), { recursive: true });
  await waitUntil('both gone from bob', () => !fs.existsSync(path.join(dirB, 'newB.txt')) && !fs.existsSync(path.join(dirB, 'newdir', 'x.txt')));
  // Bob's copies, where the message says.
  const batches = fs.readdirSync(deletedIn(dirB)).map((b) => path.join(deletedIn(dirB), b));
  const kept = (rel: string) => batches.map((b) => path.join(b, rel)).find((f) => fs.existsSync(f));
  expect(fs.readFileSync(kept('newB.txt')!, 'utf8')).toBe('bob wrote this\n');
  expect(fs.readFileSync(kept(path.join('newdir', 'x.txt'))!, 'utf8')).toBe('and this\n');
  // Told in bob's editor and log, in words, naming the files and the folder.
  // Naming who (trial s60 F6: "a peer deleted" read as someone's work lost, after a branch switch).
  const notices = () => eb.notes.filter((n) => n.method === P.SessionNotice.method && /^alice deleted /.test(n.params.message));
  await eb.waitFor(() => notices().length > 0, 'the notice in bob\'s editor');
  const told = notices().map((n) => n.params.message as string).join('\n');
  expect(told).toMatch(/newB\.txt/);
  expect(told).toMatch(/\.chorus\/deleted\//);
  expect(logsOf(B).some((l) => /alice deleted .*\.chorus\/deleted\//.test(l))).toBe(true);
  // Alice deleted them herself: nothing is kept or told on her side.
  expect(fs.existsSync(deletedIn(dirA))).toBe(false);
  expect(ea.notes.some((n) => n.method === P.SessionNotice.method && / deleted .* in this folder/.test(n.params.message))).toBe(false);
  // The shared file nobody deleted is where it was.
  expect(fs.readFileSync(path.join(dirB, 'keep.txt'), 'utf8')).toBe('k\n');
});

it('prunes batches of deleted files older than the time the message names, and keeps newer ones', () => {
  const dir = deletedIn(dirB);
  fs.mkdirSync(path.join(dir, 'old-batch'), { recursive: true });
  fs.writeFileSync(path.join(dir, 'old-batch', 'f.txt'), 'old\n');
  const before = fs.readdirSync(dir).length;
  const past = (Date.now() - DELETED_KEEP_MS - 60_000) / 1000;
  fs.utimesSync(path.join(dir, 'old-batch'), past, past);
  pruneDeleted(B.project, () => undefined);
  expect(fs.existsSync(path.join(dir, 'old-batch'))).toBe(false);
  expect(fs.readdirSync(dir).length).toBe(before - 1);
});
