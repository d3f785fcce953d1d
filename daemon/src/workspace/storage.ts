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
  private syncTimer: NodeJS.Timeout | undefined;

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
      let off = 0;
      while (off + 4 <= buf.length) {
        const word = buf.readUInt32BE(off);
        const len = word & ~MARK_BIT;
        if (off + 4 + len > buf.length) break; // a torn final record
        if (word & MARK_BIT) marks.push(buf.toString('utf8', off + 4, off + 4 + len));
        else changes.push(new Uint8Array(buf.subarray(off + 4, off + 4 + len)));
        off += 4 + len;
      }
    }
    return snapshot ? { snapshot, changes, marks } : { changes, marks };
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
  }

  protected erase(id: string): void {
    this.closeLog(id);
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
