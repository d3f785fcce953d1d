/**
 * Where files renamed while this daemon runs went, for editors that come back after missing the
 * rename: an editor re-opening a buffer after a reconnect names the path it had, and a buffer/open
 * with content for a path nobody has any more would create that path again, with the whole text,
 * on every peer (the renamed file then existed twice). Such an open follows the rename instead
 * (EditorBuffers.open). Kept in memory only: a daemon restarted meanwhile does not know, and the
 * open creates the file as before.
 */
import type { FilesEvent, Workspace } from '../workspace/workspace.js';

/** Renames remembered; the oldest are forgotten first. */
const LIMIT = 1000;

export class RecentRenames {
  /** Old path → the id of the file renamed from it, oldest first (a Map keeps insertion order). */
  private readonly renamedFrom = new Map<string, string>();
  private readonly onFiles = (e: FilesEvent) => {
    for (const r of e.renamed) {
      this.renamedFrom.delete(r.from);
      this.renamedFrom.set(r.from, r.id);
      if (this.renamedFrom.size > LIMIT) this.renamedFrom.delete(this.renamedFrom.keys().next().value!);
    }
  };

  constructor(private readonly workspace: Workspace) {
    workspace.on('files', this.onFiles);
  }

  /**
   * Where the file renamed away from `path` is now (however many renames later), when nothing is
   * at `path` and that file still exists; else undefined.
   */
  whereNow(path: string): string | undefined {
    if (this.workspace.index.idOf(path)) return undefined;
    const id = this.renamedFrom.get(path);
    const now = id === undefined ? undefined : this.workspace.pathOf(id);
    return now !== path ? now : undefined;
  }
}
