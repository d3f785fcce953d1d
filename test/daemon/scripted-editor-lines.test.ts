// The scripted editor's text by lines (test/support/scripted-editor.ts EditorText) must convert
// exactly as the plain scans it replaces: every trace replay checks its text through it.
import fc from 'fast-check';
import { expect, it } from 'vitest';
import { EditorText, offsetAt, positionAt, type Encoding } from '../support/scripted-editor.js';

const piece = fc.array(fc.constantFrom('a', 'b', '\n', 'é', '😀', '\r\n', 'xyz'), { maxLength: 8 }).map((p) => p.join(''));
const encodings: Encoding[] = ['utf-8', 'utf-16', 'utf-32'];

/** A boundary of `text` at or before `off` that does not split a surrogate pair. */
function boundary(text: string, off: number): number {
  const c = text.charCodeAt(off - 1);
  return off > 0 && off < text.length && c >= 0xd800 && c <= 0xdbff ? off - 1 : off;
}

it('EditorText follows random edits and converts as positionAt/offsetAt do, in every encoding', () => {
  fc.assert(
    fc.property(piece, fc.array(fc.tuple(fc.nat(), fc.nat(), piece), { maxLength: 30 }), (start, edits) => {
      let text = start;
      const doc = new EditorText(text);
      for (const [a, b, ins] of edits) {
        const from = boundary(text, a % (text.length + 1));
        const to = boundary(text, Math.max(from, b % (text.length + 1)));
        text = text.slice(0, from) + ins + text.slice(to);
        doc.replace(from, to, ins);
        expect(doc.text).toBe(text);
        expect(doc).toEqual(new EditorText(text)); // its lines and their starts too
        for (let off = 0; off <= text.length; off = boundary(text, off + 1) === off ? off + 2 : off + 1) {
          for (const enc of encodings) {
            const pos = doc.positionAt(off, enc);
            expect(pos).toEqual(positionAt(text, off, enc));
            expect(doc.offsetAt(pos, enc)).toBe(offsetAt(text, pos, enc));
          }
        }
      }
    }),
    { numRuns: 200 },
  );
});
