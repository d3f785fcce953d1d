// test/cli/disk-races.test.ts lost a line once in ~10 full runs: on B a shell appended lines
// (`echo "r4B12" >> f.txt`) while B's daemon wrote back A's `sed -i` change of line 1. The
// write-back writes a new file and renames it over f.txt; an `echo >>` that opened f.txt just
// before that rename and wrote just after the daemon's one look at the replaced file (right
// after the rename) put its line into the replaced, unlinked file, where nobody ever saw it.
// Here the race is forced: the appender opens the file inside the write-back's rename and writes
// well after it. The line must reach both folders, once, in its place.
import fs from 'node:fs';
import path from 'node:path';
import { afterEach, expect, it, vi } from 'vitest';
import { FolderWriter } from '../../daemon/src/disk/folder-writer.js';
import { Project } from '../../daemon/src/project.js';
import { converged, sharedPair, stopAllPeers, until, type Peer } from '../support/disk-peers.js';
import { tempProject } from '../support/project-dir.js';

afterEach(async () => {
  vi.restoreAllMocks();
  await stopAllPeers();
});

const read = (f: string) => (fs.existsSync(f) ? fs.readFileSync(f, 'utf8') : '');

/**
 * Two peers sharing f.txt ("top\nB1\n"); A changes line 1 and B writes it back, and a tool on B
 * opens f.txt with `flags` just before that write-back's rename. Both daemons run in this
 * process: only B's write-back of f.txt is caught (its rename onto B's file).
 */
async function toolOpensInBsWriteBack(flags: 'a' | 'r+'): Promise<{ a: Peer; b: Peer; fa: string; fb: string; tool: number }> {
  const { a, b } = await sharedPair({ 'f.txt': 'top\nB1\n' });
  await converged(a, b, 'the first sync');
  const fa = path.join(a.dir, 'f.txt');
  const fb = path.join(b.dir, 'f.txt');
  await until(() => read(fb) === 'top\nB1\n', 'f.txt on B');
  const rename = fs.renameSync.bind(fs);
  let tool: number | undefined;
  vi.spyOn(fs, 'renameSync').mockImplementation((from, to) => {
    if (tool === undefined && to === fb) tool = fs.openSync(fb, flags);
    rename(from, to);
  });
  fs.writeFileSync(fa, 'top2\nB1\n'); // A changes line 1 (as `sed -i` does, in place here): B writes it back
  await until(() => tool !== undefined, "B's write-back of A's change");
  vi.restoreAllMocks();
  return { a, b, fa, fb, tool: tool! };
}

/**
 * A FolderWriter on a project holding f.txt ("one\n") writing "new\n" over it, with `atRename`
 * run once on the file just before the rename (a tool opening it, say). Returns the write's
 * promise, what `atRename` gave, and what the writer's late-write callback was told.
 */
function writeWithToolAtRename<T>(atRename: (file: string) => T) {
  const root = tempProject({ 'f.txt': 'one\n' });
  const writer = new FolderWriter(new Project(root));
  const file = path.join(root, 'f.txt');
  const rename = fs.renameSync.bind(fs);
  let tool: { got: T } | undefined;
  vi.spyOn(fs, 'renameSync').mockImplementation((from, to) => {
    if (tool === undefined && to === file) tool = { got: atRename(file) };
    rename(from, to);
  });
  const told: Array<[string, string | undefined, boolean]> = [];
  const wrote = writer.writeFile('f.txt', 'new\n', undefined, false, () => true, (theirs, base, sure) => told.push([theirs.toString(), base?.toString(), sure]));
  return { writer, file, told, wrote, tool: () => tool!.got };
}

it('a line a tool appends to the file a write-back replaced, having opened it before the rename, reaches both folders', async () => {
  // `echo … >> f.txt` on B opens the file just before the write-back's rename...
  const { fa, fb, tool: appender } = await toolOpensInBsWriteBack('a');
  expect(read(fb)).toBe('top2\nB1\n');

  // ...and writes well after it (a shell preempted on a loaded machine): into the replaced file.
  await new Promise((r) => setTimeout(r, 300));
  fs.writeSync(appender, 'B2\n');
  fs.closeSync(appender);

  const want = 'top2\nB1\nB2\n';
  await until(() => read(fa) === want && read(fb) === want, `both folders to hold the appended line (A: ${JSON.stringify(read(fa))}, B: ${JSON.stringify(read(fb))})`, 15_000).catch(() => undefined);
  expect({ a: read(fa), b: read(fb) }).toEqual({ a: want, b: want });
  // Settled: still so a moment later (no late write-back undoes it).
  await new Promise((r) => setTimeout(r, 1500));
  expect({ a: read(fa), b: read(fb) }).toEqual({ a: want, b: want });
}, 60_000);

it('a line appended to the new file after a late write to the replaced one was taken in goes after that line, as the tool wrote them', async () => {
  // cli/disk-races (stop 54, 1 full run in 7): `echo r1B18 >>` wrote into the replaced file, and
  // `echo r1B19 >>` into the new one just after the daemon took r1B18 in, before it wrote r1B18
  // back. r1B19 was taken in on the new file's content, as made beside r1B18 (an edit of the
  // same place), and went before it: the folder ended `… r1B17 r1B19 r1B18 r1B20`.
  const { a, b, fa, fb, tool: appender } = await toolOpensInBsWriteBack('a');
  expect(read(fb)).toBe('top2\nB1\n');
  // The next line is appended to the new file the moment B has taken the late write in: before
  // its write-back of it lands.
  const contentChanged = b.daemon.workspace.contentChanged.bind(b.daemon.workspace);
  let appended = false;
  vi.spyOn(b.daemon.workspace, 'contentChanged').mockImplementation((...args) => {
    const kept = contentChanged(...args);
    if (!appended && Buffer.from(args[1]).toString().endsWith('B2\n')) {
      appended = true;
      fs.appendFileSync(fb, 'B3\n');
    }
    return kept;
  });
  await new Promise((r) => setTimeout(r, 300));
  fs.writeSync(appender, 'B2\n');
  fs.closeSync(appender);
  await until(() => appended, "B's take-in of the late write", 15_000);

  const want = 'top2\nB1\nB2\nB3\n';
  await until(() => read(fa) === want && read(fb) === want, `both folders to hold both lines in order (A: ${JSON.stringify(read(fa))}, B: ${JSON.stringify(read(fb))})`, 15_000).catch(() => undefined);
  expect({ a: read(fa), b: read(fb) }).toEqual({ a: want, b: want });
  await new Promise((r) => setTimeout(r, 1500));
  expect({ a: read(fa), b: read(fb) }).toEqual({ a: want, b: want });
  void a;
}, 60_000);

it('FolderWriter tells each write to the replaced file once it is done, with what the file held before it', async () => {
  const { writer, file, told, wrote, tool } = writeWithToolAtRename((f) => fs.openSync(f, 'a'));
  await wrote;
  vi.restoreAllMocks();
  expect(fs.readFileSync(file, 'utf8')).toBe('new\n');
  const appender = tool();
  // Two writes, in two pieces each, 400 ms apart: each told once, whole.
  for (const line of ['two\n', 'three\n']) {
    await new Promise((r) => setTimeout(r, 150));
    fs.writeSync(appender, line.slice(0, 2));
    fs.writeSync(appender, line.slice(2));
    await until(() => told.some(([theirs]) => theirs.endsWith(line)), `${JSON.stringify(line)} told`, 5000);
    await new Promise((r) => setTimeout(r, 250));
  }
  fs.closeSync(appender);
  expect(told).toEqual([
    ['one\ntwo\n', 'one\n', false], // its start, as long as the file was when replaced: the caller checks it is a content it knows
    ['one\ntwo\nthree\n', 'one\ntwo\n', true],
  ]);
  expect(fs.readFileSync(file, 'utf8')).toBe('new\n'); // the folder's file is the caller's to change
  writer.endLateWatches();
});

it('FolderWriter does not watch a replaced file that has another name (a hard link): writes there are that name\'s', async () => {
  const root = tempProject({ 'f.txt': 'one\n' });
  const writer = new FolderWriter(new Project(root));
  const file = path.join(root, 'f.txt');
  const other = path.join(root, 'other-name.txt');
  fs.linkSync(file, other);
  const told: string[] = [];
  await writer.writeFile('f.txt', 'new\n', undefined, false, () => true, (theirs) => told.push(theirs.toString()));
  // The replaced file is other-name.txt now; a write to it is that file's own change.
  fs.appendFileSync(other, 'two\n');
  await new Promise((r) => setTimeout(r, 700));
  writer.endLateWatches();
  expect(told).toEqual([]);
  expect(fs.readFileSync(file, 'utf8')).toBe('new\n');
  expect(fs.readFileSync(other, 'utf8')).toBe('one\ntwo\n');
});

it('a tool that writes over the replaced file (not appending) has its version kept in .chorus/kept/, said in the log; the folder keeps the session\'s', async () => {
  // A tool opens f.txt to read and write (Python's 'r+') just before B's write-back's rename...
  const { b, fa, fb, tool } = await toolOpensInBsWriteBack('r+');
  // ...and writes over its start later, the file no longer than it was: what it held before that
  // write is not known here, so it cannot be merged.
  await new Promise((r) => setTimeout(r, 300));
  fs.writeSync(tool, 'TOP', 0);
  fs.closeSync(tool);
  const keptDir = path.join(b.dir, '.chorus', 'kept');
  const keptCopies = () => (fs.existsSync(keptDir) ? fs.readdirSync(keptDir).filter((n) => n.startsWith('f.txt.')) : []);
  await until(() => keptCopies().length > 0, 'a kept copy on B', 15_000).catch(() => undefined);
  expect(keptCopies().map((n) => fs.readFileSync(path.join(keptDir, n), 'utf8'))).toEqual(['TOP\nB1\n']);
  // The log line follows the copy (said once it is on disk): a full run read the log in between.
  await until(() => b.lines.some((l) => l.includes('a tool wrote to the file just after Chorus replaced it')), 'the log to say so', 15_000).catch(() => undefined);
  expect(b.lines.join('\n')).toMatch(/f\.txt: a tool wrote to the file just after Chorus replaced it.*kept in \.chorus\/kept\/f\.txt\./);
  expect({ a: read(fa), b: read(fb) }).toEqual({ a: 'top2\nB1\n', b: 'top2\nB1\n' });
}, 60_000);

it('FolderWriter watches a replaced file whose write it put back: the tool\'s next write is told, on what was put back', async () => {
  // The tool opens the file and writes once, after the writer's last look, before its rename.
  const { writer, file, told, wrote, tool } = writeWithToolAtRename((f) => {
    const fd = fs.openSync(f, 'a');
    fs.writeSync(fd, 'two\n');
    return fd;
  });
  await expect(wrote).rejects.toThrow(/changed/i); // ChangedMeanwhile: the caller takes in what was put back
  vi.restoreAllMocks();
  expect(fs.readFileSync(file, 'utf8')).toBe('one\ntwo\n');
  // Its next write lands in the replaced file too.
  await new Promise((r) => setTimeout(r, 150));
  fs.writeSync(tool(), 'three\n');
  fs.closeSync(tool());
  await until(() => told.length > 0, 'the second write told', 5000).catch(() => undefined);
  writer.endLateWatches();
  expect(told).toEqual([['one\ntwo\nthree\n', 'one\ntwo\n', true]]);
});

it('FolderWriter tells a write over the replaced file that leaves it no longer, with no base', async () => {
  const { writer, told, wrote, tool } = writeWithToolAtRename((f) => fs.openSync(f, 'r+'));
  await wrote;
  vi.restoreAllMocks();
  await new Promise((r) => setTimeout(r, 150));
  fs.writeSync(tool(), 'ONE', 0);
  fs.closeSync(tool());
  await until(() => told.length > 0, 'the write told', 5000).catch(() => undefined);
  writer.endLateWatches();
  expect(told).toEqual([['ONE\n', undefined, false]]);
});

it('FolderWriter does not tell writes to a replaced file that was moved to another name before the rename (`mv f f.bak`): they are that file\'s', async () => {
  // Someone moves the file away just before the write-back's rename.
  const { writer, file, told, wrote, tool } = writeWithToolAtRename((f) => {
    const bak = path.join(path.dirname(f), 'f.bak');
    fs.renameSync(f, bak); // the spy's own call: `to` is not f.txt, so it passes through
    return bak;
  });
  await wrote;
  vi.restoreAllMocks();
  fs.appendFileSync(tool(), 'two\n');
  await new Promise((r) => setTimeout(r, 700));
  writer.endLateWatches();
  expect(told).toEqual([]);
  expect(fs.readFileSync(file, 'utf8')).toBe('new\n');
});
