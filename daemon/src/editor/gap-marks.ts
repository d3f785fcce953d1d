/**
 * Where, in one file's text, others' deleted text stood, and whose it was (decision 266): a mark
 * per recent deletion, at the place the text was taken out of. An undo step that another
 * deletion brings next to such a place learns that the mark's author's text stood before it too,
 * though its own history never saw that text go (the step had a third person's word in between).
 * Positions are in the file's current text and move with every change; a mark goes when its
 * author inserts text right there (their text coming back) or when newer ones push it out.
 */
import type { TextOp } from '../text/text-op.js';
import type { Author } from './undo-history.js';

/** Marks kept per file: enough for the words a few people undo in a row, cheap to move per keystroke. */
export const MAX_GAP_MARKS = 64;

interface Mark {
  pos: number;
  by: Author;
  /** Made after every mark of a lower number (the oldest go first past MAX_GAP_MARKS). */
  seq: number;
}

export class GapMarks {
  /** In text order: by position, and marks at one position in the order their gaps stand. */
  private marks: Mark[] = [];
  private seq = 0;

  /** Authors of the marks at `pos`, the one nearest the text after `pos` first. */
  at(pos: number): Author[] {
    const out: Author[] = [];
    for (let i = this.marks.length - 1; i >= 0; i--) if (this.marks[i]!.pos === pos) out.push(this.marks[i]!.by);
    return out;
  }

  /**
   * `by` changed the text with `op`: move every mark, drop the ones `by` filled (their own text
   * inserted right there: it came back), and mark each of `by`'s deletions where it was. Text
   * others insert right at a mark goes after it (as it goes after an undo step). A mark at the
   * start of deleted text stands before the new mark; one inside it or at its end, after.
   */
  change(op: TextOp, by: Author): void {
    const old = this.marks;
    const out: Mark[] = [];
    let i = 0;
    let src = 0;
    let dst = 0;
    for (const c of op) {
      if (typeof c === 'number') {
        for (; i < old.length && old[i]!.pos < src + c; i++) out.push({ ...old[i]!, pos: dst + (old[i]!.pos - src) });
        src += c;
        dst += c;
      } else if (typeof c === 'string') {
        for (; i < old.length && old[i]!.pos === src; i++) if (old[i]!.by !== by) out.push({ ...old[i]!, pos: dst });
        dst += c.length;
      } else {
        for (; i < old.length && old[i]!.pos === src; i++) out.push({ ...old[i]!, pos: dst });
        out.push({ pos: dst, by, seq: this.seq++ });
        for (; i < old.length && old[i]!.pos <= src + c.d; i++) out.push({ ...old[i]!, pos: dst });
        src += c.d;
      }
    }
    for (; i < old.length; i++) out.push({ ...old[i]!, pos: dst + (old[i]!.pos - src) });
    // The oldest go (an op deletes in a place or two: a mark or two over, at most).
    while (out.length > MAX_GAP_MARKS) {
      let oldest = 0;
      for (let k = 1; k < out.length; k++) if (out[k]!.seq < out[oldest]!.seq) oldest = k;
      out.splice(oldest, 1);
    }
    this.marks = out;
  }

  /** Marks held (for tests of the bound). */
  get size(): number {
    return this.marks.length;
  }
}
