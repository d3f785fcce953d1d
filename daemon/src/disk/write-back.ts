/**
 * Writes live text back to the project folder shortly after it changes, so compilers and other
 * tools see what editors see. Writes of one file are serialised and coalesced: a burst of
 * keystrokes becomes a few writes of the latest text, never an older text after a newer one.
 */
import type { Project } from '../project.js';
import type { Workspace } from '../workspace/workspace.js';
import { writeAtomic } from './files.js';

const DELAY_MS = 40;

export class WriteBack {
  private pending = new Map<string, NodeJS.Timeout>();
  private running = new Map<string, Promise<void>>();
  /** The text last written per path, so a watcher can tell our writes from other tools'. */
  readonly lastWritten = new Map<string, string>();

  constructor(
    private readonly project: Project,
    private readonly workspace: Workspace,
    private readonly log: (msg: string) => void,
  ) {
    workspace.on('text', (e) => this.schedule(e.fileId));
  }

  private schedule(fileId: string): void {
    if (this.pending.has(fileId)) return;
    this.pending.set(
      fileId,
      setTimeout(() => {
        this.pending.delete(fileId);
        void this.write(fileId);
      }, DELAY_MS),
    );
  }

  private async write(fileId: string): Promise<void> {
    const previous = this.running.get(fileId) ?? Promise.resolve();
    const next = previous.then(async () => {
      const path = this.workspace.pathOf(fileId);
      if (!path) return;
      const text = this.workspace.text(fileId);
      if (this.lastWritten.get(path) === text) return;
      try {
        await writeAtomic(this.project.absolute(path), text);
        this.lastWritten.set(path, text);
      } catch (e) {
        this.log(`could not write ${path}: ${(e as Error).message}; will retry on the next change`);
      }
    });
    this.running.set(fileId, next);
    await next;
    if (this.running.get(fileId) === next) this.running.delete(fileId);
  }

  /** Write everything that is waiting (on shutdown). */
  async flush(): Promise<void> {
    const ids = [...this.pending.keys()];
    for (const [id, t] of this.pending) clearTimeout(t);
    this.pending.clear();
    await Promise.all([...ids.map((id) => this.write(id)), ...this.running.values()]);
  }
}
