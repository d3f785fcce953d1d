/**
 * The blob side of the store contract (decision 090): content addressed by SHA-256 — the bytes
 * of files nobody has made live, stored once, sent to peers as they are, and the base a file
 * becomes live from. A sibling of DocumentStore rather than part of it: blobs are immutable and
 * keyed by their hash, with no log, marks or compaction.
 *
 * Stores: `FsBlobStore` (fs-blob-store.ts, `.chorus/blobs/`) in the daemon, `MemoryBlobStore`
 * here for unit tests and a page. Platform-neutral (decision 065).
 */
// `events`: Node's own module in the daemon, the same-API `events` package in a browser bundle.
import { EventEmitter } from 'events';
import { sha256Hex } from '../digest.js';
import { asStorageFailed } from './storage-failed.js';

/** A blob's address: SHA-256 of its bytes (a string as UTF-8), 64 lowercase hex characters. */
export function hashBytes(data: Uint8Array | string): string {
  return sha256Hex(data);
}

export interface BlobEvents {
  /** A blob was stored (the folder writes the files that have it). */
  put: [hash: string];
  /** Someone waits for a blob that is not here (view mode asks the peers for it now). */
  wanted: [hash: string];
}

/**
 * Content-addressed bytes. `has`, `get` and `put` are synchronous: a store on an asynchronous
 * platform keeps what it holds in memory and persists behind (like a DocumentStore whose
 * `durableOnAppend` is false). A blob is never the only copy of an acknowledged edit (edits live
 * in documents), so a blob lost in a crash is fetched from peers or read from the folder again.
 */
export abstract class BlobStore extends EventEmitter<BlobEvents> {
  constructor() {
    super();
    this.setMaxListeners(0);
  }

  /** Throws unless `hash` is a blob address (it becomes a file name in some stores). */
  protected check(hash: string): void {
    if (!/^[0-9a-f]{64}$/.test(hash)) throw new Error(`invalid blob hash ${JSON.stringify(hash)}`);
  }

  abstract has(hash: string): boolean;

  /** The blob's bytes, or undefined when it is not here. */
  abstract get(hash: string): Uint8Array | undefined;

  /** Keep bytes already checked against `hash` and not held yet. Throws the platform's error. */
  protected abstract write(hash: string, data: Uint8Array): void;

  /**
   * Store `data` under its hash and return the hash. Throws an Error when `hash` is given and is
   * not the data's (a peer sending garbage), StorageFailed when the platform refuses the write.
   */
  put(data: Uint8Array, hash = hashBytes(data)): string {
    if (hashBytes(data) !== hash) throw new Error(`blob content does not match its hash ${hash.slice(0, 12)}…`);
    this.check(hash);
    if (this.has(hash)) return hash;
    try {
      this.write(hash, data);
    } catch (e) {
      throw asStorageFailed(e);
    }
    this.emit('put', hash);
    return hash;
  }

  /** Resolves true once the blob is here, false after `ms` (emitting `wanted` first). */
  async waitFor(hash: string, ms: number): Promise<boolean> {
    if (this.has(hash)) return true;
    this.emit('wanted', hash); // someone who fetches on demand (view mode) asks the peers now
    return new Promise((resolve) => {
      const done = (ok: boolean) => {
        clearTimeout(timer);
        this.off('put', onPut);
        resolve(ok);
      };
      const onPut = (h: string) => {
        if (h === hash) done(true);
      };
      const timer = setTimeout(() => done(this.has(hash)), ms);
      this.on('put', onPut);
    });
  }
}

/** Blobs in memory: for unit tests, and a page until its IndexedDB store exists. */
export class MemoryBlobStore extends BlobStore {
  constructor(
    /** What it holds, by hash: pass another store's `blobs` to see what that one stored. */
    readonly blobs = new Map<string, Uint8Array>(),
  ) {
    super();
  }

  has(hash: string): boolean {
    return this.blobs.has(hash);
  }

  get(hash: string): Uint8Array | undefined {
    return this.blobs.get(hash)?.slice();
  }

  protected write(hash: string, data: Uint8Array): void {
    this.blobs.set(hash, data.slice());
  }
}
