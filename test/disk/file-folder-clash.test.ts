// Decision 142: a file on one peer and a folder on another at one path. A trial left the peers
// out of step for good: the index held both `aclash` (a file) and `aclash/y.txt`, each peer kept
// its own, a raw ENOTDIR with its stack reached the log, and that one path stopped the rest of the
// batch (zbatch1-5.txt never reached two folders). Now the folder keeps the path on every peer,
// the file is kept as `aclash (conflict <id>)` everywhere, and one path that cannot be written
// never stops the others. Real daemons over loopback: two writers and a read-only member.
import fs from 'node:fs';
import path from 'node:path';
import * as P from '@chorus/protocol';
import { afterEach, expect, it } from 'vitest';
import { folderFiles, readOnlyPeer, sharedPair, startPeer, stopAllPeers, stopPeer, until, type Peer } from '../support/disk-peers.js';
import { tempProject } from '../support/project-dir.js';
import { ScriptedEditor } from '../support/scripted-editor.js';

afterEach(stopAllPeers);

/** The copy a file `rel` of peer `p`'s index is kept as when a folder takes its path. */
function copyOf(p: Peer, rel: string): string {
  const id = p.daemon.workspace.index.idOf(rel);
  if (!id) throw new Error(`${rel} is not in ${p.dir}'s index`);
  return `${rel} (conflict ${id.slice(1, 7)})`;
}

/** Wait until every peer's folder holds exactly `want`; print what each has if not. */
async function allHold(peers: Peer[], want: Record<string, string>, what: string): Promise<void> {
  const sorted = (o: Record<string, string>) => JSON.stringify(Object.entries(o).sort(([x], [y]) => (x < y ? -1 : 1)));
  await until(() => peers.every((p) => sorted(folderFiles(p.dir)) === sorted(want)), what).catch((e: Error) => {
    for (const p of peers) console.log(p.dir, folderFiles(p.dir), p.lines.filter((l) => !l.startsWith('net')).slice(-15));
    throw e;
  });
}

/** Every peer's index the same, and none holding a file at a path that is a folder in it. */
async function indexesAgree(peers: Peer[]): Promise<void> {
  const paths = (p: Peer) => JSON.stringify(p.daemon.workspace.index.entries().map(([id, e]) => `${id}:${e.path}`).sort());
  await until(() => peers.every((p) => paths(p) === paths(peers[0]!)), 'the indexes to agree');
  for (const p of peers) expect(p.daemon.workspace.index.inFoldersWay()).toEqual([]);
}

/** No raw Node error, and no stack, in any peer's log. */
function noRawErrors(peers: Peer[]): void {
  for (const p of peers) {
    const raw = p.lines.filter((l) => /^\s+at |\bError: |E[A-Z]+: [a-z]|\(EEXIST\)$/.test(l));
    expect(raw, p.dir).toEqual([]);
  }
}

it('a file made on one writer while another, stopped, made a folder there: the folder keeps the path everywhere, the file is kept beside it, and the batch behind it arrives', async () => {
  const { a, b } = await sharedPair({ 'readme.txt': 'hi\n' });
  const c = await readOnlyPeer(a);
  await until(() => fs.existsSync(path.join(b.dir, 'readme.txt')) && fs.existsSync(path.join(c.dir, 'readme.txt')), 'the first sync');
  await stopPeer(b);

  fs.writeFileSync(path.join(a.dir, 'aclash'), 'file\n');
  await until(() => fs.existsSync(path.join(c.dir, 'aclash')), 'the file on the read-only member');
  const copy = copyOf(a, 'aclash');
  fs.mkdirSync(path.join(b.dir, 'aclash'));
  fs.writeFileSync(path.join(b.dir, 'aclash', 'y.txt'), 'y\n');
  const batch: Record<string, string> = {};
  for (let i = 1; i <= 5; i++) batch[`zbatch${i}.txt`] = `${i}\n`;
  for (const [rel, text] of Object.entries(batch)) fs.writeFileSync(path.join(b.dir, rel), text);
  const b2 = await startPeer(b.dir, 'bob');

  const peers = [a, b2, c];
  await allHold(peers, { 'readme.txt': 'hi\n', 'aclash/y.txt': 'y\n', [copy]: 'file\n', ...batch }, 'the same tree on all three peers');
  await indexesAgree(peers);
  // Every peer's log says where the file went, in words.
  for (const p of peers) expect(p.lines.filter((l) => l.includes(`the folder keeps the path (with its files), the file is kept as ${copy}`)), p.dir).toHaveLength(1);
  noRawErrors(peers);

  // A restart of the file's side finds nothing to complain about (it logged ENOTDIR on every start).
  await stopPeer(a);
  const a2 = await startPeer(a.dir, 'alice');
  await a2.daemon.folder.settled();
  await new Promise((r) => setTimeout(r, 500));
  expect(a2.lines.filter((l) => /fail|could not|not writing/.test(l))).toEqual([]);
  expect(folderFiles(a2.dir)).toEqual(folderFiles(c.dir));
});

it('a file and a folder made at one path at once, live, on two writers: both settle the same way', async () => {
  const { a, b } = await sharedPair({ 'readme.txt': 'hi\n' });
  const c = await readOnlyPeer(a);
  await until(() => fs.existsSync(path.join(b.dir, 'readme.txt')) && fs.existsSync(path.join(c.dir, 'readme.txt')), 'the first sync');
  // Truly at once: each writer takes its own in before it hears of the other's.
  a.net.hold(b.daemon.identity.id);
  a.net.hold(c.daemon.identity.id);
  b.net.hold(a.daemon.identity.id);
  b.net.hold(c.daemon.identity.id);
  fs.writeFileSync(path.join(a.dir, 'x'), 'a file on A\n');
  fs.mkdirSync(path.join(b.dir, 'x'));
  fs.writeFileSync(path.join(b.dir, 'x', 'f.txt'), 'in a folder on B\n');
  fs.writeFileSync(path.join(b.dir, 'after-x.txt'), 'made with it\n');
  await until(() => !!a.daemon.workspace.index.idOf('x') && !!b.daemon.workspace.index.idOf('x/f.txt') && !!b.daemon.workspace.index.idOf('after-x.txt'), 'each writer to take in its own');
  const copy = copyOf(a, 'x');
  // The read-only member hears B's folder first, then A's file: it settles nothing itself.
  b.net.release(c.daemon.identity.id);
  await until(() => fs.existsSync(path.join(c.dir, 'after-x.txt')), "B's files on the read-only member");
  a.net.release(c.daemon.identity.id);
  a.net.release(b.daemon.identity.id);
  b.net.release(a.daemon.identity.id);

  const peers = [a, b, c];
  await allHold(peers, { 'readme.txt': 'hi\n', 'x/f.txt': 'in a folder on B\n', 'after-x.txt': 'made with it\n', [copy]: 'a file on A\n' }, 'the same tree on all three peers');
  await indexesAgree(peers);
  for (const p of peers) expect(p.lines.some((l) => l.includes(`the file is kept as ${copy}`)), p.dir).toBe(true);
  noRawErrors(peers);
});

it("joining with a folder where the session has a file, and a file where it has a folder: the session's keeps the path either way, the joiner's is kept beside it, and join says so (decision 147)", async () => {
  const a = await startPeer(tempProject({ 'x': 'the session has this file\n', 'y/in.txt': 'in the session folder\n' }, 'chorus-disk-a-'), 'alice');
  const code = await a.daemon.share({ host: '127.0.0.1', webrtc: false });
  const b = await startPeer(tempProject({ 'x/mine.txt': 'in the joiner folder\n', 'y': 'the joiner had this file\n', 'own.txt': 'own\n' }, 'chorus-disk-b-'), 'bob');
  // Where the joiner's file goes: named by its id, which its folder scan gave it before the join.
  const yCopy = copyOf(b, 'y');
  const joined = await b.daemon.join(code, { disk: true, host: '127.0.0.1', webrtc: false }, () => {});
  const said = (joined.notices ?? []).join('\n');
  // The joiner's folder x is set aside, all its files with it: the session's file keeps the path,
  // as decision 137 has it for two files.
  const xKept = /this folder's folder \(all its files\) is kept as (x \(conflict [0-9a-f]+\))/.exec(said)?.[1];
  expect(xKept, said).toBeDefined();
  const peers = [a, b];
  await allHold(
    peers,
    { [`${xKept}/mine.txt`]: 'in the joiner folder\n', x: 'the session has this file\n', 'y/in.txt': 'in the session folder\n', [yCopy]: 'the joiner had this file\n', 'own.txt': 'own\n' },
    'both folders and both files on both peers',
  );
  await indexesAgree(peers);
  // Said as the join meeting it was (a trial: "made a file on one peer and a folder on another at once").
  expect(said).toContain(`y: this folder had a file there, the session a folder; the session's folder keeps the path (with its files), this folder's file is kept as ${yCopy}`);
  noRawErrors(peers);
});

it("one path a read-only member cannot write (its own file is in the way) never stops the other files of a peer's change, and is written once that file goes", async () => {
  const { a, b } = await sharedPair({ 'readme.txt': 'hi\n' });
  const c = await readOnlyPeer(a);
  await until(() => fs.existsSync(path.join(c.dir, 'readme.txt')), 'the first sync');
  // The read-only member's own file: never shared, so nothing in the session moves it.
  fs.writeFileSync(path.join(c.dir, 'blocker'), 'my own notes\n');
  await until(() => c.lines.some((l) => l.includes('not sharing the new file blocker')), 'the read-only member to keep its file to itself');
  fs.mkdirSync(path.join(a.dir, 'blocker'));
  fs.writeFileSync(path.join(a.dir, 'blocker', 'f.txt'), 'shared\n');
  for (let i = 1; i <= 5; i++) fs.writeFileSync(path.join(a.dir, `z${i}.txt`), `${i}\n`);
  await until(() => [1, 2, 3, 4, 5].every((i) => fs.existsSync(path.join(c.dir, `z${i}.txt`))), 'the rest of the change on the read-only member');
  await until(() => fs.existsSync(path.join(b.dir, 'blocker', 'f.txt')), 'the folder on the other writer');
  expect(fs.readFileSync(path.join(c.dir, 'blocker'), 'utf8')).toBe('my own notes\n'); // never overwritten
  const said = c.lines.filter((l) => l.includes('blocker/f.txt'));
  expect(said).toEqual([expect.stringContaining('blocker is a file in this folder, where the session has a folder')]);
  noRawErrors([a, b, c]);

  // The person moves their file away: the session's folder arrives.
  fs.renameSync(path.join(c.dir, 'blocker'), path.join(c.dir, 'my-notes.txt'));
  await until(() => fs.existsSync(path.join(c.dir, 'blocker', 'f.txt')), "the session's folder on the read-only member");
  expect(fs.readFileSync(path.join(c.dir, 'blocker', 'f.txt'), 'utf8')).toBe('shared\n');
});

it('an editor cannot make a file inside a shared file or over a folder (a mistyped path turned the shared file into a folder on every peer)', async () => {
  const { a, b } = await sharedPair({ 'README.txt': 'read me\n', 'src/main.c': 'int main;\n' }, { prepareSharer: (dir) => fs.mkdirSync(path.join(dir, 'emptydir')) });
  await allHold([a, b], { 'README.txt': 'read me\n', 'src/main.c': 'int main;\n' }, 'the first sync');
  const editor = await ScriptedEditor.socket(b.daemon.project.socketPath);
  try {
    await editor.init();
    const refusals: Array<[string, RegExp]> = [
      ['README.txt/notes.txt', /^README\.txt is a file in the project, so README\.txt\/notes\.txt cannot be made inside it; check the path$/],
      ['src', /^src is a folder in the project; open a file inside it$/],
      ['emptydir', /^emptydir is a folder/],
    ];
    for (const [rel, message] of refusals) {
      const err = await editor.open(rel, 'x').then(() => undefined, (e: Error & { code?: number }) => e);
      expect(err?.message ?? `${rel} was opened`, rel).toMatch(message);
      expect(err?.code, rel).toBe(P.ErrorCodes.InvalidParams);
    }
    // A file just written to the folder, which the index may not have yet: the folder is looked at too.
    fs.writeFileSync(path.join(b.dir, 'fresh.txt'), 'fresh\n');
    const err = await editor.open('fresh.txt/x.txt', 'x').then(() => undefined, (e: Error) => e);
    expect(err?.message ?? 'fresh.txt/x.txt was opened').toMatch(/^fresh\.txt is a file( in the project)?, so fresh\.txt\/x\.txt cannot be made inside it; check the path$/);
    // A new file in a shared folder is made as before.
    expect(await editor.open('src/new.c', 'new\n')).toBe('new\n');
  } finally {
    editor.close();
  }
  await allHold([a, b], { 'README.txt': 'read me\n', 'src/main.c': 'int main;\n', 'src/new.c': 'new\n', 'fresh.txt': 'fresh\n' }, 'only the new files to arrive');
  expect(fs.statSync(path.join(b.dir, 'emptydir')).isDirectory()).toBe(true);
});

it('a read-only member keeps a removed folder that still holds its unshared files, without trying to share it again', async () => {
  const a = await startPeer(tempProject({ 'd/a.txt': 'a\n', 'top.txt': 'top\n' }, 'chorus-disk-a-'), 'alice');
  const c = await readOnlyPeer(a);
  await until(() => fs.existsSync(path.join(c.dir, 'd', 'a.txt')), 'the shared folder on the read-only member');
  fs.writeFileSync(path.join(c.dir, 'd', '.env'), 'SECRET=1\n'); // never shared (a built-in rule)
  fs.rmSync(path.join(a.dir, 'd'), { recursive: true });
  await until(() => !fs.existsSync(path.join(c.dir, 'd', 'a.txt')), 'the removal on the read-only member');
  await until(() => c.lines.some((l) => l === 'kept the folder d a peer removed: it still holds files that are not shared'), 'the folder kept').catch((e: Error) => {
    console.log(c.lines.filter((l) => !l.startsWith('net')).slice(-15));
    throw e;
  });
  expect(fs.readFileSync(path.join(c.dir, 'd', '.env'), 'utf8')).toBe('SECRET=1\n');
  expect(c.lines.filter((l) => /failed|refused/.test(l) && !l.startsWith('net'))).toEqual([]);
  expect(a.lines.filter((l) => /read-only/.test(l) && /refused/.test(l))).toEqual([]);
});

it("a person replacing their own shared file with a folder of its name deletes the file on every peer and shares the folder, with or without files in it", async () => {
  const { a, b } = await sharedPair({ 'readme.txt': 'hi\n', x: 'the old file\n', e: 'another old file\n' });
  await until(() => fs.existsSync(path.join(b.dir, 'x')) && fs.existsSync(path.join(b.dir, 'e')), 'the first sync');
  // In one go, as `rm x && mkdir x && echo hi > x/y` does; and `rm e; mkdir e`, left empty.
  fs.rmSync(path.join(a.dir, 'x'));
  fs.mkdirSync(path.join(a.dir, 'x'));
  fs.writeFileSync(path.join(a.dir, 'x', 'y'), 'hi\n');
  fs.rmSync(path.join(a.dir, 'e'));
  fs.mkdirSync(path.join(a.dir, 'e'));
  const peers = [a, b];
  // The deletion is shared as one: no conflict copy of the old file comes back anywhere.
  await allHold(peers, { 'readme.txt': 'hi\n', 'x/y': 'hi\n' }, 'the file gone and the folder shared on both peers');
  await until(() => peers.every((p) => fs.statSync(path.join(p.dir, 'e'), { throwIfNoEntry: false })?.isDirectory() === true), 'the empty folder on both peers');
  await indexesAgree(peers);
  for (const p of peers) {
    expect(p.daemon.workspace.index.isFolder('x')).toBe(true);
    expect(p.daemon.workspace.index.hasDir('e')).toBe(true);
    expect(p.daemon.workspace.index.entries().map(([, f]) => f.path).sort()).toEqual(['readme.txt', 'x/y']);
  }
  noRawErrors(peers);
});
