/**
 * The protocol edge for text: editor changes (ranges in the editor's encoding) become one op on
 * UTF-16 offsets, and ops become editor changes. Nothing past this file sees a line/character.
 */
import { Failure } from '../errors.js';
import { hasLoneSurrogate } from '../text/decode-text.js';
import type { LineIndex } from '../text/line-index.js';
import { advance, PositionError, toOffset, toPosition, type Encoding, type LineChar } from '../text/positions.js';
import { applyOp, composeOps, opToSplices, spliceOp, type TextOp } from '../text/text-op.js';

export interface WireChange {
  range: { start: LineChar; end: LineChar };
  text: string;
}

/**
 * The op for `changes` (each applying to the result of the previous) made on `base`. `lines`,
 * if given, indexes `base`.
 */
export function changesToOp(base: string, changes: WireChange[], enc: Encoding, lines?: LineIndex): TextOp {
  let text = base;
  let index = lines;
  let op: TextOp = [];
  changes.forEach((c, i) => {
    const where = changes.length > 1 ? `change ${i}: ` : '';
    let from: number;
    let to: number;
    try {
      from = toOffset(text, c.range.start, enc, index);
      to = toOffset(text, c.range.end, enc, index);
    } catch (e) {
      if (e instanceof PositionError) throw new Failure('badPosition', `${where}${e.message}`);
      throw e;
    }
    if (to < from) throw new Failure('badPosition', `${where}the range ends before it starts`);
    if (hasLoneSurrogate(c.text)) throw new Failure('invalid', `${where}the inserted text contains a lone UTF-16 surrogate`);
    const step = spliceOp({ at: from, del: to - from, ins: c.text });
    op = i === 0 ? step : composeOps(op, step);
    if (i < changes.length - 1) {
      text = applyOp(text, step);
      index = undefined; // indexes the original text only
    }
  });
  return op;
}

/**
 * `op`, made on `before`, as editor changes (each applying to the result of the previous).
 * With `after` and its line index, a one-splice op (a keystroke) is converted without scanning.
 */
export function opToChanges(before: string, op: TextOp, enc: Encoding, after?: { text: string; lines: LineIndex }): WireChange[] {
  const splices = opToSplices(op);
  const only = splices[0];
  if (after && splices.length === 1 && only) {
    // The text before the splice is the same in both versions, so the start is too.
    const start = toPosition(after.text, only.at, enc, after.lines);
    const end = only.del === 0 ? start : advance(start, before.slice(only.at, only.at + only.del), enc);
    return [{ range: { start, end }, text: only.ins }];
  }
  const out: WireChange[] = [];
  let text = before;
  for (const s of splices) {
    const start = toPosition(text, s.at, enc);
    const end = s.del === 0 ? start : toPosition(text, s.at + s.del, enc);
    out.push({ range: { start, end }, text: s.ins });
    if (splices.length > 1) text = text.slice(0, s.at) + s.ins + text.slice(s.at + s.del);
  }
  return out;
}

export { toOffset, toPosition };
