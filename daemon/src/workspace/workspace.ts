/**
 * The shared project as CRDTs: the file index plus one Automerge text document per file that
 * someone opened or changed (made live lazily, from a deterministic initial change). Files
 * nobody made live are blobs addressed by hash. Every change to text goes through `edit` or the
 * remote entry points, which emit one `text` event each, so editors, disk and peers all see the
 * same stream; every change to the file list emits one `files` event.
 */
import { EventEmitter } from 'node:events';
import type * as A from '@automerge/automerge/next';
import { decodeText } from '../disk/files.js';
import { Failure } from '../errors.js';
import { diffToOp } from '../text/diff-op.js';
import type { LineIndex } from '../text/line-index.js';
import { applyOp, type TextOp } from '../text/text-op.js';
import { hashBytes, type BlobStore } from './blob-store.js';
import { FileIndex, INDEX_DOC_ID, newFileId, type FileEntry, type IndexDiff } from './file-index.js';
import type { Storage } from './storage.js';
import { TextDoc, type RawChange } from './text-doc.js';

/** Who made a change; editors use it to skip their own edits, disk to skip its own reads. */
export type Origin =
  | { kind: 'editor'; editorId: string }
  | { kind: 'undo'; editorId: string }
  | { kind: 'peer'; peerId: string }
  | { kind: 'disk' };

export interface TextEvent {
  fileId: string;
  path: string;
  op: TextOp;
  before: string;
  after: string;
  origin: Origin;
}

export interface FilesEvent extends IndexDiff {
  origin: Origin;
  /** Non-live files whose content (hash) changed. */
  changed: string[];
}

/** Where the bytes of a file that is not yet in the index come from (the folder). */
export interface ContentSource {
  read(path: string): Promise<Uint8Array | undefined>;
}

export interface WorkspaceEvents {
  text: [TextEvent];
  files: [FilesEvent];
  /** A local change to a document, to send to peers. */
  localChange: [docId: string, change: RawChange];
}

/** A live text file is limited to this size: Automerge 2.2.9 holds ~400 bytes per character. */
export const DEFAULT_LIVE_LIMIT = 1024 * 1024;

export class Workspace extends EventEmitter<WorkspaceEvents> {
  readonly index: FileIndex;
  private live = new Map<string, TextDoc>();

  constructor(
    private readonly storage: Storage,
    readonly blobs: BlobStore,
    private readonly actor: string,
    private readonly source: ContentSource,
    readonly liveLimit = DEFAULT_LIVE_LIMIT,
  ) {
    super();
    this.setMaxListeners(0);
    const saved = storage.load(INDEX_DOC_ID);
    this.index = new FileIndex(saved.snapshot, saved.changes, actor);
  }

  // ---- documents ---------------------------------------------------------------------------

  /** The live document of a file, loading it from storage if it was saved. */
  private doc(fileId: string): TextDoc | undefined {
    let doc = this.live.get(fileId);
    if (!doc && fileId !== INDEX_DOC_ID && this.storage.has(fileId)) {
      const saved = this.storage.load(fileId);
      doc = TextDoc.load(saved.snapshot, saved.changes, this.actor);
      this.live.set(fileId, doc);
    }
    return doc;
  }

  private liveDoc(fileId: string): TextDoc {
    const doc = this.doc(fileId);
    if (!doc) throw new Failure('notOpen', `file ${this.pathOf(fileId) ?? fileId} is not live`);
    return doc;
  }

  pathOf(fileId: string): string | undefined {
    return this.index.entry(fileId)?.path;
  }

  isLive(fileId: string): boolean {
    return this.live.has(fileId) || this.storage.has(fileId);
  }

  /** Ids of every document this daemon holds: the index and each live file. */
  docIds(): string[] {
    const ids = new Set([INDEX_DOC_ID, ...this.live.keys(), ...this.storage.ids()]);
    return [...ids];
  }

  text(fileId: string): string {
    return this.liveDoc(fileId).text;
  }

  /** The line index of a live file's current text (for fast position conversion). */
  lines(fileId: string): LineIndex {
    return this.liveDoc(fileId).lines;
  }

  /** A file's current bytes: its live text, or its blob; undefined while its blob is missing. */
  content(fileId: string): Uint8Array | undefined {
    const doc = this.doc(fileId);
    if (doc) return Buffer.from(doc.text, 'utf8');
    const e = this.index.entry(fileId);
    return e ? this.blobs.get(e.hash) : undefined;
  }

  private makeLive(fileId: string, base: string): TextDoc {
    const doc = TextDoc.create(fileId, base, this.actor);
    this.live.set(fileId, doc);
    this.storage.snapshot(fileId, doc.save());
    return doc;
  }

  /** The text a non-live file becomes live from: its blob, which all peers agree on. */
  private baseText(entry: FileEntry): string {
    const bytes = this.blobs.get(entry.hash);
    if (!bytes) throw new Failure('notFound', `${entry.path} has not arrived from the other peers yet; try again in a moment`);
    const text = decodeText(bytes);
    if (text === null) throw new Failure('notEditable', `${entry.path} is not UTF-8 text (a binary file?); Chorus edits text files only`);
    return text;
  }

  /**
   * Make a file live (if it is not) and return its id and text. A path that is not in the index
   * is read from the content source; `create` makes an empty file when it is not there either.
   */
  async open(path: string, create: boolean): Promise<{ fileId: string; text: string }> {
    let fileId = this.index.idOf(path);
    if (!fileId) {
      const bytes = await this.source.read(path);
      fileId = this.index.idOf(path); // another open may have raced us while we read
      if (!fileId) {
        if (bytes === undefined && !create) throw new Failure('notFound', `${path} does not exist in the project; pass content to create it`);
        fileId = this.addFile(path, bytes ?? new Uint8Array(), { kind: 'disk' });
      }
    }
    const existing = this.doc(fileId);
    if (existing) return { fileId, text: existing.text };
    const entry = this.index.entry(fileId)!;
    if (entry.opaque) {
      throw new Failure('notEditable', `${path} is binary or larger than the live-editing limit (${this.liveLimit} characters); it is synced as a whole file, edit it outside Chorus`);
    }
    return { fileId, text: this.makeLive(fileId, this.baseText(entry)).text };
  }

  /** Apply a local change to a live file's text. */
  edit(fileId: string, op: TextOp, origin: Origin): void {
    const doc = this.liveDoc(fileId);
    const before = doc.text;
    const change = doc.applyLocal(op);
    if (!change) return;
    this.record(fileId, change);
    this.emit('text', { fileId, path: this.pathOf(fileId) ?? fileId, op, before, after: doc.text, origin });
  }

  private record(docId: string, change: RawChange): void {
    if (this.storage.append(docId, [change])) this.compact(docId);
    this.emit('localChange', docId, change);
  }

  // ---- files -------------------------------------------------------------------------------

  private isText(bytes: Uint8Array): boolean {
    return decodeText(bytes) !== null && bytes.length <= this.liveLimit;
  }

  /** A new file (from disk or an editor); returns its id. */
  addFile(path: string, bytes: Uint8Array, origin: Origin): string {
    const existing = this.index.idOf(path);
    if (existing) return existing;
    const id = newFileId();
    const hash = this.blobs.put(bytes);
    const entry: FileEntry = { path, hash, size: bytes.length };
    if (!this.isText(bytes)) entry.opaque = true;
    this.recordIndex(this.index.add(id, entry), origin, { created: [path], deleted: [], renamed: [], changed: [] });
    return id;
  }

  /**
   * The bytes of a file changed outside the daemon. Live text takes the difference as an edit
   * (so others' concurrent edits survive); a text file not yet live becomes live from its last
   * known content first; a binary file's new content replaces the old (last writer wins).
   */
  contentChanged(path: string, bytes: Uint8Array, origin: Origin): void {
    const fileId = this.index.idOf(path);
    if (!fileId) {
      this.addFile(path, bytes, origin);
      return;
    }
    const entry = this.index.entry(fileId)!;
    const text = decodeText(bytes);
    const live = this.doc(fileId);
    if (live && text !== null) {
      this.edit(fileId, diffToOp(live.text, text), origin);
      return;
    }
    const hash = hashBytes(bytes);
    if (!live && hash === entry.hash) return;
    if (!live && !entry.opaque && text !== null && text.length <= this.liveLimit && this.blobs.has(entry.hash)) {
      const doc = this.makeLive(fileId, this.baseText(entry));
      this.edit(fileId, diffToOp(doc.text, text), origin);
      return;
    }
    this.blobs.put(bytes, hash);
    const patch: Partial<FileEntry> = { hash, size: bytes.length };
    if (!this.isText(bytes)) patch.opaque = true;
    this.recordIndex(this.index.set(fileId, patch), origin, { created: [], deleted: [], renamed: [], changed: [path] });
  }

  rename(from: string, to: string, origin: Origin): void {
    const fileId = this.index.idOf(from);
    if (!fileId || this.index.idOf(to)) return;
    this.recordIndex(this.index.set(fileId, { path: to }), origin, { created: [], deleted: [], renamed: [{ from, to, id: fileId }], changed: [] });
  }

  remove(path: string, origin: Origin): void {
    const fileId = this.index.idOf(path);
    if (!fileId) return;
    this.recordIndex(this.index.remove(fileId), origin, { created: [], deleted: [path], renamed: [], changed: [] });
  }

  private recordIndex(change: RawChange | undefined, origin: Origin, diff: Omit<FilesEvent, 'origin'>): void {
    if (!change) return;
    this.record(INDEX_DOC_ID, change);
    this.emit('files', { ...diff, origin });
  }

  // ---- peers -------------------------------------------------------------------------------

  /** Raw changes from a peer for any document. */
  applyRemote(docId: string, changes: RawChange[], origin: Origin): void {
    if (docId === INDEX_DOC_ID) {
      const before = this.hashes();
      const diff = this.index.applyRemote(changes);
      this.appendRemote(docId, changes);
      this.announce(diff, before, origin);
      return;
    }
    const doc = this.doc(docId) ?? this.adopt(docId);
    const before = doc.text;
    const op = doc.applyRemote(changes);
    this.appendRemote(docId, changes);
    if (op) this.emit('text', { fileId: docId, path: this.pathOf(docId) ?? docId, op, before, after: applyOp(before, op), origin });
  }

  /** Receive one sync-protocol message for a document; returns the new sync state. */
  receiveSync(docId: string, state: A.SyncState, message: Uint8Array, origin: Origin): A.SyncState {
    if (docId === INDEX_DOC_ID) {
      const before = this.hashes();
      const r = this.index.receiveSync(state, message);
      this.storage.snapshot(docId, this.index.save());
      this.announce(r.diff, before, origin);
      return r.state;
    }
    const doc = this.doc(docId) ?? this.adopt(docId);
    const before = doc.text;
    const r = doc.receiveSync(state, message);
    if (r.op) {
      this.storage.snapshot(docId, doc.save());
      this.emit('text', { fileId: docId, path: this.pathOf(docId) ?? docId, op: r.op, before, after: doc.text, origin });
    }
    return r.state;
  }

  generateSync(docId: string, state: A.SyncState): { state: A.SyncState; message: Uint8Array | null } {
    if (docId === INDEX_DOC_ID) return this.index.generateSync(state);
    return (this.doc(docId) ?? this.adopt(docId)).generateSync(state);
  }

  /** A document first heard of from a peer: empty until its history arrives. */
  private adopt(docId: string): TextDoc {
    if (!/^f[0-9a-f]{24}$/.test(docId)) throw new Failure('invalid', `a peer named a document that cannot exist: ${JSON.stringify(docId).slice(0, 40)}`);
    const doc = TextDoc.empty(this.actor);
    this.live.set(docId, doc);
    return doc;
  }

  private appendRemote(docId: string, changes: RawChange[]): void {
    if (this.storage.append(docId, changes)) this.compact(docId);
  }

  private hashes(): Map<string, string> {
    return new Map(this.index.entries().map(([id, e]) => [id, e.hash]));
  }

  private announce(diff: IndexDiff, before: Map<string, string>, origin: Origin): void {
    const changed: string[] = [];
    for (const [id, e] of this.index.entries()) {
      const old = before.get(id);
      if (old !== undefined && old !== e.hash && !this.isLive(id)) changed.push(e.path);
    }
    if (diff.created.length || diff.deleted.length || diff.renamed.length || changed.length) this.emit('files', { ...diff, changed, origin });
  }

  // ---- persistence -------------------------------------------------------------------------

  private compact(docId: string): void {
    if (docId === INDEX_DOC_ID) this.storage.snapshot(docId, this.index.save());
    else {
      const doc = this.live.get(docId);
      if (doc) this.storage.snapshot(docId, doc.save());
    }
  }

  /** Save every live document as a snapshot (on shutdown). */
  close(): void {
    this.compact(INDEX_DOC_ID);
    for (const id of this.live.keys()) this.compact(id);
    this.storage.close();
  }
}
