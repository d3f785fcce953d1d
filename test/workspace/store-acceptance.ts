/**
 * The one acceptance suite every store passes (decision 090), like test/net/transport-acceptance.ts
 * for transports: the DocumentStore contract (document-store.ts) and the BlobStore contract
 * (blob-store.ts). Runners: test/workspace/store-fs.test.ts (Storage + FsBlobStore) and
 * store-memory.test.ts (MemoryStore + MemoryBlobStore); the browser peer runs it against
 * IndexedDB in a page.
 *
 * Runs in a browser too: it imports no Node module and no test framework; the runner passes
 * `describe`, `it` and `expect` in (vitest's fit `SuiteApi`).
 */
import * as A from '@automerge/automerge/next';
import { hashBytes, type BlobStore } from '../../daemon/src/workspace/blob-store.js';
import { COMPACT_AFTER, MARKS_KEPT, StorageFailed, UnloadableState, type DocumentStore } from '../../daemon/src/workspace/document-store.js';

/** The assertions the suite uses (a subset of vitest's / Jest's `expect`). */
export interface Matchers {
  toBe(expected: unknown): void;
  toEqual(expected: unknown): void;
  toThrow(expected?: unknown): void;
  toBeInstanceOf(expected: unknown): void;
  toContain(expected: unknown): void;
  toBeGreaterThan(expected: number): void;
  not: Matchers;
}

/** The test framework, injected so the suite itself imports none. */
export interface SuiteApi {
  describe(name: string, body: () => void): void;
  it(name: string, body: () => Promise<void> | void, timeoutMs?: number): void;
  expect(actual: unknown, message?: string): Matchers;
}

/** One store under test: its documents and its blobs. */
export interface StoreUnderTest {
  docs: DocumentStore;
  blobs: BlobStore;
}

export interface StoreFactory {
  /** A new, empty store; `notice` receives what it tells a person. */
  open(notice: (msg: string) => void): Promise<StoreUnderTest>;
  /**
   * The same saved state opened by a new store object, as a process restarted after a crash
   * sees it: `previous` was neither closed nor flushed beyond what the suite did.
   */
  reopen(previous: StoreUnderTest, notice: (msg: string) => void): Promise<StoreUnderTest>;
  /** Make the store refuse writes as a full disk would (a code), or take them again (undefined). Absent: the platform cannot be made to (the fs store is tested full in test/disk/enospc.test.ts). */
  refuse?(store: StoreUnderTest, code: string | undefined): void;
  /** Release every store this factory opened (close them, delete their folders). */
  dispose(): Promise<void>;
}

const encoder = new TextEncoder();

/** A text document's changes, one per edit (real Automerge changes, as the workspace saves). */
function changesOf(edits: string[], actor = 'aa'.repeat(16)): { changes: Uint8Array[]; doc: A.Doc<{ text: string }> } {
  let doc = A.change(A.init<{ text: string }>({ actor }), (d) => {
    d.text = '';
  });
  const changes = [A.getLastLocalChange(doc)!];
  for (const e of edits) {
    doc = A.change(doc, (d) => A.splice(d, ['text'], d.text.length, 0, e));
    changes.push(A.getLastLocalChange(doc)!);
  }
  return { changes, doc };
}

/** Build a text document from saved state, as the workspace does (throws on bad state). */
function build(snapshot: Uint8Array | undefined, changes: Uint8Array[]): string {
  let doc = snapshot ? A.load<{ text: string }>(snapshot) : A.init<{ text: string }>();
  if (changes.length) [doc] = A.applyChanges(doc, changes);
  const text = doc.text ?? '';
  A.free(doc);
  return text;
}

function eventually(check: () => boolean, ms: number): Promise<boolean> {
  const until = Date.now() + ms;
  return new Promise((resolve) => {
    const poll = (): void => {
      if (check()) resolve(true);
      else if (Date.now() > until) resolve(false);
      else setTimeout(poll, 50);
    };
    poll();
  });
}

export function storeAcceptance(name: string, factory: StoreFactory, { describe, it, expect }: SuiteApi): void {
  describe(`${name}: store acceptance`, () => {
    /** Run `body` with a fresh store and the notices it gave; always dispose. */
    const withStore = (body: (s: StoreUnderTest, notices: string[]) => Promise<void>) => async () => {
      const notices: string[] = [];
      try {
        await body(await factory.open((m) => notices.push(m)), notices);
      } finally {
        await factory.dispose();
      }
    };
    const reopen = (s: StoreUnderTest, notices: string[] = []) => factory.reopen(s, (m) => notices.push(m));

    it(
      'starts empty: nothing saved, an empty document builds from nothing',
      withStore(async ({ docs }) => {
        expect(docs.has('fabc')).toBe(false);
        expect(docs.ids()).toEqual([]);
        expect(docs.load('fabc')).toEqual({ changes: [] });
        expect(docs.open('fabc', (snap, changes) => [snap, changes])).toEqual([undefined, []]);
        expect(docs.waitingForSpace).toBe(0);
      }),
    );

    it(
      'appends changes and gives them back in order, after a restart too (flushed, or durable on append)',
      withStore(async (s) => {
        const { changes } = changesOf(['a', 'b', 'c', 'd']);
        expect(s.docs.append('f1', changes.slice(0, 2))).toBe(false);
        expect(s.docs.append('f1', changes.slice(2))).toBe(false);
        expect(s.docs.has('f1')).toBe(true);
        expect(s.docs.ids()).toEqual(['f1']);
        expect(s.docs.load('f1')).toEqual({ changes });
        if (!s.docs.durableOnAppend) await s.docs.flush();
        const again = await reopen(s);
        expect(again.docs.load('f1')).toEqual({ changes });
        expect(again.docs.open('f1', build)).toBe('abcd');
      }),
    );

    it(
      'keeps what was appended, not the caller buffer it came in (which may be reused)',
      withStore(async ({ docs }) => {
        const bytes = new Uint8Array([1, 2, 3]);
        docs.append('f1', [bytes]);
        bytes[0] = 9;
        expect(docs.load('f1').changes).toEqual([new Uint8Array([1, 2, 3])]);
      }),
    );

    it(
      'flush resolves, and everything appended before it is there after a restart',
      withStore(async (s) => {
        const { changes } = changesOf(['x', 'y']);
        s.docs.append('index', changes);
        await s.docs.flush();
        expect((await reopen(s)).docs.open('index', build)).toBe('xy');
      }),
    );

    it(
      'keeps documents apart and lists every one with saved state',
      withStore(async ({ docs }) => {
        docs.append('f1', changesOf(['one']).changes);
        docs.append('data', changesOf(['two'], 'bb'.repeat(16)).changes);
        docs.snapshot('index', A.save(changesOf(['three']).doc));
        expect([...docs.ids()].sort()).toEqual(['data', 'f1', 'index']);
        expect(docs.open('f1', build)).toBe('one');
        expect(docs.open('data', build)).toBe('two');
        expect(docs.open('index', build)).toBe('three');
      }),
    );

    it(
      'refuses a document id that could name something else (it may become a file name)',
      withStore(async ({ docs }) => {
        for (const bad of ['../x', 'a/b', '', 'a.log', 'ä']) {
          expect(() => docs.append(bad, [new Uint8Array([1])])).toThrow(/invalid document id/);
        }
        expect(docs.ids()).toEqual([]);
      }),
    );

    it(
      'a snapshot replaces the log; later changes follow it; both survive a restart',
      withStore(async (s) => {
        const { changes, doc } = changesOf(['he', 'llo']);
        s.docs.append('f1', changes);
        const bytes = A.save(doc);
        s.docs.snapshot('f1', bytes);
        const after = A.change(doc, (d) => A.splice(d, ['text'], 5, 0, '!'));
        s.docs.append('f1', [A.getLastLocalChange(after)!]);
        const saved = s.docs.load('f1');
        expect(saved.snapshot).toEqual(bytes);
        expect(saved.changes.length).toBe(1);
        await s.docs.flush();
        expect((await reopen(s)).docs.open('f1', build)).toBe('hello!');
      }),
    );

    it(
      'refuses a snapshot that does not load (UnloadableState) and keeps the saved state',
      withStore(async ({ docs }) => {
        const { changes } = changesOf(['keep']);
        docs.append('f1', changes);
        expect(() => docs.snapshot('f1', new Uint8Array([1, 2, 3, 4]))).toThrow(UnloadableState);
        expect(docs.load('f1')).toEqual({ changes });
      }),
    );

    it(
      `asks for compaction once ${COMPACT_AFTER} changes are appended since the last snapshot`,
      withStore(async ({ docs }) => {
        const tiny = Array.from({ length: COMPACT_AFTER - 1 }, () => new Uint8Array([0]));
        expect(docs.append('f1', tiny)).toBe(false);
        expect(docs.append('f1', [new Uint8Array([0])])).toBe(true);
        docs.snapshot('f1', A.save(changesOf(['c']).doc));
        expect(docs.append('f1', [new Uint8Array([0])])).toBe(false);
      }),
    );

    it(
      'edit marks (decision 055): saved with their change, after a restart, across compaction, the newest kept',
      withStore(async (s) => {
        const { changes, doc } = changesOf(['a', 'b']);
        s.docs.append('f1', changes.slice(0, 2), 'ed1-1');
        s.docs.append('f1', changes.slice(2), 'ed1-2');
        expect(s.docs.hasMark('f1', 'ed1-1')).toBe(true);
        expect(s.docs.hasMark('f1', 'ed1-2')).toBe(true);
        expect(s.docs.hasMark('f1', 'ed1-3')).toBe(false);
        expect(s.docs.hasMark('f2', 'ed1-1')).toBe(false);
        // A mark is not a change: the saved changes are exactly those appended.
        expect(s.docs.load('f1')).toEqual({ changes });
        await s.docs.flush();
        const r1 = await reopen(s);
        r1.docs.load('f1');
        expect(r1.docs.hasMark('f1', 'ed1-2')).toBe(true);
        r1.docs.snapshot('f1', A.save(doc));
        expect(r1.docs.hasMark('f1', 'ed1-1')).toBe(true);
        await r1.docs.flush();
        const r2 = await reopen(r1);
        expect(r2.docs.open('f1', build)).toBe('ab');
        expect(r2.docs.hasMark('f1', 'ed1-1')).toBe(true);
        expect(r2.docs.hasMark('f1', 'ed1-2')).toBe(true);
        for (let i = 0; i < MARKS_KEPT; i++) r2.docs.append('f1', [], `ed2-${i}`);
        expect(r2.docs.hasMark('f1', 'ed1-2')).toBe(false);
        expect(r2.docs.hasMark('f1', 'ed2-0')).toBe(true);
        expect(r2.docs.hasMark('f1', `ed2-${MARKS_KEPT - 1}`)).toBe(true);
      }),
    );

    it(
      'remove forgets the document: state, marks, and after a restart',
      withStore(async (s) => {
        s.docs.append('f1', changesOf(['gone']).changes, 'm1');
        s.docs.snapshot('f1', A.save(changesOf(['gone']).doc));
        s.docs.append('f2', changesOf(['stays']).changes);
        s.docs.remove('f1');
        expect(s.docs.has('f1')).toBe(false);
        expect(s.docs.ids()).toEqual(['f2']);
        expect(s.docs.hasMark('f1', 'm1')).toBe(false);
        expect(s.docs.load('f1')).toEqual({ changes: [] });
        await s.docs.flush();
        const again = await reopen(s);
        expect(again.docs.has('f1')).toBe(false);
        expect(again.docs.ids()).toEqual(['f2']);
      }),
    );

    it(
      'open recovers from damaged state (a change that does not decode) with the valid part, sets the damage aside and says so',
      withStore(async (s, notices) => {
        const { doc } = changesOf(['good']);
        s.docs.snapshot('f1', A.save(doc));
        const more = A.change(doc, (d) => A.splice(d, ['text'], 4, 0, '!'));
        s.docs.append('f1', [A.getLastLocalChange(more)!, encoder.encode('not a change')]);
        expect(s.docs.open('f1', build)).toBe('good!');
        expect(notices.length).toBe(1);
        expect(notices[0]).toContain('f1');
        expect(notices[0]).toContain('did not load');
        // The damage is set aside and what built is saved again: a restart builds it, quietly.
        expect(s.docs.load('f1').changes.length).toBe(1);
        await s.docs.flush();
        const later: string[] = [];
        expect((await reopen(s, later)).docs.open('f1', build)).toBe('good!');
        expect(later).toEqual([]);
      }),
    );

    it(
      'open falls back to nothing when no saved state builds, and throws only when even that fails',
      withStore(async ({ docs }, notices) => {
        docs.append('f1', [encoder.encode('garbage')], 'm1');
        expect(docs.open('f1', build)).toBe('');
        expect(notices.length).toBe(1);
        expect(docs.load('f1').changes).toEqual([]);
        expect(docs.hasMark('f1', 'm1')).toBe(true);
        docs.append('f2', [encoder.encode('garbage')]);
        expect(() =>
          docs.open('f2', () => {
            throw new Error('never builds');
          }),
        ).toThrow('never builds');
      }),
    );

    it(
      'waiting for space: a refused append throws StorageFailed and keeps nothing; deferred changes go first once space returns, by retry or by the next append',
      async () => {
        if (!factory.refuse) return; // the platform's full-disk test covers it (see StoreFactory.refuse)
        const notices: string[] = [];
        try {
          const s = await factory.open((m) => notices.push(m));
          const { changes } = changesOf(['a', 'b', 'c', 'd']);
          s.docs.append('f1', changes.slice(0, 1));
          factory.refuse(s, 'ENOSPC');
          let failed: unknown;
          try {
            s.docs.append('f1', changes.slice(1, 2), 'lost-mark');
          } catch (e) {
            failed = e;
          }
          expect(failed).toBeInstanceOf(StorageFailed);
          expect((failed as StorageFailed).code).toBe('ENOSPC');
          expect((failed as StorageFailed).message).toContain('disk is full');
          expect(s.docs.load('f1').changes.length).toBe(1);
          expect(s.docs.hasMark('f1', 'lost-mark')).toBe(false);
          s.docs.defer('f1', changes.slice(1, 2));
          expect(s.docs.waitingForSpace).toBe(1);
          expect(() => s.docs.append('f1', changes.slice(2, 3))).toThrow(StorageFailed);
          s.docs.defer('f1', changes.slice(2, 3));
          factory.refuse(s, undefined);
          // The retry writes what waited, in order, without anyone appending.
          expect(await eventually(() => s.docs.waitingForSpace === 0, 5000)).toBe(true);
          expect(s.docs.load('f1').changes).toEqual(changes.slice(0, 3));
          expect(notices.some((n) => n.includes('waited for disk space'))).toBe(true);
          // Refused again: the next append writes the waiting change before its own.
          factory.refuse(s, 'ENOSPC');
          s.docs.defer('f2', changes.slice(0, 1));
          factory.refuse(s, undefined);
          s.docs.append('f2', changes.slice(1, 2));
          expect(s.docs.waitingForSpace).toBe(0);
          expect(s.docs.load('f2').changes).toEqual(changes.slice(0, 2));
          // At close, what waits is written (or a notice says it could not be).
          factory.refuse(s, 'ENOSPC');
          s.docs.defer('f3', changes.slice(0, 1));
          s.docs.close();
          expect(notices.some((n) => n.includes('could not save the latest changes of f3'))).toBe(true);
        } finally {
          await factory.dispose();
        }
      },
      20_000,
    );

    it(
      'blobs: stored under their SHA-256, given back, there after a restart',
      withStore(async (s) => {
        const bytes = encoder.encode('blob content\n');
        const hash = s.blobs.put(bytes);
        expect(hash).toBe(hashBytes(bytes));
        expect(s.blobs.put(encoder.encode('abc'))).toBe('ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad');
        expect(s.blobs.has(hash)).toBe(true);
        expect(s.blobs.get(hash)).toEqual(bytes);
        expect(s.blobs.put(bytes)).toBe(hash); // stored once
        const empty = s.blobs.put(new Uint8Array());
        expect(empty).toBe('e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855');
        expect(s.blobs.get(empty)).toEqual(new Uint8Array());
        await s.docs.flush();
        const again = await reopen(s);
        expect(again.blobs.get(hash)).toEqual(bytes);
        expect(again.blobs.has(hashBytes('never stored'))).toBe(false);
        expect(again.blobs.get(hashBytes('never stored'))).toBe(undefined);
      }),
    );

    it(
      'blobs: content that does not match its hash (a peer sending garbage) is refused and not stored',
      withStore(async ({ blobs }) => {
        const claimed = hashBytes('what the peer claimed');
        expect(() => blobs.put(encoder.encode('something else'), claimed)).toThrow(/does not match its hash/);
        expect(blobs.has(claimed)).toBe(false);
        expect(() => blobs.put(encoder.encode('x'), '../../etc/passwd')).toThrow();
      }),
    );

    it(
      'blobs: waitFor asks for a missing blob (wanted), resolves when it is put, and false after its time',
      withStore(async ({ blobs }) => {
        const bytes = encoder.encode('arrives later');
        const hash = hashBytes(bytes);
        const wanted: string[] = [];
        const puts: string[] = [];
        blobs.on('wanted', (h) => wanted.push(h));
        blobs.on('put', (h) => puts.push(h));
        const waiting = blobs.waitFor(hash, 10_000);
        expect(wanted).toEqual([hash]);
        blobs.put(bytes);
        expect(await waiting).toBe(true);
        expect(puts).toEqual([hash]);
        expect(await blobs.waitFor(hash, 10)).toBe(true);
        expect(await blobs.waitFor(hashBytes('never'), 20)).toBe(false);
      }),
    );
  });
}
