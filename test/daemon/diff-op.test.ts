// diffToOp (daemon/src/text/diff-op.ts), the op of an outside edit and of any two texts: by
// character when what differs is small, by line first when it is not (decision 252), and by
// character again where lines cannot be diffed. Whatever the route, the op makes the new text,
// is in normal form, and keeps what did not change, so another person's typing inside a changed
// line stays where it was typed.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { diffToOp, outsideEditOp } from '../../daemon/src/text/diff-op.js';
import { applyOp, normalizeOp, opToSplices, transformOp, type TextOp } from '../../daemon/src/text/text-op.js';

const LINES = ['const a = 1;\n', 'let b = "two";\n', '\n', '  return x;\n', '}\n', 'é😀 中\n', 'x'.repeat(300) + '\n'];

/** Characters an op deletes and inserts. */
function churn(op: TextOp): { deleted: number; inserted: number } {
  let deleted = 0;
  let inserted = 0;
  for (const c of op) {
    if (typeof c === 'string') inserted += c.length;
    else if (typeof c === 'object') deleted += c.d;
  }
  return { deleted, inserted };
}

/** A text of `n` lines, each different (so a line diff has something to align). */
const numbered = (n: number, f = (i: number) => `const value${i} = compute("item ${i}", ${i * 7});\n`) => Array.from({ length: n }, (_, i) => f(i)).join('');

describe('diffToOp', () => {
  it('makes the new text, in normal form, small or large, by whichever route', () => {
    const text = fc.array(fc.constantFrom(...LINES), { maxLength: 400 });
    const edit = fc.array(fc.record({ at: fc.nat(), del: fc.nat({ max: 30 }), ins: fc.array(fc.constantFrom(...LINES), { maxLength: 30 }) }), { maxLength: 6 });
    fc.assert(
      fc.property(text, edit, fc.boolean(), (lines, steps, inLine) => {
        const a = lines.join('');
        let b = lines.slice();
        for (const { at, del, ins } of steps) b.splice(at % (b.length + 1), del, ...ins);
        let after = b.join('');
        if (inLine && after.length > 10) after = after.slice(0, 5) + 'Z' + after.slice(7); // a change inside a line
        for (const op of [diffToOp(a, after), outsideEditOp(a, after)]) {
          expect(applyOp(a, op)).toBe(after);
          expect(normalizeOp(op)).toEqual(op);
        }
      }),
      { numRuns: 300 },
    );
  });

  it('a change on every line of a large file keeps what each line did not change (the line route)', () => {
    const before = numbered(3000);
    const after = before.replaceAll('const ', 'let ');
    expect(before.length).toBeGreaterThan(100_000);
    const op = diffToOp(before, after);
    expect(applyOp(before, op)).toBe(after);
    // `const ` → `let ` is at most 5 characters out and 3 in on each line; replacing lines whole
    // would delete all 137,190.
    const { deleted, inserted } = churn(op);
    expect(deleted).toBeLessThanOrEqual(3000 * 5);
    expect(inserted).toBeLessThanOrEqual(3000 * 3);
  });

  it("another person's typing inside a changed line of a large file stays where it was typed", () => {
    const before = numbered(3000);
    const after = before.replaceAll('compute(', 'calculate(');
    const line = 'const value1500 = compute("item 1500", 10500);\n';
    const at = before.indexOf(line) + line.indexOf('1500",') + 4; // after `1500`, inside the quotes
    const typed: TextOp = [at, 'TYPED'];
    const moved = transformOp(typed, diffToOp(before, after), 'left');
    expect(applyOp(after, moved)).toContain('const value1500 = calculate("item 1500TYPED", 10500);\n');
  });

  it('lines added and removed among changed ones: the blocks between are diffed by character', () => {
    const before = numbered(2000);
    const after = numbered(2000, (i) => (i % 50 === 0 ? '' : i % 50 === 1 ? `// a comment ${i}\n// and another\nlet value${i} = compute("item ${i}", ${i * 7});\n` : `const value${i} = compute("item ${i}", ${i * 7});\n`));
    const op = diffToOp(before, after);
    expect(applyOp(before, op)).toBe(after);
    const { deleted } = churn(op);
    // Per 50 lines: one line removed whole (~45 characters) and `const` → `let` on another; the
    // blocks are small, so nothing else is deleted.
    expect(deleted).toBeLessThan(40 * 60);
  });

  it('past the bounds of a line diff (over 20,000 lines), still by character, not replaced whole', () => {
    // The first and the last line changed: what differs is the whole text, of 21,000 lines.
    const before = numbered(21_000, (i) => `v${i % 7}\n`);
    const after = `v0 first${before.slice(2, -1)} last\n`;
    const op = diffToOp(before, after);
    expect(applyOp(before, op)).toBe(after);
    expect(opToSplices(op)).toEqual([
      { at: 2, del: 0, ins: ' first' },
      { at: before.length - 1 + ' first'.length, del: 0, ins: ' last' }, // placed after the first
    ]);
  });

  it('an outside edit rewrites a line whole when it keeps under half of it, and diffs a lighter change by character (decision 258)', () => {
    // Rewritten: the old line's text deleted whole, the new one inserted whole, the line end kept.
    expect(outsideEditOp('one\nsame line three\nend\n', 'one\nalice rewrote three\nend\n')).toEqual([4, { d: 15 }, 'alice rewrote three']);
    expect(outsideEditOp('same line three', 'const timeout = 30;')).toEqual([{ d: 15 }, 'const timeout = 30;']);
    // Changed lightly: only what changed (a rename inside a line, a re-indent), as diffToOp does.
    const renamed = outsideEditOp('  const value = compute(value);\n', '  const amount = compute(amount);\n');
    expect(churn(renamed).deleted).toBeLessThanOrEqual(10);
    expect(outsideEditOp('foo(bar);\n', '    foo(bar);\n')).toEqual(['    ']);
  });

  it('an outside edit that only deletes in a line, or only inserts, is no rewrite: only what went or came, however much (trial s57a, decision 262)', () => {
    // `git stash` taking out what was typed on a line: the label and the marker stay where they
    // are, so typing that arrives inside the line meanwhile stays after the label.
    const typed = '006;K1B0007;K1B0008;K1B000';
    expect(outsideEditOp(`# Notes\n\nFirst part:${typed}@B\nmiddle\n`, '# Notes\n\nFirst part:@B\nmiddle\n')).toEqual([20, { d: typed.length }]);
    expect(outsideEditOp(`First part:${typed}@B`, 'First part:@B')).toEqual([11, { d: typed.length }]);
    // The same line typed into by a tool (an `sed` adding to it) is an insertion only.
    expect(outsideEditOp('First part:@B\n', `First part:${typed}@B\n`)).toEqual([11, typed]);
    // Deleted over several lines (a line end among what was typed): only that.
    expect(outsideEditOp(`a\nFirst part:\nK1B0000;K1B0001;@B\nz\n`, 'a\nFirst part:@B\nz\n')).toEqual([13, { d: 17 }]);
  });
});
