/**
 * A read-only member's own new file at a path a writer then creates (decision 177): the folder
 * gets the session's version, the member's is kept in .chorus/kept, and the log says where. It
 * was left in the folder silently (the log said it would be "taken in like any edit", which a
 * read-only member never does) while editors opened the session's version.
 *
 * Every editor of the member is told (session/notice: what happened, where its text is kept), and
 * an editor whose open of the file was refused (its own file, not shared) re-opens it with its
 * text as `base`, the way the plugins re-open, and gets the session's text; from then on it
 * follows by buffer/didChange (decision 184). Editors were told nothing, and the re-open was
 * refused too (an empty "edit" of a read-only member), so the buffer kept showing text neither
 * the folder nor the session had.
 */
import fs from 'node:fs';
import path from 'node:path';
import * as P from '@chorus/protocol';
import { afterEach, expect, it, vi } from 'vitest';
import { FolderWriter } from '../../daemon/src/disk/folder-writer.js';
import { editor, readOnlyPeer, sharedPair, stopAllPeers, until } from '../support/disk-peers.js';

afterEach(async () => {
  vi.restoreAllMocks();
  await stopAllPeers();
});

it("a read-only member's own new file gives way to a writer's file at its path, kept in .chorus/kept, and its editor is told and follows", async () => {
  const { a, b } = await sharedPair({ 'README.md': 'x\n' });
  const c = await readOnlyPeer(a);
  fs.writeFileSync(path.join(c.dir, 'newro.txt'), 'ro local work\n');
  await until(() => c.lines.some((l) => l.includes('not sharing the new file newro.txt')), "C's take-in refusing newro.txt");
  const ed = await editor(c.daemon.project.socketPath);
  const other = await editor(c.daemon.project.socketPath);
  await expect(ed.open('newro.txt', 'ro local work\n')).rejects.toThrow(/read-only/);
  // C's write of the session's newro.txt is held back (after its copy of C's own is kept and
  // editors are told) until the editor has re-opened, while the folder still holds C's own text,
  // as a quick editor may. The re-open must take the session's text all the same: C's own is kept.
  const write = FolderWriter.prototype.writeFile;
  let release = () => {};
  const held = new Promise<void>((r) => (release = r));
  vi.spyOn(FolderWriter.prototype, 'writeFile').mockImplementation(async function (this: FolderWriter, rel, ...rest) {
    if (rel === 'newro.txt' && (this as unknown as { project: { root: string } }).project.root === c.dir) await held;
    return write.call(this, rel, ...rest);
  });
  try {
    fs.writeFileSync(path.join(b.dir, 'newro.txt'), 'writer content\n');
    await ed.waitFor(() => ed.notes.some((n) => n.method === P.SessionNotice.method), 'a session/notice', 30_000);
    expect(fs.readFileSync(path.join(c.dir, 'newro.txt'), 'utf8')).toBe('ro local work\n'); // held back
    // The notice names the path: the editor re-opens its buffer there, its own text as the base.
    expect(await ed.open('newro.txt', 'ro local work\n', 'ro local work\n')).toBe('writer content\n');
  } finally {
    release();
  }
  const kept = path.join(c.dir, '.chorus', 'kept');
  await until(() => fs.readFileSync(path.join(c.dir, 'newro.txt'), 'utf8') === 'writer content\n', "the session's newro.txt in C's folder", 60_000).catch((e: Error) => {
    console.log(c.lines.filter((l) => !l.startsWith('net')));
    throw e;
  });
  const copies = fs.readdirSync(kept).filter((f) => f.startsWith('newro.txt.'));
  expect(copies.map((f) => fs.readFileSync(path.join(kept, f), 'utf8'))).toContain('ro local work\n');
  expect(c.lines.some((l) => /kept your unshared change of newro\.txt as .*\.chorus\/kept\/newro\.txt\./.test(l))).toBe(true);
  expect(c.lines.some((l) => l.includes('taken in like any edit'))).toBe(false);

  // Every editor of C is told, with the path and where the copy is.
  for (const e of [ed, other]) {
    await e.waitFor(() => e.notes.some((n) => n.method === P.SessionNotice.method), 'a session/notice', 30_000);
    const n = e.notes.find((x) => x.method === P.SessionNotice.method)!.params as P.ParamsOf<typeof P.SessionNotice>;
    expect(n).toMatchObject({ type: 'warning', path: 'newro.txt' });
    expect(n.kept).toMatch(/^\.chorus\/kept\/newro\.txt\./);
    expect(fs.readFileSync(path.join(c.dir, n.kept!), 'utf8')).toBe('ro local work\n');
    expect(n.message).toContain(n.kept);
  }
  // And it keeps following: a writer's next edit reaches it.
  fs.writeFileSync(path.join(b.dir, 'newro.txt'), 'writer content\nmore\n');
  await ed.waitFor(() => ed.text('newro.txt') === 'writer content\nmore\n', "the writer's next edit in C's buffer", 30_000);

  // (Same daemons.) C's change of a shared file made with another tool is not shared either: when
  // a writer's change of it comes, the session's README.md is written over it, C's is kept, and
  // the editors are told the same way.
  expect(await ed.open('README.md')).toBe('x\n');
  fs.writeFileSync(path.join(c.dir, 'README.md'), 'x\nro tool change\n');
  await until(() => c.lines.some((l) => l.includes('not sharing the change of README.md')), "C's take-in refusing README.md");
  fs.writeFileSync(path.join(b.dir, 'README.md'), 'y\n');
  const aboutReadme = () => other.notes.find((x) => x.method === P.SessionNotice.method && x.params.path === 'README.md')?.params as P.ParamsOf<typeof P.SessionNotice> | undefined;
  await other.waitFor(() => aboutReadme() !== undefined, 'a session/notice about README.md', 30_000);
  expect(fs.readFileSync(path.join(c.dir, aboutReadme()!.kept!), 'utf8')).toBe('x\nro tool change\n');
  await until(() => fs.readFileSync(path.join(c.dir, 'README.md'), 'utf8') === 'y\n', "the session's README.md in C's folder");
  await ed.waitFor(() => ed.text('README.md') === 'y\n', "the writer's README.md in C's buffer");
}, 120_000);

it("a read-only member's own change of a shared file, saved in the folder, is not replaced by the session's text when an editor opens it", async () => {
  const { a } = await sharedPair({ 'notes.txt': 'shared\n' });
  const c = await readOnlyPeer(a);
  await until(() => fs.existsSync(path.join(c.dir, 'notes.txt')), "notes.txt in C's folder");
  // An editor saved the person's change (its edits were refused: read-only).
  fs.writeFileSync(path.join(c.dir, 'notes.txt'), 'mine\nshared\n');
  await until(() => c.lines.some((l) => l.includes('not sharing the change of notes.txt')), "C's take-in refusing notes.txt");
  // An editor that just read the file opens it with that text as `base` (nothing unsent). The
  // session's text must not be handed over it: the folder's file is the person's own change.
  const ed = await editor(c.daemon.project.socketPath);
  await expect(ed.open('notes.txt', 'mine\nshared\n', 'mine\nshared\n')).rejects.toThrow(/read-only[^]*stays on this machine/);
  expect(fs.readFileSync(path.join(c.dir, 'notes.txt'), 'utf8')).toBe('mine\nshared\n');
  // An editor whose text is not the folder's (an older copy of the session's file) still takes
  // the session's text: only the person's own saved change is kept.
  const other = await editor(c.daemon.project.socketPath);
  expect(await other.open('notes.txt', 'older\n', 'older\n')).toBe('shared\n');
}, 120_000);
