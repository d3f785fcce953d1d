/**
 * A document store that keeps everything in memory (the contract is document-store.ts): for unit
 * tests, and for a browser page until its IndexedDB store exists. Nothing survives the object,
 * so `durableOnAppend` is false and `flush` resolves at once. Platform-neutral (decision 065).
 *
 * `refuseWrites(code)` makes it refuse writes as a full disk would, so the contract's
 * waiting-for-space behaviour can be tested without filling a disk.
 */
import { BaseDocumentStore, StorageFailed, describeRefusal } from './document-store.js';

/** One document's saved state in memory. */
export interface HeldDocument {
  snapshot?: Uint8Array;
  changes: Uint8Array[];
  marks: string[];
}

/**
 * What a MemoryStore holds. A second store built on the same value sees the first one's saved
 * state, as a process restarted after a crash sees its disk (tests use that for "reopen"; a page
 * can preload it from IndexedDB).
 */
export interface MemoryState {
  docs: Map<string, HeldDocument>;
  /** The snapshot each current one replaced (the fallback of `open`). */
  previous: Map<string, Uint8Array>;
  /** Damaged state set aside, by `<id>.damaged-<n>` (for a person, or a test, to inspect). */
  damaged: Map<string, HeldDocument>;
}

/** An empty MemoryState. */
export function memoryState(): MemoryState {
  return { docs: new Map(), previous: new Map(), damaged: new Map() };
}

export class MemoryStore extends BaseDocumentStore {
  readonly durableOnAppend = false;
  private readonly docs: Map<string, HeldDocument>;
  private readonly previous: Map<string, Uint8Array>;
  private refusing: string | undefined;

  constructor(
    notice: (msg: string) => void = () => undefined,
    /** What it holds: pass another store's `state` to see what that one saved. */
    readonly state: MemoryState = memoryState(),
  ) {
    super(notice, 'in memory');
    this.docs = state.docs;
    this.previous = state.previous;
  }

  /** Refuse every write from now on with this code (`ENOSPC`, …), or take them again (undefined). */
  refuseWrites(code: string | undefined): void {
    this.refusing = code;
  }

  private refuse(): void {
    if (this.refusing !== undefined) throw new StorageFailed(this.refusing, describeRefusal(this.refusing));
  }

  has(id: string): boolean {
    return this.docs.has(id);
  }

  ids(): string[] {
    return [...this.docs.keys()];
  }

  protected read(id: string): { snapshot?: Uint8Array; changes: Uint8Array[]; marks: string[] } {
    const held = this.docs.get(id);
    if (!held) return { changes: [], marks: [] };
    const out = { changes: [...held.changes], marks: [...held.marks] };
    return held.snapshot ? { snapshot: held.snapshot, ...out } : out;
  }

  protected readPrevious(id: string): Uint8Array | undefined {
    return this.previous.get(id);
  }

  protected writeLog(id: string, changes: Uint8Array[], marks: string[]): void {
    this.refuse();
    let held = this.docs.get(id);
    if (!held) this.docs.set(id, (held = { changes: [], marks: [] }));
    // Copies: the caller may reuse its buffers; saved bytes must not change with them.
    for (const c of changes) held.changes.push(c.slice());
    held.marks.push(...marks);
  }

  protected writeSnapshot(id: string, bytes: Uint8Array): void {
    this.refuse();
    const held = this.docs.get(id);
    if (held?.snapshot) this.previous.set(id, held.snapshot);
    this.docs.set(id, { snapshot: bytes.slice(), changes: [], marks: [] });
  }

  protected setAside(id: string): void {
    const held = this.docs.get(id);
    if (!held) return;
    this.state.damaged.set(`${id}.damaged-${this.state.damaged.size + 1}`, held);
    this.docs.delete(id);
  }

  protected erase(id: string): void {
    this.docs.delete(id);
    this.previous.delete(id);
  }

  flush(): Promise<void> {
    return Promise.resolve();
  }

  protected release(): void {
    // nothing held outside this object
  }
}
