/**
 * The project's index: one Automerge map from stable file ids to paths and content hashes. A
 * rename is one update of `path`, so a file keeps its identity and history; content of files
 * nobody has opened is not in any CRDT, only addressed by `hash`.
 */
import { sameDaemon } from './actors.js';
import * as A from '@automerge/automerge/next';
import { bytesToHex, randomBytes } from '@noble/hashes/utils.js';
import type { RawChange } from './text-doc.js';
import { isProjectPath } from './path-rules.js';
import { entryProblem, MAX_INDEX_ENTRIES_PER_CHANGE, rootProblem } from './index-schema.js';

/** A change from a peer that would leave an invalid index: refused whole, nothing applied. */
export class IndexChangeRefused extends Error {}

export interface FileEntry {
  /** Project-relative path with `/` separators. */
  path: string;
  /** sha256 of the content the file had when it was last read or made live. */
  hash: string;
  size: number;
  /** Binary or oversized: synced as a whole value, never live text. */
  opaque?: boolean;
  /** Executable (the owner's execute bit is set): written with execute bits where it is readable. Absent means not. */
  exec?: boolean;
  /**
   * The id of the file this one was moved aside for, to `name (conflict <its tag>).ext` (two
   * files made at one path, a join's file and the session's). Kept so a later join can tell a
   * copy its own clash just made from an older one (decision 220). Absent on entries from before.
   */
  aside?: string;
}

/** A folder as the person sees it (empty ones too): shared so it exists, or goes, everywhere. */
export interface DirEntry {
  /** Project-relative path with `/` separators. */
  path: string;
}

interface IndexShape {
  files: Record<string, FileEntry>;
  /** Folders, by id; absent in documents made before folders were shared. */
  dirs?: Record<string, DirEntry>;
}

export interface IndexDiff {
  created: string[];
  deleted: string[];
  renamed: Array<{ from: string; to: string; id: string }>;
}

export const INDEX_DOC_ID = 'index';

/**
 * The index every peer starts from: one change, made by a fixed actor at time 0, that creates the
 * `files` and `dirs` maps. Every peer's index therefore holds the very same map objects, so indexes that grew
 * apart before they met (a folder with files joining a session) merge entry by entry; two maps
 * created independently would conflict at the root and one side's files would vanish.
 */
function initialIndex(actor: string): A.Doc<IndexShape> {
  const base = A.change(A.init<IndexShape>({ actor: '00'.repeat(16) }), { time: 0 }, (d) => {
    d.files = {};
    d.dirs = {};
  });
  return A.clone(base, { actor });
}

/**
 * Paths and hashes are stored as scalar strings (`RawString`): Automerge's `next` API would
 * otherwise make each a collaborative text object, one operation per character, and Automerge
 * 2.2.9 holds ~400 bytes of WebAssembly memory per operation — 40–60 MB for a 1,000-file index
 * (issue 13, decision 070). Indexes written before hold text objects; both read the same here.
 */
function plain(v: unknown): unknown {
  return v instanceof A.RawString ? v.val : v;
}

/** An index value (a file's or folder's entry) with every scalar string as a plain string. */
function plainEntry<T>(value: T): T {
  if (typeof value !== 'object' || value === null) return value;
  return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, plain(v)])) as T;
}

/** An entry as it is written into the document: its strings as scalars (see `plain`). */
function stored<T extends object>(entry: T): T {
  return Object.fromEntries(Object.entries(entry).map(([k, v]) => [k, typeof v === 'string' ? new A.RawString(v) : v])) as T;
}

export function newFileId(): string {
  return 'f' + bytesToHex(randomBytes(12));
}

function newDirId(): string {
  return 'd' + bytesToHex(randomBytes(12));
}

/**
 * Local updates being gathered into one change (see `FileIndex.batch`). They are made on the
 * document once, at the end: an Automerge change copies the whole `files` map of the document it
 * makes (its objects are immutable), so a change per update made a batch of n updates cost n²
 * (10,000 removals took minutes). Until then reads see each update in `files` and `dirs`.
 */
interface Batch {
  ops: Array<(d: IndexShape) => void>;
  /** Files written in the batch, each as it is now (null: removed). */
  files: Map<string, FileEntry | null>;
  /** Ids of `files` put whole (added, replaced, removed): a concurrent value of theirs is settled. */
  whole: Set<string>;
  /** Folders written in the batch, each as it is now (null: removed). */
  dirs: Map<string, DirEntry | null>;
}

/** A local update: what it does to the document, and the entries it leaves (null: removed). */
interface Update {
  op: (d: IndexShape) => void;
  files?: Array<[string, FileEntry | null]>;
  /** Whether `files` are put whole (see `Batch.whole`), not updated field by field. */
  whole?: boolean;
  dirs?: Array<[string, DirEntry | null]>;
}

export class FileIndex {
  /** Most removed files whose last entry an index keeps (the newest); a test lowers it. */
  static graveyardMax = 10_000;

  private doc: A.Doc<IndexShape>;
  /** Path → the id that has it (the smallest, when several claim it). */
  private byPath = new Map<string, string>();
  /** Paths several ids claim (concurrent creates; rare), each with all of them. */
  private claims = new Map<string, Set<string>>();
  /** Folder path → every id that claims it (two peers may make one folder at once). */
  private dirsByPath = new Map<string, string[]>();
  private pending: Batch | undefined;
  /**
   * The last entry of each file removed while this daemon ran (to bring an edited one back), the
   * newest GRAVEYARD_MAX only: a session that removes files all day must not grow it for good.
   */
  private graveyard = new Map<string, FileEntry>();
  /** Path → the graveyard's ids last at that path, oldest first (so `removedAt` scans no graveyard). */
  private buriedAt = new Map<string, string[]>();

  constructor(
    saved: Uint8Array | undefined,
    changes: RawChange[],
    private readonly actor: string,
  ) {
    let doc = saved ? A.load<IndexShape>(saved, { actor }) : initialIndex(actor);
    if (changes.length) [doc] = A.applyChanges(doc, changes);
    this.doc = doc;
    this.reindex();
  }

  private reindex(): void {
    this.dirsByPath.clear();
    for (const [id, d] of Object.entries(this.doc.dirs ?? {})) this.claimDir(id, plain((d as { path?: unknown }).path));
    this.byPath.clear();
    this.claims.clear();
    for (const [id, e] of Object.entries(this.doc.files ?? {})) this.claim(id, plain(e.path));
  }

  /** Note that file `id` is at `path`. Two ids can claim one path after concurrent creates; the smallest id wins everywhere. */
  private claim(id: string, path: unknown): void {
    if (!isProjectPath(path)) return; // a peer's path is refused unless path-rules allow it
    const other = this.byPath.get(path);
    if (other === undefined || other === id) {
      this.byPath.set(path, id);
      return;
    }
    let all = this.claims.get(path);
    if (!all) this.claims.set(path, (all = new Set([other])));
    all.add(id);
    if (id < other) this.byPath.set(path, id);
  }

  /** Note that file `id` is no longer at `path` (see `claim`). */
  private unclaim(id: string, path: unknown): void {
    if (typeof path !== 'string') return;
    const all = this.claims.get(path);
    if (!all) {
      if (this.byPath.get(path) === id) this.byPath.delete(path);
      return;
    }
    all.delete(id);
    this.byPath.set(path, [...all].sort()[0]!);
    if (all.size < 2) this.claims.delete(path);
  }

  /** Note that folder `id` is at `path` (a peer's folder too is refused unless path-rules allow it). */
  private claimDir(id: string, path: unknown): void {
    if (isProjectPath(path)) this.dirsByPath.set(path, [...(this.dirsByPath.get(path) ?? []), id]);
  }

  /** Note that folder `id` is no longer at `path`. */
  private unclaimDir(id: string, path: unknown): void {
    if (typeof path !== 'string') return;
    const ids = this.dirsByPath.get(path)?.filter((d) => d !== id);
    if (ids?.length) this.dirsByPath.set(path, ids);
    else this.dirsByPath.delete(path);
  }

  /** File `id` as reads see it now (a batch's update first), whatever its path; undefined if none. */
  private fileValue(id: string): FileEntry | undefined {
    const written = this.pending?.files.get(id);
    if (written !== undefined) return written ?? undefined;
    return plainEntry(this.doc.files?.[id]);
  }

  /** Folder `id` as reads see it now (see `fileValue`). */
  private dirValue(id: string): DirEntry | undefined {
    const written = this.pending?.dirs.get(id);
    if (written !== undefined) return written ?? undefined;
    return plainEntry(this.doc.dirs?.[id]);
  }

  /** Every value of `map` ('files' or 'dirs') as reads see it now (see `fileValue`), whatever its path. */
  private values<T>(map: 'files' | 'dirs'): Array<[string, T]> {
    const inDoc = (this.doc[map] ?? {}) as Record<string, T>;
    const written = this.pending?.[map] as Map<string, T | null> | undefined;
    const out: Array<[string, T]> = [];
    for (const [id, v] of Object.entries(inDoc)) {
      const w = written?.get(id);
      if (w !== null) out.push([id, w ?? plainEntry(v)]);
    }
    if (written) for (const [id, w] of written) if (w !== null && !Object.hasOwn(inDoc, id)) out.push([id, w]);
    return out;
  }

  idOf(path: string): string | undefined {
    return this.byPath.get(path);
  }

  /** The path of the file at `path` or at a folder above it (`a/b/c` → `a/b/c`, `a/b`, `a`), if any. */
  fileAtOrAbove(path: string): string | undefined {
    for (let p = path; p !== ''; p = p.slice(0, Math.max(0, p.lastIndexOf('/')))) if (this.byPath.has(p)) return p;
    return undefined;
  }

  /**
   * A file's entry (frozen), undefined if there is none or its path is not valid. Asked several
   * times per keystroke, so each entry is converted and checked once per version of the index:
   * an Automerge document is immutable, every change makes a new one, which empties the cache.
   */
  entry(id: string): FileEntry | undefined {
    if (this.entriesOf !== this.doc) {
      this.entriesOf = this.doc;
      this.entryCache.clear();
    }
    let e = this.entryCache.get(id);
    if (e === undefined) {
      const plainE = this.fileValue(id);
      e = plainE && isProjectPath(plainE.path) ? Object.freeze(plainE) : null;
      this.entryCache.set(id, e);
    }
    return e ?? undefined;
  }

  /** Checked entries of `entriesOf` (and the batch's updates) by id (null: none, or not valid); see `entry`. */
  private entryCache = new Map<string, FileEntry | null>();
  private entriesOf: A.Doc<IndexShape> | undefined;

  entries(): Array<[string, FileEntry]> {
    return this.values<FileEntry>('files').filter(([, e]) => isProjectPath(e.path));
  }

  /** Is `path` a shared folder? */
  hasDir(path: string): boolean {
    return this.dirsByPath.has(path);
  }

  /** Every shared folder's path (valid paths only), sorted. */
  dirs(): string[] {
    return [...this.dirsByPath.keys()].sort();
  }

  /** Share the folder at `path` (no change if it is shared already). */
  addDir(path: string): RawChange | undefined {
    if (this.dirsByPath.has(path) || !isProjectPath(path)) return undefined;
    const id = newDirId();
    return this.update({
      op: (d) => {
        if (!d.dirs) d.dirs = {};
        d.dirs[id] = stored({ path });
      },
      dirs: [[id, { path }]],
    });
  }

  /** Stop sharing the folder at `path` (every id that claims it). */
  removeDir(path: string): RawChange | undefined {
    const ids = this.dirsByPath.get(path);
    if (!ids) return undefined;
    return this.update({
      op: (d) => {
        for (const id of ids) if (d.dirs) delete d.dirs[id];
      },
      dirs: ids.map((id) => [id, null]),
    });
  }

  /**
   * The shared folders a change made after one of this daemon's (depending on it) removed, where the
   * removed folder's path is one of `paths` or inside one: path → every folder path that change
   * removed there. How a joining daemon learns that the session had an empty folder where its own
   * file is, when a peer settled that clash (`resolve`: an empty folder yields to a file) before
   * this daemon had the session's index, so it never saw the folder (decision 221). Reads the
   * index's whole history: once per join, never per edit.
   */
  dirsRemovedAfterOwn(paths: ReadonlySet<string>): Map<string, string[]> {
    const found = new Map<string, string[]>();
    if (paths.size === 0) return found;
    // In causal order (Automerge's), so a folder entry's map is known before the ops inside it.
    const changes = A.getAllChanges(this.doc).map((c) => A.decodeChange(c));
    const actor = this.actor;
    const dirMaps = new Set<string>(); // the `dirs` map's object ids (concurrent makers: several)
    const entryOf = new Map<string, string>(); // a folder entry's object id → its key in `dirs`
    const pathOf = new Map<string, string>(); // a folder entry's key → its path
    const removals: Array<{ change: string; key: string }> = [];
    for (const c of changes) {
      c.ops.forEach((op, i) => {
        const opId = `${c.startOp + i}@${c.actor}`;
        if (op.action === 'makeMap' && op.obj === '_root' && op.key === 'dirs') dirMaps.add(opId);
        else if (op.action === 'makeMap' && dirMaps.has(op.obj) && typeof op.key === 'string') entryOf.set(opId, op.key);
        else if (op.action === 'set' && op.key === 'path' && entryOf.has(op.obj) && typeof op.value === 'string') pathOf.set(entryOf.get(op.obj)!, op.value);
        else if (op.action === 'del' && dirMaps.has(op.obj) && typeof op.key === 'string') removals.push({ change: c.hash!, key: op.key });
      });
    }
    if (!removals.length) return found;
    // Every change that follows one of this daemon's: walked forward from its own changes
    // through who depends on whom, once.
    const dependents = new Map<string, string[]>();
    for (const c of changes) {
      for (const d of c.deps) {
        const list = dependents.get(d);
        if (list) list.push(c.hash!);
        else dependents.set(d, [c.hash!]);
      }
    }
    const after = new Set<string>();
    // This daemon's changes of any run (each run has an actor of its own, actors.ts).
    const stack = changes.filter((c) => sameDaemon(c.actor, actor)).flatMap((c) => dependents.get(c.hash!) ?? []);
    while (stack.length) {
      const h = stack.pop()!;
      if (after.has(h)) continue;
      after.add(h);
      stack.push(...(dependents.get(h) ?? []));
    }
    const inside = (p: string, under: string) => p === under || p.startsWith(under + '/');
    const byChange = new Map<string, string[]>();
    for (const r of removals) {
      const p = pathOf.get(r.key);
      if (p === undefined || ![...paths].some((under) => inside(p, under))) continue;
      const list = byChange.get(r.change) ?? [];
      list.push(p);
      byChange.set(r.change, list);
    }
    for (const [hash, removed] of byChange) {
      if (!after.has(hash)) continue;
      for (const p of paths) {
        const there = removed.filter((d) => inside(d, p));
        if (there.includes(p)) found.set(p, [...new Set([...(found.get(p) ?? []), ...there])].sort());
      }
    }
    return found;
  }

  /** Folders shared now that were not in `before`, and those in `before` that are not any more. */
  dirsDiff(before: ReadonlySet<string>): { created: string[]; deleted: string[] } {
    const now = this.dirs();
    return { created: now.filter((p) => !before.has(p)), deleted: [...before].filter((p) => !this.dirsByPath.has(p)).sort() };
  }

  /** Entries whose path is not valid (see `isProjectPath`): refused, never used. */
  refused(): Array<[string, unknown]> {
    return [...this.values<{ path?: unknown }>('files'), ...this.values<{ path?: unknown }>('dirs')]
      .map(([id, e]): [string, unknown] => [id, e.path])
      .filter(([, path]) => !isProjectPath(path));
  }

  /**
   * Make a local update: at once (its change returned; undefined if it changed nothing), or, in a
   * batch, kept for the batch's change, with reads seeing it at once. Paths are noted entry by
   * entry, never by reading the whole index again.
   */
  private update({ op, files = [], whole = false, dirs = [] }: Update): RawChange | undefined {
    const run = (d: IndexShape) => {
      if (!d.files) d.files = {};
      op(d);
    };
    const filesBefore = files.map(([id]) => this.fileValue(id));
    const dirsBefore = dirs.map(([id]) => this.dirValue(id));
    const batch = this.pending;
    if (batch) {
      batch.ops.push(run);
      for (const [id, e] of files) {
        batch.files.set(id, e);
        if (whole) batch.whole.add(id);
        this.entryCache.delete(id);
      }
      for (const [id, d] of dirs) batch.dirs.set(id, d);
      this.folderCache = undefined;
    } else {
      const before = this.doc;
      this.doc = A.change(this.doc, run);
      if (this.doc === before) return undefined;
    }
    files.forEach(([id, e], i) => {
      this.unclaim(id, filesBefore[i]?.path);
      if (e) this.claim(id, e.path);
    });
    dirs.forEach(([id, d], i) => {
      this.unclaimDir(id, dirsBefore[i]?.path);
      if (d) this.claimDir(id, d.path);
    });
    return batch ? undefined : A.getLastLocalChange(this.doc);
  }

  /**
   * Run `fn`, gathering every update it makes into one change (returned), so peers see a burst
   * (a `git checkout`) as one coherent step. Reads inside `fn` see each update at once.
   */
  batch(fn: () => void): RawChange | undefined {
    if (this.pending) {
      fn();
      return undefined;
    }
    const batch: Batch = { ops: [], files: new Map(), whole: new Set(), dirs: new Map() };
    this.pending = batch;
    const before = this.doc;
    try {
      fn();
    } finally {
      // Made even when `fn` throws, as each update was made at once before batches gathered them.
      this.pending = undefined;
      this.entryCache.clear();
      this.folderCache = undefined;
      if (batch.ops.length) {
        this.doc = A.change(this.doc, (d) => {
          for (const op of batch.ops) op(d);
        });
        this.reindex();
      }
    }
    return this.doc === before ? undefined : A.getLastLocalChange(this.doc);
  }

  /**
   * Is `path` a folder in the session: a shared folder, or a folder on the way to a file or a
   * shared folder? Cached per version of the index (see `entry`).
   */
  isFolder(path: string): boolean {
    return this.folderPaths().has(path);
  }

  /** Every folder path the index implies (see `isFolder`). */
  private folderPaths(): ReadonlySet<string> {
    if (this.foldersOf === this.doc && this.folderCache) return this.folderCache;
    const out = new Set<string>();
    const addAbove = (p: string) => {
      for (let at = p.lastIndexOf('/'); at > 0; at = p.lastIndexOf('/', at - 1)) {
        const dir = p.slice(0, at);
        if (out.has(dir)) break; // and every folder above it, added with it
        out.add(dir);
      }
    };
    for (const [, e] of this.entries()) addAbove(e.path);
    for (const d of this.dirsByPath.keys()) {
      addAbove(d);
      out.add(d);
    }
    this.folderCache = out;
    this.foldersOf = this.doc;
    return out;
  }

  private folderCache: Set<string> | undefined;
  private foldersOf: A.Doc<IndexShape> | undefined;

  /**
   * Files whose path is a folder in the session (`isFolder`): made a file on one peer and a
   * folder on another before either knew of the other's. The index must never keep one so (no
   * folder could hold both); `Workspace.resolve` moves each aside.
   */
  inFoldersWay(): Array<[string, FileEntry]> {
    const folders = this.folderPaths();
    if (!folders.size) return [];
    return this.entries().filter(([, e]) => folders.has(e.path));
  }

  /** Ids that claim a path another (smaller) id also claims, after concurrent creates. */
  losers(): Array<[string, FileEntry]> {
    return this.entries().filter(([id, e]) => this.byPath.get(e.path) !== id);
  }

  /** The different values peers put concurrently for one entry (whole-file content races). */
  conflicts(id: string): FileEntry[] {
    const batch = this.pending;
    // A value put whole (or removed) in a batch settles the race; updated field by field, it is
    // still one of the racing values: read off the document as the batch leaves it (rare).
    if (batch?.whole.has(id)) return [];
    let doc = this.doc;
    if (batch?.files.has(id)) {
      doc = A.change(A.clone(this.doc, { actor: this.actor }), (d) => {
        for (const op of batch.ops) op(d);
      });
    }
    const c = doc.files ? A.getConflicts(doc.files, id) : undefined;
    if (doc !== this.doc) A.free(doc);
    if (!c) return [];
    return (Object.values(c) as unknown[])
      .map(plainEntry)
      .filter((v): v is FileEntry => typeof v === 'object' && v !== null && typeof (v as FileEntry).path === 'string')
      .map((v) => ({ ...v }));
  }

  /** Note `e` as the last entry of removed file `id`, forgetting the oldest past `graveyardMax`. */
  private bury(id: string, e: FileEntry): void {
    this.unbury(id); // a file removed again is the newest
    this.graveyard.set(id, e);
    this.buriedAt.set(e.path, [...(this.buriedAt.get(e.path) ?? []), id]);
    if (this.graveyard.size > FileIndex.graveyardMax) this.unbury(this.graveyard.keys().next().value!);
  }

  /** Forget the last entry of removed file `id`. */
  private unbury(id: string): void {
    const e = this.graveyard.get(id);
    if (!e) return;
    this.graveyard.delete(id);
    const ids = this.buriedAt.get(e.path)?.filter((other) => other !== id);
    if (ids?.length) this.buriedAt.set(e.path, ids);
    else this.buriedAt.delete(e.path);
  }

  /** The last entry a removed file had, if this daemon saw it go. */
  removedEntry(id: string): FileEntry | undefined {
    return this.graveyard.get(id);
  }

  /** The last entry of every removed file this daemon remembers (see `removedEntry`), oldest first. */
  removedEntries(): Array<[string, FileEntry]> {
    return [...this.graveyard];
  }

  /** The id of the file this daemon last saw removed at `path` while no file is there now; undefined if none. */
  removedAt(path: string): string | undefined {
    if (this.byPath.has(path)) return undefined;
    const ids = this.buriedAt.get(path) ?? [];
    for (let i = ids.length - 1; i >= 0; i--) if (!this.entry(ids[i]!)) return ids[i];
    return undefined;
  }

  add(id: string, entry: FileEntry): RawChange | undefined {
    return this.put(id, entry);
  }

  /**
   * Put a whole new value for the entry (not a field update): a concurrent removal then loses
   * to it, so content someone changed is never dropped by someone else's delete.
   */
  replace(id: string, entry: FileEntry): RawChange | undefined {
    return this.put(id, entry);
  }

  /** Put `entry` whole at `id` (see `replace`). */
  private put(id: string, entry: FileEntry): RawChange | undefined {
    const value = { ...entry };
    return this.update({
      op: (d) => {
        d.files[id] = stored({ ...value });
      },
      files: [[id, value]],
      whole: true,
    });
  }

  set(id: string, patch: Partial<FileEntry>): RawChange | undefined {
    const e = this.fileValue(id);
    if (!e) return undefined;
    return this.update({
      op: (d) => {
        const e = d.files[id];
        if (!e) return;
        for (const [k, v] of Object.entries(patch)) (e as unknown as Record<string, unknown>)[k] = typeof v === 'string' ? new A.RawString(v) : v;
      },
      files: [[id, { ...e, ...patch }]],
    });
  }

  /** Mark a file executable or not (absent when not, so entries stay as they were before modes). */
  setExec(id: string, exec: boolean): RawChange | undefined {
    const e = this.fileValue(id);
    if (!e || !!e.exec === exec) return undefined;
    const { exec: _, ...rest } = e;
    return this.update({
      op: (d) => {
        const e = d.files[id];
        if (!e || !!e.exec === exec) return;
        if (exec) e.exec = true;
        else delete e.exec;
      },
      files: [[id, exec ? { ...rest, exec: true } : rest]],
    });
  }

  remove(id: string): RawChange | undefined {
    const e = this.entry(id);
    if (e) this.bury(id, e);
    if (!this.fileValue(id)) return undefined;
    return this.update({
      op: (d) => {
        delete d.files[id];
      },
      files: [[id, null]],
      whole: true,
    });
  }

  /**
   * Run a peer's update on a copy and keep it only if every entry it touched is still valid
   * (index-schema.ts): one bad field refuses the whole update and nothing of it is applied.
   */
  private guarded(update: (doc: A.Doc<IndexShape>, opts: A.ApplyOptions<IndexShape>) => A.Doc<IndexShape>): void {
    const touched = new Map<'files' | 'dirs', Set<string>>([
      ['files', new Set()],
      ['dirs', new Set()],
    ]);
    const candidate = update(A.clone(this.doc, { actor: this.actor }), {
      patchCallback: (patches) => {
        for (const p of patches) {
          const [map, id] = p.path;
          if ((map === 'files' || map === 'dirs') && typeof id === 'string') touched.get(map)!.add(id);
        }
      },
    });
    let problem = rootProblem(candidate as unknown as Record<string, unknown>);
    if (touched.get('files')!.size + touched.get('dirs')!.size > MAX_INDEX_ENTRIES_PER_CHANGE) {
      problem ??= `it writes ${touched.get('files')!.size + touched.get('dirs')!.size} entries at once; the limit is ${MAX_INDEX_ENTRIES_PER_CHANGE}`;
    }
    for (const [map, ids] of touched) {
      const values = (candidate as unknown as Record<string, Record<string, unknown> | undefined>)[map];
      for (const id of ids) {
        if (problem) break;
        if (!values || values[id] === undefined) continue; // removed
        problem = entryProblem(map, id, plainEntry(values[id]));
        // Concurrent values of one entry must each be valid too (they surface as conflicts).
        for (const v of Object.values(A.getConflicts(values, id) ?? {})) problem ??= entryProblem(map, id, plainEntry(v));
      }
    }
    if (problem) {
      A.free(candidate);
      throw new IndexChangeRefused(`refused an index change: ${problem}`);
    }
    this.doc = candidate;
  }

  /** Apply changes from a peer; reports what happened to paths. Throws IndexChangeRefused. */
  applyRemote(changes: RawChange[]): IndexDiff {
    const before = this.snapshotPaths();
    this.guarded((doc, opts) => A.applyChanges(doc, changes, opts)[0]);
    if (this.sessionView) this.sessionView = A.applyChanges(this.sessionView, changes)[0];
    this.reindex();
    return this.diffFrom(before);
  }

  receiveSync(state: A.SyncState, message: Uint8Array): { diff: IndexDiff; state: A.SyncState } {
    const before = this.snapshotPaths();
    let next = state;
    const view = this.sessionView;
    if (view) {
      // The sync state is the view's: the message is taken there, and what it brought here too.
      const heads = A.getHeads(view);
      const [v, s] = A.receiveSyncMessage(view, state, message);
      // Kept before anything can throw: `view` is outdated now, and Automerge refuses to use it.
      this.sessionView = v;
      next = s;
      const brought = A.getBackend(v).getChanges(heads);
      if (brought.length) this.guarded((doc, opts) => A.applyChanges(doc, brought, opts)[0]);
    } else {
      this.guarded((doc, opts) => {
        const [d, s] = A.receiveSyncMessage(doc, state, message, opts);
        next = s;
        return d;
      });
    }
    this.reindex();
    return { diff: this.diffFrom(before), state: next };
  }

  /**
   * The index as the session has it while a join holds this folder's own changes back
   * (`holdOwnBack`, decision 228): only what peers sent, so the sync protocol shows peers that and
   * nothing made here. Undefined otherwise.
   */
  private sessionView: A.Doc<IndexShape> | undefined;

  /**
   * From now until `release`, peers see only their own changes of this index (the sync protocol
   * runs on `sessionView`); everything stays as it was here. A join holds back what this folder
   * had before it joined until the join has settled where its files meet the session's (decision
   * 228): otherwise every peer showed this folder's version at a session file's path for seconds.
   */
  holdOwnBack(): void {
    this.sessionView = initialIndex(this.actor);
  }

  /** Peers may see this index whole again: the next sync message to each carries what was held back (Replicator.offerHeldBack). */
  release(): void {
    if (this.sessionView) A.free(this.sessionView);
    this.sessionView = undefined;
  }

  /** Is a join holding this index's own changes back (`holdOwnBack`)? */
  get holdingBack(): boolean {
    return this.sessionView !== undefined;
  }

  /** Does the session's index, as peers sent it (`holdOwnBack`), have a file with this id? True when nothing is held back. */
  sessionHas(id: string): boolean {
    return !this.sessionView || Object.hasOwn(this.sessionView.files ?? {}, id);
  }

  /**
   * The changes this index holds beyond `heads` (heads it had before), in an order each comes
   * after its dependencies: what a sync message brought, to append to the saved log.
   */
  changesSince(heads: string[]): RawChange[] {
    return A.getBackend(this.doc).getChanges(heads);
  }

  /** Which of `hashes` this index does not hold (dependencies still to arrive). */
  /**
   * Does the index hold changes it cannot apply yet, for want of the history they build on? (Its
   * saved snapshot was lost and its log was loaded alone: until a peer brings that history, the
   * index lacks files it had.)
   */
  get lacksHistory(): boolean {
    return A.getMissingDeps(this.doc, []).length > 0;
  }

  missingDeps(hashes: string[]): string[] {
    return hashes.length ? A.getMissingDeps(this.doc, hashes) : [];
  }

  get heads(): string[] {
    return A.getHeads(this.doc);
  }

  /**
   * Was the file `id` removed by a change that had seen the change `hash` (one of this index's,
   * e.g. the one that renamed the file here)? True when a change that removed the entry has
   * `hash` in its history; false when every one that did was made without it (concurrently);
   * undefined when this index does not hold `hash`, or no change after it removed the entry.
   * Reads only the changes this index does not have in `hash`'s history: those since, and those
   * made concurrently with it.
   */
  removalSaw(id: string, hash: string): boolean | undefined {
    if (!A.hasHeads(this.doc, [hash])) return undefined;
    const files = A.getObjectId(this.doc, 'files');
    const since = A.getBackend(this.doc).getChanges([hash]).map((c) => A.decodeChange(c));
    // Everything that descends from `hash`. Changes come each after its dependencies, but a pass
    // until nothing is added does not rely on that.
    const after = new Set([hash]);
    for (let grew = true; grew; ) {
      grew = false;
      for (const c of since) {
        if (!after.has(c.hash) && c.deps.some((d) => after.has(d))) {
          after.add(c.hash);
          grew = true;
        }
      }
    }
    const removals = since.filter((c) => c.ops.some((op) => op.action === 'del' && op.obj === files && op.key === id));
    if (!removals.length) return undefined;
    return removals.some((c) => after.has(c.hash));
  }

  generateSync(state: A.SyncState): { state: A.SyncState; message: Uint8Array | null } {
    const [next, message] = A.generateSyncMessage(this.sessionView ?? this.doc, state);
    return { state: next, message };
  }

  private lastSeen = new Map<string, FileEntry>();

  private snapshotPaths(): Map<string, string> {
    const entries = this.entries();
    this.lastSeen = new Map(entries);
    return new Map(entries.map(([id, e]) => [id, e.path]));
  }

  /** What happened to paths since `before` (id → path). */
  diffFrom(before: Map<string, string>): IndexDiff {
    const diff: IndexDiff = { created: [], deleted: [], renamed: [] };
    const now = new Map(this.entries().map(([id, e]) => [id, e.path]));
    for (const [id, path] of now) {
      const old = before.get(id);
      if (old === undefined) diff.created.push(path);
      else if (old !== path) diff.renamed.push({ from: old, to: path, id });
    }
    for (const [id, path] of before) {
      if (now.has(id)) continue;
      diff.deleted.push(path);
      const e = this.lastSeen.get(id);
      if (e) this.bury(id, e);
    }
    return diff;
  }

  save(): Uint8Array {
    return A.save(this.doc);
  }
}
