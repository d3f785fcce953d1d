/**
 * Position handling between VS Code and the daemon. The extension negotiates `utf-16`, VS Code's
 * own unit, and a document's lines split on its line break (`\r\n` or `\n`) while the daemon's
 * split on `\n` only: a `\r` is the last character of its line. So a VS Code position and a
 * protocol position are the same numbers as long as the document holds the daemon's text; the
 * helpers here turn the protocol's sequential change lists into the non-overlapping edits a
 * `WorkspaceEdit` wants, and texts that drifted apart into the changes that bring them level.
 * Pure (no `vscode`), so the unit tests exercise them directly.
 */
import type * as P from '@chorus/protocol';
import { changesToOp, opToChanges } from '../../../daemon/src/editor/wire.js';
import { diffToOp } from '../../../daemon/src/text/diff-op.js';
import { applyOp, composeOps, opToReplacements, type Replacement, type TextOp } from '../../../daemon/src/text/text-op.js';

export { opToReplacements, type Replacement };


/**
 * `changes` (protocol changes, each applying to the result of the ones before it) made on `text`:
 * the text after them, and the same edit as ascending, non-overlapping replacements on `text`.
 * Throws (with a message a person can read) when a position is not in `text`.
 */
export function applyChanges(text: string, changes: P.TextChange[]): { text: string; replacements: Replacement[] } {
  return applyChangeLists(text, [changes]);
}

/**
 * Several lists of protocol changes made on `text` one after another (a burst of the daemon's
 * `buffer/didChange`s): the text after all of them, and the whole as ascending, non-overlapping
 * replacements on `text`, so that one WorkspaceEdit makes them all. Throws as applyChanges does.
 */
export function applyChangeLists(text: string, lists: readonly P.TextChange[][]): { text: string; replacements: Replacement[] } {
  let now = text;
  let whole: TextOp | undefined;
  for (const changes of lists) {
    const op = changesToOp(now, changes, 'utf-16');
    now = applyOp(now, op);
    whole = whole === undefined ? op : composeOps(whole, op);
  }
  return { text: now, replacements: whole === undefined ? [] : opToReplacements(whole) };
}


/**
 * The protocol changes that turn `from` into `to` (a character diff, so only what differs is
 * touched: a line-break conversion becomes one `\r` inserted or deleted per line).
 */
export function changesBetween(from: string, to: string): P.TextChange[] {
  return opToChanges(from, diffToOp(from, to), 'utf-16');
}

/** The replacements that turn `from` into `to` (for bringing a document to a text). */
export function replacementsBetween(from: string, to: string): Replacement[] {
  return opToReplacements(diffToOp(from, to));
}

/**
 * One document change as VS Code reports it (`TextDocumentContentChangeEvent`): a range in
 * line/character, its offset and length in the text before the change, and the new text.
 */
export interface ReportedChange {
  range: { start: P.Position; end: P.Position };
  rangeOffset: number;
  rangeLength: number;
  text: string;
}

/**
 * VS Code's content changes of one event applied to `text` (the document before the event), as
 * protocol changes and the text after them. VS Code lists a multi-cursor edit's changes from the
 * end of the document backwards, so each applies to the result of the ones before, as the
 * protocol's list does.
 */
export function fromReported(text: string, reported: readonly ReportedChange[]): { text: string; changes: P.TextChange[] } {
  const changes: P.TextChange[] = [];
  for (const c of reported) {
    // Field by field: VS Code's Position keeps line/character in getters, which a spread drops.
    changes.push({ range: { start: { line: c.range.start.line, character: c.range.start.character }, end: { line: c.range.end.line, character: c.range.end.character } }, text: c.text });
    text = text.slice(0, c.rangeOffset) + c.text + text.slice(c.rangeOffset + c.rangeLength);
  }
  return { text, changes };
}

/**
 * Where a caret at `offset` (UTF-16 units, in the text before `replacements`) stands after them:
 * before text inserted at its very place (others' typing appears after one's caret, as in Neovim
 * and Emacs; VS Code's own rule put the caret after it, so two people typing at one place
 * interleaved their words, a trial), at the start of a range replaced around it, else shifted.
 * `replacements`: ascending, disjoint, in the text before (opToReplacements).
 */
export function caretAfter(offset: number, replacements: readonly Replacement[]): number {
  let shift = 0;
  for (const r of replacements) {
    if (r.from >= offset) break;
    if (r.to > offset) return r.from + shift;
    shift += r.text.length - (r.to - r.from);
  }
  return offset + shift;
}

/**
 * Whether carets now at offsets `now` were moved by someone since they were at `before`, across
 * `replacements` (sorted, non-overlapping, offsets in the text before them): VS Code itself puts a
 * caret where an insertion lands either before the inserted text (caretAfter) or after it, and
 * any other place, or another number of carets, is the person's move.
 */
export function movedSince(now: readonly number[], before: readonly number[], replacements: readonly Replacement[]): boolean {
  if (now.length !== before.length) return true;
  return now.some((at, i) => {
    const kept = caretAfter(before[i]!, replacements);
    const inserted = replacements.filter((r) => r.from === before[i] && r.to === r.from).reduce((n, r) => n + r.text.length, 0);
    return at !== kept && at !== kept + inserted;
  });
}

/**
 * Where offset `p` is after replacement `r` (made on the text `p` is in). At the place of an
 * insertion, or at the start of a replaced range, `before` keeps it before the new text.
 */
export function mapOffset(p: number, r: Replacement, before: boolean): number {
  if (p < r.from) return p;
  if (p > r.to) return p + r.text.length - (r.to - r.from);
  if (p === r.from && before) return p;
  return r.from + r.text.length;
}

/**
 * Replacement `a` made on the same text as `b`, moved onto the text after `b`. Two insertions at
 * one place: `aFirst` puts a's text before b's. A range never takes in text `b` inserted at its ends.
 */
export function transformReplacement(a: Replacement, b: Replacement, aFirst: boolean): Replacement {
  if (a.from === a.to) {
    const p = mapOffset(a.from, b, aFirst);
    return { from: p, to: p, text: a.text };
  }
  const from = mapOffset(a.from, b, false);
  return { from, to: Math.max(from, mapOffset(a.to, b, true)), text: a.text };
}

/**
 * Keys typed in a document that no longer gets the others' changes (`typed`, each on the text after
 * the ones before), moved onto the document that does, which took `others` meanwhile (each on the
 * text after the ones before, starting from the same text as `typed`). Returns the keys as made on
 * that document, and `others` as made after them (the next keys' starting text). Keys go before
 * another's insertion at the same place: the person's caret is before it in the old document.
 */
export function rebase(typed: readonly Replacement[], others: readonly Replacement[]): { typed: Replacement[]; others: Replacement[] } {
  const rest = [...others];
  const out: Replacement[] = [];
  for (const t of typed) {
    let x = t;
    for (let i = 0; i < rest.length; i++) {
      const o = rest[i]!;
      rest[i] = transformReplacement(o, x, false);
      x = transformReplacement(x, o, true);
    }
    out.push(x);
  }
  return { typed: out, others: rest };
}
