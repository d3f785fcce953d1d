/**
 * Durable state in `<project>/.chorus/state/`: per document a snapshot (`<id>.snap`, written
 * atomically) and an append-only log of raw changes made since (`<id>.log`, length-prefixed).
 * A change is appended with a synchronous write before the edit is acknowledged, so a SIGKILL
 * never loses an acknowledged edit; fsync runs in batches for power loss, in the thread pool so
 * the main thread goes on serving keystrokes meanwhile.
 */
import fs from 'node:fs';
import path from 'node:path';

const COMPACT_AFTER = 20000;

export class Storage {
  private logs = new Map<string, { fd: number; count: number }>();
  private dirty = new Set<number>();
  private syncTimer: NodeJS.Timeout | undefined;

  constructor(private readonly dir: string) {
    fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
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
      while (off + 4 <= buf.length) {
        const len = buf.readUInt32BE(off);
        if (off + 4 + len > buf.length) break;
        changes.push(new Uint8Array(buf.subarray(off + 4, off + 4 + len)));
        off += 4 + len;
      }
    }
    return snapshot ? { snapshot, changes } : { changes };
  }

  /** Append raw changes to the document's log. Returns true when it is time to compact. */
  append(id: string, changes: Uint8Array[]): boolean {
    let log = this.logs.get(id);
    if (!log) {
      log = { fd: fs.openSync(this.file(id, 'log'), 'a', 0o600), count: 0 };
      this.logs.set(id, log);
    }
    const parts: Buffer[] = [];
    for (const c of changes) {
      const head = Buffer.alloc(4);
      head.writeUInt32BE(c.length);
      parts.push(head, Buffer.from(c.buffer, c.byteOffset, c.byteLength));
    }
    fs.writeSync(log.fd, Buffer.concat(parts));
    log.count += changes.length;
    this.dirty.add(log.fd);
    this.syncTimer ??= setTimeout(() => this.syncBatch(), 200);
    return log.count >= COMPACT_AFTER;
  }

  /** Replace the document's state with a snapshot and an empty log. */
  snapshot(id: string, bytes: Uint8Array): void {
    const target = this.file(id, 'snap');
    const tmp = `${target}.tmp-${process.pid}`;
    const fd = fs.openSync(tmp, 'w', 0o600);
    fs.writeSync(fd, bytes);
    fs.fsyncSync(fd);
    fs.closeSync(fd);
    fs.renameSync(tmp, target);
    const log = this.logs.get(id);
    if (log) {
      fs.closeSync(log.fd);
      this.dirty.delete(log.fd);
      this.logs.delete(id);
    }
    fs.rmSync(this.file(id, 'log'), { force: true });
  }

  remove(id: string): void {
    const log = this.logs.get(id);
    if (log) fs.closeSync(log.fd);
    this.logs.delete(id);
    fs.rmSync(this.file(id, 'snap'), { force: true });
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
    this.flush();
    for (const { fd } of this.logs.values()) fs.closeSync(fd);
    this.logs.clear();
  }
}
