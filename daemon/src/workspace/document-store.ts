/**
 * The store contract (issue 13, decision 090): where a peer's documents persist — the file index,
 * each live file's text document and the extension data — whatever the platform. The daemon's
 * store is `Storage` (storage.ts, files in `.chorus/state/`); `MemoryStore` (memory-store.ts)
 * serves unit tests and a page until its IndexedDB store exists. Every store passes the one
 * acceptance suite, test/workspace/store-acceptance.ts.
 *
 * A document is saved as a snapshot (`A.save`) plus the raw changes appended since, in order,
 * and the edit marks of decision 055 (an editor's id for an edit, saved with its change).
 *
 * Durability (decision 004): the contract is synchronous, so the CRDT code never awaits storage
 * on the keystroke path. What `append` returning guarantees differs per platform and is stated
 * by `durableOnAppend`:
 *  - true (Storage): the bytes are with the operating system when `append` returns, so a crash
 *    of the process (SIGKILL) loses nothing; `flush()` resolves once they survive power loss.
 *  - false (a page's IndexedDB store; MemoryStore): `append` keeps the change in memory and
 *    persists it in the background; only when `flush()` resolves is everything appended before
 *    the call durable. Whoever acknowledges an edit awaits `flush()` first.
 *
 * This module is platform-neutral (decision 065): no Node built-in.
 */
import * as A from '@automerge/automerge/next';
import { decodeVerified } from '../sync/change-check.js';
import { unref, type Timer } from '../timers.js';
import { StorageFailed, asStorageFailed, describeRefusal } from './storage-failed.js';

export { StorageFailed, asStorageFailed, describeRefusal } from './storage-failed.js';

/** Saved state that would not load: it is never written over good state. */
export class UnloadableState extends Error {}

/** A document's saved state: its snapshot (if any) and the raw changes appended after it. */
export interface SavedState {
  snapshot?: Uint8Array;
  changes: Uint8Array[];
}

/**
 * Where documents persist. Document ids are `[A-Za-z0-9_-]+` (anything else throws a plain
 * Error: a bug, never a peer's input, since callers check ids first). Every method is
 * synchronous except `flush`; see the module comment for what is durable when.
 */
export interface DocumentStore {
  /**
   * Does `append` returning mean the change survives a crash of this process (true), or only
   * once `flush()` resolves (false)?
   */
  readonly durableOnAppend: boolean;

  /**
   * Build a document from its saved state, never refusing to start (issue 10, item 3): when
   * `build` throws on the saved state, the store tries its snapshot with only the log's valid
   * changes, the snapshot before the last one, the log alone, then nothing (peers bring the rest
   * back at the next sync); the first that builds wins, the damaged state is set aside (kept
   * where a person can inspect it, never written over) and a notice says so. Throws what `build`
   * threw only when even an empty document fails to build.
   */
  open<T>(id: string, build: (snapshot: Uint8Array | undefined, changes: Uint8Array[]) => T): T;

  /**
   * Did `open` build this document from less than its whole saved state (it fell back to an
   * older or partial one, or to nothing)? Then what was done against the lost part, such as the
   * folder's ledger of files the daemon wrote, no longer matches the document.
   */
  recovered(id: string): boolean;

  /** The saved snapshot (if any) and the changes appended after it; a torn last record is ignored. */
  load(id: string): SavedState;

  /** Is anything saved for this document? */
  has(id: string): boolean;

  /** Ids of every document with saved state. */
  ids(): string[];

  /**
   * Append raw changes to the document, after any that wait for space (see `defer`), with
   * `mark` (an editor's id for the edit that made them, decision 055) saved with them: a mark
   * that is saved means its changes are. Returns true when the document should be compacted
   * (`snapshot`). Throws StorageFailed when the platform refuses, keeping nothing of this call.
   */
  append(id: string, changes: Uint8Array[], mark?: string): boolean;

  /**
   * Keep changes the platform refused (they are in the shared state already): they are written
   * before anything newer for the document, retried every second until the platform takes them,
   * and at `close`.
   */
  defer(id: string, changes: Uint8Array[]): void;

  /** How many documents have changes waiting for space. */
  readonly waitingForSpace: number;

  /** Was an edit with this mark saved for this document (among its newest MARKS_KEPT marks)? */
  hasMark(id: string, mark: string): boolean;

  /** How many changes this store object appended to the document since its last snapshot (0 for one only loaded). */
  unsnapshotted(id: string): number;

  /**
   * Replace the document's saved state by `bytes` (an `A.save`) and an empty log. The snapshot
   * must load first, else UnloadableState and the saved state stays; the one replaced is kept as
   * the "snapshot before the last" that `open` falls back to. Edit marks survive it.
   */
  snapshot(id: string, bytes: Uint8Array): void;

  /** Forget the document: snapshot, previous snapshot, changes and marks. */
  remove(id: string): void;

  /** Resolves once everything appended before the call is durable (power loss included where the platform can). */
  flush(): Promise<void>;

  /** Write what waits for space (a notice for what still cannot be), make everything durable, release resources. */
  close(): void;
}

/** Changes appended since the last snapshot after which a store asks for compaction. */
export const COMPACT_AFTER = 20000;
/** Edit marks kept per document (the newest): an editor has at most a few edits unanswered. */
export const MARKS_KEPT = 256;
/** How often changes waiting for space are written again. */
const RETRY_MS = 1000;

/** Throws unless `id` may name a document (it becomes a file name in some stores). */
export function checkDocId(id: string): void {
  if (!/^[A-Za-z0-9_-]+$/.test(id)) throw new Error(`invalid document id ${JSON.stringify(id)}`);
}

/**
 * What every store shares, so the contract's behaviour (recovery on open, the order of changes
 * waiting for space, edit marks across compaction, the snapshot check) is written once. A store
 * supplies the platform's primitives below; each throws the platform's error when refused.
 */
export abstract class BaseDocumentStore implements DocumentStore {
  abstract readonly durableOnAppend: boolean;
  /**
   * Changes accepted (in memory, delivered to peers) that the platform refused, per document:
   * written first, before anything newer, so the saved log never holds a change without what it
   * depends on (issue 10, item 11).
   */
  private backlog = new Map<string, Uint8Array[]>();
  private retryTimer: Timer | undefined;
  /** The newest edit marks per document, oldest first (from the saved log, and since). */
  private marks = new Map<string, string[]>();
  /** Changes appended per document since it was last snapshotted (by this store object). */
  private counts = new Map<string, number>();
  /** Documents `open` built from a fallback (see `recovered`). */
  private fellBack = new Set<string>();

  constructor(
    /** Where a person learns what the store did about a problem (the daemon log). */
    protected readonly notice: (msg: string) => void = () => undefined,
    /** Where damaged state is kept, for the notice ("in /path/.chorus/state", "in this browser"). */
    private readonly where = 'the store',
  ) {}

  // ---- the platform's primitives -----------------------------------------------------------

  /** The saved snapshot, the changes and the marks after it, in order (a torn tail ignored). */
  protected abstract read(id: string): { snapshot?: Uint8Array; changes: Uint8Array[]; marks: string[] };
  /** The snapshot the current one replaced, if kept. */
  protected abstract readPrevious(id: string): Uint8Array | undefined;
  /** Append changes then marks, all or nothing (a refused write leaves the log as it was). */
  protected abstract writeLog(id: string, changes: Uint8Array[], marks: string[]): void;
  /** Make `bytes` the snapshot (the old one becomes the previous) and empty the log. */
  protected abstract writeSnapshot(id: string, bytes: Uint8Array): void;
  /** Keep the current saved state aside as damaged, so the next save starts clean. */
  protected abstract setAside(id: string): void;
  /** Delete everything saved for the document. */
  protected abstract erase(id: string): void;
  abstract has(id: string): boolean;
  abstract ids(): string[];
  abstract flush(): Promise<void>;
  /** Release the platform's resources (after the backlog was written and flushed). */
  protected abstract release(): void;

  // ---- the contract ------------------------------------------------------------------------

  open<T>(id: string, build: (snapshot: Uint8Array | undefined, changes: Uint8Array[]) => T): T {
    const saved = this.load(id);
    try {
      return build(saved.snapshot, saved.changes);
    } catch (first) {
      const valid = saved.changes.filter((c) => {
        try {
          decodeVerified(c);
          return true;
        } catch {
          return false;
        }
      });
      const prev = this.readPrevious(id);
      const tries: Array<[string, Uint8Array | undefined, Uint8Array[]]> = [
        ['its snapshot and the valid part of its log', saved.snapshot, valid],
        ...(prev ? [['the snapshot before the last and its log', prev, valid] as [string, Uint8Array, Uint8Array[]]] : []),
        ['its log alone', undefined, valid],
        ['nothing (peers bring it back)', undefined, []],
      ];
      const why = (first as Error).message.split('\n')[0];
      for (const [how, snap, changes] of tries) {
        try {
          const doc = build(snap, changes);
          this.fellBack.add(id);
          this.setAside(id);
          this.counts.delete(id);
          this.saveRecovered(id, snap, changes);
          this.notice(`saved state of ${id} did not load (${why}); started from ${how}; the damaged state is kept ${this.where} as ${id}.*.damaged-*`);
          return doc;
        } catch {
          // try the next older state
        }
      }
      throw first;
    }
  }

  /**
   * Save again what a recovered document was built from, so a restart before its next snapshot
   * finds it (the damaged state was set aside whole). Best effort: peers hold it too.
   */
  private saveRecovered(id: string, snapshot: Uint8Array | undefined, changes: Uint8Array[]): void {
    try {
      if (snapshot) this.writeSnapshot(id, snapshot);
      const marks = this.marks.get(id) ?? [];
      if (changes.length || marks.length) this.writeLog(id, changes, marks);
    } catch {
      // the document is in memory and saved at its next snapshot; peers bring it back otherwise
    }
  }

  recovered(id: string): boolean {
    return this.fellBack.has(id);
  }

  /**
   * `id`'s saved state lost changes it had, though what is left loads (a log cut short: a torn
   * tail, decision 217, or a cut made by hand): it counts as `recovered`, since its own lost
   * changes may be at peers, and new ones must not reuse their numbers.
   */
  protected lostPart(id: string): void {
    this.fellBack.add(id);
  }

  load(id: string): SavedState {
    checkDocId(id);
    const { snapshot, changes, marks } = this.read(id);
    if (marks.length) this.marks.set(id, marks.slice(-MARKS_KEPT));
    return snapshot ? { snapshot, changes } : { changes };
  }

  append(id: string, changes: Uint8Array[], mark?: string): boolean {
    checkDocId(id);
    const waiting = this.backlog.get(id);
    const all = waiting ? [...waiting, ...changes] : changes;
    if (all.length === 0 && mark === undefined) return false;
    try {
      this.writeLog(id, all, mark === undefined ? [] : [mark]);
    } catch (e) {
      throw asStorageFailed(e);
    }
    this.backlog.delete(id);
    if (mark !== undefined) this.remember(id, mark);
    const count = (this.counts.get(id) ?? 0) + all.length;
    this.counts.set(id, count);
    return count >= COMPACT_AFTER;
  }

  defer(id: string, changes: Uint8Array[]): void {
    checkDocId(id);
    this.backlog.set(id, [...(this.backlog.get(id) ?? []), ...changes]);
    this.retryTimer ??= unref(
      setInterval(() => {
        for (const doc of [...this.backlog.keys()]) {
          try {
            this.append(doc, []);
            this.notice(`saved the changes of ${doc} that waited for disk space`);
          } catch {
            // still no space: try again later
          }
        }
        if (this.backlog.size === 0) {
          clearInterval(this.retryTimer);
          this.retryTimer = undefined;
        }
      }, RETRY_MS),
    );
  }

  get waitingForSpace(): number {
    return this.backlog.size;
  }

  hasMark(id: string, mark: string): boolean {
    return this.marks.get(id)?.includes(mark) ?? false;
  }

  unsnapshotted(id: string): number {
    return this.counts.get(id) ?? 0;
  }

  /** On the keystroke path: appends in place, dropping the oldest beyond MARKS_KEPT. */
  private remember(id: string, mark: string): void {
    let kept = this.marks.get(id);
    if (!kept) this.marks.set(id, (kept = []));
    kept.push(mark);
    if (kept.length > MARKS_KEPT) kept.splice(0, kept.length - MARKS_KEPT);
  }

  snapshot(id: string, bytes: Uint8Array): void {
    checkDocId(id);
    try {
      A.free(A.load(bytes));
    } catch (e) {
      throw new UnloadableState(`refused to save ${id}: the new state does not load (${(e as Error).message.split('\n')[0]}); the saved state is kept`);
    }
    try {
      this.writeSnapshot(id, bytes);
    } catch (e) {
      throw asStorageFailed(e);
    }
    this.counts.delete(id);
    // The marks outlive the log they were in: an editor may still ask about them.
    const marks = this.marks.get(id);
    if (marks?.length) {
      try {
        this.writeLog(id, [], marks);
      } catch {
        // lost marks only mean an unanswered edit may be merged twice after a crash
      }
    }
  }

  remove(id: string): void {
    checkDocId(id);
    this.marks.delete(id);
    this.backlog.delete(id);
    this.counts.delete(id);
    this.erase(id);
  }

  close(): void {
    clearInterval(this.retryTimer);
    this.retryTimer = undefined;
    for (const doc of [...this.backlog.keys()]) {
      try {
        this.append(doc, []);
      } catch {
        this.notice(`could not save the latest changes of ${doc}: the disk is still refusing writes; peers hold them and bring them back at the next sync`);
      }
    }
    void this.flush().catch(() => undefined);
    this.release();
  }
}
