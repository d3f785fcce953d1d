/**
 * The shared project as CRDTs: the file index plus one Automerge text document per file that
 * someone opened or changed (made live lazily, from a deterministic initial change). Everything
 * that changes text goes through `edit` or `applyRemote`, which emit one `text` event each, so
 * editors, disk and peers all see the same stream.
 */
import { EventEmitter } from 'node:events';
import { Failure } from '../errors.js';
import type { LineIndex } from '../text/line-index.js';
import { applyOp, type TextOp } from '../text/text-op.js';
import { FileIndex, INDEX_DOC_ID, newFileId, type FileEntry, type IndexDiff } from './file-index.js';
import type { Storage } from './storage.js';
import { contentHash, TextDoc, type RawChange } from './text-doc.js';

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

/** Where the content of a file that is not live comes from (the folder, or a peer's blob). */
export interface ContentSource {
  read(path: string): Promise<string | undefined>;
}

export interface WorkspaceEvents {
  text: [TextEvent];
  files: [IndexDiff];
  /** A local change to a document, to store and to send to peers. */
  localChange: [docId: string, change: RawChange];
}

/** A live text file is limited to this size: Automerge 2.2.9 holds ~400 bytes per character. */
export const DEFAULT_LIVE_LIMIT = 1024 * 1024;

export class Workspace extends EventEmitter<WorkspaceEvents> {
  readonly index: FileIndex;
  private live = new Map<string, TextDoc>();

  constructor(
    private readonly storage: Storage,
    private readonly actor: string,
    private readonly source: ContentSource,
    private readonly liveLimit = DEFAULT_LIVE_LIMIT,
  ) {
    super();
    const saved = storage.load(INDEX_DOC_ID);
    this.index = new FileIndex(saved.snapshot, saved.changes, actor);
    this.on('localChange', (docId, change) => {
      if (this.storage.append(docId, [change])) this.compact(docId);
    });
  }

  /** The live document of a file, loading it from storage if it was saved. */
  private doc(fileId: string): TextDoc | undefined {
    let doc = this.live.get(fileId);
    if (!doc && this.storage.has(fileId)) {
      const saved = this.storage.load(fileId);
      doc = TextDoc.load(saved.snapshot, saved.changes, this.actor);
      this.live.set(fileId, doc);
    }
    return doc;
  }

  pathOf(fileId: string): string | undefined {
    return this.index.entry(fileId)?.path;
  }

  isLive(fileId: string): boolean {
    return this.live.has(fileId) || this.storage.has(fileId);
  }

  /**
   * Make a file live (if it is not) and return its id and text. A path that is not in the index
   * is looked up in the content source; `create` makes an empty file when it is not there either.
   */
  async open(path: string, create: boolean): Promise<{ fileId: string; text: string }> {
    let fileId = this.index.idOf(path);
    const existing = fileId ? this.doc(fileId) : undefined;
    if (fileId && existing) return { fileId, text: existing.text };
    let content = await this.source.read(path);
    if (content === undefined) {
      if (!create) throw new Failure('notFound', `${path} does not exist in the project; pass content to create it`);
      content = '';
    }
    if (content.length > this.liveLimit) {
      throw new Failure('notEditable', `${path} is ${content.length} characters, over the live-editing limit of ${this.liveLimit}; edit it outside Chorus`);
    }
    // Another open may have raced us while we read.
    fileId = this.index.idOf(path);
    const raced = fileId ? this.doc(fileId) : undefined;
    if (fileId && raced) return { fileId, text: raced.text };
    if (!fileId) {
      fileId = newFileId();
      this.recordIndexChange(this.index.add(fileId, { path, hash: contentHash(content), size: Buffer.byteLength(content) }));
    }
    const doc = TextDoc.create(fileId, content, this.actor);
    this.live.set(fileId, doc);
    this.storage.snapshot(fileId, doc.save());
    return { fileId, text: doc.text };
  }

  text(fileId: string): string {
    const doc = this.doc(fileId);
    if (!doc) throw new Failure('notOpen', `file ${this.pathOf(fileId) ?? fileId} is not live`);
    return doc.text;
  }

  /** The line index of a live file's current text (for fast position conversion). */
  lines(fileId: string): LineIndex {
    const doc = this.doc(fileId);
    if (!doc) throw new Failure('notOpen', `file ${this.pathOf(fileId) ?? fileId} is not live`);
    return doc.lines;
  }

  /** Apply a local change to a live file's text. */
  edit(fileId: string, op: TextOp, origin: Origin): void {
    const doc = this.doc(fileId);
    if (!doc) throw new Failure('notOpen', `file ${this.pathOf(fileId) ?? fileId} is not live`);
    const before = doc.text;
    const change = doc.applyLocal(op);
    if (!change) return;
    this.emit('localChange', fileId, change);
    this.emit('text', { fileId, path: this.pathOf(fileId) ?? fileId, op, before, after: doc.text, origin });
  }

  /** Changes to a file's document from a peer. */
  applyRemote(fileId: string, changes: RawChange[], origin: Origin): void {
    let doc = this.doc(fileId);
    if (!doc) {
      doc = TextDoc.empty(this.actor);
      this.live.set(fileId, doc);
    }
    const before = doc.text;
    const op = doc.applyRemote(changes);
    if (this.storage.append(fileId, changes)) this.compact(fileId);
    if (op) this.emit('text', { fileId, path: this.pathOf(fileId) ?? fileId, op, before, after: applyOp(before, op), origin });
  }

  private recordIndexChange(change: RawChange | undefined): void {
    if (change) this.emit('localChange', INDEX_DOC_ID, change);
  }

  updateEntry(fileId: string, patch: Partial<FileEntry>): void {
    this.recordIndexChange(this.index.set(fileId, patch));
  }

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
