/**
 * Brings the shared state in step with what is in the folder: on start (catching edits, creates,
 * renames and deletes made while the daemon was down) and, with a chokidar watcher, whenever
 * another tool changes the folder. Events are gathered until the folder has been quiet for a
 * moment, then taken in as one batch: one index change for the whole burst (a `git checkout`),
 * unlink + add of the same content as a rename (so the file keeps its id and history), and text
 * as a diff from what the folder last held, so concurrent remote edits survive. What the daemon
 * wrote itself is recognised by the ledger and never echoes back.
 */
import fs from 'node:fs';
import path from 'node:path';
import { watch, type FSWatcher } from 'chokidar';
import { leavesFolder, type Project } from '../project.js';
import { hashBytes } from '../workspace/blob-store.js';
import { CHORUS_DIR, pathProblem } from '../workspace/path-rules.js';
import { contentHash } from '../workspace/text-doc.js';
import type { MadeOn, Workspace } from '../workspace/workspace.js';
import { fileIdentity, isExecutable, isWriteTemp, lstatNow, MAX_SHARED_FILE, readBytes } from './files.js';
import { IgnoreRules, isIgnoreFile, MAX_IGNORE_FILE_BYTES } from './ignore-rules.js';
import { inWords } from './folder-writer.js';
import { tooLongEntryIn, tooLongForSystem, tooLongInWords } from './long-paths.js';
import { rulesToKeep } from './kept-rules.js';
import { scanTree } from './scan.js';
import { testTimings } from '../session/test-timings.js';
import { decodeText } from '../text/decode-text.js';
import { pairEditedRenames } from './edited-renames.js';
import { SLICE_MS, soon } from '../timers.js';
import { readOnlyWrittenBack, type WriteBack } from './write-back.js';

/** Most files taken in as one index change (below what peers accept in one change). */
const BATCH_FILES = 2000;

/**
 * BATCH_FILES, or, in a test (decision 151), `CHORUS_TEST_BATCH_FILES` (read with the other
 * test-only settings, test-timings.ts): a lower count lets a test move a few files through the
 * same split into several changes that a move of thousands takes.
 */
function batchFiles(): number {
  return testTimings().batchFiles ?? BATCH_FILES;
}

/** Quiet time after the last folder event before a batch is taken in. */
const SETTLE_MS = 120;
/** A steady stream of events is still taken in at least this often. */
const MAX_WAIT_MS = 1500;
/**
 * How long a file gone from the folder, whose shared text has edits the folder never had, waits
 * for the other half of a rename before it is kept at its path (`holdMissing`). Longer than
 * chokidar's 1 s between two reads of one folder, which can delay the new name's event.
 */
const RENAME_WAIT_MS = 2000;
/**
 * A file changed in the folder less than this long ago, to a content the daemon does not know,
 * may still be being written in place by another tool (truncated, then written in pieces: `cat >
 * f`, an editor saving in place). Its read waits until the file has been left alone this long
 * (`letWritesFinish`). Below the watcher's own quiet time (SETTLE_MS), so a batch the watcher
 * takes in after its quiet time never waits.
 */
const WRITE_SETTLE_MS = 100;
/**
 * As WRITE_SETTLE_MS, for a file shorter than the folder last had it: what a tool truncating it
 * to write it again leaves. Longer, as taking such a read in costs the most (the text deleted on
 * every peer), and files rarely shrink: a deletion made in the folder reaches peers this late.
 */
const SHRINK_SETTLE_MS = 500;
/** The longest a take-in waits for files still being written; then it takes them as they are. */
const WRITE_SETTLE_MAX_MS = 1500;
/**
 * How long an editor's open of a file waits for a write in progress to let the file be taken in
 * (FolderSync.takeForEditor): three of a take-in's longest waits (WRITE_SETTLE_MAX_MS). A file
 * still being written when the first gives up is taken in by the second (in the test of decision
 * 212, 2 s of saves: the first gave up after 1.5 s, the second took 0.6 s); the third is margin
 * for a loaded machine. Only an open racing a write waits at all.
 */
const EDITOR_TAKE_MAX_MS = 3 * WRITE_SETTLE_MAX_MS;

const DISK = { kind: 'disk' } as const;

interface Seen {
  bytes: Uint8Array;
  hash: string;
  /** The file is executable (see isExecutable). */
  exec: boolean;
  /** The daemon's write generation when the read began (see WriteBack.isOwn). */
  since: number;
  /** When the file was last modified (what `WriteBack.baseFor` needs to find the content a tool read). */
  mtimeMs: number;
  /** The file's inode. */
  ino: number;
  /** Which file it is (files.ts fileIdentity): the same as a content the daemon wrote or read there means a tool changed that file in place. */
  file: string;
  /** The file changed while it was read (another tool is writing it): see letWritesFinish. */
  changing: boolean;
}

/** Is `st` (a look at the file now) the file `seen` read: same inode, size and time? */
function sameAsRead(st: fs.Stats | undefined, seen: Seen): boolean {
  return st !== undefined && st.isFile() && st.ino === seen.ino && st.size === seen.bytes.length && st.mtimeMs === seen.mtimeMs;
}

/**
 * Why `rel` cannot be read: its name on disk is bytes that are not UTF-8. Node reads such a name
 * with U+FFFD in their place, a name no file has, so the file could be neither read nor written
 * on a peer's disk as it is. Only names with U+FFFD are looked at (a file really named with it is
 * fine), so the common case costs nothing.
 */
function undecodableName(root: string, rel: string): string | undefined {
  if (!rel.includes('\ufffd') || fs.existsSync(path.join(root, rel))) return undefined;
  return 'its name is not valid UTF-8 (rename it to share it)';
}

/** How long a path a peer's change moved away or deleted is remembered (`FolderSync.goneByPeer`), in ms. */
const GONE_BY_PEER_MS = 60_000;

/** A path a change moved away (`to`) or deleted, when, and the peer whose change it was (none: this folder's). */
interface Gone {
  to?: string;
  at: number;
  peer?: string;
}

export class FolderSync {
  readonly rules: IgnoreRules;
  /** Say a message to the person (every editor here: a session/notice), besides the log; set by the daemon. */
  onTell: ((message: string) => void) | undefined;
  /**
   * Resolves once every editor's messages sent so far have been handed on (EditorClient.caughtUp);
   * set by the daemon. A take-in waits for it before it judges what it read, so that a write an
   * editor declared as its own (VS Code's save) is known as such even when the declaration still
   * waits in the editor's queue behind typing the daemon has not applied yet (decision 271).
   */
  editorsCaughtUp: (() => Promise<void>) | undefined;
  private watcher: FSWatcher | undefined;
  /**
   * Folders chokidar is kept out of because they hold a path too long for the system (its listing
   * would stop there, decision 162), each watched here by a plain `fs.watch` of the folder alone.
   */
  private aside = new Map<string, fs.FSWatcher>();
  private files = new Set<string>();
  private dirs = new Set<string>();
  private timer: NodeJS.Timeout | undefined;
  private firstEvent = 0;
  private chain: Promise<void> = Promise.resolve();
  private running = false;
  /** Paths already logged as skipped (oversized, unusable names), to log each once. */
  private skipped = new Set<string>();
  /**
   * Files gone from the folder while peers' edits it never had arrived, each with when it was
   * first found gone: held for RENAME_WAIT_MS in case the folder shows it under a new name
   * (`holdMissing`), and looked at again in every take-in meanwhile.
   */
  private missing = new Map<string, { since: number; timer: NodeJS.Timeout }>();
  /** New files taken in while a file was held missing: named if that file is kept after all. */
  private newWhileMissing = new Set<string>();
  /**
   * Per `.gitignore` (its path): the text whose rules this folder holds as its own (decision
   * 164): what it had when first read, or first received where there was none, or last made
   * here. A peer's change is measured against it, so rules a peer added and took away again (a
   * `*` for a minute) never become this folder's.
   */
  private ownRules = new Map<string, string>();
  /**
   * Paths a change moved away (renamed: where to) or deleted, with when and whether a peer's change
   * did it: a file a member changed before it had that change comes back as a new file at such a
   * path, and the person is told why, on that member (`tellBackAsNew`) and on the others
   * (`tellBackFromPeer`). A trial: a frozen daemon's edit and a peer's rename left two files, and
   * nobody was told, 2 of 2; a re-check: the person who deleted the file was not, 0 of 3. Kept for
   * GONE_BY_PEER_MS.
   */
  private goneByPeer = new Map<string, Gone>();

  constructor(
    private readonly project: Project,
    private readonly workspace: Workspace,
    private readonly writeBack: WriteBack,
    private readonly log: (msg: string) => void,
  ) {
    this.rules = writeBack.rules; // one set for the daemon: the write-back asks it too
    workspace.on('notice', (m) => log(m));
    workspace.on('files', (e) => {
      const at = Date.now();
      const peer = e.origin.kind === 'peer' ? e.origin.peerId : undefined;
      if (peer !== undefined) for (const p of e.created) this.tellBackFromPeer(p, at, peer);
      for (const r of e.renamed) this.goneByPeer.set(r.from, { to: r.to, at, ...(peer ? { peer } : {}) });
      for (const p of e.deleted) this.goneByPeer.set(p, { at, ...(peer ? { peer } : {}) });
      if (this.goneByPeer.size > 10_000) this.goneByPeer.clear(); // a bound: only the last minute matters
    });
    writeBack.takeForeign = async (rel) => {
      if (this.running) await this.take(rel);
    };
  }

  /**
   * `rel` is taken in as a new file: if a peer's change moved or deleted the file at that path a
   * moment ago, this folder changed it before it had that change (its daemon frozen, or busy), and
   * its version is shared again as a new file. Said in the log and to the person's editors.
   */
  private tellBackAsNew(rel: string): void {
    const gone = this.recentlyGone(rel, Date.now());
    if (gone?.peer === undefined) return;
    const message =
      gone.to !== undefined
        ? `${rel}: a peer renamed it to ${gone.to} while this folder changed it, before this daemon had the rename. Both are kept: ${rel} has this folder's version, shared again as a new file, and ${gone.to} the session's. Merge them and delete one`
        : `${rel}: a peer deleted it while this folder changed it, before this daemon had the deletion. This folder's version is shared again as a new file (delete it again if it should go)`;
    this.log(message);
    this.writeBack.onKept?.({ path: rel, kept: rel, message, type: gone.to !== undefined ? 'warning' : 'info' });
  }

  /**
   * A peer's change made a file at `rel`, which a change (this folder's or a peer's) moved away or
   * deleted a moment before: the peer changed it before it had that change (`tellBackAsNew` there),
   * and its version is a new file now. Said here too, so the person who deleted or renamed it
   * learns why it is back. Not for a file a peer kept with edits under its own id (the workspace
   * says that one, decision 160), nor for one the same peer (`by`) deleted or moved away itself
   * and makes again: a branch switched and back, a stash and its pop. That is no race, and a trial
   * had 58 such notices per member in three `git checkout`s, each saying the peer had changed
   * the file before it had the deletion.
   */
  private tellBackFromPeer(rel: string, now: number, by: string): void {
    const gone = this.recentlyGone(rel, now);
    const id = this.workspace.index.idOf(rel);
    if (gone === undefined || gone.peer === by || (id !== undefined && this.workspace.index.removedEntry(id) !== undefined)) return;
    const secs = Math.max(1, Math.round((now - gone.at) / 1000));
    const message =
      gone.to !== undefined
        ? `${rel} is back from a peer, ${secs} s after it was renamed to ${gone.to}: the peer changed it before it had the rename, and its version is shared again as a new file. Both are kept: merge ${rel} into ${gone.to} and delete one`
        : `${rel} is back from a peer, ${secs} s after it was deleted: the peer changed it before it had the deletion, and its version is shared again as a new file (delete it again if it should go)`;
    this.log(message);
    this.writeBack.onKept?.({ path: rel, kept: rel, message, type: gone.to !== undefined ? 'warning' : 'info' });
  }

  /** What moved away or deleted `rel` within GONE_BY_PEER_MS of `now`, if anything; asked once (forgotten here). */
  private recentlyGone(rel: string, now: number): Gone | undefined {
    const gone = this.goneByPeer.get(rel);
    if (gone === undefined) return undefined;
    this.goneByPeer.delete(rel);
    return now - gone.at > GONE_BY_PEER_MS ? undefined : gone;
  }

  get watching(): boolean {
    return this.running;
  }

  // ---- lifecycle ---------------------------------------------------------------------------

  /** Take in the whole folder (what changed while the daemon was down), then watch it. */
  async start(): Promise<number> {
    this.running = true;
    const lost = this.workspace.indexLost;
    if (lost !== undefined && this.writeBack.ledger.paths().length > 0) {
      // The ledger names the files this daemon wrote for the index it had. With that index gone,
      // a file it names that the index lacks was not deleted by a peer: it is the person's file,
      // and the scan below must take it in, never delete it (which would spread to every peer).
      const kept = this.writeBack.ledger.setAside();
      this.log(
        `the saved list of shared files did not load whole (${lost}): every file in the folder is taken in as it is and nothing is deleted; ` +
          `peers bring back the rest, and files with equal content merge (a file someone deleted meanwhile may come back; delete it again if so). ` +
          `The old record of what Chorus wrote here is kept as ${path.relative(this.project.root, kept)}`,
      );
    }
    const n = await this.scanAll();
    await this.watch();
    return n;
  }

  /** Stop watching; a batch being taken in finishes first. */
  async stop(): Promise<void> {
    this.running = false;
    clearTimeout(this.timer);
    this.timer = undefined;
    for (const { timer } of this.missing.values()) clearTimeout(timer);
    this.missing.clear();
    this.newWhileMissing.clear();
    this.files.clear();
    this.dirs.clear();
    const w = this.watcher;
    this.watcher = undefined;
    for (const a of this.aside.values()) a.close();
    this.aside.clear();
    await w?.close();
    await this.chain;
  }

  /** Resolves once every folder event seen so far has been taken in. */
  async settled(): Promise<void> {
    while (this.timer || this.files.size || this.dirs.size) {
      await new Promise((r) => setTimeout(r, SETTLE_MS));
    }
    await this.chain;
  }

  private async watch(): Promise<void> {
    const root = this.project.root;
    const w = watch(root, {
      ignoreInitial: true,
      followSymlinks: false,
      ignored: (p, st) => this.ignoredAbs(p, st) || this.unlistable(p, st),
    });
    this.watcher = w;
    const file = (p: string) => this.event(p, false);
    const dir = (p: string) => this.event(p, true);
    w.on('add', file).on('change', file).on('unlink', file).on('addDir', dir).on('unlinkDir', dir);
    // chokidar loses a file's own watch when a tool (or the daemon) replaces it by a rename, and
    // misses later edits of it: the folder's raw events are the safety net. Every path in a batch
    // is read again, so an extra one costs a read and changes nothing.
    w.on('raw', (_event, name, details) => {
      const watched = (details as { watchedPath?: string } | undefined)?.watchedPath;
      if (typeof name !== 'string' || !name || !watched) return;
      if (path.basename(watched) === name) {
        this.rawEvent(watched);
        // A file's own watcher names the file itself; only a folder's names what is in it
        // (`<file>/<file>` was looked at, and logged as a path, for nothing).
        let dir = false;
        try {
          dir = fs.lstatSync(watched).isDirectory();
        } catch {
          // gone: nothing in it to look at
        }
        if (!dir) return;
      }
      this.rawEvent(path.join(watched, name));
    });
    w.on('error', (e) => this.watchError(e));
    // An error may end chokidar's first listing of a folder, and with it any hope of 'ready'
    // (decision 162): the start goes on after the first error, which is logged, never waits for ever.
    await new Promise<void>((resolve) => {
      w.once('ready', () => resolve());
      w.once('error', () => resolve());
    });
  }

  /** A watcher error, in words; never fatal (the folder's raw events still come, see watch()). */
  private watchError(e: unknown): void {
    const err = e as NodeJS.ErrnoException;
    if (err?.code === 'ENAMETOOLONG' && typeof err.path === 'string') {
      const rel = this.relOf(err.path);
      if (rel !== undefined) return this.tooLong([rel]);
    }
    this.log(`watching ${this.project.root}: ${inWords(e)}; the rest of the folder is still watched`);
  }

  /**
   * Should chokidar stay out of `abs` because it cannot list it? A path too long for the system
   * is never shared; a folder that holds one is watched aside (watchAside), as chokidar's listing
   * of it would stop at that entry, and the folders in it that chokidar can list are given back to it.
   */
  private unlistable(abs: string, st?: fs.Stats): boolean {
    if (tooLongForSystem(abs)) return true;
    if (st && !st.isDirectory()) return false;
    const long = tooLongEntryIn(abs); // not a folder: nothing listed
    if (long === undefined) return false;
    const rel = this.relOf(long);
    if (rel !== undefined && !this.rules.ignores(rel)) this.tooLong([rel]);
    this.watchAside(abs);
    return true;
  }

  /** Watch folder `abs` (kept from chokidar, see unlistable) by itself; hand its listable folders to chokidar. */
  private watchAside(abs: string): void {
    // (chokidar asks about the root before watch() has this.watcher: the folders found here are
    // handed to it a moment later, below.)
    if (this.aside.has(abs) || !this.running) return;
    let fw: fs.FSWatcher;
    try {
      fw = fs.watch(abs, { persistent: false }, (event, name) => this.asideEvent(abs, event, name));
    } catch {
      return; // gone meanwhile: its parent's watch sees that
    }
    fw.on('error', () => this.unwatchAside(abs));
    this.aside.set(abs, fw);
    let entries: fs.Dirent[] = [];
    try {
      entries = fs.readdirSync(abs, { withFileTypes: true });
    } catch {
      // gone meanwhile
    }
    // Later, not from inside chokidar's own `ignored` question.
    const dirs = entries.filter((e) => e.isDirectory()).map((e) => path.join(abs, e.name));
    setImmediate(() => {
      for (const d of dirs) if (!tooLongForSystem(d)) this.watcher?.add(d);
    });
  }

  private asideEvent(dir: string, event: fs.WatchEventType, name: string | null): void {
    if (!fs.existsSync(dir)) return this.unwatchAside(dir);
    if (!name) return;
    const abs = path.join(dir, name);
    this.rawEvent(abs);
    if (event !== 'rename') return;
    // A folder made here: chokidar, kept out of `dir`, would never learn of it.
    let isDir = false;
    try {
      isDir = fs.lstatSync(abs).isDirectory();
    } catch {
      // gone, or too long: nothing to watch
    }
    if (isDir) this.watcher?.add(abs);
  }

  private unwatchAside(abs: string): void {
    this.aside.get(abs)?.close();
    this.aside.delete(abs);
  }

  private relOf(abs: string): string | undefined {
    const rel = path.relative(this.project.root, abs);
    if (rel === '' || leavesFolder(rel)) return undefined;
    return rel.split(path.sep).join('/');
  }

  private ignoredAbs(abs: string, st?: fs.Stats): boolean {
    const rel = this.relOf(abs);
    if (rel === undefined) return abs !== this.project.root;
    if (isWriteTemp(path.basename(abs))) return true; // the daemon's own write in progress
    // A `.chorus/` made or removed in a folder below the root: that folder became (or stopped
    // being) a project of its own, not shared from here (nested-projects.ts).
    if (rel !== CHORUS_DIR && path.basename(abs) === CHORUS_DIR) {
      this.rules.projectsChanged();
      return true;
    }
    let isDir = st?.isDirectory();
    if (isDir === undefined) {
      try {
        isDir = fs.lstatSync(abs).isDirectory();
      } catch {
        isDir = false;
      }
    }
    return this.ignoredHere(isDir ? rel + '/' : rel);
  }

  /**
   * Is this project path (a folder with a trailing `/`) kept out of the session here? What the
   * rules exclude is, except a file this folder shares already, and the folders shared: a rule
   * added later keeps new files local, while the shared ones stay shared and their edits on disk
   * keep syncing, as git keeps tracking files a new rule matches (decision 163). Editors already
   * treated them so; the folder did not, and edits on disk stopped with nothing said.
   */
  private ignoredHere(rel: string): boolean {
    if (!this.rules.ignores(rel)) return false;
    return this.rules.outsideRules(rel) || !this.sharedHere(rel);
  }

  /** Does this folder share `rel` already (a file it has had, or a shared folder)? */
  private sharedHere(rel: string): boolean {
    const index = this.workspace.index;
    if (rel.endsWith('/')) return index.hasDir(rel.slice(0, -1));
    return index.idOf(rel) !== undefined && this.writeBack.ledger.latest(rel) !== undefined;
  }

  private rawEvent(abs: string): void {
    const rel = this.relOf(abs);
    if (rel === undefined || this.ignoredAbs(abs)) return;
    let isDir = false;
    try {
      isDir = fs.lstatSync(abs).isDirectory();
    } catch {
      // Gone. A folder the session has there went as a whole (`mv src lib`): taken as a folder,
      // so this take-in looks at every file it held, beside the new name's files that the same
      // directory event brings (decision 175). Left to chokidar's own unlink events, which come
      // only once it lists the parent again (at most once a second), a large move's halves fell
      // into different take-ins: every file new, and every one deleted. Else a file: read again.
      isDir = this.workspace.index.isFolder(rel);
    }
    this.event(abs, isDir);
  }

  private event(abs: string, isDir: boolean): void {
    const rel = this.relOf(abs);
    if (rel === undefined || !this.running) return;
    if (tooLongForSystem(abs)) return this.tooLong([rel]);
    if (isIgnoreFile(rel)) this.rulesChanged(rel, abs);
    (isDir ? this.dirs : this.files).add(rel);
    const now = Date.now();
    if (!this.timer) this.firstEvent = now;
    clearTimeout(this.timer);
    const wait = now - this.firstEvent >= MAX_WAIT_MS ? 0 : SETTLE_MS;
    this.timer = setTimeout(() => this.flush(), wait);
  }

  /**
   * A `.gitignore` changed: read the rules again. When a peer made the change, what it stops
   * ignoring here stays here: the rules this folder held that it removed or negated are added to
   * `.chorus/ignore` (decision 164), and the files of this folder it stops ignoring that were
   * never shared are listed there too (decision 136): a peer must not publish what this person
   * keeps out of the project (a `.env` with keys), now or later. Whoever made it, shared files
   * the new rules match stay shared, and the log says so (decision 163). Chained before any later
   * batch, which is the first that could take new files in.
   */
  private rulesChanged(rel: string, abs: string): void {
    const dir = path.posix.dirname(rel) === '.' ? '' : path.posix.dirname(rel);
    const before = this.rules.snapshot();
    const was = before.textOf(dir);
    this.rules.reset();
    let hash: string | undefined;
    let text: string | undefined;
    try {
      const st = fs.statSync(abs);
      if (st.isFile() && st.size <= MAX_IGNORE_FILE_BYTES) {
        const bytes = fs.readFileSync(abs);
        hash = hashBytes(bytes);
        text = bytes.toString('utf8');
      } else if (st.isFile()) return; // not a .gitignore anyone wrote by hand, nor the daemon
    } catch {
      // gone: a deletion
    }
    const byPeer = this.writeBack.rulesChangedByPeer(rel, hash);
    // What the folder had before the daemon wrote a peer's version, read then (WriteBack): the
    // rules read so far may be cleared, and the file read again, by then (decision 213).
    const own = this.ownRules.get(rel) ?? this.writeBack.textBeforePeer(rel) ?? was;
    // The person's own change is theirs; where the folder had no such file, the first rules it
    // receives (a join) are the ones it holds.
    this.ownRules.set(rel, byPeer && own !== null ? own : (text ?? ''));
    // What this folder's own rules kept out: a file only a peer's rule kept out (a `*` it added
    // and took away again) was never this person's to keep, and is shared once the rule goes.
    // Also what the rules before the change are: `before` may have read this very file again
    // after the daemon wrote the peer's version (another `.gitignore` of the change cleared the
    // rules read so far), so it would say the rule never applied (decision 213).
    const ownBefore = before.withText(dir, own);
    const keep = byPeer ? rulesToKeep(dir, own ?? '', text ?? '', (p) => ownBefore.ignores(p), (p) => this.rules.ignores(p)) : [];
    this.chain = this.chain
      .then(async () => {
        if (byPeer) await this.keepUnignored(ownBefore, dir, rel, keep);
        this.tellSharedMatches(before, rel);
      })
      .catch((e: unknown) => this.log(`checking what ${rel} stopped ignoring failed: ${(e as Error).message}`));
  }

  /**
   * Keep what a peer's change to `rel` stopped ignoring here on this machine: the rules `keep`
   * (this folder's, see `rulesToKeep`) and the files under `dir` that `before` (the rules with
   * this folder's own version of `rel`) ignored, now ignored no more and never shared.
   */
  private async keepUnignored(before: IgnoreRules, dir: string, rel: string, keep: string[]): Promise<void> {
    const { files } = await scanTree(this.project.root, this.rules, dir);
    const kept = files.map((f) => f.rel).filter((f) => before.ignores(f) && !this.workspace.index.idOf(f));
    const when = new Date().toISOString();
    const rules = this.rules.addOwnRules(keep, `kept on this machine (${when}): a peer's change to ${rel} stopped applying these rules of this folder; they still apply here, to files made later too. Delete a line to share what it matches (from the daemon's next start).`);
    if (rules.length > 0) {
      this.log(`a peer's change to ${rel} stopped applying ${rules.length === 1 ? 'the rule' : 'the rules'} ${rules.map((r) => `"${r}"`).join(', ')} of this folder; ${rules.length === 1 ? 'it still applies' : 'they still apply'} here (added to .chorus/ignore), so files made here later that ${rules.length === 1 ? 'it matches' : 'they match'} stay on this machine too: to share them after all, delete ${rules.length === 1 ? 'that line' : 'those lines'} from .chorus/ignore (from the daemon's next start)`);
    }
    if (kept.length === 0) return;
    this.rules.keepLocal(kept, `kept on this machine (${when}): a peer's change to ${rel} stopped ignoring these. Delete a line to share that file (from the daemon's next start).`);
    const shown = kept.slice(0, 5).join(', ') + (kept.length > 5 ? `, and ${kept.length - 5} more` : '');
    this.log(`a peer's change to ${rel} stopped ignoring ${kept.length} file${kept.length === 1 ? '' : 's'} here (${shown}); kept on this machine, not shared: they are listed in .chorus/ignore: delete a line there to share that file (from the daemon's next start)`);
  }

  /**
   * Say, once per rule, when the change of `rel` made a rule match files this folder shares:
   * they stay shared and their edits keep syncing (decision 163); the rule keeps only new files here.
   */
  private tellSharedMatches(before: IgnoreRules, rel: string): void {
    const byRule = new Map<string, string[]>();
    for (const [, e] of this.workspace.index.entries()) {
      if (!this.sharedHere(e.path) || this.rules.outsideRules(e.path) || before.ignores(e.path)) continue;
      const why = this.rules.why(e.path);
      if (why !== undefined) byRule.set(why, [...(byRule.get(why) ?? []), e.path]);
    }
    for (const [why, paths] of byRule) {
      const n = paths.length;
      const shown = paths.sort().slice(0, 5).join(', ') + (n > 5 ? `, and ${n - 5} more` : '');
      this.log(
        `after the change of ${rel}, ${why}, which matches ${n} shared file${n === 1 ? '' : 's'} here (${shown}): ${n === 1 ? 'it stays' : 'they stay'} shared and edits to ${n === 1 ? 'it' : 'them'} keep syncing, ` +
          `as git keeps tracking files a new rule matches; the rule keeps only files not shared yet on this machine`,
      );
    }
  }

  private flush(): void {
    this.timer = undefined;
    const files = [...this.files];
    const dirs = [...this.dirs];
    this.files.clear();
    this.dirs.clear();
    this.chain = this.chain
      .then(async () => {
        if (this.running) await this.sync(files, dirs, false);
      })
      .catch((e: unknown) => this.log(`taking in folder changes failed: ${inWords(e)}`));
  }

  // ---- taking the folder in ----------------------------------------------------------------

  /**
   * Take in one file's current state from the folder (new, changed, unchanged or gone). A file
   * the session lacks is taken in with the shared files it may have been moved from (`movedFrom`),
   * so a move is a rename here too, as in the watcher's batch. Returns the paths it left unsettled
   * (`sync`).
   */
  async take(rel: string): Promise<Set<string>> {
    return this.sync([rel, ...this.movedFrom(rel)], [], false);
  }

  /**
   * Take in `rel` before an editor's open of it is answered (EditorBuffers.open), waiting out a
   * write in progress. A take-in leaves a file it read to the watcher's next batch when the file
   * changed, went or was taken in by another take-in meanwhile (`sync`'s `later`); for a file the
   * session lacks, the open then made it from the editor's text, with no folder history, and the
   * folder's version, taken in next, was judged a second file created on a peer at that path: "…
   * was created on two peers at once" on every peer, a conflict copy, though only this person
   * made it (CI, vscode/save-as, decision 212). So this looks again every WRITE_SETTLE_MS while
   * the take-in defers the file, or while a file the session lacks is gone for the moment (a tool
   * that saves by moving the old file aside and writing a new one), for EDITOR_TAKE_MAX_MS at most.
   * Resolves once the file is taken in or refused, or after that long (a file gone for good);
   * never rejects for the folder.
   */
  async takeForEditor(rel: string): Promise<void> {
    const end = Date.now() + EDITOR_TAKE_MAX_MS;
    for (;;) {
      const unsettled = (await this.take(rel)).has(rel);
      if (!unsettled || !this.running) return;
      if (Date.now() >= end) break;
      await new Promise((r) => setTimeout(r, WRITE_SETTLE_MS));
    }
    if (this.workspace.index.idOf(rel) === undefined && fs.existsSync(this.project.absolute(rel))) {
      this.log(
        `${rel} was still being written in the folder ${EDITOR_TAKE_MAX_MS / 1000} s after an editor opened it: the editor's text is shared as the file for now, and if the folder's version differs it is kept beside it as a copy`,
      );
    }
  }

  /**
   * The shared files gone from the folder whose content there was `rel`'s now, when the session
   * lacks `rel`: it may be one of them, moved. An editor opens the new name of a file moved in the
   * folder before the watcher has seen the move (Neovim: netrw's rename, or `rename()`, then
   * `:edit` of the new name). Taken in alone, the new name was a new file, without the typing the
   * old one had that its file lacked yet, and the old one came back with it (decision 205). One
   * pass over the index, only for such an open.
   */
  private movedFrom(rel: string): string[] {
    const index = this.workspace.index;
    if (index.idOf(rel) !== undefined) return [];
    let hash: string;
    try {
      const abs = this.project.absolute(rel);
      const st = fs.lstatSync(abs);
      if (!st.isFile() || st.size > MAX_SHARED_FILE) return [];
      hash = hashBytes(fs.readFileSync(abs));
    } catch {
      return [];
    }
    const out: string[] = [];
    for (const [, e] of index.entries()) {
      if (e.path !== rel && this.writeBack.mayHold(e.path).includes(hash) && !fs.existsSync(this.project.absolute(e.path))) out.push(e.path);
    }
    return out;
  }

  /** Take in the whole folder and settle what happened while the daemon was down. */
  async scanAll(): Promise<number> {
    const { files, dirs, tooLong, undecodable } = await scanTree(this.project.root, this.rules);
    this.tooLong(tooLong);
    // Undecodable names go through the take-in's path check, which says why they are not shared.
    const paths = new Set([...files.map((f) => f.rel), ...undecodable]);
    for (const [, e] of this.workspace.index.entries()) paths.add(e.path);
    for (const p of this.writeBack.ledger.paths()) paths.add(p);
    await this.sync([...paths], [], true, dirs);
    for (const dir of this.rules.nestedProjects()) this.once(`project:${dir}`, `not sharing ${dir}/: it is a Chorus project of its own (it has a .chorus folder); its own daemon shares it`);
    return files.length;
  }

  /**
   * What happened to folders (empty ones included): `seen` are folders the folder has now,
   * `maybeGone` folders events said changed. A shared folder that went while watching is no
   * longer shared; one missing on start too if the folder had it when the daemon last ran (the
   * person deleted it meanwhile, decision 173), else it is made (it was never written here).
   */
  private async folderChanges(seen: string[], maybeGone: string[], full: boolean): Promise<{ added: string[]; gone: string[]; toMake: string[] }> {
    const index = this.workspace.index;
    const ledger = this.writeBack.ledger;
    const out = { added: [] as string[], gone: [] as string[], toMake: [] as string[] };
    // What the ledger says the folder had, asked before this look records what it has now.
    const hadBefore = full ? ledger.foldersHad() : new Set<string>();
    if (full) {
      const now = new Set(seen);
      for (const d of ledger.folders()) if (!now.has(d)) ledger.folderGone(d, true);
    }
    for (const rel of seen) this.writeBack.folder.folderIsThere(rel);
    // The daemon's own removals coming back from the watcher: not the person's (see FolderWriter).
    const echoes = new Set(full ? [] : maybeGone.filter((g) => this.writeBack.folder.removedByThisWriter(g)));
    for (const rel of seen) {
      const problem = pathProblem(rel);
      if (problem) this.once(rel, `not sharing the folder ${rel}: ${problem}`);
      else if (!index.hasDir(rel)) out.added.push(rel);
    }
    const candidates = full ? index.dirs() : index.dirs().filter((d) => maybeGone.some((g) => d === g || d.startsWith(g + '/')));
    for (const rel of candidates) {
      if (echoes.has(rel) || this.ignoredHere(rel + '/') || (await this.writeBack.folder.isFolderAt(rel))) continue;
      ledger.folderGone(rel);
      (full && !hadBefore.has(rel) ? out.toMake : out.gone).push(rel);
    }
    return out;
  }

  private async read(rel: string, full: boolean): Promise<Seen | 'own' | undefined> {
    const abs = this.project.absolute(rel);
    const since = this.writeBack.since(rel);
    const st = await fs.promises.lstat(abs).catch(() => undefined);
    if (!st?.isFile()) return undefined; // gone, a folder, or a symbolic link (never followed)
    // The file the daemon itself just wrote (its watcher event coming back): nothing to take in.
    if (!full && this.writeBack.untouchedSinceOwnWrite(rel, st)) return 'own';
    if (st.size > MAX_SHARED_FILE) {
      this.once(rel, `not sharing ${rel}: ${st.size} bytes is over the ${MAX_SHARED_FILE}-byte limit for shared files`);
      return undefined;
    }
    const bytes = await readBytes(abs);
    if (!bytes) return undefined;
    // Looked at again after the read: a tool that truncated the file between the look above and
    // the read left it empty (or half written) with the old size and time above, which would
    // make it look long settled (see letWritesFinish).
    const after = (await fs.promises.lstat(abs).catch(() => undefined)) ?? st;
    const changing = after.size !== bytes.length || after.mtimeMs !== st.mtimeMs || after.ino !== st.ino;
    const hash = hashBytes(bytes);
    // An editor's own save landed (decision 255): the write-backs it held go on.
    if (!changing) this.writeBack.folderShows(rel, hash);
    return { bytes, hash, exec: isExecutable(st.mode), since, mtimeMs: after.mtimeMs, ino: after.ino, file: fileIdentity(after), changing };
  }

  /**
   * Wait until the files just read (`present`) that another tool may still be writing are left
   * alone, and read again those that changed meanwhile (decision 205). A tool that writes a file
   * in place truncates it first and writes it in pieces: read in between, the file is empty or
   * half its text, and taken in as such that was every line deleted on every peer, the rest
   * added back by the next read, and a peer's typing meanwhile lost or doubled in the merge.
   * Only a file changed to a content the daemon does not know waits: for WRITE_SETTLE_MS after
   * its last change, or SHRINK_SETTLE_MS when it is shorter than what the folder last had (a
   * truncated file; a writer stalled on a loaded machine left one empty for 180 ms). An append
   * (the folder's content with more at its end) is taken at once: half written, it is only a
   * shorter append. One wait per take-in, however many files. The watcher's batches come after
   * SETTLE_MS of quiet and rarely wait; the reads that do are a write-back's or an editor's look at
   * a file another tool has just touched (WriteBack.takeForeign, EditorBuffers.open), which must
   * wait: a write-back that replaced a file a tool was still writing would leave the rest of the
   * tool's text in a file nobody sees. A file still changing after WRITE_SETTLE_MAX_MS is taken as
   * it is then; one gone, or the daemon's own meanwhile, is left to the next batch.
   */
  private async letWritesFinish(present: Map<string, Seen>, later: (rel: string) => void): Promise<void> {
    /** How long after its last change `seen` is settled (0: at once). */
    const settleFor = (rel: string, seen: Seen): number => {
      if (this.writeBack.ledger.latest(rel) === seen.hash || this.writeBack.appendedTo(rel, seen.bytes)) return 0;
      if (seen.bytes.length === 0) return SHRINK_SETTLE_MS; // what a truncation leaves (a known content is not empty: see above)
      // What the folder last had, else the shared text (the base may be in neither memory nor a blob).
      const id = this.workspace.index.idOf(rel);
      const had = this.writeBack.baseText(rel) ?? (id !== undefined && this.workspace.isLive(id) ? this.workspace.text(id) : undefined);
      return had !== undefined && seen.bytes.length < Buffer.byteLength(had, 'utf8') ? SHRINK_SETTLE_MS : WRITE_SETTLE_MS;
    };
    /** When `seen` is settled (epoch ms), or undefined when it is already. */
    const settledAt = (rel: string, seen: Seen): number | undefined => {
      if (!seen.changing && Date.now() - seen.mtimeMs >= SHRINK_SETTLE_MS) return undefined;
      const ms = settleFor(rel, seen);
      if (ms === 0 || (!seen.changing && Date.now() - seen.mtimeMs >= ms)) return undefined;
      return (seen.changing ? Date.now() : seen.mtimeMs) + ms;
    };
    let waiting = new Map<string, number>();
    for (const [rel, seen] of present) {
      const at = settledAt(rel, seen);
      if (at !== undefined) waiting.set(rel, at);
    }
    const deadline = Date.now() + WRITE_SETTLE_MAX_MS;
    while (waiting.size && this.running && Date.now() < deadline) {
      const next = Math.min(deadline, ...waiting.values());
      await new Promise((r) => setTimeout(r, Math.max(10, next - Date.now())));
      const still = new Map<string, number>();
      for (const [rel, at] of waiting) {
        const before = present.get(rel)!;
        const st = await fs.promises.lstat(this.project.absolute(rel)).catch(() => undefined);
        // Untouched since it was read (and not changing while read): settled once its time has come.
        if (!before.changing && sameAsRead(st, before)) {
          if (Date.now() < at) still.set(rel, at);
          continue;
        }
        const again = await this.read(rel, false);
        if (again === undefined || again === 'own') {
          // Gone, or the daemon's own write now: the next batch looks at it as it is then.
          present.delete(rel);
          later(rel);
          continue;
        }
        present.set(rel, again);
        const when = settledAt(rel, again);
        if (when !== undefined) still.set(rel, when);
      }
      waiting = still;
    }
  }

  /**
   * Files in the folders of `absent` shared files that the session lacks and the take-in was not
   * asked about: the new names of renames within one folder whose events have not come yet.
   * chokidar reports a new name from its read of the folder, made at most once a second, so
   * under load the new name came a batch after the old one went: the old name was taken in as a
   * deletion and the new one, a moment later, as a new file. The file lost its history, and an
   * editor with it open was never told of the rename (a full run's collab/cursor-on-close). Taken
   * in with the old name, the two pair as a rename. One read of each such folder; none when
   * nothing shared is gone. A move to another folder still waits for its event (RENAME_WAIT_MS
   * holds a file with edits the folder never had; one without is a deletion and a new file).
   * Decision 210.
   */
  private async newNamesBeside(absent: readonly string[], touched: ReadonlySet<string>): Promise<string[]> {
    const index = this.workspace.index;
    const dirs = new Set(absent.filter((rel) => index.idOf(rel) !== undefined).map((rel) => path.posix.dirname(rel)));
    const out: string[] = [];
    for (const dir of dirs) {
      const entries = await fs.promises.readdir(this.project.absolute(dir), { withFileTypes: true }).catch(() => []);
      for (const e of entries) {
        const rel = dir === '.' ? e.name : `${dir}/${e.name}`;
        if (e.isFile() && !touched.has(rel) && index.idOf(rel) === undefined && !this.ignoredAbs(this.project.absolute(rel))) out.push(rel);
      }
    }
    return out.sort();
  }

  /** Say once of each of these project paths that it is too long for the system (never shared). */
  private tooLong(rels: string[]): void {
    for (const rel of rels) this.once(rel, tooLongInWords(rel, path.join(this.project.root, rel)));
  }

  /** Log `msg` the first time `key` comes; true when it was logged now. */
  private once(key: string, msg: string): boolean {
    if (this.skipped.has(key)) return false;
    this.skipped.add(key);
    this.log(msg);
    return true;
  }

  /** The hash of what the shared state holds for a file now. */
  private currentHash(id: string): string | undefined {
    if (this.workspace.isLive(id)) return contentHash(this.workspace.text(id));
    return this.workspace.index.entry(id)?.hash;
  }

  /**
   * Take in `paths` and everything under `dirs`. `full` (on start) also rewrites files whose
   * newest content a crash kept from the folder and writes files the folder never had.
   */
  private async sync(paths: string[], dirs: string[], full: boolean, allDirs: string[] = []): Promise<Set<string>> {
    const index = this.workspace.index;
    /**
     * Returned, for an editor's open to wait out (takeForEditor): paths read but left to the
     * watcher's next batch, and paths the session lacks that were missing when looked at.
     */
    const unsettled = new Set<string>();
    const later = (rel: string): void => {
      unsettled.add(rel);
      this.event(this.project.absolute(rel), false);
    };
    const touched = new Set(paths);
    // Files held missing are looked at in every take-in: the one that brings their new name pairs them.
    const held = full ? [] : [...this.missing.keys()];
    for (const rel of held) touched.add(rel);
    const seenDirs = new Set(allDirs);
    const goneDirs: string[] = [];
    // Every shared file under a folder that changed: one pass over the index for all of them
    // (a move of a folder with many subfolders names each; one pass each was quadratic).
    if (dirs.length) {
      const changedDirs = new Set(dirs);
      for (const [, e] of index.entries()) if (isUnder(e.path, changedDirs)) touched.add(e.path);
    }
    for (const d of dirs) {
      // A shared file there before (`rm x && mkdir x`: the file's own event, seen after the
      // folder was made, came as a folder's): looked at as a file too, so its deletion is seen.
      if (index.idOf(d) !== undefined) touched.add(d);
      const st = await fs.promises.lstat(this.project.absolute(d)).catch(() => undefined);
      if (!st?.isDirectory() || this.ignoredHere(d + '/')) {
        goneDirs.push(d);
        continue;
      }
      seenDirs.add(d);
      const tree = await scanTree(this.project.root, this.rules, d);
      this.tooLong(tree.tooLong);
      for (const f of tree.files) touched.add(f.rel);
      for (const rel of tree.undecodable) touched.add(rel);
      for (const sub of tree.dirs) seenDirs.add(sub);
    }
    const folders = await this.folderChanges([...seenDirs].sort(), goneDirs, full);
    const present = new Map<string, Seen>();
    const absent: string[] = [];
    const look = async (rel: string): Promise<void> => {
      const problem = pathProblem(rel) ?? undecodableName(this.project.root, rel);
      if (problem) {
        this.once(rel, `not sharing ${rel}: ${problem}`);
        return;
      }
      const ignored = this.ignoredHere(rel);
      const seen = ignored ? undefined : await this.read(rel, full);
      if (seen === 'own') return;
      if (seen) present.set(rel, seen);
      else if (!ignored) {
        absent.push(rel);
        if (index.idOf(rel) === undefined) unsettled.add(rel);
      }
    };
    for (const rel of [...touched].sort()) await look(rel);
    if (!full) for (const rel of await this.newNamesBeside(absent, touched)) await look(rel);
    if (!full) await this.letWritesFinish(present, later);
    // A suspended daemon (`kill -STOP`, a closed lid) resumes with a file VS Code wrote at each
    // auto save and, queued in its socket, the typing that file holds and the saves' declarations:
    // judged before those were handed on, the file was taken in as an outside edit on top of the
    // same typing arriving as edits, doubling it on every member (trial s59 F1, decision 271).
    if (present.size && this.editorsCaughtUp) await this.editorsCaughtUp();
    const hold = full ? testTimings().takeInHoldMs : undefined;
    if (hold !== undefined) {
      // Test-only (decision 196): the moment between reading the folder and taking it in, held
      // open so a test can have an editor's re-open and its write-back land in it.
      this.log(`test-only: holding the take-in of what was read for ${hold} ms (CHORUS_TEST_TAKE_IN_HOLD_MS)`);
      await new Promise((r) => setTimeout(r, hold));
    }

    // A read that another take-in of the same file overtook (a write-back's own take-in runs
    // beside the watcher's batch) may hold an older content than the one just taken in: diffed
    // from that newer base it would undo the newer change (an append lost). Its file is read again
    // in the next batch instead; only the file as it is now is taken in (decision 148).
    if (!full) {
      for (const [rel, seen] of present) {
        if (this.writeBack.since(rel) === seen.since) continue;
        present.delete(rel);
        later(rel);
      }
    }

    // Decide synchronously, against the index as it is now.
    const ledger = this.writeBack.ledger;
    const gone: string[] = [];
    /** Gone from the folder, with edits it never had (see below). */
    const unsaved: string[] = [];
    const toWrite: string[] = [];
    for (const rel of absent) {
      const id = index.idOf(rel);
      if (!id) continue;
      // The daemon is creating it right now (its ledger entry precedes the file): not a deletion.
      if (this.writeBack.creating(rel)) continue;
      // Only a file this folder had can have been deleted from it; others were never written here.
      const had = ledger.latest(rel);
      // A folder where this folder had the file: the person replaced the file by a folder of its
      // name (`rm x; mkdir x`), a deletion like any other; the folder is shared below, once the
      // file has gone from the index. (The daemon never makes a folder where the folder has a
      // file it wrote: a peer's folder there comes after the peer's deletion of the file, and a
      // file the daemon moves aside is forgotten at its old path, WriteBack.moved.)
      const replacedByFolder = this.writeBack.folder.isFolderNow(rel);
      if (had === undefined || (!replacedByFolder && fs.existsSync(this.project.absolute(rel)))) {
        if (full) toWrite.push(rel);
      } else if (this.currentHash(id) !== had) {
        // Edits reached the file after the folder last had it: whoever deleted it never saw
        // them. Moved (a new file holds what the folder had), it is a rename and the edits go
        // with it; else it is kept (written back) rather than lose them, below.
        unsaved.push(rel);
      } else gone.push(rel);
    }
    // Something of this folder that kept a write of the session's out (a read-only member's own,
    // unshared file where the session has a folder, say) has gone: what it kept out, refused
    // until now, is written. Only such a path: a folder the person removed is not made again.
    for (const rel of [...absent, ...goneDirs]) {
      if (fs.existsSync(this.project.absolute(rel)) || !this.writeBack.folder.tookOutOfTheWay(rel)) continue;
      if (index.idOf(rel)) toWrite.push(rel);
      if (!index.isFolder(rel)) continue;
      for (const d of index.dirs()) if (d === rel || d.startsWith(rel + '/')) folders.toMake.push(d);
      for (const [, e] of index.entries()) if (e.path.startsWith(rel + '/') && !fs.existsSync(this.project.absolute(e.path))) toWrite.push(e.path);
    }
    const added: string[] = [];
    const changed: string[] = [];
    const collided: string[] = [];
    const refresh: string[] = [];
    const modes: string[] = [];
    /** Files whose document loaded only in part: the folder's text is taken in whole, not merged from a base. */
    const whole = new Set<string>();
    for (const [rel, seen] of present) {
      const id = index.idOf(rel);
      // A chmod is a change like an edit: the executable bit travels with the file.
      if (id && ledger.latest(rel) !== undefined && !!index.entry(id)?.exec !== seen.exec) modes.push(rel);
      if (id && full && this.workspace.builtFromLess(id)) {
        // Its saved changes lost some of it (damaged, or a log cut short), and the folder was
        // written from the whole: what it has more is no one's deletion to apply, nor text to
        // write over (a trial: a restart wrote the smaller text over the person's file, and a
        // three-way take-in deleted the lost lines from it). Taken in whole; peers that had the
        // lost changes send them too, so such text may show twice, which the person is told.
        this.workspace.tookInOver(id);
        if (this.currentHash(id) !== seen.hash) {
          this.log(`${rel}: its saved changes here were damaged or cut short and loaded only in part; the folder's copy, which has what they lost, is taken in as it is. Text a peer had too may now show twice in ${rel}: check it`);
          whole.add(rel);
          changed.push(rel);
          continue;
        }
      }
      if (!id) {
        // The daemon's own content at a path the index no longer has: a peer removed or moved
        // it and the folder is catching up. Not a new file.
        if (this.writeBack.isOwn(rel, seen.hash, seen.since)) {
          if (full) await this.writeBack.folder.remove(rel).catch((e: Error) => this.log(`could not remove ${rel}: ${inWords(e)}`));
          continue;
        }
        added.push(rel);
      } else if (this.writeBack.isOwn(rel, seen.hash, seen.since)) {
        // Behind the session: on start, or whenever it is what a crash of the last run left (an
        // editor's open can take the file in before the start's scan, and that acknowledged edit
        // must not be diffed away).
        if ((full || this.writeBack.crashLeftover(rel, seen.hash, seen.since)) && this.currentHash(id) !== seen.hash) refresh.push(rel);
      } else if (this.currentHash(id) === seen.hash) {
        this.writeBack.remember(rel, seen.hash, seen.bytes, seen.file);
      } else if (ledger.latest(rel) === undefined && (this.workspace.createdFrom(id) === seen.hash || (this.workspace.isLive(id) && index.entry(id)?.hash === seen.hash))) {
        // Made from these very bytes of this folder (an editor opened the new file before the
        // watcher took it in) and edited since: the folder is behind, not a second create.
        // After a restart `createdFrom` is forgotten, but a live document's entry still names
        // the text it started from: the folder holding exactly that is behind too (a daemon
        // killed before its first write-back of the file left it so).
        this.writeBack.remember(rel, seen.hash, seen.bytes, seen.file);
        refresh.push(rel);
      } else if (ledger.latest(rel) === undefined) {
        // A peer's file this folder never had, and a different one here at the same path: made
        // on both sides before either knew. Not an edit of the peer's: a concurrent create.
        collided.push(rel);
      } else changed.push(rel);
    }

    // unlink + add of the same content is a rename (a folder rename is one per file). The content
    // is what the folder had for the file: its shared text may be ahead of it (a peer typing in
    // it while it was moved), and those edits go with the file to its new name.
    const renames = pairRenames(
      [...gone, ...unsaved],
      added,
      (rel) => [this.currentHash(index.idOf(rel)!), ...this.writeBack.mayHold(rel)],
      (rel) => present.get(rel)!.hash,
    );
    const leave = (pairs: Array<[string, string]>) => {
      if (!pairs.length) return;
      const from = new Set(pairs.map(([f]) => f));
      const to = new Set(pairs.map(([, t]) => t));
      keepOnly(gone, (rel) => !from.has(rel));
      keepOnly(unsaved, (rel) => !from.has(rel));
      keepOnly(added, (rel) => !to.has(rel));
    };
    leave(renames);
    // Then unlink + add of mostly the same text: a file moved and changed at once (`git pull` of
    // a commit that did both). Taken in as a deletion and a new file, its history stayed behind,
    // and a peer typing in it meanwhile brought the old name back (trial s51, F7). It is renamed,
    // then its new content is taken in as an edit of what the folder had (decision 248).
    const edited = pairEditedRenames([...gone, ...unsaved], added, (rel) => {
      const seen = present.get(rel);
      if (seen === undefined) return this.writeBack.baseText(rel);
      return seen.bytes.length > this.workspace.liveLimit ? undefined : (decodeText(seen.bytes) ?? undefined);
    });
    leave(edited);
    // A new file moved or gone since it was read: the daemon itself may have moved it meanwhile
    // (a peer's rename, which forgets the old path: WriteBack.moved), and what was read is then no
    // file at all. Shared as new, it came back at its old path on every peer, where a join had
    // just set a folder aside for the session's file, which moved aside again (CI, join-faults;
    // decision 147). The next batch looks at the path as it is then. Only one no rename claimed:
    // the other half of a move is that file whatever it holds now (its change is taken in next).
    if (!full) {
      keepOnly(added, (rel) => {
        if (sameAsRead(lstatNow(this.project.absolute(rel)), present.get(rel)!)) return true;
        later(rel);
        return false;
      });
    }
    if (this.missing.size || unsaved.length) for (const rel of added) this.newWhileMissing.add(rel);
    if (!this.workspace.readOnly) for (const rel of added) this.tellBackAsNew(rel);
    const stillMissing = new Set<string>();
    for (const rel of unsaved) {
      // No new name for it yet: the folder may show it in a later event (a write-back's own
      // take-in looks at this one path only). Kept once it has waited long enough.
      if (!full && this.holdMissing(rel)) {
        stillMissing.add(rel);
        continue;
      }
      // Whoever deleted it never saw those edits. Keep it (write it back) rather than lose them.
      // A whole file too, not only live text: one whose peer's version was never written here
      // (this folder's copy had grown past the size limit, a blob still on its way) took a
      // peer's edit with it (a trial).
      // A reader's deletion is its own (never shared): said as the session's version, changed by
      // a writer meanwhile, coming back, not as edits a deletion missed (a trial).
      // Said to the person too, not only logged: a `git clean` right after a peer made the file
      // (its text still on its way here) brought it back at every member with no word, against
      // what git had just printed (trial s56a, F1).
      const others = this.workspace.readOnly ? [] : [...this.newWhileMissing].filter((p) => p !== rel && index.idOf(p) !== undefined);
      if (this.workspace.readOnly) this.log(readOnlyWrittenBack(rel));
      else {
        this.workspace.tellBack(
          `kept ${rel}: it was deleted in the folder, but edits it never had arrived meanwhile` +
            (others.length
              ? `. If it was moved to ${others.slice(0, 3).join(', ')}${others.length > 3 ? ` (or ${others.length - 3} more)` : ''}, which came at the same time with other content, both are kept: the edits are in ${rel}, the folder's version at the new name; merge them and delete one`
              : `; it is back with them rather than lose them (delete it again if it should go)`),
        );
      }
      this.writeBack.forget(rel); // so writing it back is not taken for someone else's deletion
      toWrite.push(rel);
    }
    // Held files this take-in settled (renamed, kept, back, or gone from the index) wait no more.
    for (const rel of held) if (!stillMissing.has(rel)) this.stopHolding(rel);

    if (full && folders.gone.length && toWrite.length) {
      // A folder deleted while the daemon was stopped that holds a file written back now (one
      // with edits the deletion never saw, or one never written here): it comes back with that
      // file, and stays shared.
      const holdsOne = (d: string) => toWrite.some((p) => p.startsWith(d + '/'));
      folders.toMake.push(...folders.gone.filter(holdsOne));
      folders.gone = folders.gone.filter((d) => !holdsOne(d));
    }

    // A new folder where the session has a file that stays (see the steps below): not shared.
    const leaving = new Set([...gone, ...renames.map(([from]) => from), ...edited.map(([from]) => from)]);
    folders.added = folders.added.filter((rel) => {
      const file = this.workspace.index.fileAtOrAbove(rel);
      if (file === undefined || leaving.has(file)) return true;
      this.once(`dir-in-the-way:${rel}`, `not sharing the folder ${rel} (yet): the session has the file ${file} there`);
      return false;
    });

    const any = renames.length || edited.length || gone.length || added.length || changed.length || collided.length || modes.length || folders.added.length || folders.gone.length;
    if (any && this.workspace.readOnly) {
      // A read-only member's folder changes are its own: never shared, never queued for later.
      // A rename names both paths, a deletion says it is one (a trial read only the new path,
      // and "the change of" a file it had deleted).
      // Said to the person too, once per take-in (a trial, s56a R2: only the log said it, and the
      // reader's folder differed from the session without a word).
      // Each said once per state of the session's file here (the content the folder last had
      // from the session): a deletion made again after a writer's change brought the file back
      // is said again (a trial: the second was not even logged).
      const stateOf = (rel: string) => ledger.latest(rel) ?? '';
      const said: string[] = [];
      /** Said of a file the session has: a writer's next change of it brings the session's version back. */
      let sessions = false;
      for (const [from, to] of [...renames, ...edited]) {
        if (this.once(`ro:${from}>${to}:${stateOf(from)}`, `not sharing the rename of ${from} to ${to}: you joined this session read-only; it stays in your folder only`)) {
          said.push(`the rename of ${from} to ${to}`);
          sessions = true;
        }
        // Its new name is this folder's own file from now on: not said again as a new file once
        // the session's version is back at the old name.
        this.skipped.add(`ro:${to}`);
      }
      for (const rel of gone) {
        if (this.once(`ro:${rel}:${stateOf(rel)}`, `not sharing the deletion of ${rel}: you joined this session read-only; it stays in your folder only`)) {
          said.push(`the deletion of ${rel}`);
          sessions = true;
        }
      }
      for (const rel of folders.gone) {
        if (this.once(`ro:${rel}/`, `not sharing the deletion of the folder ${rel}: you joined this session read-only; it stays in your folder only`)) said.push(`the deletion of the folder ${rel}`);
      }
      for (const rel of [...changed, ...collided, ...modes]) {
        // A file an editor here holds open is not in the notice: the editor that saved it has said
        // so already (a buffer says once that its edits stay here). A tool's change (`sed -i`, a
        // formatter) is.
        // A path this folder never had the session's version of holds the person's own new file,
        // said as such already (a writer's file arriving there is told with the copy it keeps).
        const id = index.idOf(rel);
        const key = ledger.latest(rel) === undefined ? `ro:${rel}` : `ro:${rel}:${stateOf(rel)}`;
        if (this.once(key, `not sharing the change of ${rel}: you joined this session read-only; it stays in your folder only`) && !(id !== undefined && this.workspace.isOpen(id))) {
          said.push(`the change of ${rel}`);
          sessions = true;
        }
      }
      for (const rel of added) {
        if (this.once(`ro:${rel}`, `not sharing the new file ${rel}: you joined this session read-only; it stays in your folder only`)) said.push(`the new file ${rel}`);
      }
      for (const rel of folders.added) {
        if (this.once(`ro:${rel}/`, `not sharing the new folder ${rel}: you joined this session read-only; it stays in your folder only`)) said.push(`the new folder ${rel}`);
      }
      if (said.length) {
        const what = said.length > 3 ? `${said.slice(0, 3).join(', ')} and ${said.length - 3} more (.chorus/daemon.log names each)` : said.join(', ');
        const back = sessions ? `; a writer's next change of such a file brings the session's version back (a file you changed is kept aside in .chorus/kept/ first)` : '';
        this.onTell?.(`not shared: ${what}. You joined this session read-only, so what you change in this folder stays in it only, and the folder differs from the session there${back}`);
      }
    } else if (any) {
      // One index change per at most BATCH_FILES steps: a peer refuses a change that
      // writes more entries than MAX_INDEX_ENTRIES_PER_CHANGE (sync/change-check.ts).
      const steps: Array<() => void> = [];
      // A removed folder goes after the files that leave it, so that where the steps take more
      // than one change a peer never gets the folder's removal before its files have moved out:
      // it would find the folder not empty, keep it and share it again (decision 175). Only a
      // folder a file of this take-in takes the place of goes first (`rm -r x; mv y x`).
      const arriving = new Set<string>();
      for (const rel of [...renames.map(([, to]) => to), ...edited.map(([, to]) => to), ...added, ...collided]) for (let p = rel; p; p = path.posix.dirname(p) === '.' ? '' : path.posix.dirname(p)) arriving.add(p);
      const dirsFirst = folders.gone.filter((rel) => arriving.has(rel));
      const dirsAfter = folders.gone.filter((rel) => !arriving.has(rel));
      for (const rel of dirsFirst) steps.push(() => this.workspace.removeDir(rel, DISK));
      // The renames of the batch being made: marked with its change once it is made (decision 148).
      let renamedNow: Array<{ to: string; id: string }> = [];
      /** Rename `from` to `to` in the session and the write-back's records; the file's id if it now has `to`. */
      const rename = (from: string, to: string): string | undefined => {
        const id = index.idOf(from);
        this.workspace.rename(from, to, DISK);
        this.writeBack.moved(from, to);
        this.writeBack.renamedHere.take(from);
        if (id === undefined || index.idOf(to) !== id) return undefined;
        renamedNow.push({ to, id });
        return id;
      };
      for (const [from, to] of renames) {
        steps.push(() => {
          const id = rename(from, to);
          this.writeBack.remember(to, present.get(to)!.hash, present.get(to)!.bytes);
          // Edits that arrived after the folder last had it (typing while it was moved): the
          // folder gets them at the new name.
          if (id !== undefined && this.workspace.isLive(id) && this.currentHash(id) !== present.get(to)!.hash) this.writeBack.schedule(id);
        });
      }
      // A file moved and changed: renamed (its history, an editor's buffer and a peer's typing
      // go with it), then its new content taken in as an edit of what the folder had, which
      // `moved` carried to the new name as its base.
      for (const [from, to] of edited) {
        steps.push(() => {
          rename(from, to);
          takeContent(to);
        });
      }
      for (const rel of gone) {
        steps.push(() => {
          this.workspace.remove(rel, DISK);
          this.writeBack.forget(rel);
        });
      }
      for (const rel of dirsAfter) steps.push(() => this.workspace.removeDir(rel, DISK));
      for (const rel of collided) {
        steps.push(() => {
          // The folder's version moves aside once the conflict is settled: the peer's may then
          // overwrite this path, so its current content counts as known.
          this.writeBack.remember(rel, present.get(rel)!.hash);
          this.workspace.addConcurrent(rel, present.get(rel)!.bytes, DISK, present.get(rel)!.exec);
        });
      }
      const takeContent = (rel: string): void => this.takeInContent(rel, present.get(rel)!, whole.has(rel));
      for (const rel of added) steps.push(() => takeContent(rel));
      for (const rel of modes) steps.push(() => this.workspace.setExec(rel, present.get(rel)!.exec, DISK));
      // New folders after the files that went (a file replaced by a folder of its name goes
      // first), each checked against the index as it is then: a folder where the session has a
      // file is not shared (decision 147). It is one the disk has not caught up on yet (a peer
      // set it aside, the materializer moves it next) or one in the way of the session's file
      // here; shared, it would move that file aside on every peer (a folder keeps the path,
      // decision 142). Its files, if any, are shared as usual, and then the folder keeps the path.
      for (const rel of folders.added) steps.push(() => this.workspace.index.fileAtOrAbove(rel) === undefined && this.workspace.addDir(rel, DISK));
      const perChange = batchFiles();
      for (let i = 0; i < steps.length; i += perChange) {
        const made = this.workspace.batch(() => {
          for (const step of steps.slice(i, i + perChange)) step();
        }, DISK);
        if (made !== undefined) for (const { to, id } of renamedNow) this.writeBack.renamedHere.mark(to, id, made);
        renamedNow = [];
      }
      await this.takeChanged(changed, present, takeContent, later);
      const parts = [
        [added.length, 'new'],
        [changed.length, 'changed'],
        [renames.length + edited.length, edited.length ? `renamed (${edited.length} of them changed too)` : 'renamed'],
        [gone.length, 'deleted'],
        [collided.length, 'created here and by a peer at once'],
        [modes.length, 'with a new mode'],
        [folders.added.length, 'new folder(s)'],
        [folders.gone.length, 'removed folder(s)'],
      ].filter(([n]) => n);
      this.log(`took in from the folder: ${parts.map(([n, w]) => `${n} ${w}`).join(', ')}${paths.length + dirs.length === 1 ? ` (${paths[0] ?? dirs[0]})` : ''}`);
    }

    // After a crash the folder may hold an older content the daemon wrote: bring it up to date.
    // Not awaited: this may run inside a write of the same path (WriteBack.takeForeign).
    // Each path on its own: one that cannot be written (a file in its folder's way) is logged,
    // once and in words, and never keeps the others from being written.
    const each = (rel: string, write: () => Promise<void>) => {
      void write().catch((e: unknown) => this.writeBack.pendingContent.logFailure(`writing ${rel} into the folder`, e));
    };
    for (const rel of refresh) {
      const data = this.workspace.content(index.idOf(rel)!);
      if (data) each(rel, () => this.writeBack.writeNow(rel, data, { force: true }));
    }
    // Files the folder lacks: now, or once their blob arrives (PendingContent decides), several
    // at a time (decision 180). All at once, a restarted daemon whose folder lacked thousands of
    // the session's files (killed while a join wrote them) started thousands of writes together.
    if (toWrite.length) void this.writeBack.pendingContent.writeMany(toWrite, (rel) => `writing ${rel} into the folder`);
    for (const rel of folders.toMake) each(rel, () => this.makeFolder(rel));
    return unsettled;
  }

  /**
   * A file of the session changed in the folder (`seen`, read just now), taken in as a change of
   * the shared file: an outside edit made on the content the folder held (WriteBack.baseFor), or,
   * `whole`, the whole text (its document loaded only in part: nothing to merge from). The
   * folder's content is its base from then on.
   */
  private takeInContent(rel: string, seen: Seen, whole: boolean): void {
    // What the tool changed: usually the folder's newest content, an older one when the
    // tool read the file just before a write-back replaced it (decision 148).
    const chosen = whole ? undefined : this.writeBack.baseFor(rel, seen.bytes, seen.mtimeMs, seen.file);
    const base = chosen?.text;
    const baseHash = chosen?.hash ?? (whole ? undefined : this.writeBack.ledger.latest(rel));
    this.writeBack.remember(rel, seen.hash); // its base is kept below, once the document may be live
    const id = this.workspace.index.idOf(rel);
    if (id !== undefined && this.workspace.isLive(id) && this.writeBack.editorsOwnWrite(rel, seen.hash, { fileId: id, bytes: seen.bytes })) {
      // An editor's save of its own text (VS Code writes its document itself; decision 255):
      // every change of that text reached the daemon as the editor's edits, and what it lacks
      // is others' typing still on its way to it. No change of the file, then: the folder
      // gets the shared text back.
      this.log(`${rel}: an editor saved its own text over the file; its changes are in the session already (as its typing), so it is not taken in as a change, and the session's text, which has others' typing it had not shown yet, is written back`);
      this.writeBack.keepBase(rel, seen.hash, seen.bytes);
      this.writeBack.inFolder(rel, seen.hash, seen.bytes, seen.file);
      if (this.currentHash(id) !== seen.hash) this.writeBack.schedule(id);
      return;
    }
    const on: MadeOn = { text: base, hash: baseHash, heads: chosen?.heads, after: this.writeBack.madeAfterLateWrite(rel, baseHash) };
    const kept = this.workspace.contentChanged(rel, seen.bytes, DISK, seen.exec, on);
    // This folder's version raced a peer's and is kept beside it: the folder gets that
    // copy now, before the shared version replaces it at the path.
    if (kept !== undefined) void this.writeBack.writeNow(kept, seen.bytes);
    // What the folder holds is the file's base from now on. Kept after the change: a text
    // file's first outside edit makes its document live just now, and a base is kept only
    // for a document in memory. Without it the next outside edit had no base, and was
    // taken as the whole text, deleting what peers had added meanwhile.
    this.writeBack.keepBase(rel, seen.hash, seen.bytes);
    this.writeBack.inFolder(rel, seen.hash, seen.bytes, seen.file);
    // The document's heads, when the take-in left its text exactly the folder's (decision 200).
    this.writeBack.tookIn(rel, seen.hash);
  }

  /**
   * Take in the new content of files the session has (`changed`), a slice of at most
   * SLICE_MS at a time, letting the event loop run between slices (decision 246). Each
   * such file becomes a live document and is merged (~30–60 ms each), and a tool that rewrites
   * hundreds at once (`sed -i` over a tree, a formatter, a branch switch) held the daemon for
   * 20 s and more: it answered no peer's ping (each counted it unreachable after 10 s and told its
   * editors so), no editor, and nothing else. Between slices a peer's change, an editor's edit or
   * another take-in may land: a file whose path now names another file (or none), or that a
   * take-in or write of the daemon's has touched since it was read, is left to the watcher's next
   * batch (`later`), which reads it as it is then, as `sync` does for a read another take-in
   * overtook. Each slice is one index change, for a file that is no text document (a blob's new hash).
   */
  private async takeChanged(changed: string[], present: ReadonlyMap<string, Seen>, take: (rel: string) => void, later: (rel: string) => void): Promise<void> {
    const index = this.workspace.index;
    const ids = new Map(changed.map((rel) => [rel, index.idOf(rel)]));
    let i = 0;
    while (i < changed.length) {
      if (i > 0) await new Promise<void>((r) => soon(r));
      const end = performance.now() + SLICE_MS;
      this.workspace.batch(() => {
        do {
          const rel = changed[i++]!;
          if (index.idOf(rel) !== ids.get(rel) || this.writeBack.since(rel) !== present.get(rel)!.since) later(rel);
          else take(rel);
        } while (i < changed.length && performance.now() < end);
      }, DISK);
    }
  }

  /**
   * Hold `rel`, gone from the folder with edits it never had, while its new name may still come
   * (RENAME_WAIT_MS from when it was first found gone): true while it waits. It is looked at again
   * once the wait is over, if no take-in settled it before.
   */
  private holdMissing(rel: string): boolean {
    const held = this.missing.get(rel);
    if (held) return Date.now() - held.since < RENAME_WAIT_MS;
    const timer = setTimeout(() => this.event(this.project.absolute(rel), false), RENAME_WAIT_MS + 10);
    timer.unref();
    this.missing.set(rel, { since: Date.now(), timer });
    return true;
  }

  /** `rel` waits for a new name no more (see `holdMissing`). */
  private stopHolding(rel: string): void {
    clearTimeout(this.missing.get(rel)?.timer);
    this.missing.delete(rel);
    if (this.missing.size === 0) this.newWhileMissing.clear();
  }

  // ---- files the folder does not have yet --------------------------------------------------

  /** Make a shared folder the folder does not have (an empty one a peer made while we were away). */
  private async makeFolder(rel: string): Promise<void> {
    if (!this.writeBack.pendingContent.refused(rel)) await this.writeBack.folder.makeDir(rel);
  }
}

/** Is `rel` inside one of `dirs` (at any depth)? As many lookups as `rel` has folders above it. */
function isUnder(rel: string, dirs: ReadonlySet<string>): boolean {
  for (let at = rel.lastIndexOf('/'); at > 0; at = rel.lastIndexOf('/', at - 1)) if (dirs.has(rel.slice(0, at))) return true;
  return false;
}

/** Remove from `list`, in place and in one pass, every item `keep` refuses. */
function keepOnly(list: string[], keep: (item: string) => boolean): void {
  let n = 0;
  for (const item of list) if (keep(item)) list[n++] = item;
  list.length = n;
}

/**
 * Pair files gone from the folder (`leavers`, in order) with new ones (`added`, in order) as
 * renames `[from, to]`: a new file whose content (`hashOf`) is one the gone file may hold in the
 * folder (`mayHold`: what the folder last had for it, or its shared content, decisions 156 and
 * 167). Among several such gone files, one of the same base name first, else the first. Each
 * file is paired once. Linear in the files and their hashes (decision 175): a move of 5,000
 * files of equal content (empty ones, say) is 5,000 lookups, not 5,000 scans of the others.
 */
export function pairRenames(
  leavers: readonly string[],
  added: readonly string[],
  mayHold: (rel: string) => ReadonlyArray<string | undefined>,
  hashOf: (rel: string) => string,
): Array<[string, string]> {
  const out: Array<[string, string]> = [];
  if (!leavers.length || !added.length) return out;
  // Queues of gone files by hash, and by hash and base name; a file taken by one queue is
  // passed over in the others when it comes up (each is passed over at most once per queue).
  const queues = new Map<string, { list: string[]; at: number }>();
  const push = (key: string, rel: string) => {
    const q = queues.get(key);
    if (q) q.list.push(rel);
    else queues.set(key, { list: [rel], at: 0 });
  };
  for (const rel of leavers) {
    for (const h of new Set(mayHold(rel))) {
      if (!h) continue;
      push(`h:${h}`, rel);
      push(`n:${h}\0${path.posix.basename(rel)}`, rel);
    }
  }
  const taken = new Set<string>();
  const first = (key: string): string | undefined => {
    const q = queues.get(key);
    if (!q) return undefined;
    while (q.at < q.list.length && taken.has(q.list[q.at]!)) q.at++;
    return q.list[q.at];
  };
  for (const to of added) {
    const h = hashOf(to);
    const from = first(`n:${h}\0${path.posix.basename(to)}`) ?? first(`h:${h}`);
    if (from === undefined) continue;
    taken.add(from);
    out.push([from, to]);
  }
  return out;
}
