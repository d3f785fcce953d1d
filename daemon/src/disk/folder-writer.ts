/**
 * The one writer of the project folder (issue 13, decision 091): every create, write, rename,
 * delete, folder made or removed, mode change and kept copy the daemon makes in the folder goes
 * through a method here, and every one passes the same path check first (`refusal`). Deciding
 * *what* to write stays with the callers (WriteBack: live text and own-write recognition;
 * Materializer: peers' file changes; FolderSync: what the folder lacks after a restart; whether
 * now or once a blob arrives: PendingContent, decision 110).
 * test/disk/folder-writer.test.ts pins that a hostile path is refused here for every kind of
 * write, and that no other module changes the folder.
 */
import fs from 'node:fs';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import { PathError, type Project } from '../project.js';
import { pathProblem } from '../workspace/path-rules.js';
import { lstatNow, withExec } from './files.js';
import { holdsProject, nestedProjectOf } from './nested-projects.js';
import { namesHead, repositoryOn, WritesInFlight, type FolderLook } from './git-dir-guard.js';
import type { DiskLedger } from './disk-ledger.js';

/** `writeFile`'s `unchanged` said no: the file changed while its new content was being written; nothing was written. */
export class ChangedMeanwhile extends Error {
  constructor(readonly file: string) {
    super(`${file} changed while its new content was being written`);
  }
}

/** A write the path check refused: nothing was changed. The message says why, for the log. */
export class WriteRefused extends Error {
  constructor(
    readonly path: string,
    message: string,
  ) {
    super(message);
  }
}

/**
 * A temporary file's name (see isWriteTemp): short, of fixed shape, never derived from the file's
 * name, since a name close to the file system's limit (255 bytes) must still get one.
 */
function tempName(): string {
  return `.chorus-${randomBytes(8).toString('hex')}.tmp`;
}

/**
 * How long the file a write-back replaced is watched for a late write (see `watchReplaced`), and
 * how often it is looked at meanwhile. A tool that opened the file before the rename (`echo >>`)
 * writes into the replaced file whenever it gets to run; on a loaded machine a preempted shell
 * did so after the one look right after the rename (cli/disk-races, a line lost 1 run in ~10).
 * Generous, as TOOL_RACE_MS in write-back.ts is for a tool's read-change-write.
 *
 * The looks come at LATE_WRITE_FIRST_LOOK_MS after the rename, then twice as far apart each time,
 * to at most LATE_WRITE_MAX_GAP_MS (50, 150, 350, 750, 1,550, 2,350 ms and the last at 3 s: 7 looks),
 * and again 50 ms after a look that saw the file change. A late write comes within moments of the
 * rename when it comes at all, and a daemon writes a file back at each pause in typing (decision
 * 033: after most keystrokes at a person's pace, once a second at 30/s): a look every 50 ms for
 * 3 s woke both daemons 20 times a second while anyone typed and cost each ~0.1 ms of CPU per
 * keystroke in `npm run bench:keystroke` (~8 %).
 */
const LATE_WRITE_WATCH_MS = 3000;
const LATE_WRITE_FIRST_LOOK_MS = 50;
const LATE_WRITE_MAX_GAP_MS = 800;
/** At most this many replaced files are held open and watched at once (a peer's 1,000 files written back must not use 1,000 descriptors); the oldest goes first, looked at once more. */
const MAX_LATE_WATCHES = 64;

/**
 * Told of a write a tool made to the file a write-back replaced, after the rename: `theirs` is
 * that file's whole content now, `base` what it held before that write. `sure`: `base` is exactly
 * that (what was last told, or put back); when not, it is the first bytes of `theirs` as long as
 * the file was when replaced, which is what it held if the tool appended (the caller checks it is
 * a content the folder held), or undefined when the file is no longer than that (the tool wrote
 * over it: what it held before is not known).
 */
export type LateWrite = (theirs: Buffer, base: Buffer | undefined, sure: boolean) => void;

/** What `putBackLateWrite` found in the replaced file: its content, its stats then, and whether that content went back in place. */
interface PutBack {
  content: Buffer;
  now: fs.Stats;
  put: boolean;
}

/** A replaced file being watched (see `watchReplaced`). */
interface Replaced {
  fd: number;
  /** Its size, mtime and inode as last looked at. */
  stamp: string;
  /** Its content as last told (undefined: not told yet; it holds `size` bytes of the content it was replaced with). */
  told: Buffer | undefined;
  size: number;
  /** It changed at the last look: told once a look finds it unchanged (the tool done writing), or at the end. */
  changing: boolean;
  until: number;
  /** When it is looked at next (ms since the epoch), and the gap to the look after that. */
  next: number;
  gap: number;
  late: LateWrite;
}

function stampOfReplaced(st: fs.Stats): string {
  return `${st.ino}:${st.size}:${st.mtimeMs}`;
}

/** The whole content of the open file `fd`, read from its start. */
function readAll(fd: number): Buffer {
  const size = fs.fstatSync(fd).size;
  const buf = Buffer.alloc(size);
  let n = 0;
  while (n < size) {
    const got = fs.readSync(fd, buf, n, size - n, n);
    if (got === 0) break;
    n += got;
  }
  return buf.subarray(0, n);
}

/**
 * The file system's own refusal of a name as too long (ENAMETOOLONG: a part over its NAME_MAX,
 * which is below 255 bytes on some, e.g. 143 on eCryptfs, or the whole path over PATH_MAX) as a
 * WriteRefused: trying again cannot help, and the log says which file and why in words.
 */
function refusedAsTooLong(rel: string, e: unknown): unknown {
  return isTooLong(e) ? new WriteRefused(rel, tooLong(rel)) : e;
}

function isTooLong(e: unknown): boolean {
  return (e as NodeJS.ErrnoException | undefined)?.code === 'ENAMETOOLONG';
}

/** Why a too-long name was not written, naming the file by its start and its end (the end tells one long name from another). */
function tooLong(rel: string): string {
  const shown = rel.length <= 200 ? JSON.stringify(rel) : `${JSON.stringify(rel.slice(0, 120)).slice(0, -1)}…${JSON.stringify(rel.slice(-60)).slice(1)}`;
  return `could not write ${shown} here: its name is longer than this file system allows (${Buffer.byteLength(rel)} bytes in all; the other peers keep the file, and a shorter name would reach this folder too)`;
}

/** What a file system error code means, in words (see `inWords`). */
const CODE_WORDS: Record<string, string> = {
  EACCES: 'permission denied',
  EPERM: 'not permitted',
  ENOSPC: 'the disk is full',
  EDQUOT: 'the disk quota is used up',
  EROFS: 'the file system is read-only',
  ENOENT: 'it, or a folder on its way, is not there',
  ENOTDIR: 'a file is where a folder on its way should be',
  EISDIR: 'a folder is at that path',
  EEXIST: 'something else is at that path already',
  ENOTEMPTY: 'the folder is not empty',
  EBUSY: 'it is in use',
  EMFILE: 'too many files are open',
  ENFILE: 'too many files are open',
  EIO: 'the disk reported an input/output error',
  ENAMETOOLONG: 'the name is longer than this file system allows',
  EXDEV: 'it is on another file system',
};

/**
 * A failure of a write, for the log: in words, with the file system's code for reference, never
 * Node's raw message (which repeats the absolute path and the system call) nor its stack.
 */
export function inWords(e: unknown): string {
  if (e instanceof WriteRefused || e instanceof ChangedMeanwhile) return e.message;
  const code = (e as NodeJS.ErrnoException | undefined)?.code;
  if (typeof code === 'string') return `${CODE_WORDS[code.replace(/^ERR_FS_/, '')] ?? 'the file system refused'} (${code})`;
  return e instanceof Error ? e.message.split('\n')[0]! : String(e);
}

/** Is there a folder (not a link to one) at `abs`? */
function isFolder(abs: string): boolean {
  try {
    return fs.lstatSync(abs, { throwIfNoEntry: false })?.isDirectory() === true;
  } catch {
    return false;
  }
}

/** The code of a file system error, if it is one. */
function codeOf(e: unknown): string | undefined {
  return (e as NodeJS.ErrnoException | undefined)?.code;
}

export class FolderWriter {
  /**
   * Where `writeFile` writes a file's new content before renaming it into place: `.chorus/tmp/`,
   * on the project's file system (so the rename is atomic) but outside what anyone watches. A
   * temporary file in the file's own folder cost the folder watcher (ours, and every tool's: an
   * editor's, a test runner's) a round of events and a re-read of that folder per write-back,
   * ~1.5 ms of CPU each (decision 132). A folder on another file system (a mount inside the
   * project) gets its temporary file beside it, as before.
   */
  private readonly tempDir: string;
  private tempDirMade = false;
  /**
   * Paths where something of this folder kept a write of the session's out: a file where a shared
   * folder goes, or a folder where a shared file goes. When one moves or goes (a peer's change, or
   * the person's), what it kept out is written then (Materializer, FolderSync).
   */
  private readonly inTheWay = new Set<string>();

  /**
   * Folders this writer removed (a peer's removal, or empty folders pruned), until the watcher
   * has seen each go, or it is there again: their removal is the daemon's echo, not a person's.
   * Taken as a person's, it could unshare a folder a peer shared again meanwhile (a joining
   * peer putting back the session's empty folder, decision 147), on every peer.
   */
  private readonly removedHere = new Set<string>();

  /** Did this writer remove the folder `rel` (not seen go, nor made, since)? Forgotten once asked. */
  removedByThisWriter(rel: string): boolean {
    return this.removedHere.delete(rel);
  }

  /**
   * The folder `rel` is there (seen): a later removal of it is not this writer's, and the record
   * of the folders here (`folders`) has it and every folder above it.
   */
  folderIsThere(rel: string): void {
    this.notRemoved(rel);
    for (let p = rel; p !== '.' && p !== ''; p = path.posix.dirname(p)) this.folders?.folderHere(p);
  }

  private notRemoved(rel: string): void {
    for (let p = rel; p !== '.' && p !== ''; p = path.posix.dirname(p)) this.removedHere.delete(p);
  }

  private noteRemoved(rel: string): void {
    if (this.removedHere.size >= 10_000) this.removedHere.clear(); // a bound: at worst a removal is shared
    this.removedHere.add(rel);
  }

  /**
   * `folders`: where the folders this folder has are recorded across restarts (the DiskLedger):
   * told of each folder seen or made here, and of each this writer removes or moves away, so
   * that a folder the person deletes while the daemon is stopped is known as theirs to delete
   * (decision 173). Without it (tests of the writer alone) nothing is recorded.
   */
  constructor(
    private readonly project: Project,
    private readonly folders?: Pick<DiskLedger, 'folderHere' | 'folderGone'>,
  ) {
    this.tempDir = path.join(project.dotDir, 'tmp');
  }

  /** Remove temporary files a crash left in `.chorus/tmp/` (the daemon calls this once, at start). */
  clearTemp(): void {
    fs.rmSync(this.tempDir, { recursive: true, force: true });
    this.tempDirMade = false;
  }

  /**
   * Why the daemon may not change `rel` in the folder, or undefined when it may: it must be a
   * project path (path-rules.ts: not absolute, no `..`, nothing inside `.git/`, `.chorus/` or
   * another reserved folder in any spelling), the project folder must still be there (a write
   * never makes it again), the path already in its one normal form, reach no folder
   * through a symbolic link (Project.relative: not outside the root, not a second name of
   * another file), and not be a symbolic link itself (a link is the person's, never replaced,
   * moved or deleted; issue 10, item 5), and what it puts there (`content`: a file's text) not
   * make or go into a folder Git takes for a repository (git-dir-guard.ts, decision 214; not
   * asked of a removal, nor of a move's source: `removing`). The one check every write below passes.
   */
  refusal(rel: string, content?: string, removing = false): string | undefined {
    const problem = pathProblem(rel);
    if (problem) return `refused to write ${JSON.stringify(rel).slice(0, 200)}: ${problem}`;
    // Every write makes the folders it needs; with the root gone (moved, or deleted while the
    // daemon ran) that would make the project folder again, holding just this file.
    if (!fs.existsSync(this.project.root)) return `not writing ${rel}: the project folder ${this.project.root} is gone (moved or deleted while the daemon ran); put it back, or stop this daemon with chorus stop`;
    let normal: string;
    try {
      normal = this.project.relative(rel);
    } catch (e) {
      if (!(e instanceof PathError)) throw e;
      return `refused to write ${JSON.stringify(rel).slice(0, 200)}: ${e.message}`;
    }
    if (normal !== rel) return `refused to write ${JSON.stringify(rel).slice(0, 200)}: it names ${JSON.stringify(normal).slice(0, 200)} through a symbolic link`;
    const nested = nestedProjectOf(rel, (dir) => holdsProject(this.project.root, dir));
    if (nested !== undefined) return `not writing ${rel}: the folder ${nested} is a Chorus project of its own (it has a .chorus folder), which this project's session leaves alone`;
    let st: fs.Stats | undefined;
    try {
      st = fs.lstatSync(this.project.absolute(rel), { throwIfNoEntry: false });
    } catch (e) {
      if (isTooLong(e)) return tooLong(rel);
      // A file where a folder on the way should be (`x` a file, `rel` is `x/y.txt`): nothing
      // can be written there until that file moves (Workspace.resolve moves it on every peer).
      if (codeOf(e) === 'ENOTDIR') return this.blocked(rel);
      return `not writing ${rel}: could not look at it: ${inWords(e)}`;
    }
    if (st?.isSymbolicLink()) {
      return `not writing ${rel}: it is a symbolic link in the folder; Chorus leaves links alone (remove the link to get the shared file)`;
    }
    const repository = removing ? undefined : repositoryOn(rel, this.look, content, this.writing);
    if (repository !== undefined) {
      const where = repository ? `the folder ${repository}` : 'the project folder';
      return `not writing ${rel}: ${where} is, or with this would be, a Git repository (a HEAD file beside objects and refs, or a commondir file), and git run inside it would read its config, which can name commands to run; Chorus never writes into one. The session keeps the file: if you trust it, copy it from a peer's folder yourself`;
    }
    return undefined;
  }

  /** The folder as `repositoryOn` looks at it: lstat (a link is neither file nor folder), and a file's first bytes. */
  private readonly look: FolderLook = {
    kind: (rel) => {
      try {
        const st = fs.lstatSync(this.project.absolute(rel), { throwIfNoEntry: false });
        return st?.isFile() ? 'file' : st?.isDirectory() ? 'dir' : undefined;
      } catch {
        return undefined; // a file on the way (ENOTDIR), a name too long: nothing there
      }
    },
    start: (rel) => {
      let fd: number | undefined;
      try {
        fd = fs.openSync(this.project.absolute(rel), 'r');
        const buf = Buffer.alloc(256);
        return buf.subarray(0, fs.readSync(fd, buf, 0, 256, 0)).toString('utf8');
      } catch {
        return undefined;
      } finally {
        if (fd !== undefined) fs.closeSync(fd);
      }
    },
  };

  /** Paths being written now (between their check and their rename into place), for `repositoryOn`. */
  private readonly writing = new WritesInFlight();

  /**
   * The first folder on the way to `rel` that is something else in this folder (a file), if any:
   * what keeps `rel` from being written.
   */
  private fileOnTheWay(rel: string): string | undefined {
    const parts = rel.split('/');
    for (let i = 1; i < parts.length; i++) {
      const dir = parts.slice(0, i).join('/');
      const st = fs.lstatSync(this.project.absolute(dir), { throwIfNoEntry: false });
      if (st === undefined) return undefined;
      if (!st.isDirectory()) return dir;
    }
    return undefined;
  }

  /** Note that what is at `rel` kept a write of the session's out (see `inTheWay`). */
  private noteInTheWay(rel: string): void {
    if (this.inTheWay.size >= 10_000) this.inTheWay.clear(); // a bound: at worst a restart writes the rest
    this.inTheWay.add(rel);
  }

  /**
   * Did what is (or was) at `rel` keep a write of the session's out? Asked when it has moved or
   * gone; forgotten once asked, as what it kept out is written then.
   */
  tookOutOfTheWay(rel: string): boolean {
    return this.inTheWay.delete(rel);
  }

  /** Why `rel` cannot be written while a file sits where one of its folders should be. */
  private blocked(rel: string): string {
    let file: string | undefined;
    try {
      file = this.fileOnTheWay(rel);
    } catch {
      // looked at just below: the message names the path itself then
    }
    if (file !== undefined) this.noteInTheWay(file);
    const what = file === undefined ? 'a folder on its way is a file in this folder' : `${file} is a file in this folder, where the session has a folder`;
    return `not writing ${rel} here yet: ${what}; it is written once that file has moved (the session keeps it meanwhile)`;
  }

  /** The absolute path of `rel` after the check (`content`, `removing`: as `refusal`); throws WriteRefused. */
  private checked(rel: string, content?: string, removing = false): string {
    const why = this.refusal(rel, content, removing);
    if (why !== undefined) throw new WriteRefused(rel, why);
    return this.project.absolute(rel);
  }

  /**
   * Write `data` to `rel` via a temporary file and a rename, so readers never see half a file;
   * keeps the mode, with the execute bits set or cleared when `exec` says. `create`: the file
   * must not exist; if another tool created it meanwhile, nothing is written and the error has
   * code EEXIST (a hard link, not a rename, puts the file in place: it never replaces one).
   * Returns the file's identity as written (taken from the temporary file before it moved: a
   * rename keeps inode and times), so a tool's write right after ours is never mistaken for ours.
   * Throws WriteRefused (nothing written; also when the file system finds the name too long),
   * or the file system's error. `late`: told of a tool's write to the replaced file after the
   * rename, for a while (see `watchReplaced`); only with `unchanged`.
   */
  async writeFile(rel: string, data: string | Uint8Array, exec?: boolean, create = false, unchanged?: (now: fs.Stats | undefined) => boolean, late?: LateWrite): Promise<fs.Stats> {
    // What a HEAD says decides whether it makes a repository (git-dir-guard.ts); no other file's does.
    const head = namesHead(rel) ? (typeof data === 'string' ? data.slice(0, 256) : Buffer.from(data.subarray(0, 256)).toString('utf8')) : undefined;
    const file = this.checked(rel, head);
    this.writing.add(rel);
    try {
      return await this.writeChecked(file, data, exec, create, unchanged, late);
    } catch (e) {
      throw this.refusedInTheWay(rel, file, refusedAsTooLong(rel, e));
    } finally {
      this.writing.delete(rel);
    }
  }

  /**
   * A write that failed because something is in the way (a file where a folder on the way should
   * be, a folder made at the path meanwhile) as a WriteRefused that says so: trying again at once
   * cannot help, and the log says what is in the way in words. Any other error as it is.
   */
  private refusedInTheWay(rel: string, file: string, e: unknown): unknown {
    const code = codeOf(e);
    if (code === 'ENOTDIR') return new WriteRefused(rel, this.blocked(rel));
    // A folder at the path (a rename onto it says EISDIR, a hard link EEXIST): a file is never
    // put in its place; the folder is someone's, or the session's.
    if (code === 'EISDIR' || (code === 'EEXIST' && isFolder(file))) {
      this.noteInTheWay(rel);
      return new WriteRefused(rel, `not writing ${rel} here yet: this folder has a folder of that name, where the session has a file; it is written once the folder has moved`);
    }
    // `mkdir -p` answers EEXIST when the first folder on the way is a file.
    if (code === 'EEXIST' && e instanceof Error && /\bmkdir\b/.test(e.message)) return new WriteRefused(rel, this.blocked(rel));
    return e;
  }

  private async writeChecked(file: string, data: string | Uint8Array, exec: boolean | undefined, create: boolean, unchanged?: (now: fs.Stats | undefined) => boolean, late?: LateWrite): Promise<fs.Stats> {
    await fs.promises.mkdir(path.dirname(file), { recursive: true });
    let mode = 0o644;
    try {
      mode = (await fs.promises.stat(file)).mode & 0o7777;
    } catch {
      // new file
    }
    if (exec !== undefined) mode = withExec(mode, exec);
    try {
      return await this.writeVia(path.join(this.ownTempDir(), tempName()), file, data, mode, create, unchanged, late);
    } catch (e) {
      const code = (e as NodeJS.ErrnoException | undefined)?.code;
      if (code === 'ENOENT' && this.tempDirMade && !fs.existsSync(this.tempDir)) {
        // `.chorus/tmp/` was removed while the daemon ran: make it again.
        this.tempDirMade = false;
        return this.writeVia(path.join(this.ownTempDir(), tempName()), file, data, mode, create, unchanged, late);
      }
      // The file's folder is on another file system (a mount inside the project): a rename
      // into it would not be atomic, so its temporary file goes beside it.
      if (code === 'EXDEV') return this.writeVia(path.join(path.dirname(file), tempName()), file, data, mode, create, unchanged, late);
      throw e;
    }
  }

  private ownTempDir(): string {
    if (!this.tempDirMade) {
      fs.mkdirSync(this.tempDir, { recursive: true, mode: 0o700 });
      this.tempDirMade = true;
    }
    return this.tempDir;
  }

  /** Write `data` to `tmp` with `mode`, then put it in place as `file` (see writeFile). */
  private async writeVia(tmp: string, file: string, data: string | Uint8Array, mode: number, create: boolean, unchanged?: (now: fs.Stats | undefined) => boolean, late?: LateWrite): Promise<fs.Stats> {
    try {
      await fs.promises.writeFile(tmp, data, { mode });
      await fs.promises.chmod(tmp, mode);
      const written = await fs.promises.lstat(tmp);
      let linked = false;
      if (create) {
        linked = await fs.promises.link(tmp, file).then(
          () => true,
          (e: NodeJS.ErrnoException) => {
            if (e.code === 'EEXIST' || e.code === 'EXDEV') throw e;
            return false; // a file system without hard links: a plain rename
          },
        );
      }
      if (linked) await fs.promises.rm(tmp, { force: true });
      else {
        // The last look before the file is replaced: a tool that wrote it while the new content
        // was being written (an append, a save) would lose that write to the rename.
        // The look, the open and the rename are made synchronously, back to back: awaited, each
        // queued behind the watcher's reads in libuv's thread pool, and a tool's whole save (a
        // `sed -i` renaming its copy into place) fitted between the open and the rename on a
        // loaded machine, was unlinked by it and lost (cli/disk-races, 1 run in 3).
        const before = unchanged ? lstatNow(file) : undefined;
        if (unchanged && !unchanged(before)) throw new ChangedMeanwhile(file);
        // A tool may still write between that look and the rename (a few system calls): its
        // write lands in the file the rename unlinks. Held open here, that file shows it
        // afterwards, and its content is put back for the caller to take in.
        const old = before?.isFile() ? openToRead(file) : undefined;
        let watched = false;
        try {
          fs.renameSync(tmp, file);
          if (old !== undefined && before) {
            // A tool that opened the file before the rename may write to it later still (the
            // look just below is a moment after the rename): watched for a while, such a write
            // is told to the caller, to take in. Closed once the watch is over. (A replaced file
            // that has another name, a hard link, ends its watch untold at its first look.)
            const watch = late && this.watchingLate ? late : undefined;
            const put = await this.putBackLateWrite(old, before, file, written.ino, mode);
            if (watch) watched = this.watchReplaced(old, before, watch, put);
            // The caller takes in what is in the folder now: what was put back, or another write since.
            if (put) throw new ChangedMeanwhile(file);
          }
        } finally {
          if (old !== undefined && !watched) fs.closeSync(old);
        }
      }
      return written;
    } catch (e) {
      await fs.promises.rm(tmp, { force: true });
      throw e;
    }
  }

  /**
   * After a rename replaced `file`: if the replaced file (`old`, an open descriptor) changed since `before`, the
   * last look, a tool wrote it in between. Its content goes back at `file` (unless something wrote
   * `file` again since the rename, which still holds inode `ours`), and the caller throws
   * ChangedMeanwhile, which tells its caller to take it in against its base, as for a write seen at
   * the last look. Returns what the replaced file held then (`put`: whether it went back; `now`:
   * the file as looked at), or undefined when it had not changed.
   */
  private async putBackLateWrite(old: number, before: fs.Stats, file: string, ours: number, mode: number): Promise<PutBack | undefined> {
    const now = fs.fstatSync(old);
    // Another file (a tool's save renamed into place after the look) or the same one written.
    if (stampOfReplaced(now) === stampOfReplaced(before)) return undefined;
    const theirs = readAll(old);
    const there = await fs.promises.lstat(file).catch(() => undefined);
    if (there?.ino !== ours) return { content: theirs, now, put: false };
    const tmp = path.join(this.ownTempDir(), tempName());
    try {
      await fs.promises.writeFile(tmp, theirs, { mode });
      await fs.promises.chmod(tmp, mode);
      await fs.promises.rename(tmp, file);
    } catch (e) {
      await fs.promises.rm(tmp, { force: true });
      throw e;
    }
    return { content: theirs, now, put: true };
  }

  /** The replaced files being watched for a late write, oldest first (see `watchReplaced`). */
  private readonly replaced: Replaced[] = [];
  /** The one timer for every watched file's next look, and when it fires. */
  private replacedTimer: NodeJS.Timeout | undefined;
  private replacedTimerAt = Infinity;
  private watchingLate = true;

  /** Look at every replaced file watched once more, and stop watching (the daemon is stopping; later writes are not watched). */
  endLateWatches(): void {
    this.watchingLate = false;
    for (const w of this.replaced.splice(0)) this.endWatch(w);
    clearTimeout(this.replacedTimer);
    this.replacedTimer = undefined;
    this.replacedTimerAt = Infinity;
  }

  /**
   * Watch the file a write-back just replaced (`fd`, open; `before`: as it was when replaced) for
   * LATE_WRITE_WATCH_MS: a write a tool makes to it (having opened the file before the rename) is
   * told to `late` once the file stops changing. Without this, such a write landed in a file
   * nobody would ever read again (an `echo >>` preempted between its open and its write: a line
   * lost from cli/disk-races). A poll, not fs.watch: one timer for every watched file, the same on
   * every platform, and a watcher on a path would follow the name, not the replaced file. A tool
   * holding the file open for longer (a long-running process appending to a log) still writes
   * into the replaced file after the watch (decision 215). Returns false when nothing is watched.
   */
  private watchReplaced(fd: number, before: fs.Stats, late: LateWrite, found?: PutBack): boolean {
    if (this.replaced.length >= MAX_LATE_WATCHES) this.endWatch(this.replaced.shift()!);
    const now = performance.now();
    // What the look right after the rename found: put back, it is the base of the tool's next
    // write (told from there on). Not put back (the file was written again meanwhile), it is
    // itself a late write, told at the first look (its stamp is not the one watched from).
    const put = found?.put ? found : undefined;
    this.replaced.push({ fd, stamp: stampOfReplaced(put?.now ?? before), told: put?.content, size: before.size, changing: false, until: now + LATE_WRITE_WATCH_MS, next: now + LATE_WRITE_FIRST_LOOK_MS, gap: 2 * LATE_WRITE_FIRST_LOOK_MS, late });
    this.scheduleLooks();
    return true;
  }

  /** Have the timer fire at the earliest next look of a watched file (none when nothing is watched). */
  private scheduleLooks(): void {
    let at = Infinity;
    for (const w of this.replaced) at = Math.min(at, w.next);
    if (at === this.replacedTimerAt) return;
    clearTimeout(this.replacedTimer);
    this.replacedTimer = undefined;
    this.replacedTimerAt = at;
    if (at === Infinity) return;
    this.replacedTimer = setTimeout(() => {
      this.replacedTimer = undefined;
      this.replacedTimerAt = Infinity;
      this.lookAtReplaced();
    }, Math.max(0, at - performance.now()));
    this.replacedTimer.unref(); // never what keeps a stopping daemon alive
  }

  /** Look at each watched file whose look is due; end the watches that are over. */
  private lookAtReplaced(): void {
    const now = performance.now();
    for (const w of [...this.replaced]) {
      if (now >= w.until) {
        this.replaced.splice(this.replaced.indexOf(w), 1);
        this.endWatch(w);
      } else if (now >= w.next) {
        this.lookAtOne(w, false);
        // Soon again while it changes (told once it stops); else further apart, the last look at the watch's end.
        if (w.changing) w.gap = LATE_WRITE_FIRST_LOOK_MS;
        w.next = Math.min(now + w.gap, w.until);
        w.gap = Math.min(2 * w.gap, LATE_WRITE_MAX_GAP_MS);
      }
    }
    this.scheduleLooks();
  }

  /** Look at a watched replaced file once; tell its caller of what a tool wrote, when it is done writing (or `last`). */
  private lookAtOne(w: Replaced, last: boolean): void {
    try {
      const st = fs.fstatSync(w.fd);
      // Given a name since (moved away before the rename, `mv f f.bak`, or linked): what is
      // written to it is that file's own change, taken in there.
      if (st.nlink > 0) {
        w.until = 0;
        return;
      }
      const stamp = stampOfReplaced(st);
      const changed = stamp !== w.stamp;
      w.stamp = stamp;
      // Told once a look finds it unchanged since the last (the tool is done, or pausing), so a
      // write in several pieces is told once, whole; at the watch's end whatever it holds.
      if (changed && !last) {
        w.changing = true;
        return;
      }
      if (!changed && !w.changing) return;
      w.changing = false;
      const theirs = readAll(w.fd);
      const sure = w.told !== undefined;
      // Not told before: its start, if the tool appended; a file no longer than it was when
      // replaced was written over, on a content not known here (told with no base).
      const base = w.told ?? (theirs.length > w.size ? theirs.subarray(0, w.size) : undefined);
      w.told = theirs;
      if (base === undefined || !theirs.equals(base)) w.late(theirs, base, sure);
    } catch {
      // A descriptor that cannot be read: nothing more to learn from it.
    }
  }

  private endWatch(w: Replaced): void {
    this.lookAtOne(w, true);
    fs.closeSync(w.fd);
  }

  /** Move a file from `from` to `to` (making `to`'s folders). Both paths are checked. Throws as `renameNow`. */
  async rename(from: string, to: string): Promise<void> {
    this.renameNow(from, to);
  }

  /**
   * `rename`, done now: a move is two quick system calls, and made synchronously it does not
   * queue behind the watcher's own reads in libuv's thread pool. That queue is what made a peer's
   * rename of a 1,000-file folder take minutes here: chokidar re-reads a changed folder (an lstat
   * per entry) each second, and every awaited call of each move waited behind those lstats.
   */
  renameNow(from: string, to: string): void {
    const a = this.checked(from, undefined, true);
    // A file moved to a `HEAD` says what the moved file says (see repositoryOn).
    const b = this.checked(to, namesHead(to) ? (this.look.start(from) ?? '') : undefined);
    try {
      fs.mkdirSync(path.dirname(b), { recursive: true });
      fs.renameSync(a, b);
    } catch (e) {
      throw refusedAsTooLong(to, e);
    }
  }

  /**
   * Move the folder at `from` (whole: files the session does not share move with it) to `to`,
   * which must not exist; synchronously, so the caller changes the index in the same turn and the
   * watcher never sees the folder moved while the index still has it at `from` (a join setting
   * its folder aside for the session's file, decision 147). Both paths are checked. Throws
   * WriteRefused when `from` is not a folder or `to` is taken, else the file system's error.
   */
  moveFolderNow(from: string, to: string): void {
    const a = this.checked(from, undefined, true);
    const b = this.checked(to);
    if (!isFolder(a)) throw new WriteRefused(from, `not moving ${from}: it is not a folder here`);
    if (fs.lstatSync(b, { throwIfNoEntry: false }) !== undefined) throw new WriteRefused(to, `not moving ${from} to ${to}: something is at ${to} already`);
    try {
      fs.mkdirSync(path.dirname(b), { recursive: true });
      fs.renameSync(a, b);
    } catch (e) {
      throw refusedAsTooLong(to, e);
    }
    this.folders?.folderGone(from);
    this.folderIsThere(to);
  }

  /**
   * Is there a folder (not a link to one) at `rel` in the project folder? Only looked at: no path
   * check runs and nothing is refused (whatever is then changed there is checked as usual).
   */
  async isFolderAt(rel: string): Promise<boolean> {
    return (await fs.promises.lstat(this.project.absolute(rel)).catch(() => undefined))?.isDirectory() === true;
  }

  /** `isFolderAt`, looked at now (for a step that must not wait: a join settling in one turn). */
  isFolderNow(rel: string): boolean {
    return isFolder(this.project.absolute(rel));
  }

  /**
   * Delete the file at `rel` (nothing when it is not there); with `keepAs` (an absolute path in
   * the project's `.chorus/`), move it there instead. Throws (a Node error) when that move fails.
   */
  async remove(rel: string, keepAs?: string): Promise<void> {
    // Synchronous, as renameNow says why: a peer's `rm -r` removes a folder file by file.
    const abs = this.checked(rel, undefined, true);
    if (keepAs === undefined) {
      fs.rmSync(abs, { force: true });
      return;
    }
    // Kept rather than removed: moved (one rename, whatever its size) to `keepAs`, in the
    // project's `.chorus/`, so on the same file system. If it cannot be moved it stays where it
    // is (the error says why): never removed without its copy.
    fs.mkdirSync(path.dirname(keepAs), { recursive: true, mode: 0o700 });
    try {
      fs.renameSync(abs, keepAs);
    } catch (e) {
      if (codeOf(e) !== 'ENOENT') throw e;
    }
  }

  /** Give the file at `rel` the execute bits `exec` says (wherever it has read bits). */
  async setExec(rel: string, exec: boolean): Promise<void> {
    const abs = this.checked(rel);
    const st = await fs.promises.lstat(abs);
    await fs.promises.chmod(abs, withExec(st.mode & 0o7777, exec));
  }

  /** Make the folder `rel` (and the folders above it). */
  async makeDir(rel: string): Promise<void> {
    const abs = this.checked(rel);
    this.notRemoved(rel);
    this.writing.add(rel);
    await fs.promises.mkdir(abs, { recursive: true }).finally(() => this.writing.delete(rel)).catch((e: unknown) => {
      const code = codeOf(e);
      if (code === 'EEXIST' || code === 'ENOTDIR') {
        let at: fs.Stats | undefined;
        try {
          at = fs.lstatSync(abs, { throwIfNoEntry: false });
        } catch {
          // a file on the way (ENOTDIR): said below
        }
        if (at !== undefined && !at.isDirectory()) {
          this.noteInTheWay(rel);
          throw new WriteRefused(rel, `not making the folder ${rel} here yet: this folder has a file of that name, where the session has a folder; it is made once the file has moved`);
        }
        throw new WriteRefused(rel, this.blocked(rel));
      }
      throw refusedAsTooLong(rel, e);
    });
    this.folderIsThere(rel); // once it is there (see DiskLedger.folderHere)
  }

  /** Remove the folder `rel` if it is empty (else the error: ENOTEMPTY, ENOENT, ENOTDIR). */
  async removeDir(rel: string): Promise<void> {
    await fs.promises.rmdir(this.checked(rel, undefined, true));
    // (A crash before this leaves the folder recorded: it is not in the index, whose change the
    // removal follows, and the next start's scan drops the record.)
    this.folders?.folderGone(rel, true);
    this.noteRemoved(rel);
  }

  /**
   * Remove the empty folders from `rel` upwards, stopping at the first that is not empty, that
   * `keep` says stays (a shared folder), or the project root.
   */
  async pruneEmptyDirs(rel: string, keep: (dir: string) => boolean): Promise<void> {
    let dir = rel;
    while (dir !== '.' && dir !== '' && !keep(dir)) {
      if (this.refusal(dir, undefined, true) !== undefined) return;
      try {
        // Synchronous, as renameNow says why: a peer's change empties a folder file by file.
        fs.rmdirSync(this.project.absolute(dir));
      } catch {
        return;
      }
      this.folders?.folderGone(dir, true);
      this.noteRemoved(dir);
      dir = path.posix.dirname(dir);
    }
  }

  /**
   * Keep a copy of the file at `rel` (or `content`, a version of it no longer in the folder) in
   * `.chorus/kept/` (where a person finds a change that is about to be replaced, or was), named
   * with the time; returns the copy's path.
   */
  async keepCopy(rel: string, content?: Uint8Array): Promise<string> {
    const abs = this.checked(rel);
    const kept = path.join(this.project.dotDir, 'kept', `${rel}.${new Date().toISOString().replace(/[:.]/g, '-')}`);
    await fs.promises.mkdir(path.dirname(kept), { recursive: true, mode: 0o700 });
    // Written whole in `.chorus/tmp/` first (the same file system; cleared at start after a
    // crash), then linked to its name: a copy is never seen half written, or empty, by a person
    // or a script looking in `.chorus/kept/` (a CI run read one empty).
    await fs.promises.mkdir(this.tempDir, { recursive: true, mode: 0o700 });
    const part = path.join(this.tempDir, tempName());
    try {
      if (content !== undefined) await fs.promises.writeFile(part, content, { mode: 0o600, flag: 'wx' });
      else await fs.promises.copyFile(abs, part, fs.constants.COPYFILE_EXCL);
      // Two copies of one file kept in the same millisecond (two watches ending at a stop) must
      // not overwrite each other: the second gets a number (link fails on a name that exists).
      for (let n = 1; ; n++) {
        const name = n === 1 ? kept : `${kept}-${n}`;
        try {
          await fs.promises.link(part, name);
          return name;
        } catch (e) {
          const code = (e as NodeJS.ErrnoException).code;
          // A file system without hard links (some network and FUSE ones): renamed instead, onto
          // a name nothing holds (the check and the rename are not one step, but only this
          // daemon writes here).
          if ((code === 'EPERM' || code === 'ENOTSUP' || code === 'EOPNOTSUPP' || code === 'ENOSYS') && !fs.existsSync(name)) {
            await fs.promises.rename(part, name);
            return name;
          }
          if (code !== 'EEXIST' || n >= 100) throw e;
        }
      }
    } finally {
      await fs.promises.rm(part, { force: true });
    }
  }
}

/** A read-only descriptor of the file at `file`, or undefined when it cannot be opened (gone). */
function openToRead(file: string): number | undefined {
  try {
    return fs.openSync(file, 'r');
  } catch {
    return undefined;
  }
}
