/**
 * Rope (text/rope.ts), the mirror of a live document: any sequence of ops gives the text ot-text's
 * `apply` gives on a string, read whole, by slices and by code unit; every earlier version stays
 * what it was (the change record's `before` is one); and an op past the end is refused as
 * ot-text refuses it. Texts are long enough to span many chunks (4,096 code units each), and ops
 * large enough to split, empty and merge them.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { asRope, Rope } from '../../daemon/src/text/rope.js';
import { applyOp, spliceOp, type TextOp } from '../../daemon/src/text/text-op.js';

/** `n` code units of varied text: ASCII lines, a two-unit character now and then (a surrogate pair). */
function textOf(n: number, seed: number): string {
  let s = '';
  for (let i = 0; s.length < n; i++) s += (i + seed) % 37 === 0 ? '😀' : (i + seed) % 11 === 0 ? '\n' : String.fromCharCode(97 + ((i * 7 + seed) % 26));
  return s.slice(0, n);
}

/** A splice as fractions of the text's length, so it fits whatever text it meets. */
const splice = fc.record({
  at: fc.double({ min: 0, max: 1, noNaN: true }),
  del: fc.oneof(fc.nat(5), fc.nat(9000)),
  ins: fc.oneof(fc.nat(3), fc.nat(9000)),
  seed: fc.nat(1000),
});

function opOn(text: string, s: { at: number; del: number; ins: number; seed: number }): TextOp {
  const at = Math.min(text.length, Math.floor(s.at * text.length));
  return spliceOp({ at, del: Math.min(s.del, text.length - at), ins: textOf(s.ins, s.seed) });
}

describe('Rope', () => {
  it('gives the text a string gives, for any ops, whole, by slices and by code unit; every version keeps its text', () => {
    fc.assert(
      fc.property(fc.nat(30_000), fc.array(splice, { maxLength: 12 }), fc.array(fc.tuple(fc.double({ min: -0.1, max: 1.1, noNaN: true }), fc.double({ min: -0.1, max: 1.1, noNaN: true })), { maxLength: 6 }), (length, splices, slices) => {
        let text = textOf(length, length);
        let rope = Rope.of(text);
        const versions: Array<[Rope, string]> = [[rope, text]];
        for (const s of splices) {
          const op = opOn(text, s);
          text = applyOp(text, op);
          rope = rope.apply(op);
          versions.push([rope, text]);
          expect(rope.length).toBe(text.length);
        }
        // Read before any `toString`: the chunks answer, not a joined copy.
        for (const [a, b] of slices) {
          const from = Math.round(a * text.length);
          const to = Math.round(b * text.length);
          expect(rope.slice(from, to)).toBe(text.slice(from, to));
          expect(rope.slice(from)).toBe(text.slice(from));
          expect(rope.charCodeAt(from)).toEqual(text.charCodeAt(from));
        }
        for (let i = 0; i < text.length; i += 997) expect(rope.charCodeAt(i)).toBe(text.charCodeAt(i));
        for (const [r, t] of versions) expect(r.toString()).toBe(t);
      }),
      { numRuns: 300 },
    );
  });

  it('applies several splices in one op, as ot-text does', () => {
    const text = textOf(20_000, 3);
    const op: TextOp = [10, 'AB', { d: 5000 }, 4000, textOf(9000, 1), 2, { d: 3 }];
    expect(Rope.of(text).apply(op).toString()).toBe(applyOp(text, op));
    expect(Rope.of('').apply(['hello']).toString()).toBe('hello');
    expect(Rope.of('hello').apply([{ d: 5 }]).toString()).toBe('');
    expect(Rope.of('hello').apply([{ d: 5 }]).apply(['again']).toString()).toBe('again');
  });

  it('refuses a retain past the end and deletes what there is past it, as ot-text does, leaving the rope unchanged', () => {
    const text = textOf(5000, 1);
    const rope = Rope.of(text);
    for (const op of [[5001, 'x'], [5001, { d: 1 }]] as TextOp[]) {
      expect(() => applyOp(text, op)).toThrow(/too long/);
      expect(() => rope.apply(op)).toThrow(/too long/);
    }
    for (const op of [[4999, { d: 2 }], [{ d: 5001 }], [2000, { d: 9000 }, 'x']] as TextOp[]) expect(rope.apply(op).toString()).toBe(applyOp(text, op));
    // An op not in ot-text's form is refused with ot-text's words.
    for (const op of [[0, 'x'], [3, 'x', 2], [1, 2, 'x'], ['', 'x'], [{ d: 0 }], [1, { d: -1 }]] as TextOp[]) {
      const words = (() => { try { applyOp(text, op); } catch (e) { return (e as Error).message; } return 'no error'; })();
      expect(words).not.toBe('no error');
      expect(() => rope.apply(op)).toThrow(words);
    }
    expect(rope.toString()).toBe(text);
  });

  it('reads a position scan after scan, backwards too (the chunk last read is kept)', () => {
    const text = textOf(50_000, 9);
    const rope = Rope.of(text).apply([25_000, 'x']);
    const want = applyOp(text, [25_000, 'x']);
    for (const i of [40_000, 40_001, 3, 49_999, 50_000, 50_001, -1, 25_000, 4095, 4096, 8192]) expect(rope.charCodeAt(i)).toEqual(want.charCodeAt(i));
  });

  it('asRope: a Rope as it is, a string made one', () => {
    const rope = Rope.of('abc');
    expect(asRope(rope)).toBe(rope);
    expect(asRope('abc').toString()).toBe('abc');
  });
});
