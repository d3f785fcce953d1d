/**
 * Files this folder renamed (taken in from the folder since the daemon started), each with the
 * index change that renamed it. A rename is an intent to keep the file: a peer's deletion made
 * without knowing of it (concurrently, one side offline) must not remove it, while a deletion
 * made after seeing it is the person's answer to it and does (decision 148). The index tells
 * which one a deletion is (`FileIndex.removalSaw`); this remembers what to ask it.
 */

/** A rename taken in here: the file's id and the hash of the index change that renamed it. */
export interface RenameMark {
  id: string;
  change: string;
}

/** At most this many marks; the oldest goes first (a deletion of it then removes the file). */
export const MAX_RENAME_MARKS = 10_000;

export class RenamedHere {
  /** Path the file was renamed to → its mark, oldest first (a Map keeps insertion order). */
  private readonly marks = new Map<string, RenameMark>();

  /** The file `id` was renamed here to `path` by the index change `change`. */
  mark(path: string, id: string, change: string): void {
    this.marks.delete(path);
    if (this.marks.size >= MAX_RENAME_MARKS) this.marks.delete(this.marks.keys().next().value!);
    this.marks.set(path, { id, change });
  }

  /** No mark for `path` any more (the file moved on from it); its mark, if it had one. */
  take(path: string): RenameMark | undefined {
    const m = this.marks.get(path);
    this.marks.delete(path);
    return m;
  }
}
