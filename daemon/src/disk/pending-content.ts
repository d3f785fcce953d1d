/** What is said, once, when a peer's version of a path this folder keeps to itself is not written over this folder's own. */
export function keptHereMessage(path: string, why: string): string {
  return `not writing ${path} here: a peer shares it, but this folder keeps it to itself (${why}) and has its own ${path}, which stays as it is (the peer's version is not written over it)`;
}

/**
 * What is said, once, when a file of this folder stands where the session's version of `path` would
 * be written, and is left as it is. `why`: `changed` — it was made or changed in the folder while the
 * shared content was on the way, so it is taken in like any edit; `notShared` — this folder's
 * version is not shared (over the size limit; the log said so when it was seen), so it stays as the
 * folder has it and the session's version waits until the person moves it aside.
 */
export function leftAsFolderHasIt(path: string, why: 'changed' | 'notShared'): string {
  return why === 'changed'
    ? `left ${path} as the folder has it: it was made or changed there while its shared content was on the way; the folder's version is taken in like any edit`
    : `left ${path} as the folder has it: this folder's version is not shared (the log said why) and the session's version is not written over it; move yours aside to get the session's`;
}

/**
 * The one place that decides "write this file of the index into the folder now, or wait for its
 * content" (issue 13, decision 110). A file's content is its live text or its blob; a blob a peer
 * has not sent yet makes the file wait here, by file id, until it arrives. Both callers use it:
 * FolderSync for files the folder lacks when the daemon takes its folder in (after a restart or a
 * crash), the Materializer for files peers created or changed. So there is one waiting list, one
 * listener for arriving blobs, one rule for what happened meanwhile, and one refusal message.
 *
 * The rule, checked when a blob arrives (and by `waiting`):
 * - the file was deleted meanwhile: it no longer waits;
 * - it was renamed meanwhile: it is written at its new path (the wait is the file's, not a path's);
 * - its text became live meanwhile (an editor opened it, here or on a peer): it no longer waits,
 *   the write-back writes a live file's text whenever it changes;
 * - its content changed meanwhile to another blob that is not here either: it waits for that one;
 * - a file appeared at its path, or the one there changed, meanwhile, and it is not what the
 *   daemon last wrote or took in there: it is someone's work; it is left as it is, and the
 *   watcher takes it in like any other edit (so nothing the person made is overwritten).
 * Every write goes through WriteBack.writeNow, hence through the folder's one writer and its path
 * check (decision 091).
 */
import fs from 'node:fs';
import type { Project } from '../project.js';
import { hashBytes } from '../workspace/blob-store.js';
import type { Workspace } from '../workspace/workspace.js';
import { lstatNow, MAX_SHARED_FILE } from './files.js';
import { inWords, WriteRefused } from './folder-writer.js';
import type { WriteBack } from './write-back.js';

/**
 * How many of the session's files `writeMany` writes at once: enough that one watcher re-read of
 * their folder is shared by many writes, few enough to keep open files and the disk's queue
 * bounded (decisions 177, 180). 32 (177) made a restarted daemon's catch-up of 5,000 files 2–3
 * times slower than writing them all at once, and left a join as slow as before; 256 took a
 * third off a join's CPU and brought the catch-up close to all at once (decision 180).
 */
export const WRITES_AT_ONCE = 256;
const nextTurn = () => new Promise<void>((resolve) => setImmediate(resolve));

export class PendingContent {
  /** Files waiting for a blob: file id → the hash they wait for. */
  private readonly waits = new Map<string, string>();
  /** The same, by hash: the files a blob's arrival writes. */
  private readonly byHash = new Map<string, Set<string>>();
  /** Refusals already logged (path and reason), so each is logged once, not at every change. */
  private readonly logged = new Set<string>();
  /**
   * Writes under way (`chorus status`'s "writing N files", decision 179): path → how many of its
   * writes are in progress; and the files (ids) whose blob arrived and are still being settled
   * (`arrived`, before their write starts). Kept as writes start and end, never a scan.
   */
  private readonly inFlight = new Map<string, number>();
  private readonly settling = new Set<string>();
  /** Set when the daemon stops: no more peer content is written (see Materializer.halt). */
  private halted = false;

  halt(): void {
    this.halted = true;
  }

  constructor(
    private readonly project: Project,
    private readonly workspace: Workspace,
    private readonly writeBack: WriteBack,
    private readonly log: (msg: string) => void,
  ) {
    // Every blob that lands in the store, from any peer or route: the one listener.
    workspace.blobs.on('put', (hash) => {
      this.arrived(hash).catch((e: unknown) => this.log(`writing files whose content arrived failed: ${inWords(e)}`));
    });
  }

  /**
   * Does the folder's writer refuse `rel` (outside the project, inside `.git/` or `.chorus/`,
   * through or onto a symbolic link)? Logs the writer's reason once per path and reason; nothing
   * is read or written for such a path. The one refusal message for writes a peer's or the
   * index's path asks for.
   */
  refused(rel: string): boolean {
    const why = this.writeBack.folder.refusal(rel);
    if (why === undefined) return false;
    this.logRefusal(why);
    return true;
  }

  /**
   * Log why a write was refused (the path check's or the file system's reason, which names the
   * path), once: a live file whose name the folder refuses is written back at every pause in typing.
   */
  /**
   * Log, once, why one path's step failed: a refusal in its own words (it names the path), any
   * other error as "`what` failed: …" in words. Used where one path's failure must not stop the
   * others (a peer's change, the files a folder lacks).
   */
  logFailure(what: string, err: unknown): void {
    this.logRefusal(err instanceof WriteRefused ? err.message : `${what} failed: ${inWords(err)}`);
  }

  logRefusal(why: string): void {
    if (this.logged.has(why)) return;
    if (this.logged.size >= 10_000) this.logged.clear(); // a bound, not a history: at worst a line again
    this.logged.add(why);
    this.log(why);
  }

  /**
   * Write the file of the index at `rel` into the folder now if its content is here, else once its
   * blob arrives. Nothing for a path the index does not have or the writer refuses.
   */
  async write(rel: string): Promise<void> {
    if (this.halted || this.refused(rel)) return;
    const id = this.workspace.index.idOf(rel);
    if (!id) return;
    const data = this.workspace.content(id);
    if (!data) {
      this.wait(id, this.workspace.index.entry(id)!.hash);
      return;
    }
    this.unwait(id);
    // Counted from here, in the same turn as the call: a caller that counted the file as due
    // (Materializer) stops counting it when this returns its promise, so it is never uncounted.
    this.inFlight.set(rel, (this.inFlight.get(rel) ?? 0) + 1);
    try {
      await this.writeBack.writeNow(rel, data, { wanted: () => !this.halted });
    } finally {
      const n = this.inFlight.get(rel) ?? 1;
      if (n > 1) this.inFlight.set(rel, n - 1);
      else this.inFlight.delete(rel);
    }
  }

  /**
   * The files being written now (their content here, the write started or about to), as project
   * paths; a file settling under an id the index no longer names is left out.
   */
  *writing(): Iterable<string> {
    yield* this.inFlight.keys();
    for (const id of this.settling) {
      const rel = this.workspace.pathOf(id);
      if (rel !== undefined) yield rel;
    }
  }

  /**
   * Write many files of the index (`paths`, project paths) into the folder, each now or once its
   * blob arrives (as `write`), WRITES_AT_ONCE at a time: every write landing in a folder makes the
   * watcher (chokidar) read that whole folder again, and the next write's disk calls wait behind
   * that read's. One at a time, a folder of thousands of files got one file per re-read (a quarter
   * second of CPU each in a user trial, decision 177); a batch shares each re-read. The one place
   * that writes the session's files in bulk (decision 180): a peer's change (Materializer.apply),
   * a join's first write of the whole session (Materializer.materializeAll), the files the folder
   * lacks when a restarted daemon takes it in (FolderSync).
   *
   * Each path is written by its own chain (WriteBack serialises writes of one path, so two writes
   * of a file still wait for each other, and every write keeps the single writer's checks). A
   * path's failure is logged once, in words (`what` names the step for a path), and the others go on.
   * `write`: the step for one path (default: `write`; the Materializer passes its own, which stops
   * once the daemon stops). `progress`: called after each path with how many are done. Resolves
   * once every path was written or waits for its blob; stops early once the daemon stops (`halt`).
   */
  async writeMany(
    paths: readonly string[],
    what: (rel: string) => string,
    write: (rel: string) => Promise<void> = (rel) => this.write(rel),
    progress?: (done: number, rel: string) => void,
  ): Promise<void> {
    let done = 0;
    for (let i = 0; i < paths.length && !this.halted; i += WRITES_AT_ONCE) {
      await Promise.all(
        paths.slice(i, i + WRITES_AT_ONCE).map(async (rel) => {
          try {
            await write(rel);
          } catch (err) {
            this.logFailure(what(rel), err);
          }
          progress?.(++done, rel);
        }),
      );
      // A turn of the event loop between batches: keystrokes and peers are served meanwhile.
      await nextTurn();
    }
  }

  /**
   * How many files still wait for their blob (a join waits for none to be left). Files the rule
   * says no longer wait (deleted, or live) are dropped first.
   */
  waiting(): number {
    for (const id of [...this.waits.keys()]) if (!this.stillWaits(id)) this.unwait(id);
    return this.waits.size;
  }

  /** The paths of the files waiting now (after the rule), sorted; for messages. */
  waitingPaths(): string[] {
    this.waiting();
    return [...this.waits.keys()].map((id) => this.workspace.pathOf(id) ?? id).sort();
  }

  /** Is the file `id` waiting for a blob now (after the rule)? For tests and diagnostics. */
  isWaiting(id: string): boolean {
    return this.waits.has(id) && this.stillWaits(id);
  }

  /** Deleted meanwhile, or live meanwhile: no longer waiting (see the file header). */
  private stillWaits(id: string): boolean {
    return this.workspace.index.entry(id) !== undefined && !this.workspace.isLive(id);
  }

  private wait(id: string, hash: string): void {
    if (this.waits.get(id) === hash) return;
    this.unwait(id);
    this.waits.set(id, hash);
    this.byHash.set(hash, (this.byHash.get(hash) ?? new Set()).add(id));
  }

  private unwait(id: string): void {
    const hash = this.waits.get(id);
    if (hash === undefined) return;
    this.waits.delete(id);
    const ids = this.byHash.get(hash);
    ids?.delete(id);
    if (ids?.size === 0) this.byHash.delete(hash);
  }

  /** A blob arrived: settle every file waiting for it, by the rule in the file header. */
  private async arrived(hash: string): Promise<void> {
    if (this.halted) return;
    const ids = this.byHash.get(hash);
    if (!ids) return;
    // Each file is counted from the blob's arrival until its write starts (`inFlight` counts it
    // from there, in the same turn) or it turns out to need none.
    const settle = [...ids];
    for (const id of settle) this.settling.add(id);
    for (const id of settle) {
      const started = () => void this.settling.delete(id);
      try {
        this.unwait(id);
        if (!this.stillWaits(id)) continue;
        const rel = this.workspace.pathOf(id)!; // its path now: a rename meanwhile is followed
        if (this.refused(rel)) continue;
        const theirs = await this.someoneElses(rel);
        // A read-only member's own file where the session now has one (made here, then a writer
        // made the same path): it can never be taken in, so "taken in like any edit" was untrue and
        // the folder kept it silently while editors opened the session's version. As for its edit
        // of a shared file (WriteBack.writeNow), a copy is kept in .chorus/kept and logged, and the
        // session's version is written (decision 177).
        const roOwnFile = theirs === true && this.workspace.readOnly && this.writeBack.keptHere(rel) === undefined && lstatNow(this.project.absolute(rel))?.isFile() === true;
        if (theirs && !roOwnFile) {
          const kept = this.writeBack.keptHere(rel);
          if (kept !== undefined) {
            this.logRefusal(keptHereMessage(rel, kept));
            continue;
          }
          // A file over the size limit is never taken in, so "taken in like any edit" would be
          // untrue for it (a user trial read that line for a 50 MB file).
          this.log(leftAsFolderHasIt(rel, theirs === 'notShared' ? 'notShared' : 'changed'));
          continue;
        }
        const writing = this.write(rel); // its content now (or a wait for its newer blob)
        started();
        await writing;
      } finally {
        started();
      }
    }
  }

  /**
   * Is there a file at `rel` that the daemon neither wrote nor took in as it is now (made or
   * changed by a person or a tool)? A folder there counts too: it is not the daemon's to replace.
   * `'notShared'`: yes, and it is over the size limit for shared files, so it is never taken in.
   */
  private async someoneElses(rel: string): Promise<boolean | 'notShared'> {
    const abs = this.project.absolute(rel);
    const st = await fs.promises.lstat(abs).catch(() => undefined);
    if (!st) return false;
    if (!st.isFile()) return true;
    if (this.writeBack.untouchedSinceOwnWrite(rel, st)) return false;
    if (st.size > MAX_SHARED_FILE) return 'notShared';
    const now = await fs.promises.readFile(abs).then(hashBytes, () => undefined);
    return now !== undefined && !this.writeBack.isOwn(rel, now);
  }
}
