/**
 * LSP text shapes ↔ the daemon's ops (UTF-16 offsets). LSP has two conventions that differ from
 * the Chorus protocol: a `didChange` content change may be the whole text (no range), and the
 * `TextEdit`s of one `TextDocumentEdit` all refer to the document *before* any of them applies,
 * not to the result of the previous one.
 */
import diff from 'fast-diff';
import type { TextDocumentContentChangeEvent, TextEdit } from 'vscode-languageserver';
import { diffToOp } from '../text/diff-op.js';
import { toOffset, toPosition, type Encoding } from '../text/positions.js';
import { changesToOp } from '../editor/wire.js';
import { composeOps, opToReplacements, spliceOp, type TextOp } from '../text/text-op.js';

/**
 * The op for one LSP content change made on `text`: a ranged change is converted at the edge
 * (a bad range throws the daemon's `Failure('badPosition')`); a whole-text change is diffed.
 */
export function contentChangeToOp(text: string, change: TextDocumentContentChangeEvent, enc: Encoding): TextOp {
  if (!('range' in change) || change.range === undefined) return diffToOp(text, change.text);
  return changesToOp(text, [{ range: change.range, text: change.text }], enc);
}

/**
 * `op`, made on `text`, as LSP `TextEdit`s: every range in `text`'s coordinates (LSP applies the
 * edits of one TextDocumentEdit to the original document), in document order, an insert next to
 * a delete at the same place merged into one replacement.
 */
export function opToTextEdits(text: string, op: TextOp, enc: Encoding): TextEdit[] {
  const edits = opToReplacements(op);
  return edits.map((e) => ({ range: { start: toPosition(text, e.from, enc), end: toPosition(text, e.to, enc) }, newText: e.text }));
}

/**
 * The op that LSP `edits` (ranges in `text`, as one TextDocumentEdit) make on `text`: applied
 * from the last to the first, so each range is still valid. Throws for a range that does not fit.
 */
export function textEditsToOp(text: string, edits: TextEdit[], enc: Encoding): TextOp {
  const spans = edits
    .map((e, i) => ({ from: toOffset(text, e.range.start, enc), to: toOffset(text, e.range.end, enc), text: e.newText, i }))
    .sort((a, b) => a.from - b.from || a.i - b.i);
  let op: TextOp = [];
  let shift = 0;
  for (const s of spans) {
    if (s.to < s.from) throw new Error('a range ends before it starts');
    op = composeOps(op, spliceOp({ at: s.from + shift, del: s.to - s.from, ins: s.text }));
    shift += s.text.length - (s.to - s.from);
  }
  return op;
}

/** Whether `a` and `b` differ only in inserted or deleted line breaks (a client's normalisation). */
export function onlyLineBreaksDiffer(a: string, b: string): boolean {
  if (a === b) return false;
  return diff(a, b).every(([kind, s]) => kind === diff.EQUAL || /^[\r\n]+$/.test(s));
}

/**
 * Whether `a` and `b` differ only by a line break at the very end ("\n" or "\r\n" more in one of
 * them): an editor that keeps a final line break (Neovim's 'eol') shows an edit that removed or
 * never had one, such as an insert after the last line break, with one.
 */
export function onlyFinalLineBreakDiffers(a: string, b: string): boolean {
  const [short, long] = a.length < b.length ? [a, b] : [b, a];
  if (!long.startsWith(short)) return false;
  const extra = long.slice(short.length);
  return extra === '\n' || extra === '\r\n';
}
