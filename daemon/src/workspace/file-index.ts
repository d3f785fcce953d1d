/**
 * The project's index: one Automerge map from stable file ids to paths and content hashes. A
 * rename is one update of `path`, so a file keeps its identity and history; content of files
 * nobody has opened is not in any CRDT, only addressed by `hash`.
 */
import * as A from '@automerge/automerge/next';
import { randomBytes } from 'node:crypto';
import type { RawChange } from './text-doc.js';

export interface FileEntry {
  /** Project-relative path with `/` separators. */
  path: string;
  /** sha256 of the content the file had when it was last read or made live. */
  hash: string;
  size: number;
  /** Binary or oversized: synced as a whole value, never live text. */
  opaque?: boolean;
}

interface IndexShape {
  files: Record<string, FileEntry>;
}

export interface IndexDiff {
  created: string[];
  deleted: string[];
  renamed: Array<{ from: string; to: string; id: string }>;
}

export const INDEX_DOC_ID = 'index';

export function newFileId(): string {
  return 'f' + randomBytes(12).toString('hex');
}

export class FileIndex {
  private doc: A.Doc<IndexShape>;
  private byPath = new Map<string, string>();

  constructor(saved: Uint8Array | undefined, changes: RawChange[], actor: string) {
    let doc = saved ? A.load<IndexShape>(saved, { actor }) : A.init<IndexShape>({ actor });
    if (changes.length) [doc] = A.applyChanges(doc, changes);
    this.doc = doc;
    this.reindex();
  }

  private reindex(): void {
    this.byPath.clear();
    for (const [id, e] of Object.entries(this.doc.files ?? {})) {
      // Two ids can claim one path after concurrent creates; the smallest id wins everywhere.
      const other = this.byPath.get(e.path);
      if (!other || id < other) this.byPath.set(e.path, id);
    }
  }

  idOf(path: string): string | undefined {
    return this.byPath.get(path);
  }

  entry(id: string): FileEntry | undefined {
    const e = this.doc.files?.[id];
    return e ? { ...e } : undefined;
  }

  entries(): Array<[string, FileEntry]> {
    return Object.entries(this.doc.files ?? {}).map(([id, e]) => [id, { ...e }]);
  }

  private update(fn: (d: IndexShape) => void): RawChange | undefined {
    const before = this.doc;
    this.doc = A.change(this.doc, (d) => {
      if (!d.files) d.files = {};
      fn(d);
    });
    if (this.doc === before) return undefined;
    this.reindex();
    return A.getLastLocalChange(this.doc);
  }

  add(id: string, entry: FileEntry): RawChange | undefined {
    return this.update((d) => {
      d.files[id] = { ...entry };
    });
  }

  set(id: string, patch: Partial<FileEntry>): RawChange | undefined {
    return this.update((d) => {
      const e = d.files[id];
      if (!e) return;
      for (const [k, v] of Object.entries(patch)) (e as unknown as Record<string, unknown>)[k] = v;
    });
  }

  remove(id: string): RawChange | undefined {
    return this.update((d) => {
      delete d.files[id];
    });
  }

  /** Apply changes from a peer or storage; reports what happened to paths. */
  applyRemote(changes: RawChange[]): IndexDiff {
    const before = new Map(this.entries().map(([id, e]) => [id, e.path]));
    [this.doc] = A.applyChanges(this.doc, changes);
    this.reindex();
    return this.diffFrom(before);
  }

  receiveSync(state: A.SyncState, message: Uint8Array): { diff: IndexDiff; state: A.SyncState } {
    const before = new Map(this.entries().map(([id, e]) => [id, e.path]));
    const [doc, next] = A.receiveSyncMessage(this.doc, state, message);
    this.doc = doc;
    this.reindex();
    return { diff: this.diffFrom(before), state: next };
  }

  generateSync(state: A.SyncState): { state: A.SyncState; message: Uint8Array | null } {
    const [next, message] = A.generateSyncMessage(this.doc, state);
    return { state: next, message };
  }

  private diffFrom(before: Map<string, string>): IndexDiff {
    const diff: IndexDiff = { created: [], deleted: [], renamed: [] };
    const now = new Map(this.entries().map(([id, e]) => [id, e.path]));
    for (const [id, path] of now) {
      const old = before.get(id);
      if (old === undefined) diff.created.push(path);
      else if (old !== path) diff.renamed.push({ from: old, to: path, id });
    }
    for (const [id, path] of before) if (!now.has(id)) diff.deleted.push(path);
    return diff;
  }

  save(): Uint8Array {
    return A.save(this.doc);
  }
}
