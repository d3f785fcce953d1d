/**
 * The page's document store (the contract is daemon/src/workspace/document-store.ts, decision
 * 090) on IndexedDB: what the page holds survives a reload, a closed tab and a lost network, and
 * merges with the session when a peer is back (issue 17).
 *
 * IndexedDB is asynchronous and the contract is synchronous, so this is the in-memory store
 * (MemoryStore: the same bookkeeping, recovery and marks) writing behind to IndexedDB: the writes
 * of one turn of the event loop go in one transaction, started at once (see WriteBehind).
 * `durableOnAppend` is false: an append is durable once `flush()` resolves (the transaction
 * committed). A write IndexedDB refuses (over quota) stays queued, is retried every second, and
 * the notice says so; it is in the shared state already, so peers hold it meanwhile.
 *
 * Layout of one database (one per tab slot, see claimDatabase):
 *   log     [doc, seq] → { change?: Uint8Array, mark?: string }   appended since the snapshot
 *   snap    doc → { snapshot: Uint8Array, previous?: Uint8Array }
 *   damaged `${doc}.damaged-${n}` → { snapshot?, changes, marks }  kept aside, never read back
 *   blobs   hash → Uint8Array
 *   meta    key → value (the tab's peer id)
 */
import { MemoryBlobStore, MemoryStore, type HeldDocument, type MemoryState } from './core.js';

const VERSION = 1;
const RETRY_MS = 1000;

type Op =
  | { t: 'log'; doc: string; seq: number; change?: Uint8Array; mark?: string }
  | { t: 'snap'; doc: string; snapshot: Uint8Array; previous?: Uint8Array }
  | { t: 'erase'; doc: string }
  | { t: 'damaged'; key: string; held: HeldDocument }
  | { t: 'blob'; hash: string; data: Uint8Array };

function request<T>(req: IDBRequest<T>): Promise<T> {
  return new Promise((resolve, reject) => {
    req.onsuccess = () => resolve(req.result);
    req.onerror = () => reject(req.error ?? new Error('IndexedDB request failed'));
  });
}

/** Open (creating on first use) the page's database `name`. */
export async function openDatabase(name: string): Promise<IDBDatabase> {
  const req = indexedDB.open(name, VERSION);
  req.onupgradeneeded = () => {
    const db = req.result;
    for (const store of ['log', 'snap', 'damaged', 'blobs', 'meta']) if (!db.objectStoreNames.contains(store)) db.createObjectStore(store);
  };
  return request(req);
}

/** Everything a database holds, as the in-memory stores' state (read once, at start). */
async function loadAll(db: IDBDatabase): Promise<{ state: MemoryState; blobs: Map<string, Uint8Array>; seqs: Map<string, number> }> {
  const tx = db.transaction(['log', 'snap', 'blobs'], 'readonly');
  const [logKeys, logValues, snapKeys, snapValues, blobKeys, blobValues] = await Promise.all([
    request(tx.objectStore('log').getAllKeys()),
    request(tx.objectStore('log').getAll()),
    request(tx.objectStore('snap').getAllKeys()),
    request(tx.objectStore('snap').getAll()),
    request(tx.objectStore('blobs').getAllKeys()),
    request(tx.objectStore('blobs').getAll()),
  ]);
  const state: MemoryState = { docs: new Map(), previous: new Map(), damaged: new Map() };
  const held = (doc: string): HeldDocument => {
    let h = state.docs.get(doc);
    if (!h) state.docs.set(doc, (h = { changes: [], marks: [] }));
    return h;
  };
  snapKeys.forEach((k, i) => {
    const v = snapValues[i] as { snapshot: Uint8Array; previous?: Uint8Array };
    held(String(k)).snapshot = v.snapshot;
    if (v.previous) state.previous.set(String(k), v.previous);
  });
  const seqs = new Map<string, number>();
  // Keys come sorted: per document, in the order they were appended.
  logKeys.forEach((k, i) => {
    const [doc, seq] = k as [string, number];
    const v = logValues[i] as { change?: Uint8Array; mark?: string };
    const h = held(doc);
    if (v.change) h.changes.push(v.change);
    if (v.mark !== undefined) h.marks.push(v.mark);
    seqs.set(doc, Math.max(seqs.get(doc) ?? 0, seq));
  });
  const blobs = new Map<string, Uint8Array>();
  blobKeys.forEach((k, i) => blobs.set(String(k), blobValues[i] as Uint8Array));
  return { state, blobs, seqs };
}

/**
 * Commits queued writes, one transaction per turn of the event loop, started in the task that
 * queued them. Transactions are not chained: IndexedDB runs read-write transactions over the same
 * stores in the order they were created, so a burst of keystrokes is several transactions in
 * flight at once rather than a queue behind the slowest, and a tab closed right after typing
 * has the least left unwritten. `flush` waits for every transaction started so far.
 */
class WriteBehind {
  #queue: Op[] = [];
  #scheduled = false;
  readonly #inFlight = new Set<Promise<void>>();
  #retry: ReturnType<typeof setTimeout> | undefined;
  #failing = false;

  constructor(
    private readonly db: IDBDatabase,
    private readonly notice: (msg: string) => void,
  ) {}

  push(op: Op): void {
    this.#queue.push(op);
    if (!this.#scheduled && !this.#retry) {
      // A microtask, not a timer: the transaction starts in the task that made the change.
      this.#scheduled = true;
      queueMicrotask(() => this.#commit());
    }
  }

  get pending(): number {
    return this.#queue.length + this.#inFlight.size;
  }

  async flush(): Promise<void> {
    if (!this.#retry) this.#commit();
    while (this.#inFlight.size > 0) await Promise.allSettled([...this.#inFlight]);
  }

  #commit(): void {
    this.#scheduled = false;
    const ops = this.#queue.splice(0);
    if (ops.length === 0) return;
    const done = this.#write(ops).then(
      () => {
        if (this.#failing && !this.#retry) this.notice('saved the edits that waited for space in this browser');
        if (!this.#retry) this.#failing = false;
      },
      (err: Error) => {
        // Keep them (log records carry their place in their key, so a later retry is in order).
        this.#queue.unshift(...ops);
        if (!this.#failing) this.notice(`this browser refused to save edits (${err.name || err.message}); they are kept in this tab and at the peers, and saved here once it takes them`);
        this.#failing = true;
        this.#retry ??= setTimeout(() => {
          this.#retry = undefined;
          this.#commit();
        }, RETRY_MS);
      },
    );
    this.#inFlight.add(done);
    void done.finally(() => this.#inFlight.delete(done));
  }

  #write(ops: Op[]): Promise<void> {
    return new Promise((resolve, reject) => {
      // 'relaxed': committed to the operating system, not forced to the disk, per keystroke.
      const tx = this.db.transaction(['log', 'snap', 'damaged', 'blobs'], 'readwrite', { durability: 'relaxed' });
      const log = tx.objectStore('log');
      const snap = tx.objectStore('snap');
      const range = (doc: string) => IDBKeyRange.bound([doc, 0], [doc, Number.MAX_SAFE_INTEGER]);
      for (const op of ops) {
        if (op.t === 'log') log.put({ ...(op.change ? { change: op.change } : {}), ...(op.mark !== undefined ? { mark: op.mark } : {}) }, [op.doc, op.seq]);
        else if (op.t === 'snap') {
          snap.put({ snapshot: op.snapshot, ...(op.previous ? { previous: op.previous } : {}) }, op.doc);
          log.delete(range(op.doc));
        } else if (op.t === 'erase') {
          snap.delete(op.doc);
          log.delete(range(op.doc));
        } else if (op.t === 'damaged') tx.objectStore('damaged').put(op.held, op.key);
        else tx.objectStore('blobs').put(op.data, op.hash);
      }
      tx.oncomplete = () => resolve();
      tx.onabort = () => reject(tx.error ?? new Error('IndexedDB transaction aborted'));
      tx.onerror = () => undefined; // reported by onabort
      tx.commit(); // nothing more comes: commit now rather than when the task ends
    });
  }
}

/** The document store on IndexedDB (see the module comment). */
export class IdbStore extends MemoryStore {
  readonly #writer: WriteBehind;
  readonly #seqs: Map<string, number>;

  private constructor(writer: WriteBehind, state: MemoryState, seqs: Map<string, number>, notice: (msg: string) => void) {
    super(notice, state);
    this.#writer = writer;
    this.#seqs = seqs;
  }

  /** Open the stores of database `db`: documents, and the blobs of files this page opened. */
  static async open(db: IDBDatabase, notice: (msg: string) => void): Promise<{ docs: IdbStore; blobs: IdbBlobStore }> {
    const { state, blobs, seqs } = await loadAll(db);
    const writer = new WriteBehind(db, notice);
    return { docs: new IdbStore(writer, state, seqs, notice), blobs: new IdbBlobStore(writer, blobs) };
  }

  /** Writes not yet committed to IndexedDB. */
  get unsaved(): number {
    return this.#writer.pending;
  }

  #seq(doc: string): number {
    const n = (this.#seqs.get(doc) ?? 0) + 1;
    this.#seqs.set(doc, n);
    return n;
  }

  protected override writeLog(id: string, changes: Uint8Array[], marks: string[]): void {
    super.writeLog(id, changes, marks);
    const held = this.state.docs.get(id)!;
    // The copies MemoryStore kept (the caller may reuse its buffers).
    for (const c of held.changes.slice(held.changes.length - changes.length)) this.#writer.push({ t: 'log', doc: id, seq: this.#seq(id), change: c });
    for (const m of marks) this.#writer.push({ t: 'log', doc: id, seq: this.#seq(id), mark: m });
  }

  protected override writeSnapshot(id: string, bytes: Uint8Array): void {
    super.writeSnapshot(id, bytes);
    const previous = this.state.previous.get(id);
    this.#writer.push({ t: 'snap', doc: id, snapshot: this.state.docs.get(id)!.snapshot!, ...(previous ? { previous } : {}) });
  }

  protected override setAside(id: string): void {
    const held = this.state.docs.get(id);
    super.setAside(id);
    if (held) this.#writer.push({ t: 'damaged', key: `${id}.damaged-${this.state.damaged.size}`, held });
    this.#writer.push({ t: 'erase', doc: id });
  }

  protected override erase(id: string): void {
    super.erase(id);
    this.#writer.push({ t: 'erase', doc: id });
  }

  override flush(): Promise<void> {
    return this.#writer.flush();
  }
}

/** Blobs (files this page opened before anyone made them live), kept in memory and IndexedDB. */
export class IdbBlobStore extends MemoryBlobStore {
  readonly #writer: WriteBehind;

  constructor(writer: WriteBehind, blobs: Map<string, Uint8Array>) {
    super(blobs);
    this.#writer = writer;
  }

  protected override write(hash: string, data: Uint8Array): void {
    super.write(hash, data);
    this.#writer.push({ t: 'blob', hash, data: this.blobs.get(hash)! });
  }
}

/** The tab's peer id, kept in its database (the same id after a reload or a reopened tab). */
export async function storedPeerId(db: IDBDatabase, fresh: () => string): Promise<string> {
  const tx = db.transaction('meta', 'readwrite');
  const meta = tx.objectStore('meta');
  const kept = await request(meta.get('peerId'));
  if (typeof kept === 'string' && /^[0-9a-f]{32}$/.test(kept)) return kept;
  const id = fresh();
  meta.put(id, 'peerId');
  await new Promise<void>((resolve, reject) => {
    tx.oncomplete = () => resolve();
    tx.onabort = () => reject(tx.error ?? new Error('IndexedDB transaction aborted'));
  });
  return id;
}

/**
 * Which database this tab uses for the session. Each open tab holds one slot (a Web Lock), so two
 * tabs never write one database, while a reloaded or reopened tab takes its slot back — with the
 * edits it had not yet shared. Without Web Locks (a page over plain http from another machine is
 * not a secure context) the slot lives as long as the tab (sessionStorage).
 */
export async function claimDatabase(sessionId: string): Promise<string> {
  const base = `chorus-${sessionId}`;
  const remembered = sessionStorage.getItem(`${base}.slot`);
  if (typeof navigator.locks?.request !== 'function') {
    if (remembered) return `${base}-${remembered}`;
    const slot = `t${Date.now().toString(36)}${Math.random().toString(36).slice(2, 8)}`;
    sessionStorage.setItem(`${base}.slot`, slot);
    return `${base}-${slot}`;
  }
  const hold = (name: string, wait: boolean): Promise<boolean> =>
    new Promise((resolve) => {
      const opts: LockOptions = wait ? { signal: AbortSignal.timeout(3000) } : { ifAvailable: true };
      navigator.locks
        .request(name, opts, (lock) => {
          resolve(lock !== null);
          // Held until the tab goes away.
          return lock ? new Promise<void>(() => undefined) : undefined;
        })
        .catch(() => resolve(false));
    });
  // The slot this tab had before a reload first (its old document may still be letting go).
  if (remembered && (await hold(`${base}-${remembered}`, true))) return `${base}-${remembered}`;
  for (let i = 0; ; i++) {
    if (await hold(`${base}-${i}`, false)) {
      sessionStorage.setItem(`${base}.slot`, String(i));
      return `${base}-${i}`;
    }
  }
}
