/**
 * Writes shared content to the project folder: live text shortly after it changes (a burst of
 * keystrokes becomes a few writes of the latest text), and whole files when asked. Writes of one
 * path are serialised, so an older content never lands after a newer one. It remembers the hash
 * of what it wrote, so the watcher can tell the daemon's own writes from other tools'.
 */
import type { Project } from '../project.js';
import { hashBytes } from '../workspace/blob-store.js';
import type { Workspace } from '../workspace/workspace.js';
import type { DiskLedger } from './disk-ledger.js';
import { writeAtomic } from './files.js';

const DELAY_MS = 40;

export class WriteBack {
  private pending = new Map<string, NodeJS.Timeout>();
  private running = new Map<string, Promise<void>>();
  /** When true, nothing is written (view mode: buffers only). */
  disabled = false;

  constructor(
    private readonly project: Project,
    private readonly workspace: Workspace,
    readonly ledger: DiskLedger,
    private readonly log: (msg: string) => void,
  ) {
    workspace.on('text', (e) => this.schedule(e.fileId));
  }

  /** Is this content of `path` the daemon's own (written or taken in by it)? */
  isOwn(path: string, hash: string): boolean {
    return this.ledger.knows(path, hash);
  }

  /** Remember that `path` now holds content with this hash (taken in from disk). */
  remember(path: string, hash: string): void {
    this.ledger.record(path, hash);
  }

  moved(from: string, to: string): void {
    const h = this.ledger.latest(from);
    this.ledger.forget(from);
    if (h) this.ledger.record(to, h);
  }

  forget(path: string): void {
    this.ledger.forget(path);
  }

  private schedule(fileId: string): void {
    if (this.pending.has(fileId)) return;
    this.pending.set(
      fileId,
      setTimeout(() => {
        this.pending.delete(fileId);
        const path = this.workspace.pathOf(fileId);
        if (path && this.workspace.isLive(fileId)) void this.writeNow(path, Buffer.from(this.workspace.text(fileId), 'utf8'));
      }, DELAY_MS),
    );
  }

  /** Write `data` to `path` now (after any write of it in progress); `force` even if it was the last written. */
  writeNow(path: string, data: Uint8Array, force = false): Promise<void> {
    const previous = this.running.get(path) ?? Promise.resolve();
    const next = previous.then(async () => {
      if (this.disabled) return;
      const hash = hashBytes(data);
      if (!force && this.ledger.latest(path) === hash) return;
      try {
        this.ledger.record(path, hash); // before the write: a crash in between leaves it known
        await writeAtomic(this.project.absolute(path), data);
      } catch (e) {
        this.log(`could not write ${path}: ${(e as Error).message}; will retry on the next change`);
      }
    });
    this.running.set(path, next);
    void next.then(() => {
      if (this.running.get(path) === next) this.running.delete(path);
    });
    return next;
  }

  /** Write everything that is waiting (on shutdown). */
  async flush(): Promise<void> {
    const ids = [...this.pending.keys()];
    for (const t of this.pending.values()) clearTimeout(t);
    this.pending.clear();
    for (const id of ids) {
      const path = this.workspace.pathOf(id);
      if (path && this.workspace.isLive(id)) void this.writeNow(path, Buffer.from(this.workspace.text(id), 'utf8'));
    }
    await Promise.all([...this.running.values()]);
  }
}
