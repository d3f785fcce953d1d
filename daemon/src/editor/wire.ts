/**
 * The protocol edge for text: editor changes (ranges in the editor's encoding) become one op on
 * UTF-16 offsets, and ops become editor changes. Nothing past this file sees a line/character.
 */
import { Failure } from '../errors.js';
import { hasLoneSurrogate } from '../text/decode-text.js';
import { LineIndex } from '../text/line-index.js';
import { advance, PositionError, toOffset, toPosition, type Encoding, type LineChar } from '../text/positions.js';
import { replaceOp } from '../text/diff-op.js';
import { applyOp, composeOps, normalizeOp, opToSplices, type TextOp } from '../text/text-op.js';
import { asRope, type TextSource } from '../text/rope.js';

export interface WireChange {
  range: { start: LineChar; end: LineChar };
  text: string;
}

/**
 * The op for `changes` (each applying to the result of the previous) made on `base`. `lines`,
 * if given, indexes `base`. Throws a Failure (`badPosition`, `invalid`) naming the change.
 *
 * Linear in the text when each change lies wholly before the one ahead of it (the order VS Code
 * sends a replace-all or a format in): every position is then one in `base`. Otherwise each
 * change is placed on the text the ones ahead of it left, one pass over the text per change.
 */
export function changesToOp(base: TextSource, changes: WireChange[], enc: Encoding, lines?: LineIndex): TextOp {
  if (changes.length > 1 && descending(changes)) return descendingToOp(base, changes, enc, lines ?? LineIndex.of(base.toString()));
  let text = base;
  let index = lines;
  let op: TextOp = [];
  changes.forEach((c, i) => {
    const [from, to] = rangeIn(text, c, changes.length > 1 ? `change ${i}: ` : '', enc, index);
    const step = normalizeOp([from, ...replaceOp(text.slice(from, to), c.text)]);
    op = i === 0 ? step : composeOps(op, step);
    if (i < changes.length - 1) {
      text = asRope(text).apply(step);
      index = undefined; // indexes the original text only
    }
  });
  return op;
}

/** Is `a` at or before `b`? */
function atOrBefore(a: LineChar, b: LineChar): boolean {
  return a.line < b.line || (a.line === b.line && a.character <= b.character);
}

/** Does each change end at or before the start of the one ahead of it? */
function descending(changes: readonly WireChange[]): boolean {
  for (let i = 1; i < changes.length; i++) if (!atOrBefore(changes[i]!.range.end, changes[i - 1]!.range.start)) return false;
  return true;
}

/**
 * `changes` in descending order (see `descending`) as one op on `base`: none moves a position of
 * the ones after it, so each is placed on `base` with its line index, and the op is built from
 * the last change (first in the text) to the first, in one pass.
 */
function descendingToOp(base: TextSource, changes: readonly WireChange[], enc: Encoding, lines: LineIndex): TextOp {
  const op: TextOp = [];
  let done = 0;
  for (let i = changes.length - 1; i >= 0; i--) {
    const c = changes[i]!;
    const [from, to] = rangeIn(base, c, `change ${i}: `, enc, lines);
    // Ranges that touch are fine; one reaching into the next one's (found by offsets, as the
    // positions said they were in order) is not.
    if (from < done) throw new Failure('badPosition', `change ${i}: the range overlaps the change after it`);
    if (from > done) op.push(from - done);
    op.push(...replaceOp(base.slice(from, to), c.text));
    done = to;
  }
  return normalizeOp(op);
}

/** A change's range as UTF-16 offsets in `text` (indexed by `lines`, if given), checked; `where` names it in errors. */
function rangeIn(text: TextSource, c: WireChange, where: string, enc: Encoding, lines: LineIndex | undefined): [number, number] {
  let from: number;
  let to: number;
  try {
    from = toOffset(text, c.range.start, enc, lines);
    to = toOffset(text, c.range.end, enc, lines);
  } catch (e) {
    if (e instanceof PositionError) throw new Failure('badPosition', `${where}${e.message}`);
    throw e;
  }
  if (to < from) throw new Failure('badPosition', `${where}the range ends before it starts`);
  if (hasLoneSurrogate(c.text)) throw new Failure('invalid', `${where}the inserted text contains a lone UTF-16 surrogate`);
  return [from, to];
}

/**
 * `op`, made on `before`, as editor changes (each applying to the result of the previous), in
 * one pass over the text: the op's splices come in order, so each position follows from the last.
 * With `after` and its line index, a one-splice op (a keystroke) is converted without scanning.
 * (Each splice placed by a scan from the text's start, a peer's rewrite of a 300 KB file, 1,800
 * splices, took 2.5 s to convert, for each keystroke an editor made before it had applied it.)
 */
export function opToChanges(before: TextSource, op: TextOp, enc: Encoding, after?: { text: TextSource; lines: LineIndex }): WireChange[] {
  const splices = opToSplices(op);
  const only = splices[0];
  if (after && splices.length === 1 && only) {
    // The text before the splice is the same in both versions, so the start is too.
    const start = toPosition(after.text, only.at, enc, after.lines);
    const end = only.del === 0 ? start : advance(start, before.slice(only.at, only.at + only.del), enc);
    return [{ range: { start, end }, text: only.ins }];
  }
  const out: WireChange[] = [];
  // `pos` is the position of `before`'s offset `done` in the text the splices so far left; a
  // splice's `at` is in that text, `shift` ahead of `before`'s offsets.
  let pos: LineChar = { line: 0, character: 0 };
  let done = 0;
  let shift = 0;
  for (const s of splices) {
    const at = s.at - shift;
    if (at > done) pos = advance(pos, before.slice(done, at), enc);
    const start = pos;
    const end = s.del === 0 ? start : advance(start, before.slice(at, at + s.del), enc);
    out.push({ range: { start, end }, text: s.ins });
    if (s.ins) pos = advance(start, s.ins, enc);
    done = at + s.del;
    shift += s.ins.length - s.del;
  }
  return out;
}

export { toOffset, toPosition };
