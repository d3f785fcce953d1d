/**
 * Makes the folder follow file-list changes that came from peers: new files appear, deleted ones
 * go, renames move, and whole-file content (not live text; WriteBack does that) is written as
 * soon as its blob is here (PendingContent decides: now or later, and what happened meanwhile).
 * Every write goes through the folder's one writer (FolderWriter), whose path check refuses what
 * a peer must never make the daemon write: outside the project, into `.chorus/` or `.git/`,
 * through a symbolic link.
 */
import fs from 'node:fs';
import path from 'node:path';
import type { Project } from '../project.js';
import { hashBytes } from '../workspace/blob-store.js';
import { isPeersOrSettling, type DirsEvent, type FilesEvent, type Workspace } from '../workspace/workspace.js';
import { bytesOfFile, hashOfFile, lstatNow } from './files.js';
import { inWords, type FolderWriter } from './folder-writer.js';
import type { WriteBack } from './write-back.js';
import { keptHereMessage } from './pending-content.js';
import { DELETED_KEEP_MS } from '../lifecycle/kept-copies.js';

/**
 * A peer's change that moves or removes many files gives the event loop a turn after this many,
 * so keystrokes and peers are served meanwhile (the steps themselves are synchronous calls).
 */
const YIELD_EVERY = 64;
const nextTurn = () => new Promise<void>((resolve) => setImmediate(resolve));

export class Materializer {
  /**
   * The peers' file and folder changes, applied one after the other in the order they came (a
   * folder goes only after the files in it went). Each change is a diff against the index the one
   * before left: applied side by side, a later change's move of a file could run before an
   * earlier one had written it, which left the file at its old path in a folder the session had
   * moved aside (decision 147).
   */
  private chain: Promise<void> = Promise.resolve();
  private readonly folder: FolderWriter;
  /**
   * Set when the daemon stops: no more of the session's files are written. A join interrupted
   * (Ctrl-C) went on writing the rest of the session after the CLI said it had stopped the daemon.
   */
  private halted = false;
  /**
   * The files of peers' changes waiting for their write to start (`chorus status`: "writing N
   * files to disk", decision 179): added when a change arrives, removed when a write of the path is
   * handed to PendingContent, which counts it from there while it is written (or not at all: it
   * waits for its blob, or is as it should be). So `toWrite` is a count kept, not a scan.
   */
  private readonly due = new Set<string>();

  halt(): void {
    this.halted = true;
    this.writeBack.pendingContent.halt(); // content arriving meanwhile is not written either
  }

  /** The name a peer goes by (its presence's), for words to the person; set by the daemon. */
  peerName: ((peerId: string) => string | undefined) | undefined;

  constructor(
    private readonly project: Project,
    private readonly workspace: Workspace,
    private readonly writeBack: WriteBack,
    private readonly log: (msg: string) => void,
  ) {
    this.folder = writeBack.folder;
    // A peer's changes and the daemon's own settling of a clash (isPeersOrSettling); the folder's own
    // are there already, and WriteBack writes editors'.
    workspace.on('files', (e) => {
      if (!isPeersOrSettling(e.origin)) return;
      // Counted now, not when the chain reaches it: status tells of a change still queued too.
      for (const p of e.created) this.due.add(p);
      for (const p of e.changed) this.due.add(p);
      this.chain = this.chain.then(() => this.apply(e)).catch((err: unknown) => this.log(`applying a peer's file changes failed: ${inWords(err)}`));
    });
    workspace.on('dirs', (e) => {
      if (!isPeersOrSettling(e.origin)) return;
      this.chain = this.chain.then(() => this.applyDirs(e)).catch((err: unknown) => this.log(`applying a peer's folder changes failed: ${inWords(err)}`));
    });
  }

  /**
   * The absolute path of a project path from a peer, or undefined when the folder's writer would
   * refuse it (logged once, by PendingContent.refused): nothing is read or written for it then.
   */
  private safe(rel: string): string | undefined {
    return this.writeBack.pendingContent.refused(rel) ? undefined : this.project.absolute(rel);
  }

  /**
   * Resolves once every change handed to this materializer so far is on disk (or failed and was
   * logged): a join waits for its own settling to reach the folder before it says it is done.
   */
  async caughtUp(): Promise<void> {
    await this.chain;
  }

  /** The files (project paths) of peers' changes that wait for their write to start (see `due`). */
  toWrite(): ReadonlySet<string> {
    return this.due;
  }

  private async apply(e: FilesEvent): Promise<void> {
    try {
      await this.applySteps(e);
    } catch (err) {
      // A step that threw past `each` (a bug) must not leave status saying "writing" for ever.
      for (const p of e.created) this.due.delete(p);
      for (const p of e.changed) this.due.delete(p);
      throw err;
    }
  }

  private async applySteps(e: FilesEvent): Promise<void> {
    // Each path on its own: one that cannot be written (a file in its folder's way, a full disk)
    // is logged, in words, and the rest of the peer's changes are still applied.
    // A file moving to where this folder has a folder (the session's file taking its path back
    // from a joining folder set aside, decision 147) moves once the rest of the change has moved
    // that folder's files out of the way.
    const later: FilesEvent['renamed'] = [];
    for (const [i, r] of e.renamed.entries()) {
      if (this.folder.isFolderNow(r.to)) later.push(r);
      else await this.each(`moving ${r.from} to ${r.to}`, () => this.rename(r));
      if (i % YIELD_EVERY === YIELD_EVERY - 1) await nextTurn();
    }
    const stamp = new Date().toISOString().replace(/[:.]/g, '-');
    const keptAs: string[] = [];
    for (const [i, p] of e.deleted.entries()) {
      await this.each(`removing ${p}`, async () => {
        if (await this.delete(p, stamp)) keptAs.push(p);
      });
      if (i % YIELD_EVERY === YIELD_EVERY - 1) await nextTurn();
    }
    if (keptAs.length) this.tellRemoved(keptAs, stamp, e.origin);
    for (const r of later) {
      await this.each(`moving ${r.from} to ${r.to}`, async () => {
        await this.removeEmptyFolders(r.to);
        await this.rename(r);
      });
    }
    // Several files written at once, so one watcher re-read of their folder serves many writes
    // (decisions 177, 180).
    await this.writeMany([...new Set([...e.created, ...e.changed])]);
    for (const p of e.modes ?? []) if (!e.created.includes(p)) await this.each(`changing the mode of ${p}`, () => this.chmod(p));
    // A path that moved or went may have been in the way of a folder the session has there (a
    // file on one peer, a folder on another, settled by Workspace.resolve): its files and folders,
    // refused while the file was there, are written now.
    await this.writeUnblocked([...e.renamed.map((r) => r.from), ...e.deleted]);
  }

  /**
   * Remove the folder at `rel` and the folders in it, deepest first, where each is empty and not
   * shared (the session has a file at `rel` now): a folder holding anything stays, with it.
   */
  private async removeEmptyFolders(rel: string): Promise<void> {
    if (!(await this.folder.isFolderAt(rel)) || this.workspace.index.hasDir(rel)) return;
    const inside = await fs.promises.readdir(this.project.absolute(rel), { withFileTypes: true }).catch(() => []);
    for (const d of inside) if (d.isDirectory()) await this.removeEmptyFolders(`${rel}/${d.name}`);
    await this.folder.removeDir(rel).catch(() => undefined); // not empty: it stays, and says so below
  }

  /**
   * The session's file at `rel`, kept out by a folder here (FolderWriter noted it) that has gone
   * now: written. Asked only once the folder is gone (asking forgets the note).
   */
  private async writeFreed(rel: string): Promise<void> {
    if (!this.workspace.index.idOf(rel) || (await this.folder.isFolderAt(rel)) || !this.folder.tookOutOfTheWay(rel)) return;
    await this.each(`writing ${rel}`, () => this.write(rel));
  }

  /** Run one path's step of a peer's change; a failure is logged once, in words, and the others go on. */
  private async each(what: string, step: () => Promise<void>): Promise<void> {
    try {
      await step();
    } catch (err) {
      this.writeBack.pendingContent.logFailure(`${what} (a peer's change)`, err);
    }
  }

  /** A peer's rename: move the file when the folder holds its content, else write it at its new path. */
  private async rename({ from, to, id }: FilesEvent['renamed'][number]): Promise<void> {
    if (!this.safe(to)) return;
    // A write of the old path in progress (its content arrived a moment before) lands first, so
    // it is moved with the rest, not left behind at a path no file of the session has.
    await this.writeBack.writing(from);
    // Move the file only if it holds this file's content: after a conflict the old path may
    // hold another file's (the winner's). Otherwise write the new path from the shared state
    // (also when the old path may not be touched: a link the person made there stays).
    const a = this.folder.refusal(from, undefined, true) === undefined ? this.project.absolute(from) : undefined;
    const want = this.expectedHash(id);
    const bytes = a === undefined ? undefined : await bytesOfFile(a);
    const onDisk = bytes && hashBytes(bytes);
    const ours = onDisk !== undefined && (onDisk === want || this.writeBack.isOwn(from, onDisk));
    // Added to at its end since the folder was last taken in (a script appending to a log while
    // a peer renamed it): the appends were made to this very file, so they move with it and are
    // taken in at its new name (decision 167). Only where a take-in can share them.
    const appended = !ours && bytes !== undefined && !this.workspace.readOnly && this.writeBack.takeForeign !== undefined && this.writeBack.appendedTo(from, bytes);
    const kept = await this.writeBack.ownKeptFile(to, null);
    if (kept !== undefined) {
      // The new name is a path this folder keeps to itself, and it has its own file there (a
      // peer that shares its `.env` renamed a file to `.env`): nothing is moved or written over
      // it (a trial: the host's `.env` was replaced, with no copy, and its later edits were
      // shared). The old name's copy, the session's content, goes with the rename; one changed
      // here is left to the watcher, which shares it again as a new file, and says so.
      this.writeBack.pendingContent.logRefusal(keptHereMessage(to, kept));
      if (ours && !this.workspace.index.idOf(from)) {
        await this.folder.remove(from);
        this.writeBack.forget(from);
        await this.pruneEmptyDirs(path.posix.dirname(from));
      }
      return;
    }
    if ((ours || appended) && !this.workspace.index.idOf(from)) {
      let moved = false;
      try {
        if (await this.keepUnsharedAt(to, from, want)) {
          this.folder.renameNow(from, to);
          this.writeBack.moved(from, to);
          moved = true;
        }
      } catch {
        // not moved: written at its new place below
      }
      if (moved) {
        await this.pruneEmptyDirs(path.posix.dirname(from));
        // Diffed against what the folder last had, the appends are added to the shared text
        // (with any peer's edits it has meanwhile), and the file is written with both.
        if (appended) await this.writeBack.takeForeign?.(to);
        else if (onDisk !== want) await this.write(to); // it moved with older content: bring it up to date
        return;
      }
    }
    await this.write(to);
    if (onDisk !== undefined && !ours && !this.writeBack.ledger.knows(from, onDisk) && !this.workspace.index.idOf(from)) {
      // Changed here in another way than added to (rewritten, edited in the middle) before this
      // folder took it in: which version the rename meant cannot be told. Both are kept. (A
      // content the daemon had there before is not someone's change: the watcher settles it.)
      const why = appended ? 'added to meanwhile, and it could not be moved there' : 'changed meanwhile (not only added to at its end)';
      // The folder's copy is left to the watcher, as before: its take-in shares it as a new file.
      this.log(`kept ${from}: a peer renamed it to ${to}, but this folder's copy was ${why}; the shared version is at ${to}, this folder's stays at ${from} and is shared again as a new file: merge them and delete one`);
    }
  }

  /**
   * Before a peer's rename of `from` moves the file onto `to`: a file at `to` that nothing shared
   * put there (made a moment ago by a person or a tool, not taken in yet: the watcher reads a
   * changed folder about once a second) would be replaced by the move, with no copy anywhere. It
   * is kept in `.chorus/kept/` first, and the person told (decision 228: a move, unlike a write,
   * does not look at what it replaces). Content this daemon wrote there,
   * or the file's own (`want`), is no one's unshared work. False when keeping the copy failed:
   * then the file is not moved there but written, which takes the folder's file in first.
   */
  private async keepUnsharedAt(to: string, from: string, want: string | undefined): Promise<boolean> {
    const abs = this.project.absolute(to);
    if (!lstatNow(abs)?.isFile()) return true; // nothing there; a folder or a link makes the move fail, and the file is written instead
    const bytes = await bytesOfFile(abs);
    if (bytes === undefined) return true;
    const there = hashBytes(bytes);
    if (there === want || this.writeBack.ledger.knows(to, there) || this.writeBack.isOwn(to, there)) return true;
    const own = this.renamedHereTo(there, from, to);
    if (own !== undefined) {
      // This folder renamed one of the session's files to the same new name a moment ago, and
      // the watcher has not taken that in: kept aside as someone's unshared file, it left the
      // session, and its old name was taken in as a deletion on every peer (a trial, 2 of 2).
      // It goes back to its name instead, still shared, and the person renames it again.
      try {
        this.folder.renameNow(to, own);
        const message = `${to}: a peer renamed ${from} to ${to} at the same moment this folder renamed ${own} to ${to}; the peer's file has the name, and ${own} is back under its old name, still shared: rename it again to another name`;
        this.log(message);
        this.writeBack.onKept?.({ path: to, kept: own, message });
        return true;
      } catch {
        // not moved back: kept aside as below
      }
    }
    try {
      const kept = path.relative(this.project.root, await this.folder.keepCopy(to, bytes)).split(path.sep).join('/');
      const message = `${to}: a peer renamed ${from} to ${to} while this folder had a file of its own there that was not shared yet; the session's file now has the path, and this folder's is kept in ${kept}: copy it back under another name to share it`;
      this.log(message);
      this.writeBack.onKept?.({ path: to, kept, message });
      return true;
    } catch (e) {
      this.log(`${to}: a peer renamed ${from} to ${to} while this folder had an unshared file there, and keeping a copy of it failed (${inWords(e)}); the session's file is written there instead, after this folder's is taken in`);
      return false;
    }
  }

  /**
   * The session path whose file this folder has just renamed to `to` (not taken in yet): a file
   * of the session, not the one being moved there (`from`), whose content the folder last had is
   * `hash`, and which is gone from its own path. Undefined when there is none (a new file, or a
   * copy of a file that is still there).
   */
  private renamedHereTo(hash: string, from: string, to: string): string | undefined {
    for (const [, e] of this.workspace.index.entries()) {
      if (e.path === from || e.path === to || this.writeBack.ledger.latest(e.path) !== hash) continue;
      if (this.folder.refusal(e.path, undefined, true) !== undefined || lstatNow(this.project.absolute(e.path)) !== undefined) continue;
      return e.path;
    }
    return undefined;
  }

  /**
   * A peer's deletion removed files from this folder: each was moved to
   * `.chorus/deleted/<stamp>/<its path>`; the person is told once for the lot (a `git clean` or a
   * branch switch on a peer removes many at once). One that this daemon's own settling removed
   * (`origin` settling) is only logged, as what it is.
   */
  private tellRemoved(paths: string[], stamp: string, origin: FilesEvent['origin']): void {
    const where = `.chorus/deleted/${stamp}/`;
    const names = paths.length <= 5 ? paths.join(', ') : `${paths.slice(0, 5).join(', ')} and ${paths.length - 5} more`;
    if (origin.kind === 'settling') {
      // This daemon's own settling removed them: a join's copies of files this folder had with
      // the session's very bytes (Workspace.keepSessionVersions), made moments before by the same
      // join. "A peer deleted" them was wrong (a trial); nobody else did anything, so only the log.
      this.log(`removed ${paths.length === 1 ? 'a copy' : `${paths.length} copies`} the join had made of files this folder had with the session's very content (${names}); kept in ${where} for ${DELETED_KEEP_MS / 86_400_000} days`);
      return;
    }
    // Who: a person reads "a peer deleted" as someone's work lost (trial s60 F6: a branch switch).
    const who = (origin.kind === 'peer' ? this.peerName?.(origin.peerId) : undefined) ?? 'a peer';
    const message = `${who} deleted ${paths.length === 1 ? 'a file' : `${paths.length} files`} that ${paths.length === 1 ? 'was' : 'were'} in this folder (${names}); ${paths.length === 1 ? 'it is' : 'they are'} gone from the session. This folder's ${paths.length === 1 ? 'copy is' : 'copies are'} kept in ${where} for ${DELETED_KEEP_MS / 86_400_000} days: copy back what you need (a file put back is shared again).`;
    this.log(message);
    this.writeBack.onKept?.({ path: paths[0]!, kept: where, message, type: 'info' });
  }

  /**
   * A peer's removal of a file: gone from the folder too, unless another file holds the path now.
   * The file is moved to `.chorus/deleted/<stamp>/` rather than removed (the folder's copy may be
   * someone's work the peer never meant to delete: a `git clean -fd` of files a person here had
   * just made). Returns whether a file was moved there.
   */
  private async delete(p: string, stamp: string): Promise<boolean> {
    if (!this.safe(p)) return false;
    // A write of this file in progress (its create arrived a moment before) lands first: removed
    // before it landed, the file appeared after the removal, in no one's index (decision 148).
    await this.writeBack.writing(p);
    if (this.workspace.index.idOf(p)) return false; // another file holds this path now
    const abs = this.project.absolute(p);
    // Looked at synchronously, as FolderWriter.renameNow says why (a peer's `rm -r` of a folder).
    const st = lstatNow(abs);
    // A folder there now is not this file: it is left alone (rm would refuse it anyway).
    if (st?.isDirectory()) return false;
    const mark = this.writeBack.renamedHere.take(p);
    if (st?.isFile() && mark !== undefined && this.workspace.index.entry(mark.id) === undefined && this.workspace.index.removalSaw(mark.id, mark.change) !== true) {
      // This folder renamed the file, and a peer deleted it without having seen the rename (made
      // concurrently, one side offline): a rename is an intent to keep it, like an edit (decision
      // 148). The folder's file stays and is shared again, as a new file (its history stays with
      // the deleted entry). A deletion made after seeing the rename removes it as usual, below.
      this.log(`kept ${p}: a peer deleted this file, which was renamed here meanwhile; a rename keeps the file, so it is shared again (delete it again to remove it everywhere)`);
      this.writeBack.forget(p);
      await this.writeBack.takeForeign?.(p);
      return false;
    }
    if (st?.isFile()) {
      // Only the daemon's own content goes (what it wrote or took in there). Content a tool put
      // there that the daemon never had is someone's work: kept, and the watcher shares it again
      // (an edit wins over a delete, as for live text).
      const hash = await hashOfFile(abs);
      // This folder's own file at a path it keeps to itself was never the session's (a peer's
      // version was not written over it): the peer's deletion leaves it, and says nothing.
      if (hash !== undefined && !this.writeBack.ledger.knows(p, hash) && (await this.writeBack.ownKeptFile(p, st)) !== undefined) return false;
      if (hash !== undefined && !this.writeBack.ledger.knows(p, hash) && !this.writeBack.isOwn(p, hash)) {
        this.log(`kept ${p}: a peer deleted it, but this folder's copy was changed meanwhile (not what Chorus wrote there); it is shared again as a new file`);
        this.writeBack.forget(p);
        await this.writeBack.takeForeign?.(p);
        return false;
      }
    }
    // Looked at the disk since the check above: the file may be back in the shared state (typing
    // on a peer kept it, and its write may have just landed here): then it stays.
    if (this.workspace.index.idOf(p)) return false;
    const keep = st?.isFile() ? path.join(this.project.dotDir, 'deleted', stamp, ...p.split('/')) : undefined;
    await this.folder.remove(p, keep);
    this.writeBack.forget(p);
    await this.pruneEmptyDirs(path.posix.dirname(p));
    return keep !== undefined;
  }

  /**
   * The shared folders at or under each of `paths` and the files under them, written now where a
   * file at that path kept them out of the folder (FolderWriter noted it) until it moved or went.
   */
  private async writeUnblocked(paths: string[]): Promise<void> {
    if (!paths.length) return;
    const index = this.workspace.index;
    const folders = paths.filter((p) => this.folder.tookOutOfTheWay(p) && index.isFolder(p));
    if (!folders.length) return;
    const under = (p: string) => folders.some((f) => p === f || p.startsWith(f + '/'));
    for (const d of index.dirs()) {
      if (under(d) && !this.writeBack.pendingContent.refused(d)) await this.each(`making the folder ${d}`, () => this.folder.makeDir(d));
    }
    await this.writeMany(index.entries().flatMap(([, e]) => (under(e.path) ? [e.path] : [])));
  }

  /** Give a file in the folder the executable bit its entry has (a peer's chmod). */
  private async chmod(rel: string): Promise<void> {
    const abs = this.safe(rel);
    const id = this.workspace.index.idOf(rel);
    if (!abs || !id) return;
    const st = await fs.promises.lstat(abs).catch(() => undefined);
    if (!st?.isFile()) return; // not written yet: the write gives it its mode
    await this.folder.setExec(rel, !!this.workspace.index.entry(id)?.exec).catch((err: unknown) => this.log(`could not change the mode of ${rel}: ${inWords(err)}`));
  }

  /**
   * Peers' folders: made when shared, removed when no longer shared, deepest first. A folder that
   * still holds something (a file this folder does not share, e.g. an ignored one, or a file that
   * arrived meanwhile) is kept and stays shared, so it never disappears from under its content.
   */
  private async applyDirs(e: DirsEvent): Promise<void> {
    for (const p of e.created) {
      const abs = this.safe(p);
      if (!abs || !this.workspace.index.hasDir(p)) continue;
      // A file of that name here (made here while the peer made the folder): refused in words,
      // once; the folder is made when the file moves (`writeUnblocked`).
      await this.each(`making the folder ${p} a peer shared`, () => this.folder.makeDir(p));
    }
    for (const p of [...e.deleted].sort((a, b) => b.length - a.length)) {
      if (this.workspace.index.hasDir(p)) continue; // shared again meanwhile
      // Not here (gone already, or a file on its way: a folder the session set aside whose place
      // a file has taken, decision 147): nothing to remove, nothing to say.
      if (!(await this.folder.isFolderAt(p))) {
        await this.writeFreed(p);
        continue;
      }
      const abs = this.safe(p);
      if (!abs) continue;
      try {
        await this.folder.removeDir(p);
      } catch (err) {
        const code = (err as NodeJS.ErrnoException).code;
        const file = this.workspace.index.fileAtOrAbove(p);
        if (code === 'ENOTEMPTY' || code === 'EEXIST') {
          // A read-only member cannot share it again (its changes are refused): it keeps the folder.
          if (this.workspace.readOnly) this.log(`kept the folder ${p} a peer removed: it still holds files that are not shared`);
          else if (file !== undefined) {
            // The session has a file there now (an empty folder yields to a file, decision 147):
            // shared again, the folder would move that file aside on every peer, again and again.
            this.log(`kept the folder ${p}: it holds files that are not shared; the session's file ${file} is written here once the folder is moved or removed`);
          } else {
            // A shared file in it: one the removal never saw (made, or kept with edits, since the
            // peer's deletion of the folder, decision 173); the folder stays for it.
            const shared = this.workspace.index.entries().find(([, en]) => en.path.startsWith(p + '/'))?.[1].path;
            this.log(
              shared === undefined
                ? `kept the folder ${p} a peer removed: it still holds files that are not shared; it stays shared`
                : `kept the folder ${p} a peer removed: it holds ${shared}, which the session still has (the removal never saw it); it stays shared`,
            );
            this.workspace.addDir(p, { kind: 'disk' });
          }
        }
        continue; // gone already (ENOENT), or a file there now (ENOTDIR): nothing to remove
      }
      // The session's file at that path waited for this folder to go (decision 147).
      await this.writeFreed(p);
      await this.pruneEmptyDirs(path.posix.dirname(p));
    }
  }


  /** The hash of a file's current content (live text or blob), if known. */
  private expectedHash(id: string): string | undefined {
    const data = this.workspace.content(id);
    return data ? hashBytes(data) : this.workspace.index.entry(id)?.hash;
  }

  /** Write a file's current content now, or once its blob arrives (PendingContent decides). */
  write(rel: string): Promise<void> {
    // PendingContent counts a write it starts from within this call: the file is counted by one
    // of the two throughout (it waits for its blob, or needs no write, otherwise).
    const writing = this.halted ? Promise.resolve() : this.writeBack.pendingContent.write(rel);
    this.due.delete(rel);
    return writing;
  }

  /**
   * Write the session's files at `paths` several at a time (PendingContent.writeMany, through
   * `write`), each failure logged as a step of a peer's change.
   */
  private writeMany(paths: readonly string[], progress?: (done: number, rel: string) => void): Promise<void> {
    return this.writeBack.pendingContent.writeMany(paths, (rel) => `writing ${rel} (a peer's change)`, (rel) => this.write(rel), progress);
  }

  /**
   * Write every file of the index that is missing or different on disk (after joining), several
   * at a time as a peer's change is (decision 180): one at a time, each write waited behind the
   * watcher's re-read of its folder that the write before set off. `progress` gets the files
   * done, the index's file count and the bytes of the files done.
   */
  async materializeAll(progress?: (done: number, total: number, bytes: number) => void): Promise<void> {
    const entries = this.workspace.index.entries();
    const sizes = new Map(entries.map(([, e]) => [e.path, e.size]));
    let bytes = 0;
    await this.writeMany(
      entries.map(([, e]) => e.path),
      (done, rel) => {
        bytes += sizes.get(rel) ?? 0;
        progress?.(done, entries.length, bytes);
      },
    );
  }

  /** How many files still wait for their blob (see PendingContent.waiting). */
  pendingBlobs(): number {
    return this.writeBack.pendingContent.waiting();
  }

  /** The paths of the files that wait for their blob, sorted. */
  pendingPaths(): string[] {
    return this.writeBack.pendingContent.waitingPaths();
  }

  /** Remove the empty folders a file's move or removal left (`dir`, project-relative), up to the first shared folder. */
  private async pruneEmptyDirs(dir: string): Promise<void> {
    // A shared folder stays, empty or not: a peer that still has it shares it.
    await this.folder.pruneEmptyDirs(dir, (d) => this.workspace.index.hasDir(d));
  }
}
