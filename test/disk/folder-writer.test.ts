// Issue 13: "Disk writes go through one owner, and one path check covers every write." FolderWriter
// (daemon/src/disk/folder-writer.ts) is the only module that changes the project folder; these
// tests pin that a hostile path (from a peer's index entry) is refused at that one point for every
// kind of write, that nothing changed when it is, and that no other module writes the folder.
import fs from 'node:fs';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { isWriteTemp } from '../../daemon/src/disk/files.js';
import { ChangedMeanwhile, FolderWriter, inWords, WriteRefused } from '../../daemon/src/disk/folder-writer.js';
import { Project } from '../../daemon/src/project.js';
import { tempDir, tempProject } from '../support/project-dir.js';

/** Every file, folder and link under `dir` with its content or target: what "unchanged" means. */
function tree(dir: string): Record<string, string> {
  const out: Record<string, string> = {};
  const walk = (rel: string): void => {
    for (const e of fs.readdirSync(path.join(dir, rel), { withFileTypes: true })) {
      const r = rel ? `${rel}/${e.name}` : e.name;
      const abs = path.join(dir, r);
      const st = fs.lstatSync(abs);
      if (st.isSymbolicLink()) out[r] = `link → ${fs.readlinkSync(abs)}`;
      else if (st.isDirectory()) {
        out[r] = `dir ${(st.mode & 0o777).toString(8)}`;
        walk(r);
      } else out[r] = `file ${(st.mode & 0o777).toString(8)} ${fs.readFileSync(abs, 'utf8')}`;
    }
  };
  walk('');
  return out;
}

let root: string;
let outside: string;
let writer: FolderWriter;

beforeEach(() => {
  outside = tempDir('chorus-outside-');
  fs.writeFileSync(path.join(outside, 'secret.txt'), 'top secret\n');
  fs.mkdirSync(path.join(outside, 'empty'));
  root = tempProject({
    'ok.txt': 'fine\n',
    'real/inner.txt': 'inner\n',
    'dir/keep.txt': 'keep\n',
    '.git/config': '[core]\n',
    'sub/.git/hooks/pre-commit': '#!/bin/sh\n',
    '.chorus/state/index.log': 'state\n',
    'nested/mine.txt': 'a project of its own\n',
    'nested/.chorus/session.json': '{}\n',
  });
  fs.mkdirSync(path.join(root, 'emptydir'));
  fs.symlinkSync(outside, path.join(root, 'out')); // a folder link leading outside
  fs.symlinkSync(path.join(root, 'real'), path.join(root, 'inner-link')); // a second name inside
  fs.symlinkSync(path.join(outside, 'secret.txt'), path.join(root, 'notes.txt')); // a file link
  fs.symlinkSync(path.join(outside, 'not-yet'), path.join(root, 'dangling')); // to nothing (yet)
  writer = new FolderWriter(new Project(root));
});

/** Paths a peer's index entry might carry that the daemon must never write. */
const HOSTILE = [
  '.git/config',
  '.git/hooks/post-checkout',
  'sub/.git/hooks/pre-commit',
  'sub/.GIT/config',
  '.Git./config',
  '.chorus/state/index.log',
  '../escape.txt',
  'a/../../escape.txt',
  '/etc/chorus-test',
  'a//b.txt',
  './ok.txt',
  'a\\b.txt',
  'out/secret.txt',
  'out/new.txt',
  'out/empty',
  'inner-link/inner.txt',
  'notes.txt',
  'dangling',
  // Inside a folder that is a Chorus project of its own (it has .chorus/): its daemon's, not ours.
  'nested/mine.txt',
  'nested/new.txt',
  'nested/deeper/new.txt',
  '',
];

/** Every kind of write the folder's writer makes, aimed at `p` (`ok.txt` the other end of a move). */
const WRITES: Array<[string, (w: FolderWriter, p: string) => Promise<unknown>]> = [
  ['write', (w, p) => w.writeFile(p, 'pwned\n')],
  ['write (create)', (w, p) => w.writeFile(p, 'pwned\n', true, true)],
  ['rename from it', (w, p) => w.rename(p, 'moved.txt')],
  ['rename onto it', (w, p) => w.rename('ok.txt', p)],
  ['remove', (w, p) => w.remove(p)],
  ['mode change', (w, p) => w.setExec(p, true)],
  ['make folder', (w, p) => w.makeDir(p)],
  ['remove folder', (w, p) => w.removeDir(p)],
  ['kept copy', (w, p) => w.keepCopy(p)],
];

describe('FolderWriter: the one writer of the project folder, with the one path check', () => {
  it('refuses every hostile path for every kind of write, and changes nothing', async () => {
    const before = { root: tree(root), outside: tree(outside) };
    for (const p of HOSTILE) {
      expect(writer.refusal(p), `refusal of ${JSON.stringify(p)}`).toBeDefined();
      for (const [kind, write] of WRITES) {
        const failed = await write(writer, p).then(
          () => undefined,
          (e: unknown) => e,
        );
        expect(failed, `${kind} of ${JSON.stringify(p)}`).toBeInstanceOf(WriteRefused);
      }
      await writer.pruneEmptyDirs(p, () => false);
    }
    expect(tree(root)).toEqual(before.root);
    expect(tree(outside)).toEqual(before.outside);
  });

  it('does each kind of write on a good path (the refusals above are not all refusals)', async () => {
    expect(writer.refusal('new/deep/file.txt')).toBeUndefined();
    const st = await writer.writeFile('new/deep/file.txt', 'one\n');
    expect(st.isFile()).toBe(true);
    await expect(writer.writeFile('new/deep/file.txt', 'two\n', undefined, true)).rejects.toMatchObject({ code: 'EEXIST' });
    expect(fs.readFileSync(path.join(root, 'new/deep/file.txt'), 'utf8')).toBe('one\n');
    await writer.setExec('new/deep/file.txt', true);
    expect(fs.statSync(path.join(root, 'new/deep/file.txt')).mode & 0o100).toBe(0o100);
    const kept = await writer.keepCopy('new/deep/file.txt');
    expect(kept.startsWith(path.join(root, '.chorus', 'kept') + path.sep)).toBe(true);
    expect(fs.readFileSync(kept, 'utf8')).toBe('one\n');
    await writer.rename('new/deep/file.txt', 'moved/file.txt');
    expect(fs.readFileSync(path.join(root, 'moved/file.txt'), 'utf8')).toBe('one\n');
    await writer.pruneEmptyDirs('new/deep', () => false);
    expect(fs.existsSync(path.join(root, 'new'))).toBe(false);
    await writer.makeDir('made/here');
    await writer.removeDir('made/here');
    expect(fs.existsSync(path.join(root, 'made/here'))).toBe(false);
    await writer.pruneEmptyDirs('made', (d) => d === 'made'); // a shared folder stays
    expect(fs.existsSync(path.join(root, 'made'))).toBe(true);
    await writer.remove('moved/file.txt');
    expect(fs.existsSync(path.join(root, 'moved/file.txt'))).toBe(false);
    await expect(writer.removeDir('dir')).rejects.toMatchObject({ code: 'ENOTEMPTY' }); // never a folder with content
    expect(fs.readFileSync(path.join(root, 'dir/keep.txt'), 'utf8')).toBe('keep\n');
  });

  it('does not replace a file that changed while its new content was being written', async () => {
    const seen = fs.lstatSync(path.join(root, 'ok.txt'));
    fs.appendFileSync(path.join(root, 'ok.txt'), 'a tool appended this\n'); // after the check, before the rename
    const unchanged = (now: fs.Stats | undefined) => now !== undefined && now.size === seen.size && now.mtimeMs === seen.mtimeMs;
    await expect(writer.writeFile('ok.txt', 'the new content\n', undefined, false, unchanged)).rejects.toBeInstanceOf(ChangedMeanwhile);
    expect(fs.readFileSync(path.join(root, 'ok.txt'), 'utf8')).toBe('fine\na tool appended this\n');
    expect(fs.readdirSync(root).filter((n) => n.includes('.chorus-'))).toEqual([]);
    // Unchanged: written.
    await writer.writeFile('ok.txt', 'the new content\n', undefined, false, () => true);
    expect(fs.readFileSync(path.join(root, 'ok.txt'), 'utf8')).toBe('the new content\n');
  });

  it('puts back a write a tool made after the last look, before the rename (it would land in the replaced file)', async () => {
    // Seen once in a full run on a loaded machine: two tools appending on two peers lost a line.
    const file = path.join(root, 'ok.txt');
    const lastLook = (now: fs.Stats | undefined) => {
      fs.appendFileSync(file, 'a tool appended this\n'); // after the look says "unchanged", before the rename
      return now !== undefined;
    };
    await expect(writer.writeFile('ok.txt', 'the new content\n', undefined, false, lastLook)).rejects.toBeInstanceOf(ChangedMeanwhile);
    expect(fs.readFileSync(file, 'utf8')).toBe('fine\na tool appended this\n'); // the tool's write, for the caller to take in
    expect(fs.readdirSync(root).filter((n) => n.includes('.chorus-'))).toEqual([]);
    expect(fs.readdirSync(path.join(root, '.chorus', 'tmp'))).toEqual([]);
  });

  it('does not make the project folder again once it is gone (moved or deleted while the daemon ran)', async () => {
    // Regression: a write-back after the folder was deleted made it again, holding that one file
    // (a test's clean-up racing its daemon's last write-back left such folders behind).
    fs.rmSync(root, { recursive: true, force: true });
    for (const write of [() => writer.writeFile('dir/keep.txt', 'x\n'), () => writer.writeFile('new/deep.txt', 'x\n', undefined, true), () => writer.makeDir('a/b'), () => writer.rename('ok.txt', 'moved/ok.txt'), () => writer.keepCopy('ok.txt')]) {
      await expect(write()).rejects.toThrow(/the project folder .* is gone/);
    }
    expect(fs.existsSync(root)).toBe(false);
  });

  it('leaves no temporary file behind when a write fails', async () => {
    fs.mkdirSync(path.join(root, 'adir'));
    await expect(writer.writeFile('adir', 'x')).rejects.toThrow();
    expect(fs.readdirSync(root).filter((n) => n.includes('.chorus-'))).toEqual([]);
    expect(fs.readdirSync(path.join(root, '.chorus', 'tmp'))).toEqual([]);
  });
});

describe('FolderWriter: copies kept in .chorus/kept/', () => {
  // A CI run (stop 59) listed .chorus/kept/, found the copy, and read it empty: it was made with
  // its name and written after. Each write below first makes its file empty, as opening it does,
  // and looks into .chorus/kept/ then: nothing there may be less than whole.
  it('is never seen in .chorus/kept/ before it holds all it keeps, for a version given or a copy of the file', async () => {
    const keptDir = path.join(root, '.chorus', 'kept');
    const seen: string[] = [];
    const look = () => {
      if (!fs.existsSync(keptDir)) return;
      for (const n of fs.readdirSync(keptDir, { recursive: true }) as string[]) {
        const abs = path.join(keptDir, n);
        if (fs.statSync(abs).isFile()) seen.push(`${n.replace(/\.txt\..*/, '.txt')}: ${fs.readFileSync(abs, 'utf8')}`);
      }
    };
    const writeFile = fs.promises.writeFile.bind(fs.promises);
    const copyFile = fs.promises.copyFile.bind(fs.promises);
    vi.spyOn(fs.promises, 'writeFile').mockImplementation(async (file, data, options) => {
      fs.closeSync(fs.openSync(file as string, 'w'));
      look();
      return writeFile(file, data, { ...(options as object), flag: 'w' });
    });
    vi.spyOn(fs.promises, 'copyFile').mockImplementation(async (from, to) => {
      fs.closeSync(fs.openSync(to as string, 'w'));
      look();
      return copyFile(from, to);
    });
    try {
      const given = await writer.keepCopy('ok.txt', Buffer.from('a version no longer in the folder\n'));
      const copied = await writer.keepCopy('dir/keep.txt');
      look();
      expect(fs.readFileSync(given, 'utf8')).toBe('a version no longer in the folder\n');
      expect(fs.readFileSync(copied, 'utf8')).toBe('keep\n');
    } finally {
      vi.restoreAllMocks();
    }
    // Looked at before each write and once after both: each copy, each time it was there, whole.
    expect(new Set(seen)).toEqual(new Set(['ok.txt: a version no longer in the folder\n', `dir${path.sep}keep.txt: keep\n`]));
    expect(fs.readdirSync(path.join(root, '.chorus', 'tmp'))).toEqual([]);
  });
});

// Decision 142: a file where the session has a folder (or the other way round) is refused in
// words, as a WriteRefused, never as a raw ENOTDIR thrown from the path check itself (that one
// stopped a whole batch of a peer's files, with the stack in the log).
describe('FolderWriter: something in the way', () => {
  it('refuses a file under a file, a file onto a folder and a folder onto a file, in words, and changes nothing', async () => {
    fs.writeFileSync(path.join(root, 'afile'), 'mine\n');
    const before = tree(root);
    const why = writer.refusal('afile/deep/y.txt');
    expect(why).toMatch(/^not writing afile\/deep\/y\.txt here yet: afile is a file in this folder, where the session has a folder/);
    for (const write of [() => writer.writeFile('afile/y.txt', 'y\n'), () => writer.writeFile('afile/y.txt', 'y\n', undefined, true), () => writer.makeDir('afile/sub')]) {
      const e = await write().catch((x: unknown) => x);
      expect(e).toBeInstanceOf(WriteRefused);
      expect((e as Error).message).toContain('afile is a file in this folder');
    }
    for (const create of [false, true]) {
      const e = await writer.writeFile('dir', 'x', undefined, create).catch((x: unknown) => x);
      expect(e).toBeInstanceOf(WriteRefused);
      expect((e as Error).message).toBe('not writing dir here yet: this folder has a folder of that name, where the session has a file; it is written once the folder has moved');
    }
    const e = await writer.makeDir('afile').catch((x: unknown) => x);
    expect(e).toBeInstanceOf(WriteRefused);
    expect((e as Error).message).toContain('this folder has a file of that name');
    const { '.chorus/tmp': _tmp, ...after } = tree(root);
    expect(after).toEqual(before);
  });

  it('says a file system failure in words, with its code, never with the absolute path or a stack', () => {
    const raw = Object.assign(new Error(`EACCES: permission denied, open '${root}/x'`), { code: 'EACCES' });
    expect(inWords(raw)).toBe('permission denied (EACCES)');
    expect(inWords(Object.assign(new Error('Path is a directory'), { code: 'ERR_FS_EISDIR' }))).toBe('a folder is at that path (ERR_FS_EISDIR)');
    expect(inWords(new Error('first line\n    at somewhere'))).toBe('first line');
  });
});

// Decision 131: a write-back's temporary file is written in `.chorus/tmp/`, which nothing watches,
// not beside the file, where every write cost the folder's watchers (ours, an editor's, a test
// runner's) a round of events for a file that is gone a moment later.
describe('FolderWriter: temporary files in .chorus/tmp/', () => {
  afterEach(() => vi.restoreAllMocks());

  it('writes through .chorus/tmp/, so a watcher of the file\'s folder sees only the file', async () => {
    const seen: string[] = [];
    const watcher = fs.watch(path.join(root, 'dir'), (_event, name) => seen.push(String(name)));
    try {
      for (let i = 0; i < 5; i++) await writer.writeFile('dir/keep.txt', `version ${i}\n`);
      await writer.writeFile('dir/new.txt', 'new\n', undefined, true);
      await new Promise((r) => setTimeout(r, 200)); // let the last events arrive
    } finally {
      watcher.close();
    }
    expect(fs.readFileSync(path.join(root, 'dir/keep.txt'), 'utf8')).toBe('version 4\n');
    expect(fs.readFileSync(path.join(root, 'dir/new.txt'), 'utf8')).toBe('new\n');
    expect(seen.length).toBeGreaterThan(0);
    expect(seen.filter((n) => isWriteTemp(n) || n.includes('.chorus-'))).toEqual([]);
    expect(new Set(seen)).toEqual(new Set(['keep.txt', 'new.txt']));
    expect(fs.readdirSync(path.join(root, '.chorus', 'tmp'))).toEqual([]);
  });

  it('writes beside the file when its folder is on another file system (EXDEV), and again through .chorus/tmp/ once that was removed', async () => {
    const realRename = fs.renameSync;
    const tmps: string[] = [];
    vi.spyOn(fs, 'renameSync').mockImplementation((from, to) => {
      tmps.push(String(from));
      if (path.dirname(String(from)) === path.join(root, '.chorus', 'tmp')) throw Object.assign(new Error('EXDEV: cross-device link not permitted'), { code: 'EXDEV' });
      return realRename(from, to);
    });
    await writer.writeFile('dir/keep.txt', 'across\n');
    expect(fs.readFileSync(path.join(root, 'dir/keep.txt'), 'utf8')).toBe('across\n');
    expect(tmps.map((t) => path.dirname(t))).toEqual([path.join(root, '.chorus', 'tmp'), path.join(root, 'dir')]);
    expect(fs.readdirSync(path.join(root, 'dir')).filter((n) => n.includes('.chorus-'))).toEqual([]);
    expect(fs.readdirSync(path.join(root, '.chorus', 'tmp'))).toEqual([]);
    vi.restoreAllMocks();

    fs.rmSync(path.join(root, '.chorus', 'tmp'), { recursive: true });
    await writer.writeFile('dir/keep.txt', 'after\n');
    expect(fs.readFileSync(path.join(root, 'dir/keep.txt'), 'utf8')).toBe('after\n');
    expect(fs.readdirSync(path.join(root, '.chorus', 'tmp'))).toEqual([]);
  });

  it('clears what a crash left in .chorus/tmp/', async () => {
    await writer.writeFile('ok.txt', 'one\n');
    const left = path.join(root, '.chorus', 'tmp', '.chorus-0123456789abcdef.tmp');
    fs.writeFileSync(left, 'half a write');
    writer.clearTemp();
    expect(fs.existsSync(left)).toBe(false);
    await writer.writeFile('ok.txt', 'two\n');
    expect(fs.readFileSync(path.join(root, 'ok.txt'), 'utf8')).toBe('two\n');
  });
});

describe('no other module changes the project folder', () => {
  // Modules that write only Chorus's own files (`.chorus/`, the identity, the socket) or the folder
  // a join creates, each for that reason; every other write of the folder is FolderWriter's.
  const OWN_FILES = new Set([
    'disk/folder-writer.ts', // the project folder: the one writer
    'disk/disk-ledger.ts', // .chorus/disk
    'disk/ignore-rules.ts', // .chorus/ignore: files a peer's .gitignore change stopped ignoring, kept local
    'workspace/storage.ts', // .chorus/state
    'workspace/fs-blob-store.ts', // .chorus/blobs
    'project.ts', // .chorus itself
    'session/session-file.ts', // .chorus/session.json
    'session/session-manager.ts', // removes .chorus/session.json
    'lifecycle/lock.ts', // .chorus/daemon.lock
    'editor/editor-server.ts', // .chorus/daemon.sock
    'daemon.ts', // removes .chorus/daemon.sock
    'identity.ts', // the person's identity file
    'commands.ts', // the folder `chorus join` creates, removed again when the join fails
    'demo.ts', // the demo's own temporary folders
    'lsp/server.ts', // the trace file a developer names (debugging the LSP bridge)
    'lifecycle/kept-copies.ts', // removes the oldest of the daemon's own copies of damaged state in .chorus (decision 153)
    'lifecycle/stop-mark.ts', // .chorus/stopped, the mark `chorus stop` leaves (decision 174)
    'lifecycle/daemon-process.ts', // removes .chorus/daemon.starting, a starter's record (decision 183)
    'disk/birth-times.ts', // a probe file in the system's temporary folder, never the project (decision 215)
  ]);
  const MUTATES = /\bfs\.(?:promises\.)?(?:writeFile|appendFile|rename|rm|rmdir|unlink|mkdir|chmod|copyFile|link|symlink|truncate|cp)(?:Sync)?\(/;

  it('finds fs writes only in FolderWriter and the modules that write Chorus’s own files', () => {
    const src = path.resolve(import.meta.dirname, '../../daemon/src');
    const writers: string[] = [];
    const walk = (rel: string): void => {
      for (const e of fs.readdirSync(path.join(src, rel), { withFileTypes: true })) {
        const r = rel ? `${rel}/${e.name}` : e.name;
        if (e.isDirectory()) walk(r);
        else if (r.endsWith('.ts') && MUTATES.test(fs.readFileSync(path.join(src, r), 'utf8'))) writers.push(r);
      }
    };
    walk('');
    expect(writers.filter((w) => !OWN_FILES.has(w))).toEqual([]);
    expect(writers).toContain('disk/folder-writer.ts'); // the pattern still finds writes
  });
});
