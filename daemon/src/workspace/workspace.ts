/**
 * The shared project as CRDTs: the file index plus one Automerge text document per file that
 * someone opened or changed (made live lazily, from a deterministic initial change). Files
 * nobody made live are blobs addressed by hash. Every change to text goes through `edit` or the
 * remote entry points, which emit one `text` event each, so editors, disk and peers all see the
 * same stream; every change to the file list emits one `files` event.
 */
// `events`: Node's own module in the daemon, the same-API `events` package in a browser bundle.
import { EventEmitter } from 'events';
import { runActor } from './actors.js';
import type * as A from '@automerge/automerge/next';
import { utf8ToBytes } from '@noble/hashes/utils.js';
import { sha256Hex } from '../digest.js';
import { Failure, notArrived } from '../errors.js';
import { decodeText } from '../text/decode-text.js';
import { diffToOp, outsideEditOp, replaceOp } from '../text/diff-op.js';
import type { LineIndex } from '../text/line-index.js';
import { Rope } from '../text/rope.js';
import { applyOp, isNoop, normalizeOp, transformOp, type TextOp } from '../text/text-op.js';
import { hashBytes, type BlobStore } from './blob-store.js';
import { StorageFailed, type DocumentStore } from './document-store.js';
import { FileIndex, INDEX_DOC_ID, newFileId, type FileEntry, type IndexDiff } from './file-index.js';
import { contentHash, TextDoc, type RawChange } from './text-doc.js';
import { EditBurst } from './edit-burst.js';
import { bytesToHex, randomBytes } from '@noble/hashes/utils.js';
import { unref, type Timer } from '../timers.js';
import { tracePoint } from '../trace-points.js';

/** Who made a change; editors use it to skip their own edits, disk to skip its own reads. */
export type Origin =
  /** `editId`: the editor's name for the edit, kept with it in storage (see DocumentStore.hasMark). */
  | { kind: 'editor'; editorId: string; undoStop?: boolean; editId?: string }
  | { kind: 'undo'; editorId: string }
  | { kind: 'peer'; peerId: string }
  | { kind: 'disk' }
  /**
   * This daemon settling a clash in the file list itself: `resolve` after a local change, a join
   * keeping the session's versions at their paths (decisions 137, 147), a deleted file kept
   * because a peer edited it. Only `files` and `dirs` events carry it (it moves, keeps and
   * removes whole files, never edits text); the folder follows it as it follows a peer's change.
   */
  | { kind: 'settling' };

/**
 * This folder's own disk, as a join settling a folder against the session's file sees it
 * (`Workspace.keepSessionFilesOverFolders`; the session manager provides it).
 */
export interface FolderAside {
  /** Is there a folder (not a link to one) at `path` here? False in view mode. */
  isFolder(path: string): boolean;
  /**
   * Move the folder at `from`, whole (files that are not shared too), to `to`; `files` the shared
   * ones in it, old and new path. True when it moved or nothing is there; false when it could
   * not move (said in the log): it stays.
   */
  move(from: string, to: string, files: Array<[string, string]>): boolean;
}

/** The origin of an editor's edit. */
export type EditorOrigin = Extract<Origin, { kind: 'editor' }>;

/** Who changed a file's text: anyone but the daemon's own settling, which never edits text. */
export type TextOrigin = Exclude<Origin, { kind: 'settling' }>;

/** The daemon's own settling of a clash (see Origin). */
export const SETTLING: Extract<Origin, { kind: 'settling' }> = Object.freeze({ kind: 'settling' });

/**
 * Is this change to the file list a peer's, or the daemon's own settling of a clash (which is
 * treated like one)? The folder follows those (the Materializer writes, moves and removes files
 * for them), blobs they name are fetched, and a `.gitignore` they bring counts as a peer's. The
 * folder's own changes (disk) and an editor's or undo's are made here, and WriteBack writes those.
 */
export function isPeersOrSettling(origin: Origin): boolean {
  switch (origin.kind) {
    case 'peer':
    case 'settling':
      return true;
    case 'editor':
    case 'undo':
    case 'disk':
      return false;
    default:
      return unknownOrigin(origin);
  }
}

/** A compile-time check that a switch on `Origin['kind']` names every kind. */
export function unknownOrigin(origin: never): never {
  throw new Error(`unknown change origin ${JSON.stringify(origin)}`);
}

/**
 * One change to a file's text, however it came in (an editor's edit, an undo, a peer's change,
 * an edit found in the folder): the change record `ChangeRoute` (change-route.ts) hands on.
 */
export interface TextEvent {
  fileId: string;
  path: string;
  /** What the change did, on `before` (UTF-16 code units). */
  op: TextOp;
  /** The text before and after, as ropes: slice them; `String()` makes the whole text (a copy). */
  before: Rope;
  after: Rope;
  origin: TextOrigin;
  /** The raw Automerge change when it was made here (to send to peers); absent for a peer's. */
  raw?: RawChange;
}

export interface FilesEvent extends IndexDiff {
  origin: Origin;
  /** Non-live files whose content (hash) changed. */
  changed: string[];
  /** Files whose executable bit changed (see FileEntry.exec). */
  modes?: string[];
}

/**
 * What an outside edit of a file was made on, as far as the folder's history tells
 * (WriteBack.baseFor); every field optional, as the folder may not know.
 */
export interface MadeOn {
  /** The text the folder held that the tool changed: without it the edit is the whole difference from the shared text. */
  text?: string;
  /** Its hash (a whole file changed from a version the shared one has moved on from is kept beside it). */
  hash?: string;
  /** The document's heads at which its text was `text` (the folder got it there, DiskLedger): what arrived since is read from the document's history, not guessed by a text diff. */
  heads?: readonly string[];
  /**
   * The tool changed the file after all that arrived since `text` had happened in the folder: a
   * write into the file a write-back replaced was taken in meanwhile (WriteBack.takeLateWrite),
   * and the next `echo >>` appended to the new file. Where both insert at one place, the tool's
   * text goes after.
   */
  after?: boolean;
}

/** Where the bytes of a file that is not yet in the index come from (the folder). */
export interface ContentSource {
  read(path: string): Promise<Uint8Array | undefined>;
}

/** Folders peers shared or stopped sharing (empty ones included; files come as FilesEvent). */
export interface DirsEvent {
  created: string[];
  deleted: string[];
  origin: Origin;
}

export interface WorkspaceEvents {
  /** A change to a file's text, already in storage: see `ChangeRoute` for where it goes. */
  text: [TextEvent];
  files: [FilesEvent];
  dirs: [DirsEvent];
  /** A local change to the file index, to send to peers (text changes travel in `text`). */
  localChange: [docId: string, change: RawChange];
  /** Something a person should find in the log (a conflict resolved, a deleted file kept). */
  notice: [message: string];
  /**
   * A version of a file was moved aside as a conflict copy (two peers made or changed it at
   * once, or a file met a folder), said in `message`, which also went out as a `notice`: the
   * person is told, not only the log (decision 224).
   */
  copied: [message: string];
  /**
   * A file deleted on one side came back, with edits made on another that the deletion never
   * saw (said in `message`, also a `notice`): the person who deleted it is told why, not only the
   * log (a trial: its editor heard nothing, 0 of 3).
   */
  back: [message: string];
  /** An editor waits for a document whose history has not arrived: ask the peers for it. */
  historyWanted: [docId: string];
}

/** The hash of empty content: a file created empty needs no blob to become live anywhere. */
const EMPTY_HASH = hashBytes(new Uint8Array());

/** How long opening a file waits for its content to arrive from a peer (view mode fetches on open). */
const OPEN_WAIT_MS = 20_000;

/** Do two index entries say the same (every field, whatever order they were written in)? */
function sameEntry(a: FileEntry, b: FileEntry): boolean {
  const ka = Object.keys(a).filter((k) => (a as unknown as Record<string, unknown>)[k] !== undefined);
  const kb = Object.keys(b).filter((k) => (b as unknown as Record<string, unknown>)[k] !== undefined);
  return ka.length === kb.length && ka.every((k) => (a as unknown as Record<string, unknown>)[k] === (b as unknown as Record<string, unknown>)[k]);
}

/**
 * Where another version of file `id` is kept beside it: an id derived from the file and the
 * content (so every peer that keeps the same version makes the very same entry, and copies
 * converge instead of multiplying) and `name (conflict <hash8>).ext`.
 */
function conflictCopy(id: string, version: FileEntry): [string, FileEntry] {
  return ['f' + sha256Hex(`${id}:${version.hash}`).slice(0, 24), { ...version, path: conflictPath(version.path, version.hash.slice(0, 8)) }];
}

/** The most bytes of UTF-8 one name may have (NAME_MAX on every common file system). */
const NAME_BYTES = 255;

/** Bytes of `s` in UTF-8 (a lone surrogate counts 3, as Node writes it). */
function utf8Length(s: string): number {
  let n = 0;
  for (const ch of s) {
    const c = ch.codePointAt(0)!;
    n += c < 0x80 ? 1 : c < 0x800 ? 2 : c < 0x10000 ? 3 : 4;
  }
  return n;
}

/** The longest start of `s`, whole characters only, that fits in `bytes` bytes of UTF-8. */
function utf8Prefix(s: string, bytes: number): string {
  let out = '';
  let used = 0;
  for (const ch of s) {
    used += utf8Length(ch);
    if (used > bytes) break;
    out += ch;
  }
  return out;
}

/**
 * `dir/name.ext` → `dir/name (conflict tag).ext`: where the losing side of a conflict is kept.
 * The copy's name fits in NAME_BYTES: a name too long for the mark loses the end of its stem (or,
 * when the extension is most of it, the end of the whole name), so the copy can exist on every
 * peer's disk and pass every peer's path check. A copy named so could otherwise never be written,
 * and the index change naming it was refused by every peer, with every later change after it.
 */
export function conflictPath(path: string, tag: string): string {
  const slash = path.lastIndexOf('/');
  const dir = path.slice(0, slash + 1);
  const name = path.slice(slash + 1);
  const dot = name.lastIndexOf('.');
  let [stem, ext] = dot > 0 ? [name.slice(0, dot), name.slice(dot)] : [name, ''];
  const mark = ` (conflict ${tag})`;
  const room = NAME_BYTES - utf8Length(mark);
  if (utf8Length(stem) + utf8Length(ext) > room) {
    if (utf8Length(ext) <= room / 2) stem = utf8Prefix(stem, room - utf8Length(ext));
    else [stem, ext] = [utf8Prefix(stem + ext, room), ''];
  }
  return `${dir}${stem}${mark}${ext}`;
}

/** The path `copy` is the `conflictPath` of with `tag`, or undefined when it is not one. */
function conflictedFrom(copy: string, tag: string): string | undefined {
  const mark = ` (conflict ${tag})`;
  const at = copy.lastIndexOf(mark);
  if (at < 0) return undefined;
  const path = copy.slice(0, at) + copy.slice(at + mark.length);
  return conflictPath(path, tag) === copy ? path : undefined;
}

/** What `resolve` says of two files made at one path with the same bytes: one is kept, nothing else happened. */
export function createdTheSame(path: string): string {
  return `${path} was created on two peers with the same content; kept one`;
}

/**
 * What `resolve` says of two files created at one path with different content. `mine`: which of
 * the two this daemon made in this run, if either, so that the person who made it is told where
 * their own version went: "the other version" named their own file to the person whose file was
 * moved aside (trial s53, N1). A peer that made neither says which is kept where, as before.
 */
function createdAtOnce(path: string, copy: string, mine?: 'kept' | 'aside'): string {
  if (mine === 'aside') return `${path} was created on two peers at once, here and on another; the other peer's version keeps the path, yours is kept as ${copy}`;
  if (mine === 'kept') return `${path} was created on two peers at once, here and on another; yours keeps the path, the other peer's version is kept as ${copy}`;
  return `${path} was created on two peers at once; the other version is kept as ${copy}`;
}

/**
 * What `resolve` says where two files got one path at once and at least one of them got it by a
 * rename (`keptFrom` / `lostFrom`: the path the file that keeps it / the one moved aside was
 * renamed from; undefined: made there). The same on every peer, the one whose rename lost
 * included: "created on two peers at once" named no rename, and its "other version" was the
 * person's own file (a trial).
 */
export function renamedAtOnce(path: string, copy: string, keptFrom: string | undefined, lostFrom: string | undefined): string {
  const which = (from: string | undefined) => (from === undefined ? 'the one made there' : `the one renamed from ${from}`);
  return `${path} was given to two files at once, on two peers: ${which(keptFrom)} keeps it, ${which(lostFrom)} is kept as ${copy}`;
}

/**
 * What `resolve` says where this daemon made both files at one path: an editor opened a file the
 * folder was still being written to, and the folder's version came after (decision 212). Peers,
 * which cannot tell, say `createdAtOnce`.
 */
export function createdTwiceHere(path: string, copy: string): string {
  return `${path} was made twice on this machine at once: an editor opened it while it was still being written in the folder. Both versions are kept, the folder's or the editor's as ${copy}`;
}

/** What is said, on every peer, of a file moved aside for a folder made at its path at once. */
function fileMetFolder(path: string, copy: string): string {
  return `${path} was made a file on one peer and a folder on another at once; the folder keeps the path (with its files), the file is kept as ${copy}`;
}

/** What a joining folder says of its own file moved aside for a folder the session has at its path. */
function joinedFileMetFolder(path: string, copy: string): string {
  return `${path}: this folder had a file there, the session a folder; the session's folder keeps the path (with its files), this folder's file is kept as ${copy}`;
}

/** What is said, on every peer, of empty folders that went for a file made at their path at once. */
function emptyFolderYielded(path: string): string {
  return `${path} was made a file on one peer and an empty folder on another at once; the file keeps the path (the folder had no shared file in it)`;
}

/** A file's content hash and executable bit in one string (`x` or `-` last). */
function stateKey(e: FileEntry): string {
  return e.hash + (e.exec ? 'x' : '-');
}

const FILE_DOC = /^f[0-9a-f]{24}$/;
/** Most text documents kept that no index entry names (their entry may still be arriving). */
export const MAX_ORPHAN_DOCS = 64;

/** A live document nobody holds open is dropped from memory after this long unused. */
const IDLE_UNLOAD_MS = 120_000;

/**
 * At most this many documents, and this many characters in them, stay in memory that no editor
 * holds open; past either, the least recently used go at once (saved first), as idle ones do
 * after IDLE_UNLOAD_MS. Automerge 2.2.9 holds ~400 bytes per character, and WebAssembly's memory
 * never shrinks: a `sed -i` over 390 files made each live at once and left each daemon at
 * ~1.3 GB for good (a trial saw 1.9 GB), and a restart loaded them all again (decision 243).
 * 256,000 characters is ~100 MB of Automerge's memory.
 */
export const MAX_UNPINNED_DOCS = 32;
export const MAX_UNPINNED_CHARS = 256_000;
/**
 * The text of documents unloaded in this run is kept, up to this many characters in all (the
 * oldest unloaded go first): a write of such a document to the folder, scheduled before it was
 * unloaded, needs only its text, and loading the document again for it (~40 ms) held a member
 * receiving a tree-wide rewrite for 8–11 s at a time: each of ~240 writes loaded its document in
 * one chain of promises, which never let the event loop run (decision 246). A string costs 1–2
 * bytes per character against Automerge's ~400: 4,000,000 characters is 4–8 MB.
 */
export const MAX_UNLOADED_TEXT_CHARS = 4_000_000;

/** A live text file is limited to this size: Automerge 2.2.9 holds ~400 bytes per character. */
export const DEFAULT_LIVE_LIMIT = 1024 * 1024;

export class Workspace extends EventEmitter<WorkspaceEvents> {
  readonly index: FileIndex;
  private live = new Map<string, TextDoc>();
  /**
   * When each loaded document was last used (ms epoch), in order of use, the least recent first
   * (`touch`), and how many editors hold it open.
   */
  private used = new Map<string, number>();
  private pins = new Map<string, number>();
  private unloader: Timer;
  /** While `batch` runs: the index as it was before, for one combined `files` event. */
  private batching: Map<string, FileEntry> | undefined;
  /** An editor's edits staged on one file's text, not yet a change (see `stageEdit`). */
  private burst: EditBurst | undefined;
  /**
   * This daemon holds a read-only code (no writer secret): every local change is refused here,
   * with a clear error, instead of being kept where no peer will ever accept it (decision 013).
   */
  readOnly = false;
  /**
   * This workspace is taking in the session's history for the first time, with no copy of its
   * own (a browser tab's first visit), until its first sync with a peer ends: the conflict copies
   * already in the session are no news to it, as for a folder joining (`index.holdingBack`). A
   * new guest's page greeted it with three old "arrived from a peer" warnings (trial s59 F5).
   */
  learningHistory = false;
  /**
   * Why the saved index did not load whole at start (no saved index, a damaged one, or a log
   * without the snapshot it builds on), or undefined when it did. The folder's ledger of what
   * the daemon wrote describes the index as it was, so a file it names that this index lacks is
   * not one a peer deleted (see FolderSync: the daemon never deletes on that ground then).
   */
  readonly indexLost: string | undefined;

  constructor(
    private readonly storage: DocumentStore,
    readonly blobs: BlobStore,
    private actor: string,
    private readonly source: ContentSource,
    readonly liveLimit = DEFAULT_LIVE_LIMIT,
  ) {
    super();
    this.setMaxListeners(0);
    const saved = storage.has(INDEX_DOC_ID);
    this.index = storage.open(INDEX_DOC_ID, (snapshot, changes) => new FileIndex(snapshot, changes, actor));
    this.indexLost = !saved ? 'it is missing' : storage.recovered(INDEX_DOC_ID) ? 'it is damaged' : this.index.lacksHistory ? 'part of it is missing' : undefined;
    if (this.indexLost !== undefined) {
      // This peer's earlier changes may exist at other peers but not here any more. Automerge
      // numbers an actor's changes 1, 2, 3…: new ones under the same actor would repeat numbers
      // peers hold already ("duplicate seq"), which breaks saving and syncing the document. New
      // changes of this run get an actor of their own (harmless on a project's first start).
      this.actor = runActor(this.actor);
      if (this.index.lacksHistory) {
        // A log without the snapshot it builds on: its changes can only wait for that history,
        // and a sync does not bring a long one to a document that waits (Automerge asks for one
        // missing change per round, and stops when its heads do not move). Start from the empty
        // index instead: peers hold those changes, and the folder scan takes in what they did
        // to the folder. The log is kept as the previous state (DocumentStore.snapshot).
        this.index = new FileIndex(undefined, [], this.actor);
        storage.snapshot(INDEX_DOC_ID, this.index.save());
      } else {
        const again = storage.load(INDEX_DOC_ID); // what the store built from, under the new actor
        this.index = new FileIndex(again.snapshot, again.changes, this.actor);
      }
    }
    this.unloader = unref(setInterval(() => this.unloadIdle(IDLE_UNLOAD_MS), IDLE_UNLOAD_MS / 2));
  }

  /** Text documents built from less than was saved of them, until the folder was taken in over them (`builtFromLess`). */
  private readonly cutShort = new Set<string>();

  /**
   * Was the document of `fileId` built from less than was saved of it (its saved state damaged,
   * or its log cut short) with the folder not yet taken in over it? Loads it. The folder's copy,
   * written from the whole, may hold text the document lost: the start's take-in takes it in
   * whole, once (FolderSync; a trial: a restart wrote the smaller text over the person's file).
   */
  builtFromLess(fileId: string): boolean {
    if (!FILE_DOC.test(fileId) || !this.isLive(fileId)) return false;
    this.doc(fileId);
    return this.cutShort.has(fileId);
  }

  /** The folder was taken in over the document of `fileId` (see `builtFromLess`): its later edits merge as any. */
  tookInOver(fileId: string): void {
    this.cutShort.delete(fileId);
  }

  /** An editor holds the file open: keep its document in memory. */
  pin(fileId: string): void {
    this.pins.set(fileId, (this.pins.get(fileId) ?? 0) + 1);
  }

  /** Does an editor hold the file open (`pin`)? */
  isOpen(fileId: string): boolean {
    return this.pins.has(fileId);
  }

  unpin(fileId: string): void {
    const n = (this.pins.get(fileId) ?? 0) - 1;
    if (n > 0) this.pins.set(fileId, n);
    else this.pins.delete(fileId);
  }

  /**
   * Memory follows the working set (Automerge 2.2.9 holds ~400 bytes per character): documents
   * no editor holds open and nobody touched for `idleMs` are saved and dropped from memory; the
   * next use loads them again from `.chorus/state`.
   */
  unloadIdle(idleMs: number, now = Date.now()): number {
    this.settle();
    let n = 0;
    for (const [id, doc] of this.live) {
      if (this.pins.has(id) || now - (this.used.get(id) ?? 0) < idleMs) continue;
      this.unload(id, doc);
      n++;
    }
    return n;
  }

  /**
   * Drop document `id` from memory; its next use loads it again. Every change it has is in its
   * log already (appended as it was made or received), so it is compacted only when that log has
   * grown long, as at `close`: a snapshot is a save, a load to check it and a write (~80 ms for a
   * 10 KB file's document), which made a bulk change that unloads hundreds of them seconds slower.
   */
  private unload(id: string, doc: TextDoc): void {
    this.unloadedAs.set(id, { heads: doc.heads, changes: doc.changeCount });
    if (doc.ready) this.keepUnloadedText(id, doc.text);
    if (this.storage.unsnapshotted(id) >= CLOSE_COMPACT_AFTER) this.compact(id);
    this.live.delete(id);
    this.used.delete(id);
    doc.free();
  }

  /**
   * What each document unloaded in this run was when it went: its heads and how many changes it
   * had. A document changes only in memory, so this holds until it is loaded again (`doc`).
   * Peers compare heads at connect and sync only the documents that differ (decision 243).
   */
  private unloadedAs = new Map<string, { heads: string[]; changes: number }>();

  /**
   * The text of documents unloaded in this run with their whole history, oldest first, within
   * MAX_UNLOADED_TEXT_CHARS: as `unloadedAs`, it holds until the document is loaded again (`doc`),
   * so `text` and `content` answer from it.
   */
  private unloadedText = new Map<string, string>();
  private unloadedTextChars = 0;

  private keepUnloadedText(id: string, text: string): void {
    this.forgetUnloadedText(id);
    if (text.length > MAX_UNLOADED_TEXT_CHARS) return;
    this.unloadedText.set(id, text);
    this.unloadedTextChars += text.length;
    for (const [old, t] of this.unloadedText) {
      if (this.unloadedTextChars <= MAX_UNLOADED_TEXT_CHARS) break;
      this.unloadedText.delete(old);
      this.unloadedTextChars -= t.length;
    }
  }

  private forgetUnloadedText(id: string): void {
    const t = this.unloadedText.get(id);
    if (t === undefined) return;
    this.unloadedText.delete(id);
    this.unloadedTextChars -= t.length;
  }

  /** The heads of document `docId` if known without loading it (see ReplicatedWorkspace.knownHeads). */
  knownHeads(docId: string): string[] | undefined {
    if (docId === INDEX_DOC_ID) return this.index.heads;
    const live = this.live.get(docId);
    if (live) return live.hasStaged ? undefined : live.heads;
    return this.storage.has(docId) ? this.unloadedAs.get(docId)?.heads : undefined;
  }

  /** `id` is used now: the most recent in `used`'s order. */
  private touch(id: string): void {
    this.used.delete(id);
    this.used.set(id, Date.now());
  }

  /**
   * Keep the documents no editor holds open within MAX_UNPINNED_DOCS and MAX_UNPINNED_CHARS,
   * unloading the least recently used first; never `keep` (the one just loaded), one with staged
   * edits, or one whose history is still arriving (its waiting changes are not saved).
   */
  private makeRoom(keep: string): void {
    let docs = 0;
    let chars = 0;
    for (const [id, doc] of this.live) {
      if (this.pins.has(id)) continue;
      docs++;
      chars += doc.text.length;
    }
    if (docs <= MAX_UNPINNED_DOCS && chars <= MAX_UNPINNED_CHARS) return;
    for (const id of [...this.used.keys()]) {
      if (docs <= MAX_UNPINNED_DOCS && chars <= MAX_UNPINNED_CHARS) return;
      const doc = this.live.get(id);
      if (!doc || id === keep || this.pins.has(id) || doc.hasStaged || doc.lacksHistory) continue;
      docs--;
      chars -= doc.text.length;
      this.unload(id, doc);
    }
  }

  /** How many file documents are in memory now. */
  get loaded(): number {
    return this.live.size;
  }

  /** Is this file's document in memory now (not only saved in `.chorus/state`)? */
  isLoaded(fileId: string): boolean {
    return this.live.has(fileId);
  }

  // ---- documents ---------------------------------------------------------------------------

  /** The live document of a file, loading it from storage if it was saved. */
  private doc(fileId: string, settle = true): TextDoc | undefined {
    // A staged burst becomes a change before anything but its own editor uses the document.
    if (settle) this.settle();
    // Only file ids name text documents: "data" or "index" from a peer's presence must never load
    // another namespace's saved state as text (issue 10, item 12).
    if (!FILE_DOC.test(fileId)) return undefined;
    let doc = this.live.get(fileId);
    if (doc) this.touch(fileId);
    if (!doc && fileId !== INDEX_DOC_ID && this.storage.has(fileId)) {
      doc = this.storage.open(fileId, (snapshot, changes) => TextDoc.load(snapshot, changes, this.actor));
      if (this.storage.recovered(fileId) || doc.lacksHistory) {
        // Built from less than it had: its own changes here may be lost, so new ones must not
        // reuse their numbers (see the constructor).
        const again = this.storage.load(fileId);
        doc = TextDoc.load(again.snapshot, again.changes, runActor(this.actor));
        this.cutShort.add(fileId);
      }
      this.live.set(fileId, doc);
      this.unloadedAs.delete(fileId);
      this.forgetUnloadedText(fileId);
      this.touch(fileId);
      this.makeRoom(fileId);
    }
    return doc;
  }

  private liveDoc(fileId: string, settle = true): TextDoc {
    const doc = this.doc(fileId, settle);
    if (!doc) throw new Failure('notOpen', `file ${this.pathOf(fileId) ?? fileId} is not live`);
    return doc;
  }

  pathOf(fileId: string): string | undefined {
    return this.index.entry(fileId)?.path;
  }

  isLive(fileId: string): boolean {
    return FILE_DOC.test(fileId) && (this.live.has(fileId) || this.storage.has(fileId));
  }

  /** Ids of every document this daemon holds: the index and each live file. */
  docIds(): string[] {
    const ids = new Set([INDEX_DOC_ID, ...this.live.keys(), ...this.storage.ids().filter((id) => FILE_DOC.test(id))]);
    return [...ids];
  }

  /**
   * Does the file index name this document: the index itself, or a file's text whose entry is
   * present or removed? Only these are offered to peers and taken whole from them (decision 193).
   */
  names(docId: string): boolean {
    return docId === INDEX_DOC_ID || (FILE_DOC.test(docId) && (!!this.index.entry(docId) || !!this.index.removedEntry(docId)));
  }

  /**
   * A join holds back what this folder had before it joined (decision 228): from now until
   * `releaseOwn`, peers are shown the session's index only (FileIndex.holdOwnBack), and nothing
   * of this folder's own files goes to them (`withheld`).
   */
  holdOwnBack(): void {
    this.index.holdOwnBack();
  }

  /** The join is done: what was held back goes to peers with the replicator's next sync (Replicator.offerHeldBack). */
  releaseOwn(): void {
    this.index.release();
  }

  /**
   * Is a change made here to `docId` kept from peers for now: the index's while a join holds this
   * folder's own back (`holdOwnBack`), a file's text while the session does not have that file.
   * Never, outside a join.
   */
  withheld(docId: string): boolean {
    return this.index.holdingBack && (docId === INDEX_DOC_ID || (FILE_DOC.test(docId) && !this.index.sessionHas(docId)));
  }

  /**
   * A live file's text, staged edits included (see `stageEdit`). For a document unloaded in this
   * run, the text it had then, without loading it (`unloadedText`), while its saved state is here.
   */
  text(fileId: string): string {
    return this.keptText(fileId) ?? this.liveDoc(fileId, false).text;
  }

  /** The text kept of a document unloaded in this run (`unloadedText`), while it is not loaded again. */
  private keptText(fileId: string): string | undefined {
    return this.live.has(fileId) || !this.storage.has(fileId) ? undefined : this.unloadedText.get(fileId);
  }


  /**
   * A live file's text as a Rope (staged edits included), for paths taken per keystroke: slicing
   * it copies only what is sliced, where `text` makes the whole text one string. A document
   * unloaded in this run: its kept text (see `text`).
   */
  rope(fileId: string): Rope {
    const kept = this.keptText(fileId);
    return kept === undefined ? this.liveDoc(fileId, false).rope : Rope.of(kept);
  }

  /**
   * `rope`, as an editor about to edit the file must see it: another editor's staged burst is
   * committed first, so it reaches this editor (as a `text` change) before this edit is placed.
   */
  ropeFor(fileId: string, editorId: string): Rope {
    if (this.burst && this.burst.origin.editorId !== editorId) this.settle();
    return this.rope(fileId);
  }

  /** The line index of a live file's current text (for fast position conversion). */
  lines(fileId: string): LineIndex {
    return this.liveDoc(fileId, false).lines;
  }

  /**
   * The heads of a file's document (in memory only: nothing is loaded for this) when its text is
   * now the content `hash` (`text`, when the caller has it, is compared instead of hashing the
   * document's text): the state whose text the folder gets when that content is written or taken
   * in (DiskLedger, decision 200). Undefined when the document is not in memory, not ready, or
   * holds another text. A staged burst is committed first, so the heads are those of the text.
   */
  headsIf(fileId: string, hash: string, text?: string): string[] | undefined {
    if (!this.live.has(fileId)) return undefined;
    const doc = this.doc(fileId);
    if (!doc?.ready || (text !== undefined ? doc.text !== text : contentHash(doc.text) !== hash)) return undefined;
    return doc.heads;
  }

  /**
   * A file's text at `heads` (an earlier state of its document, see `headsIf`), loading the
   * document if it was saved and unloaded; undefined when it is not live or lacks those heads.
   */
  textAt(fileId: string, heads: readonly string[]): string | undefined {
    const doc = this.isLive(fileId) ? this.doc(fileId) : undefined;
    return doc?.ready ? doc.textAt([...heads]) : undefined;
  }

  /** A stable CRDT reference for an offset in a live file (see TextDoc.cursorAt). */
  cursorAt(fileId: string, offset: number): string | undefined {
    return this.doc(fileId)?.cursorAt(offset);
  }

  offsetOf(fileId: string, cursor: string): number | undefined {
    return this.doc(fileId)?.offsetOf(cursor);
  }

  /** A file's current bytes: its live text, or its blob; undefined while its blob is missing. */
  content(fileId: string): Uint8Array | undefined {
    const kept = this.keptText(fileId);
    if (kept !== undefined) return utf8ToBytes(kept);
    const doc = this.doc(fileId);
    if (doc?.ready) return utf8ToBytes(doc.text);
    const e = this.index.entry(fileId);
    return e ? this.blobs.get(e.hash) : undefined;
  }

  /**
   * Make a file live from `base`. Its initial change is stored as the first of its log, before
   * any edit of it can be: no snapshot, which would encode the whole document and load it again
   * to check it (decision 170); the document is compacted when the daemon stops, unloads it or
   * its log grows long.
   */
  private makeLive(fileId: string, base: string): TextDoc {
    const { doc, change } = TextDoc.initial(fileId, base, this.actor);
    this.live.set(fileId, doc);
    this.touch(fileId);
    this.persist(fileId, change);
    this.makeRoom(fileId);
    return doc;
  }

  /** The text a non-live file becomes live from: its blob, which all peers agree on. */
  private baseText(entry: FileEntry): string {
    if (entry.size === 0 && entry.hash === EMPTY_HASH) return ''; // needs no blob: every peer knows ""
    const bytes = this.blobs.get(entry.hash);
    if (!bytes) throw notArrived(entry.path, 'try again in a moment');
    const text = decodeText(bytes);
    if (text === null) throw new Failure('notEditable', `${entry.path} is not UTF-8 text (a binary file?); Chorus edits text files only`);
    return text;
  }

  /**
   * Make a file live (if it is not) and return its id and text. A path that is not in the index
   * is read from the content source; `create` makes an empty file when it is not there either
   * (announced with `origin`, so the folder gets the file at once).
   */
  async open(path: string, create: boolean, origin: Origin = { kind: 'disk' }): Promise<{ fileId: string; text: string }> {
    let fileId = this.index.idOf(path);
    if (!fileId) {
      this.refuseClash(path);
      const bytes = await this.source.read(path);
      fileId = this.index.idOf(path); // another open may have raced us while we read
      if (!fileId) {
        if (bytes === undefined && !create) throw new Failure('notFound', `${path} does not exist in the project; pass content to create it`);
        fileId = this.addFile(path, bytes ?? new Uint8Array(), bytes === undefined ? origin : { kind: 'disk' });
      }
    }
    const existing = this.doc(fileId);
    if (existing && !existing.ready) await this.historyOf(fileId, existing);
    if (existing) return { fileId, text: existing.text };
    const entry = this.index.entry(fileId)!;
    if (entry.opaque) {
      throw new Failure(
        'notEditable',
        `${path} is not edited live (it is binary, starts with a byte order mark, or is over the ${this.liveLimit}-character live-editing limit): it is synced as a whole file, so edit it as a local file; each save is shared`,
      );
    }
    // View mode and fresh joins fetch content when it is opened: wait for it to arrive.
    if (!this.blobs.has(entry.hash)) await this.blobs.waitFor(entry.hash, OPEN_WAIT_MS);
    const again = this.doc(fileId);
    if (again) return { fileId, text: again.text };
    return { fileId, text: this.makeLive(fileId, this.baseText(entry)).text };
  }

  /**
   * The file last removed at `path` (no file is there now) whose document this daemon holds: an
   * editor re-opening a buffer it had in step before the removal gets it (decision 160), rather
   * than a new file made at the path. Undefined if none.
   */
  deletedFileAt(path: string): string | undefined {
    const id = this.index.removedAt(path);
    return id !== undefined && this.isLive(id) && this.doc(id)?.ready ? id : undefined;
  }

  /** Say `message` where the daemon says what happened to files (its log; a join's notices). */
  tell(message: string): void {
    this.emit('notice', message);
  }

  /**
   * Throws Failure('invalid') when a file at `path` would clash with the session's tree: `path` is
   * a shared folder, or a folder on its way is a shared file. Made anyway, such a file turned a
   * peer's shared file into a folder on every peer (a folder keeps the path, decision 142), from
   * one mistyped path in an editor (`README.txt/notes.txt`).
   */
  private refuseClash(path: string): void {
    if (this.index.isFolder(path)) throw new Failure('invalid', `${path} is a folder in the project; open a file inside it`);
    for (let at = path.indexOf('/'); at > 0; at = path.indexOf('/', at + 1)) {
      const above = path.slice(0, at);
      if (this.index.idOf(above)) throw new Failure('invalid', `${above} is a file in the project, so ${path} cannot be made inside it; check the path`);
    }
  }

  /**
   * Wait (up to OPEN_WAIT_MS) for the history of a document first heard of from a peer: an
   * editor must never see, or type into, a file whose text has not arrived.
   */
  private async historyOf(fileId: string, doc: TextDoc): Promise<void> {
    if (doc.ready) return;
    this.emit('historyWanted', fileId);
    await new Promise<void>((resolve) => {
      const check = (e: TextEvent) => {
        if (e.fileId === fileId && doc.ready) done();
      };
      const done = () => {
        clearTimeout(timer);
        this.off('text', check);
        resolve();
      };
      const timer = setTimeout(done, OPEN_WAIT_MS);
      this.on('text', check);
    });
    if (!doc.ready) throw notArrived(this.pathOf(fileId) ?? fileId, 'try again in a moment');
  }

  /** Does a document hold changes waiting for history it lacks (see TextDoc.lacksHistory)? */
  lacksHistory(docId: string): boolean {
    return docId !== INDEX_DOC_ID && !!this.live.get(docId)?.lacksHistory;
  }

  /**
   * Refuse a local change while this daemon may only read: throws Failure('readOnly') saying that
   * `what` stays on this machine. The change itself is already made where it was made (the
   * editor's buffer, the file on disk) and stays there; only sharing it is refused.
   */
  writable(what: string): void {
    if (this.readOnly) {
      throw new Failure(
        'readOnly',
        `you joined this session read-only: ${what} stays on this machine and is not shared; to share your changes, ask whoever shared the session for a writer's join code`,
      );
    }
  }

  /**
   * Apply a local change to a live file's text. `outsideTarget`: the change takes in an outside
   * tool's rewrite and leaves exactly this text (see TextDoc.twinRewrite).
   */
  edit(fileId: string, op: TextOp, origin: TextOrigin, outsideTarget?: string): void {
    this.writable(`the edit of ${this.pathOf(fileId) ?? fileId}`);
    const doc = this.liveDoc(fileId);
    if (!doc.ready) throw notArrived(this.pathOf(fileId) ?? fileId, 're-open it in a moment');
    const before = doc.rope;
    const change = doc.applyLocal(op, outsideTarget);
    if (change) this.commitLocal(fileId, doc, change, op, before, origin);
  }

  /**
   * An editor's edit, applied to the text at once and made a change together with the rest of
   * its burst (edit-burst.ts, decision 115): one Automerge change, one log write, one message to
   * peers and one `text` event per burst. The promise resolves once the edit is in storage (its
   * acknowledgement, decision 004) and rejects with a Failure when the disk refused the burst.
   * Anything else that uses the document commits the burst first (`settle`).
   */
  stageEdit(fileId: string, op: TextOp, origin: EditorOrigin): Promise<void> {
    if (this.burst && !this.burst.accepts(fileId, origin)) this.settle();
    this.writable(`the edit of ${this.pathOf(fileId) ?? fileId}`);
    const doc = this.liveDoc(fileId, false);
    if (!doc.ready) throw notArrived(this.pathOf(fileId) ?? fileId, 're-open it in a moment');
    if (isNoop(op)) return this.afterBurstOf(origin.editorId);
    const burst = (this.burst ??= new EditBurst(fileId, doc.rope, origin, () => {
      if (this.burst === burst) this.settle();
    }));
    doc.commitHook ??= () => this.settle();
    doc.stage(op);
    tracePoint('edit-staged');
    return burst.add(origin);
  }

  /** Settles once the editor's staged edits are answered (at once when it has none): answers stay in order. */
  afterBurstOf(editorId: string): Promise<void> {
    return this.burst?.origin.editorId === editorId ? this.burst.whenSettled() : Promise.resolve();
  }

  /**
   * Make the staged burst, if any, a change now (see `stageEdit`). Every entry point that changes
   * the project or reads the CRDT calls this first, so a burst's change always comes before
   * whatever follows it, as if each edit had been committed when it arrived.
   */
  settle(): void {
    const burst = this.burst;
    if (!burst) return;
    this.burst = undefined;
    const doc = this.live.get(burst.fileId);
    let committed;
    try {
      committed = doc?.commitStaged();
      tracePoint('change-made');
      if (doc && committed) this.commitLocal(burst.fileId, doc, committed.change, committed.op, burst.before, burst.origin);
    } catch (e) {
      burst.settled(e);
      // Refused by the disk: its editor is told in the answers; whoever settled goes on.
      if (e instanceof Failure) return;
      throw e;
    }
    burst.settled();
  }

  /**
   * A local change to a file's text, made on `doc` already: in storage first, then the `text`
   * event. When the disk refuses it, it is taken back and a Failure thrown (see below).
   */
  private commitLocal(fileId: string, doc: TextDoc, change: RawChange, op: TextOp, before: Rope, origin: TextOrigin): void {
    try {
      this.save(fileId, [change], origin.kind === 'editor' ? origin.editId : undefined);
      tracePoint('change-stored');
    } catch (e) {
      if (!(e instanceof StorageFailed)) throw e;
      // Not saved, so not acknowledged: the edit is taken back by a change that restores the
      // text, and both go to peers (so their next changes from here still apply), to be saved
      // here too once the disk takes them. Refused, and absent everywhere (issue 10, item 11).
      const undo = doc.applyLocal(diffToOp(doc.text, before.toString()));
      const pair = undo ? [change, undo] : [change];
      this.storage.defer(fileId, pair);
      for (const c of pair) this.emit('localChange', fileId, c);
      throw new Failure('storage', `the edit of ${this.pathOf(fileId) ?? fileId} was not made: ${e.message}; free some space, then re-open the buffer and type again`);
    }
    this.keepEdited(fileId, { kind: 'disk' });
    this.emit('text', { fileId, path: this.pathOf(fileId) ?? fileId, op, before, after: doc.rope, origin, raw: change });
  }

  /** Append changes to a document's log (compacting when it is time). Throws StorageFailed. */
  private save(docId: string, changes: RawChange[], mark?: string): void {
    if (this.storage.append(docId, changes, mark)) this.compact(docId);
  }

  /** Was the editor edit named `editId` applied to this file and saved (even before a restart)? */
  hasEdit(fileId: string, editId: string): boolean {
    this.settle();
    return this.storage.hasMark(fileId, editId);
  }

  /**
   * A change made here: in storage before anything else (before the edit is acknowledged,
   * decision 004). An index change goes to peers from here, even when the disk refuses it (it is
   * part of the shared state; saved as soon as the disk takes it again); a text change goes in
   * its `text` event.
   */
  private record(docId: string, change: RawChange): void {
    this.persist(docId, change);
    if (docId === INDEX_DOC_ID) this.emit('localChange', docId, change);
    else this.keepEdited(docId, { kind: 'disk' });
  }

  /**
   * Save a change made here; one the disk refuses is kept in memory and saved before anything
   * newer of the document once space returns (the store's `defer`), so the log never holds a
   * change without those it depends on.
   */
  private persist(docId: string, change: RawChange): void {
    try {
      this.save(docId, [change]);
    } catch (e) {
      if (!(e instanceof StorageFailed)) throw e;
      this.storage.defer(docId, [change]);
      this.emit('notice', `could not save a change of ${docId} yet: ${e.message}; it is kept in memory and saved when space returns`);
    }
  }

  // ---- files -------------------------------------------------------------------------------

  private isText(bytes: Uint8Array): boolean {
    return decodeText(bytes) !== null && bytes.length <= this.liveLimit;
  }

  /** A new file (from disk or an editor); returns its id. */
  addFile(path: string, bytes: Uint8Array, origin: Origin, exec = false): string {
    this.settle();
    const existing = this.index.idOf(path);
    if (existing) return existing;
    this.writable(`the new file ${path}`);
    return this.addEntry(path, bytes, origin, exec);
  }

  /**
   * A file this folder created at a path a peer created too, before either knew of the other's:
   * a second entry at that path, which `resolve` settles like any concurrent create.
   */
  addConcurrent(path: string, bytes: Uint8Array, origin: Origin, exec = false): string {
    this.settle();
    this.writable(`the new file ${path}`);
    return this.addEntry(path, bytes, origin, exec);
  }

  /**
   * The content hash of the folder's bytes a file was created from by this daemon (since it
   * started), if it was: the folder having those bytes later is not a concurrent create.
   */
  createdFrom(fileId: string): string | undefined {
    return this.madeHere.get(fileId);
  }

  /**
   * The files this daemon made since it started (the newest 10,000), each with the hash of the
   * folder's bytes it was made from, if it was (`createdFrom`); `resolve` tells its own apart.
   */
  private madeHere = new Map<string, string | undefined>();

  /**
   * Of two files made at one path, the one moved aside (`aside`) and the one that keeps it
   * (`kept`): which this daemon made in this run, if either (`createdAtOnce`'s `mine`). The
   * join's rewording (`keepSessionVersions`) asks it again to find what `resolve` said.
   */
  private whoseAside(aside: string, kept: string): 'kept' | 'aside' | undefined {
    return this.madeHere.has(aside) ? 'aside' : this.madeHere.has(kept) ? 'kept' : undefined;
  }

  /** The latest rename of each file seen here, its own or a peer's (the newest 10,000; see `renamedFrom`). */
  private renamedTo = new Map<string, { from: string; to: string }>();

  private noteRenames(renamed: IndexDiff['renamed']): void {
    for (const r of renamed) {
      if (this.renamedTo.size >= 10_000) this.renamedTo.clear(); // only the newest matter
      this.renamedTo.set(r.id, { from: r.from, to: r.to });
    }
  }

  /**
   * The path file `id`, now at `path`, was renamed from to get there, if it got there by a rename:
   * in the change being settled (`pathsBefore`, each file's path before it) or an earlier one.
   */
  private renamedFrom(id: string, path: string, pathsBefore: ReadonlyMap<string, string> | undefined): string | undefined {
    const before = pathsBefore?.get(id);
    if (before !== undefined && before !== path) return before;
    const r = this.renamedTo.get(id);
    return r?.to === path ? r.from : undefined;
  }

  private addEntry(path: string, bytes: Uint8Array, origin: Origin, exec: boolean): string {
    const id = newFileId();
    const hash = this.blobs.put(bytes);
    if (this.madeHere.size >= 10_000) this.madeHere.clear(); // only the newest matter
    this.madeHere.set(id, origin.kind === 'disk' ? hash : undefined);
    const entry: FileEntry = { path, hash, size: bytes.length };
    if (!this.isText(bytes)) entry.opaque = true;
    if (exec) entry.exec = true;
    this.recordIndex(this.index.add(id, entry), origin, { created: [path], deleted: [], renamed: [], changed: [] });
    return id;
  }

  /**
   * The bytes of a file changed outside the daemon. Live text takes the difference as an edit
   * (so others' concurrent edits survive); a text file not yet live becomes live from its last
   * known content first; a binary file's new content replaces the old (last writer wins).
   * `on`: what the change was made on (see MadeOn). Returns the path of the copy this content is
   * kept at when it raced a peer's change (the caller writes it into the folder: the path itself
   * gets the shared version).
   */
  contentChanged(path: string, bytes: Uint8Array, origin: TextOrigin, exec = false, on: MadeOn = {}): string | undefined {
    const { text: base, hash: baseHash } = on;
    this.settle();
    this.writable(`the change of ${path}`);
    const fileId = this.index.idOf(path);
    if (!fileId) {
      this.addFile(path, bytes, origin, exec);
      return;
    }
    const entry = this.index.entry(fileId)!;
    const text = decodeText(bytes);
    const doc = this.doc(fileId);
    if (doc && !doc.ready) {
      this.emit('notice', `${path} changed in the folder while its history is still arriving from a peer; taken in once it has arrived`);
      return;
    }
    const live = doc;
    if (live && text !== null && text.length <= this.liveLimit) {
      // The folder already holds the shared text (the same change arrived from a peer first):
      // nothing to take in; a three-way merge would apply it a second time.
      if (text === live.text) return;
      this.takeOutsideEdit(fileId, live.text, text, on, origin);
      return;
    }
    const hash = hashBytes(bytes);
    if (!live && hash === entry.hash) return;
    if (!live && !entry.opaque && text !== null && text.length <= this.liveLimit && this.blobs.has(entry.hash)) {
      const doc = this.makeLive(fileId, this.baseText(entry));
      this.takeOutsideEdit(fileId, doc.text, text, { text: base, after: on.after }, origin);
      return;
    }
    this.blobs.put(bytes, hash);
    // A whole new value, not a field update: it survives a concurrent delete (see FileIndex.replace).
    const next: FileEntry = { path, hash, size: bytes.length };
    if (!this.isText(bytes)) next.opaque = true;
    if (entry.exec) next.exec = true;
    if (baseHash !== undefined && baseHash !== entry.hash) {
      // The folder changed a version the shared file has moved on from (a peer's change had not
      // reached the folder yet): both were made at once. A whole value cannot merge, so the
      // shared version keeps the path, as for any concurrent put, and this folder's is kept
      // beside it, under an id derived from the file and the content like `resolve`'s copies.
      const [copyId, copy] = conflictCopy(fileId, next);
      const kept = this.index.entry(copyId);
      if (kept) return kept.path;
      this.tellCopy(`${path} was changed in this folder while a peer's change of it was on the way; the shared version keeps the path, this folder's is kept as ${copy.path}`);
      this.recordIndex(this.index.add(copyId, copy), origin, { created: [copy.path], deleted: [], renamed: [], changed: [] });
      return copy.path;
    }
    this.recordIndex(this.index.replace(fileId, next), origin, { created: [], deleted: [], renamed: [], changed: [path] });
  }

  /**
   * An outside edit of a text: the tool changed `base` (what the folder last held) into `text`;
   * that change is applied on top of `current`, three-way, so edits that arrived meanwhile (from
   * peers, not yet in the folder) survive. Without a base, or when nothing arrived, the whole
   * difference from `current`.
   *
   * What arrived is the document's own record of it (`TextDoc.changeSince` the heads at which
   * its text was `base`, `baseHeads`) whenever it has them and they lead from `base` to
   * `current`. A text diff of `base` and `current` is only the fallback: in repetitive text it
   * cannot tell where typing went in (`S6C0` + `022;S6C00`, or `S6C` + `0022;S6C0` + `0`), and
   * the edit rebased over the wrong one removed characters typed after it and kept some it had
   * removed (a `git stash` while two people typed, trial s54a F3, decision 253).
   * Where the tool's change and what arrived insert at one place, the tool's goes first, unless
   * it was made after (`on.after`).
   */
  private takeOutsideEdit(fileId: string, current: string, text: string, on: MadeOn, origin: TextOrigin): void {
    const base = on.text;
    let op: TextOp;
    if (base === undefined || base === current) op = outsideEditOp(current, text);
    else {
      const recorded = on.heads === undefined ? undefined : this.liveDoc(fileId).changeSince([...on.heads]);
      const arrived = recorded !== undefined && leadsTo(base, recorded, current) ? recorded : diffToOp(base, current);
      op = transformOp(outsideEditOp(base, text), arrived, on.after ? 'right' : 'left');
    }
    this.edit(fileId, op, origin, applyOp(current, op) === text ? text : undefined);
  }

  /**
   * Run `fn` (synchronous updates of the file list) as one index change and one `files` event,
   * so a burst of file operations reaches peers as one coherent step. Returns the hash of that
   * change (undefined when nothing changed, or inside another batch, whose change it joins).
   */
  batch(fn: () => void, origin: Origin): string | undefined {
    this.settle();
    this.writable('the change of the file list');
    if (this.batching) {
      fn();
      return undefined;
    }
    const before = new Map(this.index.entries());
    this.batching = before;
    let change: RawChange | undefined;
    try {
      change = this.index.batch(fn);
    } finally {
      this.batching = undefined;
    }
    if (!change) return undefined;
    // A change made here depends on every head the index had: it is the only head now.
    const [made] = this.index.heads;
    this.record(INDEX_DOC_ID, change);
    this.announce(this.index.diffFrom(new Map([...before].map(([id, e]) => [id, e.path]))), new Map([...before].map(([id, e]) => [id, stateKey(e)])), origin);
    this.resolveHere();
    return made;
  }

  /**
   * Settle conflicts a local batch made (a file created here at a path a peer just created):
   * announced as the daemon's own settling (SETTLING), which the folder follows as it does a peer's.
   */
  private resolveHere(): void {
    const before = this.hashes();
    const paths = this.paths();
    const winners = this.resolve(paths);
    if (!winners) return;
    const diff = this.index.diffFrom(paths);
    const changed = [...new Set(winners)].filter((p) => !diff.created.includes(p));
    this.emit('files', { ...diff, changed, origin: SETTLING });
    void before;
  }

  /**
   * After joining with files this folder had before (`preJoin`, their ids): where one of them and
   * a file of the session met at one path (`resolve` kept one there and the other beside it, by
   * file id, the same way on every peer), the session's file keeps the path and this folder's is
   * the copy `name (conflict <tag>).ext`; where it is the other way round, the two swap places
   * (decision 137). Returns each meeting: `path` holds the session's version, `kept` this
   * folder's, and `said` is what `resolve` said of it then (its notice). Read-only: no swaps.
   */
  keepSessionVersions(preJoin: ReadonlySet<string>): Array<{ path: string; kept?: string; said: string }> {
    const met: Array<{ path: string; kept?: string; said: string }> = [];
    const deleted: string[] = [];
    const entries = this.index.entries();
    // Session files `resolve` moved aside, by the path they lost.
    const movedAside = new Map<string, [string, FileEntry]>();
    for (const [id, e] of entries) {
      const from = preJoin.has(id) ? undefined : conflictedFrom(e.path, id.slice(1, 7));
      // Moved aside for one of this folder's files, in this join. An older copy, moved aside for
      // a file that has since gone from that path (renamed, `git mv`), has the very same name,
      // but taking it for this join's gave it the path back and moved this folder's file aside,
      // with nothing at the path to clash with, and the copy's person lost the name they were
      // told (a trial; decision 220). Entries from before `aside` count as this join's.
      if (from !== undefined && (e.aside === undefined || preJoin.has(e.aside))) movedAside.set(from, [id, e]);
    }
    const renamed: IndexDiff['renamed'] = [];
    const change = this.index.batch(() => {
      for (const [id, e] of entries) {
        if (!preJoin.has(id)) continue;
        const lostFrom = conflictedFrom(e.path, id.slice(1, 7));
        if (lostFrom !== undefined) {
          const holder = this.index.idOf(lostFrom);
          if (holder === undefined || preJoin.has(holder)) continue;
          // The same bytes as the session's (its text may have arrived only after `resolve`
          // compared them): no conflict, the copy goes (there is one file on every peer).
          if (!this.readOnly && this.currentHash(id, e) === this.currentHash(holder, this.index.entry(holder)!)) {
            this.index.remove(id);
            deleted.push(e.path);
            met.push({ path: lostFrom, said: createdAtOnce(lostFrom, e.path, this.whoseAside(id, holder)) });
            continue;
          }
          met.push({ path: lostFrom, kept: e.path, said: createdAtOnce(lostFrom, e.path, this.whoseAside(id, holder)) });
          continue;
        }
        const session = movedAside.get(e.path);
        if (session && !this.readOnly && this.currentHash(id, e) === this.currentHash(session[0], session[1])) {
          // As above: the folder's file is the session's, byte for byte; the session's file takes
          // its path back and no copy stays anywhere.
          this.index.remove(id);
          this.giveSessionFileItsPath(session[0], session[1], e.path, renamed);
          deleted.push(session[1].path);
          met.push({ path: e.path, said: createdAtOnce(e.path, session[1].path, this.whoseAside(session[0], id)) });
          continue;
        }
        const kept = conflictPath(e.path, id.slice(1, 7));
        if (!session || this.readOnly || this.index.idOf(kept)) continue;
        this.index.set(id, { path: kept, aside: session[0] });
        // This folder's file moves away first, so the session's never lands on it.
        renamed.push({ from: e.path, to: kept, id });
        this.giveSessionFileItsPath(session[0], session[1], e.path, renamed);
        met.push({ path: e.path, kept, said: createdAtOnce(e.path, session[1].path, this.whoseAside(session[0], id)) });
      }
    });
    if (!change) return met;
    this.record(INDEX_DOC_ID, change);
    this.emit('files', { created: [], deleted, renamed, changed: [], origin: SETTLING });
    return met;
  }

  /**
   * After joining (decision 147): where a folder this folder had (`preJoinDirs`: every folder
   * path of its index before the join) met a file of the session, `resolve` kept the folder at
   * the path on every peer and moved the session's file aside to `name (conflict <its id>)`. The
   * session's file keeps its path instead: the folder, with everything in it, moves to
   * `name (conflict <tag>)`, on disk here first (`aside.move(from, to, files)`: the whole folder,
   * files that are not shared too, before the session's file is written there; `files` the
   * shared ones, old and new path) and in the index, so on every peer. A folder holding only
   * files the session does not share (a `.env` alone) was a folder entry with nothing in it, which
   * `resolve` let go for the session's file (an empty folder yields to a file): where it is still
   * a folder here (`aside.isFolder`), it is set aside the same way, its folder entries come back
   * at its new path, and the session's file is written at its own. Only a folder whose every
   * file in the index is this folder's own (`preJoin` ids) moves: one a peer has put files in
   * since stays where it is, and so does one where the session's file was aside before this
   * join (a copy of the project joining: this folder had that copy too, or one of its files in
   * the folder is the session's, byte for byte, kept by `resolve` under this folder's id). And
   * the other way round: where the session's empty folder went for a file this folder had
   * (`resolve` lets an empty folder yield to a file), the folder comes back and this folder's
   * file moves to `name (conflict <its id>)` (`folder` false in what is returned). The session's file gets its path back as in `keepSessionVersions`
   * (`giveSessionFileItsPath`). Returns each meeting: `path` the session's file, `kept` where
   * the folder went, `said` what `resolve` said of it. Read-only: nothing moves.
   */
  keepSessionFilesOverFolders(
    preJoin: ReadonlySet<string>,
    preJoinDirs: ReadonlySet<string>,
    aside: FolderAside,
  ): Array<{ path: string; kept: string; said: string; folder: boolean }> {
    const met: Array<{ path: string; kept: string; said: string; folder: boolean }> = [];
    if (this.readOnly) return met;
    this.settle();
    const renamed: IndexDiff['renamed'] = [];
    const written: string[] = [];
    const dirsBefore = new Set(this.index.dirs());
    const tied = this.tiedWithSession(preJoin);
    // Every path this folder's files had (those `resolve` removed for a session file too).
    const had = new Set([...this.index.entries(), ...this.index.removedEntries()].filter(([fid]) => preJoin.has(fid)).map(([, f]) => f.path));
    const change = this.index.batch(() => {
      for (const [id, e] of this.index.entries()) {
        if (preJoin.has(id)) continue;
        const dir = conflictedFrom(e.path, id.slice(1, 7));
        if (dir === undefined || !preJoinDirs.has(dir) || !this.index.isFolder(dir) || this.index.idOf(dir)) continue;
        // This folder had the session's copy itself (a copy of the project joining): the clash
        // is older than this join, which did not move the session's file aside.
        if (had.has(e.path)) continue;
        const inside = (p: string) => p === dir || p.startsWith(dir + '/');
        const files = this.index.entries().filter(([, f]) => inside(f.path));
        const dirs = this.index.dirs().filter(inside);
        // A folder a peer has put files in since holds others' work too: it keeps the path (142).
        // So does one holding a file the session had at the same path with the same bytes (a copy
        // of the project joining): the session had this folder, and its file was moved aside for
        // it before this join, not by it. Which of the two ids `resolve` kept is chance.
        if (files.some(([fid, f]) => !preJoin.has(fid) || tied.has(f.path))) continue;
        // A tag of its own: the session's file sits at `conflictPath(dir, <its id>)` until now.
        const kept = this.freeCopyPath(dir);
        if (kept === undefined) continue;
        const moved = (p: string) => kept + p.slice(dir.length);
        if (!aside.move(dir, kept, files.map(([, f]) => [f.path, moved(f.path)]))) continue;
        for (const [fid, f] of files) {
          this.index.set(fid, { path: moved(f.path) });
          renamed.push({ from: f.path, to: moved(f.path), id: fid });
        }
        for (const d of dirs) {
          this.index.removeDir(d);
          this.index.addDir(moved(d));
        }
        // After this folder's files: the folder is out of the way by then on every peer's disk.
        this.giveSessionFileItsPath(id, e, dir, renamed);
        met.push({ path: dir, kept, said: fileMetFolder(dir, e.path), folder: true });
      }
      // This folder's folder of unshared files that went for the session's file (see above):
      // yielded here, or by a peer that settled the clash first (the sharer saw this folder's
      // folder before this daemon had the session's index), so the index here just lost it.
      for (const dir of preJoinDirs) {
        const id = this.index.idOf(dir);
        if (id === undefined || preJoin.has(id) || this.index.isFolder(dir) || !aside.isFolder(dir)) continue;
        const gone = this.yielded.get(dir) ?? [...preJoinDirs].filter((d) => d === dir || d.startsWith(dir + '/'));
        const kept = this.freeCopyPath(dir);
        if (kept === undefined || !aside.move(dir, kept, [])) continue;
        for (const d of gone) this.index.addDir(kept + d.slice(dir.length));
        written.push(dir);
        met.push({ path: dir, kept, said: emptyFolderYielded(dir), folder: true });
      }
      // The session's empty folder that went for this folder's file: back, and the file aside.
      // Yielded here, or by a peer that settled the clash before this daemon had the session's
      // index (the sharer, seeing this folder's file first): then this daemon never saw the
      // folder, and only the index's history tells (decision 221; `cli/join-faults` failed so
      // under load, the join telling nothing and the session's folder gone).
      const unseen = new Set(this.index.entries().filter(([id, e]) => preJoin.has(id) && !this.yielded.has(e.path) && !preJoinDirs.has(e.path)).map(([, e]) => e.path));
      const yieldedAway = unseen.size ? this.index.dirsRemovedAfterOwn(unseen) : new Map<string, string[]>();
      for (const [id, e] of this.index.entries()) {
        const dirs = this.yielded.get(e.path) ?? yieldedAway.get(e.path);
        if (!preJoin.has(id) || dirs === undefined || preJoinDirs.has(e.path) || this.index.isFolder(e.path)) continue;
        const copy = conflictPath(e.path, id.slice(1, 7));
        if (this.index.idOf(copy) || this.index.isFolder(copy)) continue;
        this.index.set(id, { path: copy });
        renamed.push({ from: e.path, to: copy, id });
        for (const d of dirs) this.index.addDir(d);
        met.push({ path: e.path, kept: copy, said: emptyFolderYielded(e.path), folder: false });
      }
    });
    if (change) this.record(INDEX_DOC_ID, change);
    if (!change && !written.length) return met;
    // As the daemon's own settling: the folder here has moved on disk already (its files are
    // where the index says), and the session's file is moved or written at its path (`written`:
    // the ones whose entry did not change, kept out of this folder by its folder until now).
    this.emit('files', { created: [], deleted: [], renamed, changed: written, origin: SETTLING });
    this.announceDirs(dirsBefore, SETTLING);
    return met;
  }

  /**
   * The paths of this folder's files (`preJoin` ids) where a file of the session went since this
   * daemon started: `resolve` keeps one of two files made at one path with the same bytes, by id
   * order, so this folder's file may hold the path of the session's very file.
   */
  private tiedWithSession(preJoin: ReadonlySet<string>): Set<string> {
    const tied = new Set<string>();
    for (const [id, e] of this.index.removedEntries()) {
      const holder = this.index.idOf(e.path);
      if (preJoin.has(id) || this.index.entry(id) || holder === undefined || !preJoin.has(holder)) continue;
      if (this.index.entry(holder)?.hash === e.hash) tied.add(e.path); // the same bytes: a tie, not a clash
    }
    return tied;
  }

  /**
   * A path `name (conflict <new tag>)` for this folder's folder at `dir`, set aside after a join,
   * that no file or folder of the index has; undefined when ten tries found none.
   */
  private freeCopyPath(dir: string): string | undefined {
    const taken = (p: string) => this.index.isFolder(p) || this.index.idOf(p) !== undefined;
    for (let i = 0; i < 10; i++) {
      const copy = conflictPath(dir, bytesToHex(randomBytes(3)));
      if (!taken(copy)) return copy;
    }
    return undefined;
  }

  /**
   * Give the session's file `id` (its entry `e` before) its path `path` back after a join, and
   * note the move in `renamed`. A whole new entry (`FileIndex.replace`), not a new path: another
   * writer's `resolve` may have moved the file aside at the same moment (it learnt of the joining
   * folder's file or folder then), and its update of the old entry's path, the later one when
   * that writer had seen more of the index, won over a path set here: the file stayed a copy on
   * every peer and nothing was at its path (decisions 137, 147).
   */
  private giveSessionFileItsPath(id: string, e: FileEntry, path: string, renamed: IndexDiff['renamed']): void {
    this.index.replace(id, { ...e, path });
    renamed.push({ from: e.path, to: path, id });
  }

  /** A folder appeared (from disk): shared, so it appears on every peer, empty or not. */
  addDir(path: string, origin: Origin): void {
    this.settle();
    this.writable(`the new folder ${path}`);
    this.recordIndex(this.index.addDir(path), origin, undefined);
  }

  /** A folder went (from disk): it goes on every peer that has nothing unshared in it. */
  removeDir(path: string, origin: Origin): void {
    this.settle();
    this.writable(`the removal of the folder ${path}`);
    this.recordIndex(this.index.removeDir(path), origin, undefined);
  }

  rename(from: string, to: string, origin: Origin): void {
    this.settle();
    this.writable(`the renaming of ${from}`);
    const fileId = this.index.idOf(from);
    if (!fileId || this.index.idOf(to)) return;
    this.noteRenames([{ from, to, id: fileId }]);
    this.recordIndex(this.index.set(fileId, { path: to }), origin, { created: [], deleted: [], renamed: [{ from, to, id: fileId }], changed: [] });
  }

  /** A file's executable bit changed (in the folder). */
  setExec(path: string, exec: boolean, origin: Origin): void {
    this.settle();
    const fileId = this.index.idOf(path);
    if (!fileId) return;
    this.writable(`the mode change of ${path}`);
    this.recordIndex(this.index.setExec(fileId, exec), origin, { created: [], deleted: [], renamed: [], changed: [], modes: [path] });
  }

  remove(path: string, origin: Origin): void {
    this.settle();
    this.writable(`deleting ${path}`);
    const fileId = this.index.idOf(path);
    if (!fileId) return;
    this.recordIndex(this.index.remove(fileId), origin, { created: [], deleted: [path], renamed: [], changed: [] });
  }

  private recordIndex(change: RawChange | undefined, origin: Origin, diff: Omit<FilesEvent, 'origin'> | undefined): void {
    if (!change || this.batching) return;
    this.record(INDEX_DOC_ID, change);
    if (diff) this.emit('files', { ...diff, origin });
  }

  /** Tell what peers did to folders since `before` (after the files, so their content is handled first). */
  private announceDirs(before: ReadonlySet<string>, origin: Origin): void {
    const diff = this.index.dirsDiff(before);
    if (diff.created.length || diff.deleted.length) this.emit('dirs', { ...diff, origin });
  }

  // ---- peers -------------------------------------------------------------------------------

  /** Raw changes from a peer for any document. */
  applyRemote(docId: string, changes: RawChange[], origin: TextOrigin): void {
    this.settle();
    if (docId === INDEX_DOC_ID) {
      const before = this.hashes();
      const paths = this.paths();
      const dirs = new Set(this.index.dirs());
      this.index.applyRemote(changes);
      this.appendRemote(docId, changes);
      this.resolve(paths);
      this.announce(this.index.diffFrom(paths), before, origin);
      this.announceDirs(dirs, origin);
      return;
    }
    const doc = this.doc(docId) ?? this.adopt(docId);
    const arriving = !doc.ready;
    const before = doc.rope;
    const op = doc.applyRemote(changes);
    tracePoint('change-applied');
    this.appendRemote(docId, changes);
    if (op) this.remoteText(docId, doc, op, before, origin);
    if (arriving) this.arrived(docId, doc);
  }

  /**
   * A document whose history was arriving (kept in memory whatever the bound, see `makeRoom`)
   * may have all of it now: then it counts against the bound like any other. Else a joiner that
   * got hundreds of histories by sync kept every one of them in memory until they went idle
   * (a trial: 582 MB of Automerge's memory for a 597-file tree; decision 247).
   */
  private arrived(docId: string, doc: TextDoc): void {
    if (doc.ready && this.live.get(docId) === doc) this.makeRoom(docId);
  }

  /** What a peer's changes did to a file's text: tell editors and disk, then settle twins. */
  private remoteText(docId: string, doc: TextDoc, op: TextOp, before: Rope, origin: TextOrigin): void {
    this.keepEdited(docId, origin);
    this.emit('text', { fileId: docId, path: this.pathOf(docId) ?? docId, op, before, after: doc.rope, origin });
    const target = doc.twinRewrite();
    if (target === undefined) return;
    this.emit('notice', `${this.pathOf(docId) ?? docId} was rewritten the same way here and on a peer at once (a formatter, a pull); kept that content once`);
    this.edit(docId, diffToOp(doc.text, target), { kind: 'disk' });
  }

  /** Which of these change hashes a document does not hold yet. */
  missingDeps(docId: string, hashes: string[]): string[] {
    this.settle();
    if (docId === INDEX_DOC_ID) return this.index.missingDeps(hashes);
    return (this.doc(docId) ?? this.adopt(docId)).missingDeps(hashes);
  }

  /** Receive one sync-protocol message for a document; returns the new sync state. */
  receiveSync(docId: string, state: A.SyncState, message: Uint8Array, origin: TextOrigin): A.SyncState {
    this.settle();
    if (docId === INDEX_DOC_ID) {
      const before = this.hashes();
      const paths = this.paths();
      const dirs = new Set(this.index.dirs());
      const heads = this.index.heads;
      const r = this.index.receiveSync(state, message);
      // What the message brought is appended to the log, as a peer's raw changes are, not saved
      // and check-loaded whole (decision 181). (The replicator takes a peer's changes out of its
      // sync messages and admits them through applyRemote first, so this is seldom anything.)
      const brought = this.index.changesSince(heads);
      if (brought.length) this.appendRemote(docId, brought);
      this.resolve(paths);
      this.announce(this.index.diffFrom(paths), before, origin);
      this.announceDirs(dirs, origin);
      return r.state;
    }
    const doc = this.doc(docId) ?? this.adopt(docId);
    const arriving = !doc.ready;
    const before = doc.rope;
    const heads = doc.heads;
    const r = doc.receiveSync(state, message);
    // The changes the message brought are appended to the document's log, as a peer's raw
    // changes and a local edit are, before anything else sees them (durable once this returns),
    // not saved and check-loaded whole (decisions 170, 181); compacted at the usual moments (stop,
    // idle unload, COMPACT_AFTER changes). The replicator admits a peer's changes through
    // applyRemote before passing the rest of its message here, so this is seldom anything.
    const brought = doc.changesSince(heads);
    if (brought.length) this.appendRemote(docId, brought);
    if (r.op) this.remoteText(docId, doc, r.op, before, origin);
    if (arriving) this.arrived(docId, doc);
    return r.state;
  }

  /**
   * A text document's whole saved form, when its history is long enough that sending it to a
   * peer who has none is cheaper than the sync protocol's change-by-change transfer.
   */
  hasLongHistory(docId: string, minChanges: number): boolean {
    if (!/^f[0-9a-f]{24}$/.test(docId)) return false;
    const gone = this.live.has(docId) ? undefined : this.unloadedAs.get(docId);
    if (gone && this.storage.has(docId)) return gone.changes >= minChanges;
    const doc = this.doc(docId);
    return !!doc && doc.changeCount >= minChanges;
  }

  /** A live text document's heads, joined (to tell whether a saved form is still current). */
  savedHeads(docId: string): string {
    return this.doc(docId)?.heads.join(',') ?? '';
  }

  /** The saved form of a live text document, with its heads (to reuse it while they hold). */
  savedForm(docId: string): { heads: string; data: Uint8Array } | undefined {
    const doc = this.doc(docId);
    return doc ? { heads: doc.heads.join(','), data: doc.save() } : undefined;
  }

  /** A peer's saved document, merged into ours (or becoming ours). */
  applySnapshot(docId: string, bytes: Uint8Array, origin: TextOrigin): void {
    const known = this.doc(docId);
    if (!known && this.adoptWhole(docId, bytes, origin)) return;
    const doc = known ?? this.adopt(docId);
    const before = doc.rope;
    const heads = doc.heads;
    const op = doc.loadSnapshot(bytes);
    // Appended like a sync message's changes (see receiveSync): no save and check-load of the
    // whole document on the catch-up path (decision 181). A log this long is compacted when the
    // daemon stops or unloads the document (CLOSE_COMPACT_AFTER), or at COMPACT_AFTER changes.
    const brought = doc.changesSince(heads);
    if (brought.length) this.appendRemote(docId, brought);
    if (op) this.remoteText(docId, doc, op, before, origin);
  }

  generateSync(docId: string, state: A.SyncState): { state: A.SyncState; message: Uint8Array | null } {
    this.settle();
    if (docId === INDEX_DOC_ID) return this.index.generateSync(state);
    return (this.doc(docId) ?? this.adopt(docId)).generateSync(state);
  }

  /**
   * The text a peer's document for `docId` starts from here (`adopt`, `adoptWhole`): its file's
   * content, when the file is text and its content is here; undefined otherwise (the document
   * then starts empty, and its history brings the text).
   */
  private adoptedBase(docId: string): string | undefined {
    const entry = this.index.entry(docId);
    if (!entry || entry.opaque || !(this.blobs.has(entry.hash) || entry.hash === EMPTY_HASH)) return undefined;
    try {
      return this.baseText(entry);
    } catch {
      return undefined; // not text after all
    }
  }

  /**
   * A peer's saved document for a file that is not live here and whose content is (what `adopt`
   * would start from): taken as the document itself when it holds the initial change `adopt`
   * would make, for then merging it onto that change gives this very document. It is loaded once
   * instead of the change being built, the document loaded to check it, and merged (a 137 KB file
   * rewritten on every line: 0.3 s against 1.5 s; 372 KB: 0.9 s against 8.3 s; s53 N3, decision
   * 251). False, with nothing kept, when it does not hold it: the caller merges as before. Throws
   * as `loadSnapshot` does for a document that does not load or is not text.
   */
  private adoptWhole(docId: string, bytes: Uint8Array, origin: TextOrigin): boolean {
    const base = this.adoptedBase(docId);
    if (base === undefined) return false;
    const doc = TextDoc.empty(this.actor);
    doc.loadSnapshot(bytes);
    if (!doc.startsFrom(docId, base)) {
      doc.free();
      return false;
    }
    this.live.set(docId, doc);
    this.touch(docId);
    this.appendRemote(docId, doc.changesSince([]));
    this.makeRoom(docId);
    // What it changed, for the route: no editor holds a file that was not live, so this op
    // places nothing anyone is typing in; replaceOp is the bounded diff an editor's change gets.
    if (doc.text !== base) this.remoteText(docId, doc, normalizeOp(replaceOp(base, doc.text)), Rope.of(base), origin);
    return true;
  }

  /**
   * A document first heard of from a peer. A file whose content is here starts from the same
   * deterministic initial change the peer made it live from (so the peer's edits apply at once);
   * any other is empty until its history arrives.
   */
  private adopt(docId: string): TextDoc {
    if (!FILE_DOC.test(docId)) throw new Failure('invalid', `a peer named a document that cannot exist: ${JSON.stringify(docId).slice(0, 40)}`);
    const entry = this.index.entry(docId);
    if (!entry && !this.index.removedEntry(docId)) {
      // A document the index does not name (yet: its entry may be on the way). Only a few may be
      // kept, or a peer could make every later peer store and sync thousands (issue 10, Low).
      const orphans = this.docIds().filter((id) => !this.names(id)).length;
      if (orphans >= MAX_ORPHAN_DOCS) throw new Failure('invalid', `a peer sent text for ${docId}, which no file in the index has, and ${orphans} such documents are kept already; refused`);
    }
    const base = this.adoptedBase(docId);
    if (base !== undefined) {
      try {
        return this.makeLive(docId, base);
      } catch {
        // its first change could not be made: fall through to an empty document
      }
    }
    const doc = TextDoc.empty(this.actor);
    this.live.set(docId, doc);
    this.touch(docId);
    this.makeRoom(docId);
    return doc;
  }

  /** A peer's changes are in the shared state already: saved now, or once the disk takes them. */
  private appendRemote(docId: string, changes: RawChange[]): void {
    try {
      this.save(docId, changes);
    } catch (e) {
      if (!(e instanceof StorageFailed)) throw e;
      this.storage.defer(docId, changes);
      this.emit('notice', `could not save changes from a peer to ${docId} yet: ${e.message}; saved when space returns`);
    }
  }

  private paths(): Map<string, string> {
    return new Map(this.index.entries().map(([id, e]) => [id, e.path]));
  }

  /** The hash of a file's current content: its live text's, or its entry's. */
  private currentHash(id: string, e: FileEntry): string {
    return this.isLive(id) ? contentHash(this.text(id)) : e.hash;
  }

  /**
   * Settle what concurrent file-list changes left behind, the same way on every peer: two files
   * created at one path (same content: one goes; different: the larger id moves to
   * `name (conflict <id>).ext`), whole-file contents put concurrently (the one Automerge
   * picks stays, each other is kept beside it as `name (conflict <hash>).ext`, under an id
   * derived from the file and the hash so every peer makes the very same entry), and a file at a
   * path that is a folder in the session (the folder keeps the path, the file moves to
   * `name (conflict <id>).ext`; decision 142), unless no file is in that folder: then the
   * file keeps the path and the empty shared folders go (decision 147).
   */
  private resolve(pathsBefore?: ReadonlyMap<string, string>): string[] | undefined {
    if (this.readOnly) return undefined; // the writers settle it; their change arrives here
    const losers = this.index.losers();
    // A race is settled by putting the winner once more; every peer does that at once, which
    // leaves the same value put concurrently, a conflict of equal values. That is settled, not
    // raced again: settling it again would answer each peer's settlement with another, for ever
    // (binary files written on two peers at once kept every daemon busy until it ran out of memory).
    const raced = this.index.entries().filter(([id, e]) => this.index.conflicts(id).some((c) => !sameEntry(c, e)));
    const inTheWay = this.index.inFoldersWay();
    if (!losers.length && !raced.length && !inTheWay.length) return undefined;
    const winners: string[] = [];
    const change = this.index.batch(() => {
      for (const [lost, lostEntry] of losers) {
        let [id, e, winner] = [lost, lostEntry, this.index.idOf(lostEntry.path)!];
        // While a join holds this folder's own files back (decision 228), a meeting of one of them
        // and a session's file is settled the join's way at once, whatever the ids: the folder's
        // moves aside, as `keepSessionVersions` would put it. Else the joiner's folder showed the
        // session's file as the copy until the join's end (a trial). No peer sees either: it is
        // all held back, and released settled.
        if (this.index.holdingBack && this.index.sessionHas(id) && !this.index.sessionHas(winner)) [id, e, winner] = [winner, this.index.entry(winner)!, id];
        winners.push(e.path);
        if (this.currentHash(id, e) === this.currentHash(winner, this.index.entry(winner)!)) {
          this.index.remove(id);
          this.emit('notice', createdTheSame(e.path));
        } else {
          const to = conflictPath(e.path, id.slice(1, 7));
          this.index.set(id, { path: to, aside: winner });
          this.toldCopy(id, to);
          const [keptFrom, lostFrom] = [this.renamedFrom(winner, e.path, pathsBefore), this.renamedFrom(id, e.path, pathsBefore)];
          if (keptFrom !== undefined || lostFrom !== undefined) this.tellCopy(renamedAtOnce(e.path, to, keptFrom, lostFrom));
          else if (this.madeHere.has(id) && this.madeHere.has(winner)) this.tellCopy(createdTwiceHere(e.path, to));
          else this.tellCopy(createdAtOnce(e.path, to, this.whoseAside(id, winner)));
        }
      }
      for (const [id] of raced) {
        const winner = this.index.entry(id)!;
        for (const c of this.index.conflicts(id)) {
          if (c.hash === winner.hash) continue;
          const [copyId, copy] = conflictCopy(id, c);
          if (this.index.entry(copyId)) continue;
          this.index.add(copyId, copy);
          this.toldCopy(copyId, copy.path);
          this.tellCopy(`${winner.path} was changed on two peers at once; the other version is kept as ${copy.path}`);
        }
        this.index.replace(id, winner); // settles the race, so it is not resolved again
      }
      // A file at a path that is a folder in the session (made a file on one peer and a folder
      // on another at once): the folder keeps the path, with every file in it, and the file moves
      // to `name (conflict <id>)`, like the larger id of two files made at one path. Decided by
      // the index alone, so every peer moves it the same way and they converge. Looked for after
      // the losers moved: one of them may have been the file in the way.
      for (const [id, e] of this.index.inFoldersWay()) {
        // Only shared folders with no file in them there (decision 147): they hold nothing of
        // anyone's, so the file keeps the path and they go. A peer's watcher shares a folder it
        // sees while its disk still lags behind the index (a joining folder set aside for the
        // session's file): without this, that empty folder moved the file aside again for good.
        const inside = (p: string) => p.startsWith(e.path + '/');
        if (!this.index.entries().some(([, f]) => inside(f.path))) {
          const gone = this.index.dirs().filter((d) => d === e.path || inside(d));
          for (const d of gone) this.index.removeDir(d);
          if (this.yielded.size >= 10_000) this.yielded.clear(); // a bound: only a join's first minutes need it
          this.yielded.set(e.path, gone);
          this.emit('notice', emptyFolderYielded(e.path));
          continue;
        }
        const to = conflictPath(e.path, id.slice(1, 7));
        this.index.set(id, { path: to });
        this.toldCopy(id, to);
        // A joining folder's own file met the session's folder: nothing was made "at once" (a
        // trial: 7 of 7 such joins said so), the join met what the session had.
        this.tellCopy(this.index.holdingBack && !this.index.sessionHas(id) ? joinedFileMetFolder(e.path, to) : fileMetFolder(e.path, to));
      }
    });
    if (!change) return undefined;
    this.record(INDEX_DOC_ID, change);
    return winners;
  }

  /**
   * A file someone removed while someone else edited it is kept: when a text change lands on a
   * file whose index entry was removed, the entry comes back (at its last path) with that text.
   */
  private keepEdited(docId: string, origin: TextOrigin): void {
    if (this.index.entry(docId) || this.batching || this.readOnly) return;
    const last = this.index.removedEntry(docId);
    const doc = this.live.get(docId);
    if (!last || !doc) return;
    if (this.onlyBecameLive(doc, last)) return;
    const bytes = utf8ToBytes(doc.text);
    const path = this.index.idOf(last.path) ? conflictPath(last.path, docId.slice(1, 7)) : last.path;
    const entry: FileEntry = { path, hash: this.blobs.put(bytes), size: bytes.length };
    if (last.exec) entry.exec = true;
    const change = this.index.replace(docId, entry);
    if (!change) return;
    // Said so that it holds either way: the edit may have been made before the deletion reached
    // its editor or after (a buffer still open there), and which it was is not known (trial s51, F7).
    this.tellBack(`kept ${path}: it was deleted on one side and edited on another; it is back with those edits rather than lose them (delete it again if it should go)`);
    this.record(INDEX_DOC_ID, change);
    this.emit('files', { created: [path], deleted: [], renamed: [], changed: [], origin: origin.kind === 'peer' ? origin : SETTLING });
  }

  /**
   * Does `doc` hold nothing but a file becoming live: one change, leaving exactly the content its
   * removed entry `last` names? That is the deterministic initial change a peer makes when an
   * editor opens the file (`makeLive`), whether or not anyone types. It reaches other peers only
   * in a sync round, so it can arrive after the deletion made on that very peer; it is nobody's
   * edit, and must not bring the file back (user trial: a file opened in VS Code, then deleted,
   * came back on both peers at the next reconnect; decision 202).
   */
  private onlyBecameLive(doc: TextDoc, last: FileEntry): boolean {
    return contentHash(doc.text) === last.hash && doc.changeCount === 1;
  }

  /** Each file's content hash and executable bit, to tell what a change did (see `announce`). */
  private hashes(): Map<string, string> {
    return new Map(this.index.entries().map(([id, e]) => [id, stateKey(e)]));
  }

  private reported = new Set<string>();

  /**
   * Paths where `resolve` let empty shared folders go for a file, with the folders that went: a
   * join puts them back when the file was the joining folder's (`keepSessionFilesOverFolders`).
   */
  private yielded = new Map<string, string[]>();

  /** Files moved aside as conflict copies (`resolve`) whose move was told here already, as `id:path`. */
  private toldMoved = new Set<string>();

  /** Note that the copy `id` at `path` was told of here (`toldMoved`), so nothing tells it again. */
  private toldCopy(id: string, path: string): void {
    if (this.toldMoved.size >= 10_000) this.toldMoved.clear(); // a bound, not a history
    this.toldMoved.add(`${id}:${path}`);
  }

  /**
   * A file that arrives (or moves) at `name (conflict <its id>)` while `name` is a folder was
   * moved aside for that folder by a peer's `resolve` (a read-only member, or a writer that never
   * saw the two meet, settles nothing itself): say so here too, so every peer's log says where
   * the file went.
   */
  private tellMovedForFolders(diff: IndexDiff): void {
    if (this.index.holdingBack || this.learningHistory) return; // the session's history, as in tellArrivedCopies
    const arrived = [...diff.created, ...diff.renamed.map((r) => r.to)];
    for (const to of arrived) {
      const id = this.index.idOf(to);
      if (id === undefined || this.toldMoved.has(`${id}:${to}`)) continue;
      const from = conflictedFrom(to, id.slice(1, 7));
      if (from === undefined || !this.index.isFolder(from)) continue;
      this.toldCopy(id, to);
      this.tellCopy(fileMetFolder(from, to));
    }
  }

  /**
   * Versions of a file that arrive from a peer already beside it, as `name (conflict <tag>)`: a
   * join settles where its folder's files meet the session's before any peer learns of them
   * (decision 228), so here they are new files, with no meeting for `resolve` to settle and tell
   * (a trial: copies appeared in the sharer's folder, beside files open in its editors, and
   * nobody there was told). A file's copy carries its own id's tag; a folder set aside for a
   * file arrives as the files under `name (conflict <tag>)/`, told once. Said as `resolve` says
   * its copies (`tellCopy`), once per copy.
   */
  private tellArrivedCopies(diff: IndexDiff, origin: Origin): void {
    // A folder joining learns the session's history, old copies and all: no news (a trial: each
    // later joiner listed every earlier joiner's copies, and an empty folder's log had 45).
    if (origin.kind !== 'peer' || this.index.holdingBack || this.learningHistory) return;
    const said = (copy: string, of: string) => `${copy} arrived from a peer: another version of ${of}, kept beside it (the peer had its own ${of}: it made it at the same moment, joined with a folder that had one, or took its folder in again after its saved list of files was lost)`;
    const folders = new Set<string>();
    for (const to of diff.created) {
      const id = this.index.idOf(to);
      if (id === undefined || this.toldMoved.has(`${id}:${to}`)) continue;
      const of = conflictedFrom(to, id.slice(1, 7));
      if (of !== undefined && this.index.idOf(of) !== undefined) {
        this.tellCopy(said(to, of));
        continue;
      }
      for (let at = to.indexOf('/'); at > 0; at = to.indexOf('/', at + 1)) {
        const dir = to.slice(0, at);
        const tag = / \(conflict ([0-9a-f]{6})\)[^/]*$/.exec(dir)?.[1];
        const was = tag === undefined ? undefined : conflictedFrom(dir, tag);
        if (was === undefined || this.index.idOf(was) === undefined || folders.has(dir)) continue;
        folders.add(dir);
        this.tellCopy(`${said(dir, was)}; it is a folder, with its files`);
      }
    }
  }

  /**
   * Say `message`, which tells of a deleted file back with edits: in the log, and to the person
   * (`back`, gathered into one notice per burst). FolderSync says so too, for a file deleted in
   * the folder while edits it never had arrived.
   */
  tellBack(message: string): void {
    this.emit('notice', message);
    this.emit('back', message);
  }

  /** Say `message`, which tells of a version kept as a conflict copy: in the log, and to the person (`copied`). */
  private tellCopy(message: string): void {
    this.emit('notice', message);
    this.emit('copied', message);
  }

  /**
   * A file moved back from `name (conflict <its id>)` to `name` while a folder's files moved from
   * `name/` elsewhere: a joining peer set its folder aside for the session's file (decision 147).
   * Said here too, as the move aside was (`fileMetFolder`), so this peer's log says where each is.
   */
  private tellSetAside(diff: IndexDiff): void {
    for (const r of diff.renamed) {
      if (conflictedFrom(r.from, r.id.slice(1, 7)) !== r.to) continue;
      const out = diff.renamed.find((o) => o.from.startsWith(r.to + '/'));
      if (!out) continue;
      const kept = out.to.slice(0, out.to.length - (out.from.length - r.to.length));
      this.tellCopy(`${r.to} is back at its path: the folder that had taken it, a joining peer's, is kept as ${kept} (with its files)`);
    }
  }

  /**
   * A file this daemon saw deleted that a peer brought back (`keepEdited` there: edits the
   * deletion never saw): said here too, so the person who deleted it learns why it is back
   * (decision 160).
   */
  private tellKeptElsewhere(diff: IndexDiff): void {
    for (const path of diff.created) {
      const id = this.index.idOf(path);
      if (id === undefined || this.index.removedEntry(id) === undefined) continue;
      this.tellBack(`${path} is back: it was deleted, but a peer edited it and kept it with those edits rather than lose them (delete it again if it should go)`);
    }
  }

  private announce(diff: IndexDiff, before: Map<string, string>, origin: Origin): void {
    this.noteRenames(diff.renamed);
    for (const [id, p] of this.index.refused()) {
      if (this.reported.has(id)) continue;
      this.reported.add(id);
      this.emit('notice', `refused a path from a peer: ${JSON.stringify(p).slice(0, 200)} (absolute, with .. or empty parts, or inside .git/ or .chorus/); it is never written`);
    }
    this.tellMovedForFolders(diff);
    this.tellArrivedCopies(diff, origin);
    this.tellSetAside(diff);
    if (origin.kind === 'peer') this.tellKeptElsewhere(diff);
    const changed: string[] = [];
    const modes: string[] = [];
    for (const [id, e] of this.index.entries()) {
      const old = before.get(id);
      if (old === undefined || old === stateKey(e)) continue;
      if (old.slice(0, -1) !== e.hash && !this.isLive(id)) changed.push(e.path);
      if (old.slice(-1) !== stateKey(e).slice(-1)) modes.push(e.path);
    }
    if (diff.created.length || diff.deleted.length || diff.renamed.length || changed.length || modes.length) this.emit('files', { ...diff, changed, modes, origin });
  }

  // ---- persistence -------------------------------------------------------------------------

  /** Replace a document's log by a snapshot; on failure the log stays, which is as good. */
  private compact(docId: string): void {
    try {
      if (docId === INDEX_DOC_ID) this.storage.snapshot(docId, this.index.save());
      else {
        const doc = this.live.get(docId);
        if (doc) this.storage.snapshot(docId, doc.save());
      }
    } catch (e) {
      this.emit('notice', `could not compact the saved state of ${docId} (${(e as Error).message}); its log is kept instead`);
    }
  }

  /**
   * Settle the edit under way and close the store (on shutdown). Every change is in the store's
   * log already (appended as it was made or received: what was acknowledged is durable), so
   * compacting here only shortens the next start: done for the file index, and for the documents
   * whose log grew by CLOSE_COMPACT_AFTER changes or more since their snapshot. Compacting every live document
   * (load-checked, written and fsynced one by one) took seconds for a joined session of 5,000
   * files and pushed `chorus stop` past its wait (decision 176).
   */
  close(): void {
    this.settle();
    clearInterval(this.unloader);
    // The file index, one document, is compacted whenever its log grew at all: a start reads its
    // snapshot first, and the recovery from a damaged or lost one (lost-state tests) starts there.
    if (this.storage.unsnapshotted(INDEX_DOC_ID) > 0) this.compact(INDEX_DOC_ID);
    for (const id of this.live.keys()) if (this.storage.unsnapshotted(id) >= CLOSE_COMPACT_AFTER) this.compact(id);
    this.storage.close();
  }
}

/** Changes since its snapshot from which a document is compacted when the workspace closes (see `close`). */
export const CLOSE_COMPACT_AFTER = 100;

/** Does `op` turn `from` into `to`? (False too for an op that does not fit `from`.) */
function leadsTo(from: string, op: TextOp, to: string): boolean {
  try {
    return applyOp(from, op) === to;
  } catch {
    return false;
  }
}
