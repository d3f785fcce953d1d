/**
 * Durable state in `<project>/.chorus/state/`: per document a snapshot (`<id>.snap`, written
 * atomically) and an append-only log of raw changes made since (`<id>.log`, length-prefixed).
 * A change is appended with a synchronous write before the edit is acknowledged, so a SIGKILL
 * never loses an acknowledged edit; fsync runs in batches for power loss, in the thread pool so
 * the main thread goes on serving keystrokes meanwhile.
 *
 * The log also holds edit marks: the id an editor gave an edit (`buffer/edit` `id`), written in
 * the same write as the change it made, so that after a crash the editor can learn whether an
 * edit it never got an answer for was applied (`buffer/open` `pending`). A mark record's length
 * word has its top bit set; a change is never 2 GiB.
 */
import fs from 'node:fs';
import path from 'node:path';
import * as A from '@automerge/automerge/next';
import { decodeVerified } from '../sync/change-check.js';

const COMPACT_AFTER = 20000;
/** Top bit of a log record's length word: the record is an edit mark, not a change. */
const MARK_BIT = 0x8000_0000;
/** Edit marks kept per document (the newest): an editor has at most a few edits unanswered. */
const MARKS_KEPT = 256;

/** Saved state that would not load: it is never written over good state. */
export class UnloadableState extends Error {}

/** The disk refused a write (full, quota, read-only): nothing of it was kept. */
export class StorageFailed extends Error {
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

/** How often changes waiting for disk space are written again. */
const RETRY_MS = 1000;

export class Storage {
  private logs = new Map<string, { fd: number; count: number }>();
  private dirty = new Set<number>();
  private syncTimer: NodeJS.Timeout | undefined;
  /**
   * Changes accepted (in memory, delivered to peers) that the disk refused, per document: they
   * are written first, before anything newer, so the log never holds a change without what it
   * depends on (issue 10, item 11).
   */
  private backlog = new Map<string, Uint8Array[]>();
  private retryTimer: NodeJS.Timeout | undefined;
  /** The newest edit marks per document, oldest first (from the log, and since). */
  private marks = new Map<string, string[]>();

  constructor(
    private readonly dir: string,
    /** Where a person learns that damaged saved state was set aside (the daemon log). */
    private readonly notice: (msg: string) => void = () => undefined,
  ) {
    fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
  }

  /**
   * Build a document from its saved state, never refusing to start (issue 10, item 3): if the
   * snapshot does not load, it is set aside (`.damaged-<time>`, kept for a person to inspect)
   * and the last good snapshot before it plus the log is used, then the log alone, then nothing
   * — peers bring back the rest at the next sync. Log records that are not valid changes are
   * skipped.
   */
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
      const prevFile = this.file(id, 'snap') + '.prev';
      const prev = fs.existsSync(prevFile) ? new Uint8Array(fs.readFileSync(prevFile)) : undefined;
      const tries: Array<[string, Uint8Array | undefined, Uint8Array[]]> = [
        ['its snapshot and the valid part of its log', saved.snapshot, valid],
        ['the snapshot before the last and its log', prev, valid],
        ['its log alone', undefined, valid],
        ['nothing (peers bring it back)', undefined, []],
      ];
      const why = (first as Error).message.split('\n')[0];
      for (const [how, snap, changes] of tries) {
        if (how.startsWith('the snapshot before') && !snap) continue;
        try {
          const doc = build(snap, changes);
          this.setAside(id);
          this.notice(`saved state of ${id} did not load (${why}); started from ${how}; the damaged files are kept in ${this.dir} as ${id}.*.damaged-*`);
          return doc;
        } catch {
          // try the next older state
        }
      }
      throw first;
    }
  }

  /** Move a document's current files aside (damaged), so the next save starts clean. */
  private setAside(id: string): void {
    const stamp = new Date().toISOString().replace(/[:.]/g, '-');
    const log = this.logs.get(id);
    if (log) {
      fs.closeSync(log.fd);
      this.dirty.delete(log.fd);
      this.logs.delete(id);
    }
    for (const ext of ['snap', 'log']) {
      const f = this.file(id, ext);
      if (fs.existsSync(f)) fs.renameSync(f, `${f}.damaged-${stamp}`);
    }
  }

  private file(id: string, ext: string): string {
    if (!/^[A-Za-z0-9_-]+$/.test(id)) throw new Error(`invalid document id ${JSON.stringify(id)}`);
    return path.join(this.dir, `${id}.${ext}`);
  }

  has(id: string): boolean {
    return fs.existsSync(this.file(id, 'snap')) || fs.existsSync(this.file(id, 'log'));
  }

  ids(): string[] {
    const ids = new Set<string>();
    for (const f of fs.readdirSync(this.dir)) {
      const m = /^([A-Za-z0-9_-]+)\.(snap|log)$/.exec(f);
      if (m?.[1]) ids.add(m[1]);
    }
    return [...ids];
  }

  /** The snapshot (if any) and the changes logged after it. A torn final record is ignored. */
  load(id: string): { snapshot?: Uint8Array; changes: Uint8Array[] } {
    const snapFile = this.file(id, 'snap');
    const snapshot = fs.existsSync(snapFile) ? new Uint8Array(fs.readFileSync(snapFile)) : undefined;
    const changes: Uint8Array[] = [];
    const logFile = this.file(id, 'log');
    if (fs.existsSync(logFile)) {
      const buf = fs.readFileSync(logFile);
      let off = 0;
      const marks: string[] = [];
      while (off + 4 <= buf.length) {
        const word = buf.readUInt32BE(off);
        const len = word & ~MARK_BIT;
        if (off + 4 + len > buf.length) break;
        if (word & MARK_BIT) marks.push(buf.toString('utf8', off + 4, off + 4 + len));
        else changes.push(new Uint8Array(buf.subarray(off + 4, off + 4 + len)));
        off += 4 + len;
      }
      if (marks.length) this.marks.set(id, marks.slice(-MARKS_KEPT));
    }
    return snapshot ? { snapshot, changes } : { changes };
  }

  /**
   * Append raw changes to the document's log (after any that wait for space), with `mark` (an
   * editor's id for the edit that made them) in the same write. Returns true when it is time to
   * compact. Throws StorageFailed, leaving the log as it was.
   */
  append(id: string, changes: Uint8Array[], mark?: string): boolean {
    const waiting = this.backlog.get(id);
    const all = waiting ? [...waiting, ...changes] : changes;
    try {
      const compact = this.write(id, all, mark === undefined ? [] : [mark]);
      this.backlog.delete(id);
      if (mark !== undefined) this.remember(id, [mark]);
      return compact;
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code ?? 'EIO';
      throw new StorageFailed(code, `the disk refused to save it (${code === 'ENOSPC' ? 'the disk is full' : code === 'EDQUOT' ? 'over the disk quota' : code})`);
    }
  }

  /** Keep changes the disk refused, to write before anything newer once it takes them again. */
  defer(id: string, changes: Uint8Array[]): void {
    this.backlog.set(id, [...(this.backlog.get(id) ?? []), ...changes]);
    this.retryTimer ??= setInterval(() => {
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
    }, RETRY_MS);
    this.retryTimer.unref();
  }

  /** Was an edit with this mark saved for this document (since its newest MARKS_KEPT marks)? */
  hasMark(id: string, mark: string): boolean {
    return this.marks.get(id)?.includes(mark) ?? false;
  }

  /** On the keystroke path: appends in place, dropping the oldest beyond MARKS_KEPT. */
  private remember(id: string, marks: string[]): void {
    let kept = this.marks.get(id);
    if (!kept) this.marks.set(id, (kept = []));
    kept.push(...marks);
    if (kept.length > MARKS_KEPT) kept.splice(0, kept.length - MARKS_KEPT);
  }

  /** Documents with changes still waiting for disk space. */
  get waitingForSpace(): number {
    return this.backlog.size;
  }

  private write(id: string, changes: Uint8Array[], marks: string[] = []): boolean {
    let log = this.logs.get(id);
    if (!log) {
      log = { fd: fs.openSync(this.file(id, 'log'), 'a', 0o600), count: 0 };
      this.logs.set(id, log);
    }
    if (changes.length === 0 && marks.length === 0) return false;
    const parts: Buffer[] = [];
    for (const c of changes) {
      const head = Buffer.alloc(4);
      head.writeUInt32BE(c.length);
      parts.push(head, Buffer.from(c.buffer, c.byteOffset, c.byteLength));
    }
    // After the changes: a mark on disk means its edit is too.
    for (const m of marks) {
      const body = Buffer.from(m, 'utf8');
      const head = Buffer.alloc(4);
      head.writeUInt32BE((MARK_BIT | body.length) >>> 0);
      parts.push(head, body);
    }
    const size = fs.fstatSync(log.fd).size;
    try {
      fs.writeSync(log.fd, Buffer.concat(parts));
    } catch (e) {
      // A partial record would misframe every later one: cut the log back to where it was.
      try {
        fs.ftruncateSync(log.fd, size);
      } catch {
        // the torn tail is ignored on load (a torn final record)
      }
      throw e;
    }
    log.count += changes.length;
    this.dirty.add(log.fd);
    this.syncTimer ??= setTimeout(() => this.syncBatch(), 200);
    return log.count >= COMPACT_AFTER;
  }

  /**
   * Replace the document's state with a snapshot and an empty log. The snapshot must load first
   * (else UnloadableState, and the good state stays); the one it replaces is kept as `.prev`.
   */
  snapshot(id: string, bytes: Uint8Array): void {
    try {
      A.free(A.load(bytes));
    } catch (e) {
      throw new UnloadableState(`refused to save ${id}: the new state does not load (${(e as Error).message.split('\n')[0]}); the saved state is kept`);
    }
    const target = this.file(id, 'snap');
    const tmp = `${target}.tmp-${process.pid}`;
    const fd = fs.openSync(tmp, 'w', 0o600);
    try {
      fs.writeSync(fd, bytes);
      fs.fsyncSync(fd);
    } catch (e) {
      fs.closeSync(fd);
      fs.rmSync(tmp, { force: true });
      throw e;
    }
    fs.closeSync(fd);
    if (fs.existsSync(target)) fs.renameSync(target, `${target}.prev`);
    fs.renameSync(tmp, target);
    const log = this.logs.get(id);
    if (log) {
      fs.closeSync(log.fd);
      this.dirty.delete(log.fd);
      this.logs.delete(id);
    }
    fs.rmSync(this.file(id, 'log'), { force: true });
    // The marks outlive the log they were in: an editor may still ask about them.
    const marks = this.marks.get(id);
    if (marks?.length) {
      try {
        this.write(id, [], marks);
      } catch {
        // lost marks only mean an unanswered edit may be merged twice after a crash
      }
    }
  }

  remove(id: string): void {
    this.marks.delete(id);
    const log = this.logs.get(id);
    if (log) fs.closeSync(log.fd);
    this.logs.delete(id);
    fs.rmSync(this.file(id, 'snap'), { force: true });
    fs.rmSync(this.file(id, 'snap') + '.prev', { force: true });
    fs.rmSync(this.file(id, 'log'), { force: true });
  }

  /**
   * fsync the logs written since the last batch without blocking (the thread pool does it). A log
   * closed meanwhile had its snapshot fsynced; an fsync that fails here is retried by nothing,
   * like a failed batch before: the bytes are with the OS, which a SIGKILL does not lose.
   */
  private syncBatch(): void {
    clearTimeout(this.syncTimer);
    this.syncTimer = undefined;
    for (const fd of this.dirty) fs.fsync(fd, () => undefined);
    this.dirty.clear();
  }

  /** fsync every log written since the last batch, now (on close). */
  flush(): void {
    clearTimeout(this.syncTimer);
    this.syncTimer = undefined;
    for (const fd of this.dirty) {
      try {
        fs.fsyncSync(fd);
      } catch {
        // closed since; its snapshot was fsynced
      }
    }
    this.dirty.clear();
  }

  close(): void {
    clearInterval(this.retryTimer);
    for (const doc of [...this.backlog.keys()]) {
      try {
        this.append(doc, []);
      } catch {
        this.notice(`could not save the latest changes of ${doc}: the disk is still refusing writes; peers hold them and bring them back at the next sync`);
      }
    }
    this.flush();
    for (const { fd } of this.logs.values()) fs.closeSync(fd);
    this.logs.clear();
  }
}
