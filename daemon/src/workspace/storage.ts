/**
 * The daemon's document store (the contract is document-store.ts): durable state in
 * `<project>/.chorus/state/`, per document a snapshot (`<id>.snap`, written atomically; the one
 * it replaced kept as `<id>.snap.prev`) and an append-only log of raw changes made since
 * (`<id>.log`, length-prefixed). A change is appended with a synchronous write before the edit is
 * acknowledged, so a SIGKILL never loses an acknowledged edit (`durableOnAppend`); fsync runs in
 * batches for power loss, in the thread pool so the main thread goes on serving keystrokes
 * meanwhile.
 *
 * The log also holds edit marks (decision 055): a mark record's length word has its top bit set;
 * a change is never 2 GiB.
 *
 * A log that ends in a partial record (a power loss or system crash inside the fsync batch) has
 * that torn tail cut off before anything is appended to it, the bytes kept beside it as
 * `<id>.log.torn-<time>` (decision 217): appended after the torn bytes, later records would be
 * swallowed by the torn one's length word at the next load.
 */
import fs from 'node:fs';
import path from 'node:path';
import { BaseDocumentStore, checkDocId } from './document-store.js';

export { StorageFailed, UnloadableState } from './document-store.js';

/** Top bit of a log record's length word: the record is an edit mark, not a change. */
const MARK_BIT = 0x8000_0000;

export class Storage extends BaseDocumentStore {
  readonly durableOnAppend = true;
  private logs = new Map<string, number>();
  /** Each open log's length in bytes (read once at open, then counted): a torn write is cut back to it. */
  private logSizes = new Map<number, number>();
  private dirty = new Set<number>();
  /**
   * Logs whose fsync is in flight (in the thread pool): the latest one asked for each, settled when
   * it is done (or failed). It covers every write to the log before it, so an earlier fsync still
   * running makes no difference to what is durable.
   */
  private latestSync = new Map<number, Promise<void>>();
  private syncTimer: NodeJS.Timeout | undefined;
  /** Documents whose log this store object has read or made, so its framing is known whole (no torn tail). */
  private framed = new Set<string>();
  /** Documents whose torn tail could not be cut off (said once). */
  private uncut = new Set<string>();

  constructor(
    private readonly dir: string,
    /** Where a person learns that damaged saved state was set aside (the daemon log). */
    notice: (msg: string) => void = () => undefined,
  ) {
    super(notice, `in ${dir}`);
    fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
  }

  private file(id: string, ext: string): string {
    checkDocId(id);
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

  protected read(id: string): { snapshot?: Uint8Array; changes: Uint8Array[]; marks: string[] } {
    const snapFile = this.file(id, 'snap');
    const snapshot = fs.existsSync(snapFile) ? new Uint8Array(fs.readFileSync(snapFile)) : undefined;
    const changes: Uint8Array[] = [];
    const marks: string[] = [];
    const logFile = this.file(id, 'log');
    if (fs.existsSync(logFile)) {
      const buf = fs.readFileSync(logFile);
      const whole = this.walk(buf, (word, body) => {
        if (word & MARK_BIT) marks.push(body.toString('utf8'));
        else changes.push(new Uint8Array(body));
      });
      if (whole < buf.length && !this.cutTornTail(id, buf, whole)) return snapshot ? { snapshot, changes, marks } : { changes, marks };
    }
    this.framed.add(id);
    return snapshot ? { snapshot, changes, marks } : { changes, marks };
  }

  /** Call `record` for each whole record of a log's bytes; returns where the whole records end. */
  private walk(buf: Buffer, record?: (word: number, body: Buffer) => void): number {
    let off = 0;
    while (off + 4 <= buf.length) {
      const word = buf.readUInt32BE(off);
      const len = word & ~MARK_BIT;
      if (off + 4 + len > buf.length) break; // a torn final record
      record?.(word, buf.subarray(off + 4, off + 4 + len));
      off += 4 + len;
    }
    return off;
  }

  /**
   * The log of `id` (its bytes `buf`) ends in a partial record at `whole`: keep those bytes beside
   * it and cut the log back to its whole records, so what is appended next frames correctly.
   * False when the log could not be cut (it is tried again before the next append).
   */
  private cutTornTail(id: string, buf: Buffer, whole: number): boolean {
    const logFile = this.file(id, 'log');
    const stamp = new Date().toISOString().replace(/[:.]/g, '-');
    const aside = `${logFile}.torn-${stamp}`;
    const torn = buf.length - whole;
    // Kept once: a log that could not be cut is tried again at each append.
    let kept = 'its bytes are kept in the .torn file beside it made when cutting it off first failed';
    if (!this.uncut.has(id)) {
      try {
        fs.writeFileSync(aside, buf.subarray(whole), { mode: 0o600, flag: 'wx' });
        kept = `its bytes are kept as ${path.basename(aside)} (delete it when you like: a partial record cannot be loaded)`;
      } catch (e) {
        // A partial record cannot be loaded anyway: cut it off all the same, or every later append is lost.
        kept = `its bytes could not be kept aside (${(e as Error).message.split('\n')[0]})`;
      }
    }
    try {
      fs.truncateSync(logFile, whole);
    } catch (e) {
      // Said once: the append that waits for space retries every second.
      if (!this.uncut.has(id)) this.notice(`the saved changes of ${id} in ${this.dir} end in a partial record (a write cut short by a power loss or system crash), and cutting it off failed (${(e as Error).message.split('\n')[0]}); no change is saved to it until that works`);
      this.uncut.add(id);
      return false;
    }
    this.uncut.delete(id);
    this.lostPart(id);
    const fd = this.logs.get(id);
    if (fd !== undefined) this.logSizes.set(fd, whole);
    this.notice(
      `the saved changes of ${id} in ${this.dir} ended in a partial record (${torn} bytes: a write cut short by a power loss or system crash); ` +
        `everything before it loaded, and it was cut off so later changes are saved whole; ${kept}. ` +
        `The changes it held come back from any peer that has them at the next sync, and this daemon's new changes to it are made under a new actor so that they never clash with them. ` +
        `If the folder's copy of the file has text they lost, it is taken in as it is, and text a peer had too may then show twice: check the file (the log names it).`,
    );
    return true;
  }

  protected readPrevious(id: string): Uint8Array | undefined {
    const prevFile = this.file(id, 'snap') + '.prev';
    return fs.existsSync(prevFile) ? new Uint8Array(fs.readFileSync(prevFile)) : undefined;
  }

  /** Move a document's current files aside (damaged), so the next save starts clean. */
  protected setAside(id: string): void {
    const stamp = new Date().toISOString().replace(/[:.]/g, '-');
    this.closeLog(id);
    for (const ext of ['snap', 'log']) {
      const f = this.file(id, ext);
      if (fs.existsSync(f)) fs.renameSync(f, `${f}.damaged-${stamp}`);
    }
    this.framed.add(id); // no log now: the next append starts one
  }

  private closeLog(id: string): void {
    const fd = this.logs.get(id);
    if (fd === undefined) return;
    fs.closeSync(fd);
    this.dirty.delete(fd);
    this.logSizes.delete(fd);
    this.logs.delete(id);
  }

  protected writeLog(id: string, changes: Uint8Array[], marks: string[]): void {
    let fd = this.logs.get(id);
    if (fd === undefined) {
      // A log this store object never read may end in a torn record (a crash of the last run):
      // cut that off first, else it would swallow what is appended now.
      if (!this.framed.has(id)) {
        const logFile = this.file(id, 'log');
        const buf = fs.existsSync(logFile) ? fs.readFileSync(logFile) : undefined;
        const whole = buf ? this.walk(buf) : 0;
        if (buf && whole < buf.length && !this.cutTornTail(id, buf, whole)) throw Object.assign(new Error(`the log of ${id} ends in a partial record that could not be cut off`), { code: 'EIO' });
        this.framed.add(id);
      }
      fd = fs.openSync(this.file(id, 'log'), 'a', 0o600);
      this.logs.set(id, fd);
      this.logSizes.set(fd, fs.fstatSync(fd).size);
    }
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
    const size = this.logSizes.get(fd)!;
    const record = Buffer.concat(parts);
    try {
      if (fs.writeSync(fd, record) !== record.length) throw Object.assign(new Error('a short write to the log'), { code: 'ENOSPC' }); // the disk filled mid-record
      this.logSizes.set(fd, size + record.length);
    } catch (e) {
      // A partial record would misframe every later one: cut the log back to where it was.
      try {
        fs.ftruncateSync(fd, size);
      } catch {
        // the torn tail is ignored on load (a torn final record)
      }
      throw e;
    }
    this.dirty.add(fd);
    this.syncTimer ??= setTimeout(() => this.syncBatch(), 200);
  }

  protected writeSnapshot(id: string, bytes: Uint8Array): void {
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
    this.closeLog(id);
    fs.rmSync(this.file(id, 'log'), { force: true });
    this.framed.add(id);
  }

  protected erase(id: string): void {
    this.closeLog(id);
    fs.rmSync(this.file(id, 'snap'), { force: true });
    fs.rmSync(this.file(id, 'snap') + '.prev', { force: true });
    fs.rmSync(this.file(id, 'log'), { force: true });
    this.framed.add(id);
  }

  /**
   * fsync the logs written since the last batch without blocking (the thread pool does it). A log
   * closed meanwhile had its snapshot fsynced; an fsync that fails here is retried by nothing,
   * like a failed batch before: the bytes are with the OS, which a SIGKILL does not lose.
   */
  private syncBatch(): void {
    clearTimeout(this.syncTimer);
    this.syncTimer = undefined;
    if (this.dirty.size === 0) return;
    for (const fd of this.dirty) {
      const synced = new Promise<void>((resolve) =>
        fs.fsync(fd, () => {
          if (this.latestSync.get(fd) === synced) this.latestSync.delete(fd);
          resolve();
        }),
      );
      this.latestSync.set(fd, synced);
    }
    this.dirty.clear();
  }

  /**
   * Has everything appended to the log of `id` been fsynced (it survives a power loss)? True
   * when nothing was appended since the last batch that synced it, or the log is closed (its
   * snapshot was fsynced).
   */
  synced(id: string): boolean {
    const fd = this.logs.get(id);
    return fd === undefined || (!this.dirty.has(fd) && !this.latestSync.has(fd));
  }

  /**
   * Resolves once everything appended to the log of `id` before the call is fsynced: the batch
   * waiting for its timer is started now (it runs in the thread pool, as every batch; no fsync is
   * added, the batch only comes sooner), and this log's fsync is awaited, not every log's (a
   * file's write waited for the fsyncs of twenty others a peer's batch had just written, and an
   * editor's save with it). Never rejects: a failed fsync is treated as a batch's is (see
   * `syncBatch`).
   */
  whenSynced(id: string): Promise<void> {
    this.syncBatch();
    const fd = this.logs.get(id);
    return (fd === undefined ? undefined : this.latestSync.get(fd)) ?? Promise.resolve();
  }

  /** fsync every log written since the last batch, now (synchronously; the promise is settled). */
  flush(): Promise<void> {
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
    return Promise.resolve();
  }

  protected release(): void {
    for (const fd of this.logs.values()) fs.closeSync(fd);
    this.logs.clear();
    this.logSizes.clear();
  }
}
