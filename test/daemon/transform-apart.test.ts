/**
 * transformApart (text-op.ts), own-edit undo's shortcut for a change away from a step: for any
 * two one-region ops on one text, it either declines or gives exactly what ot-text's transform
 * gives both ways, on either side. And it takes the cases it is for: regions strictly apart.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { applyOp, normalizeOp, spliceOp, transformApart, transformOp, type TextOp } from '../../daemon/src/text/text-op.js';

const TEXT = 'abcdefghijklmnopqrstuvwxyz0123456789';

/** A splice on TEXT: at, then how much it deletes there and what it inserts (either may be empty). */
const splice = fc
  .record({ at: fc.nat(TEXT.length), del: fc.nat(6), ins: fc.string({ maxLength: 4 }) })
  .map(({ at, del, ins }) => ({ at, del: Math.min(del, TEXT.length - at), ins }));

describe('transformApart', () => {
  it('agrees with ot-text’s transform whenever it answers, on either side', () => {
    fc.assert(
      fc.property(splice, splice, (x, y) => {
        const a = spliceOp(x);
        const b = spliceOp(y);
        const apart = transformApart(a, b);
        if (!apart) return;
        for (const side of ['left', 'right'] as const) {
          const other = side === 'left' ? 'right' : 'left';
          expect(normalizeOp(apart[0])).toEqual(transformOp(a, b, side));
          expect(normalizeOp(apart[1])).toEqual(transformOp(b, a, other));
        }
        // And both orders reach one text.
        expect(applyOp(applyOp(TEXT, a), apart[1])).toBe(applyOp(applyOp(TEXT, b), apart[0]));
      }),
      { numRuns: 5000 },
    );
  });

  it('answers for regions strictly apart, and declines where they touch, overlap, or an op has several regions', () => {
    const op = (at: number, del: number, ins: string): TextOp => spliceOp({ at, del, ins });
    expect(transformApart(op(2, 3, 'X'), op(10, 1, 'YY'))).toEqual([op(2, 3, 'X'), op(8, 1, 'YY')]);
    expect(transformApart(op(10, 1, 'YY'), op(2, 3, 'X'))).toEqual([op(8, 1, 'YY'), op(2, 3, 'X')]);
    expect(transformApart(op(0, 0, 'Z'), op(5, 0, 'W'))).toEqual([op(0, 0, 'Z'), op(6, 0, 'W')]);
    expect(transformApart(op(2, 3, 'X'), op(5, 1, ''))).toBeUndefined(); // touches its end
    expect(transformApart(op(5, 0, 'a'), op(5, 0, 'b'))).toBeUndefined(); // a tie
    expect(transformApart(op(2, 3, ''), op(3, 1, ''))).toBeUndefined(); // overlaps
    expect(transformApart([1, 'a', 3, { d: 1 }], op(20, 1, ''))).toBeUndefined(); // two regions
    expect(transformApart([], op(20, 1, ''))).toBeUndefined(); // changes nothing
  });
});
