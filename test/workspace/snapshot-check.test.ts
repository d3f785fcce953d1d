// A peer's saved document is bounded from its chunk header before it is loaded (decision 192),
// and an empty document takes it in with one load, still checking it is a text document.
import * as A from '@automerge/automerge/next';
import { expect, it } from 'vitest';
import { diffToOp } from '../../daemon/src/text/diff-op.js';
import { ChangeRefused, checkChanges, countOps, FULL_CHECK_BYTES, MAX_OPS } from '../../daemon/src/sync/change-check.js';
import { opBomb } from '../support/op-bomb.js';
import { checkSnapshot, SNAPSHOT_ALLOWANCE, SNAPSHOT_EXPANSION } from '../../daemon/src/sync/snapshot-check.js';
import { TextDoc } from '../../daemon/src/workspace/text-doc.js';

const actor = 'ab'.repeat(16);

/** `n` one-character changes typed at the end, one per change (an honest long history), saved. */
function typed(n: number): { saved: Uint8Array; text: string } {
  const doc = A.from<{ text: string }>({ text: '' });
  const h = A.getBackend(doc);
  const text = h.get('_root', 'text') as unknown as string;
  let want = '';
  for (let i = 0; i < n; i++) {
    const ch = 'let x = 1;\n'[i % 11]!;
    h.splice(text, i, 0, ch);
    h.commit(undefined, 1_700_000_000 + i);
    want += ch;
  }
  return { saved: h.save(), text: want };
}

it('an honest long history passes the bound and loads into an empty document', () => {
  const { saved, text } = typed(6000);
  const size = checkSnapshot('text', saved);
  expect(size.rows).toBeGreaterThanOrEqual(6000);
  const doc = TextDoc.empty(actor);
  doc.loadSnapshot(saved);
  expect(doc.text).toBe(text);
  expect(doc.changeCount).toBe(6001);
  // It stays editable, with this daemon's actor.
  doc.applyLocal(diffToOp(doc.text, doc.text + 'more'));
  expect(doc.text).toBe(text + 'more');
});

it('a saved document over the budget is refused, whichever column carries it', () => {
  // Runs: a million characters in one change (1,179 bytes).
  const many = A.save(A.change(A.from<{ text: string }>({ text: '' }), (d) => A.splice(d, ['text'], 0, 0, 'a'.repeat(1_000_000))));
  expect(() => checkSnapshot('text', many)).toThrow(/column of over \d+ values/);
  // Bytes: long values deflated (JSON strings in the extension data, whose budget is 256 KiB).
  const wide = A.save(A.from<Record<string, unknown>>(Object.fromEntries(Array.from({ length: 40 }, (_, i) => [`k${i}`, new A.RawString('v'.repeat(60_000))]))));
  expect(wide.length * SNAPSHOT_EXPANSION + SNAPSHOT_ALLOWANCE).toBeLessThan(40 * 60_000);
  expect(() => checkSnapshot('data', wide)).toThrow(/would inflate to over \d+ bytes/);
});

it('framing that is not one document chunk is refused in words', () => {
  const { saved } = typed(10);
  const cases: Array<[Uint8Array, RegExp]> = [
    [saved.subarray(0, saved.length - 3), /length does not match/],
    [new Uint8Array([...saved, ...saved]), /length does not match|several chunks/],
    [new Uint8Array(20), /without Automerge framing/],
    [A.getLastLocalChange(A.change(A.init<{ text: string }>(), (d) => (d.text = 'x')))!, /not one document chunk/],
  ];
  for (const [bytes, why] of cases) {
    expect(() => checkSnapshot('text', bytes)).toThrow(ChangeRefused);
    expect(() => checkSnapshot('text', bytes)).toThrow(why);
  }
});

it('an empty document refuses a saved document that is not text, and stays as it was', () => {
  const doc = TextDoc.empty(actor);
  const notText = A.save(A.from<Record<string, unknown>>({ text: 'x', other: 1 }));
  expect(() => doc.loadSnapshot(notText)).toThrow(/not a text document/);
  expect(() => doc.loadSnapshot(new Uint8Array([0x85, 0x6f, 0x4a, 0x83, 1, 2, 3, 4, 0, 1, 0]))).toThrow(/does not load/);
  expect(doc.text).toBe('');
  const { saved, text } = typed(20);
  doc.loadSnapshot(saved);
  expect(doc.text).toBe(text);
});

it('a small change of many deletions (runs) passes the change checks', () => {
  // 135 bytes for 300,000 deletions: decoded in full it cost 5 s of CPU; now counted from its
  // column headers and checked as a large change (decision 192). Accepted either way.
  let d = A.from<{ text: string }>({ text: '' }, { actor });
  d = A.change(d, (x) => A.splice(x, ['text'], 0, 0, 'a'.repeat(300_000)));
  d = A.change(d, (x) => A.splice(x, ['text'], 0, 300_000));
  const del = A.getLastLocalChange(d)!;
  expect(del.length).toBeLessThan(FULL_CHECK_BYTES);
  expect(checkChanges(`f${'1'.repeat(24)}`, [del]).map((c) => c.hash)).toEqual([A.decodeChange(del).hash]);
  // A few operations: still decoded in full, and refused for what they do to a text document.
  const notText = A.getLastLocalChange(A.change(A.from<Record<string, unknown>>({ text: '' }), (x) => (x.other = 1)))!;
  expect(() => checkChanges(`f${'1'.repeat(24)}`, [notText])).toThrow(/writes "other" at the top level/);
});

it('a change is refused by the operations its columns claim, before anything decodes it (decision 213)', () => {
  // ~130 bytes claiming ten million operations: decoding it alone took minutes and gigabytes.
  const bomb = opBomb(A.save(A.init()), 10_000_000);
  expect(bomb.length).toBeLessThan(200);
  expect(countOps(bomb, 20_000_000)).toBe(10_000_001); // the list and its nulls: every column agrees, as Automerge needs
  for (const doc of ['index', 'data', `f${'1'.repeat(24)}`]) {
    expect(() => checkChanges(doc, [bomb])).toThrow(ChangeRefused);
    expect(() => checkChanges(doc, [bomb])).toThrow(/a change of over [\d,]+ operations, more than one change to (the file index|extension data|the text of a file) may make/);
  }
  // Under the limit it is decoded in full, as Automerge decodes it, and judged by what it does.
  const small = opBomb(A.save(A.init()), 5_000);
  expect(A.decodeChange(small).ops).toHaveLength(5_001); // the list, and its 5,000 nulls
  expect(() => checkChanges('index', [small])).toThrow(/a change to the file index writes "x" at the top level/);
  // Extension data: over its far lower limit, refused by the count; under it, decoded whatever its
  // size in bytes (a change over FULL_CHECK_BYTES was not, and a value at the top level passed).
  expect(MAX_OPS.data).toBeLessThan(20_000);
  expect(() => checkChanges('data', [opBomb(A.save(A.init()), 20_000)])).toThrow(/over [\d,]+ operations/);
  const wide = A.getLastLocalChange(A.change(A.init<Record<string, unknown>>(), (d) => (d.x = new A.RawString('a'.repeat(70_000)))))!;
  expect(wide.length).toBeGreaterThan(FULL_CHECK_BYTES);
  expect(() => checkChanges('data', [wide])).toThrow(/writes namespace "x" as something other than a map/);
  // Columns that cannot be followed (cut short) are refused, not passed to Automerge.
  expect(() => countOps(bomb.subarray(0, bomb.length - 8), 20_000_000)).toThrow(/operation columns cannot be read/);
});

it('a change to a file too large to be decoded is read from its columns: characters only, and at the top level only its text made (decision 213)', () => {
  const file = `f${'1'.repeat(24)}`;
  const big = 'let x = 1;\n'.repeat(2_000); // 22,000 characters: over FULL_CHECK_OPS operations
  // Honest: a file's first change (its text made, with its content), a paste, a deletion.
  // (An Automerge document is spent once changed: each change is taken from a clone.)
  const first = A.from<{ text: string }>({ text: big }, { actor });
  const paste = A.change(A.clone(first), (d) => A.splice(d, ['text'], 5, 0, big));
  const cut = A.change(A.clone(paste), (d) => A.splice(d, ['text'], 0, 30_000));
  for (const honest of [A.getLastLocalChange(first)!, A.getLastLocalChange(paste)!, A.getLastLocalChange(cut)!]) {
    expect(countOps(honest, MAX_OPS.text)).toBeGreaterThan(16 * 1024);
    expect(checkChanges(file, [honest]).map((c) => c.hash)).toEqual([A.decodeChange(honest).hash]);
  }
  // A writer's: the text made a map, deleted, or a list beside it, each with a paste to be large.
  const attacks: Array<[string, (d: Record<string, unknown>) => void, RegExp]> = [
    ['text made a map', (d) => (d.text = {}), /a change to the text of a file makes something other than characters \(action 0\)/],
    ['text deleted', (d) => delete d.text, /a change to the text of a file writes at the top level other than by making its text/],
    ['a list beside it', (d) => (d.other = [1]), /makes something other than characters \(action 2\)/],
    ['a value beside it', (d) => (d.other = 1), /a change to the text of a file writes "other" at the top level/],
  ];
  for (const [what, fn, refused] of attacks) {
    const bad = A.getLastLocalChange(
      A.change(A.clone(first) as A.Doc<Record<string, unknown>>, (d) => {
        A.splice(d, ['text'], 0, 0, big);
        fn(d);
      }),
    )!;
    expect(countOps(bad, MAX_OPS.text), what).toBeGreaterThan(16 * 1024);
    expect(() => checkChanges(file, [bad]), what).toThrow(refused);
  }
});
