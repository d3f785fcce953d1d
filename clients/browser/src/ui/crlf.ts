/**
 * Files with CRLF line ends, edited in an editor whose only line separator is "\n" (so offsets
 * equal the peer's UTF-16 offsets, see editor.ts). The "\r" is then the last character of its
 * line, drawn as nothing. Three rules keep a "\r" from being split off its "\n" by this person:
 * - the cursor never rests between "\r" and "\n" (End, a click past the line's end or an arrow
 *   key that would land there goes before the "\r", or on to the next line), so typed text lands
 *   before the line end, not inside it;
 * - a deletion that would take one of the pair takes both (Backspace at a line's start, Delete
 *   at its end), a replacement that would take the "\r" (Enter eating trailing whitespace,
 *   which "\r" counts as) leaves it, and text typed between the two goes before the "\r";
 * - in a document whose line ends are CRLF, a line break the person types or pastes is "\r\n".
 * Changes from the peer pass untouched: other people's line ends are theirs.
 */
import { ChangeSet, EditorSelection, EditorState, Transaction, type ChangeSpec, type Extension, type Text, type TransactionSpec } from '@codemirror/state';

/** Whether a text's line ends are CRLF (judged by its first line end). */
export function usesCrlf(text: string): boolean {
  const lf = text.indexOf('\n');
  return lf > 0 && text[lf - 1] === '\r';
}

/** Whether `pos` is between a "\r" and a "\n". */
function inPair(doc: Text, pos: number): boolean {
  return pos > 0 && pos < doc.length && doc.sliceString(pos - 1, pos + 1) === '\r\n';
}

/** `pos` if the cursor may rest there, else the nearest allowed place in the direction it moved. */
function allowed(doc: Text, pos: number, from: number | undefined): number {
  if (!inPair(doc, pos)) return pos;
  // One step right from before the "\r" means "to the next line", as if "\r\n" were one character.
  return from === pos - 1 ? pos + 1 : pos - 1;
}

/** `changes` with deletions widened or narrowed so no "\r\n" is split, or undefined when none would be. */
function keepPairs(doc: Text, changes: ChangeSet): ChangeSet | undefined {
  const specs: { from: number; to: number; insert: string }[] = [];
  let touched = false;
  changes.iterChanges((fromA, toA, _fromB, _toB, inserted) => {
    const insert = inserted.sliceString(0, inserted.length, '\n');
    let from = fromA;
    let to = toA;
    if (to > from) {
      if (inPair(doc, from)) from -= 1;
      if (inPair(doc, to)) to += insert === '' ? 1 : -1;
    } else if (inPair(doc, from)) {
      // Typing where a cursor got between the two (a peer's change moved it there): before the "\r".
      from -= 1;
      to -= 1;
    }
    touched ||= from !== fromA || to !== toA;
    specs.push({ from, to, insert });
  });
  if (!touched) return undefined;
  for (let i = 1; i < specs.length; i++) if ((specs[i]?.from ?? 0) < (specs[i - 1]?.to ?? 0)) return undefined; // would overlap: leave as is
  return ChangeSet.of(specs as ChangeSpec, doc.length, '\n');
}

/** A change inserting "\r" before each "\n" that `changes` inserted without one (positions after `changes`). */
function crlfFix(changes: ChangeSet, after: Text): ChangeSet | undefined {
  const inserts: { from: number; insert: string }[] = [];
  changes.iterChanges((_fromA, _toA, fromB, _toB, inserted) => {
    const s = inserted.sliceString(0, inserted.length, '\n');
    for (let i = s.indexOf('\n'); i >= 0; i = s.indexOf('\n', i + 1)) {
      const before = i > 0 ? s[i - 1] : after.sliceString(fromB - 1, fromB);
      if (before !== '\r') inserts.push({ from: fromB + i, insert: '\r' });
    }
  });
  return inserts.length > 0 ? ChangeSet.of(inserts, after.length, '\n') : undefined;
}

/**
 * The extension: `isPeerChange` tells transactions that apply the peer's changes (never altered);
 * `crlf` whether typed line breaks become "\r\n" in this document.
 */
export function crlfLineEnds(crlf: boolean, isPeerChange: (tr: Transaction) => boolean): Extension {
  return EditorState.transactionFilter.of((tr): Transaction | readonly TransactionSpec[] => {
    if (isPeerChange(tr)) return tr;
    const start = tr.startState;
    let changes = tr.changes;
    let doc = tr.newDoc;
    let selection = tr.newSelection;
    let effects = tr.effects;
    let altered = false;
    if (tr.docChanged) {
      const paired = keepPairs(start.doc, tr.changes);
      if (paired) {
        // The command's own cursor placement was for its changes; put each cursor after the new ones.
        changes = paired;
        doc = paired.apply(start.doc);
        selection = start.selection.map(paired, 1);
        effects = [];
        altered = true;
      }
      const fix = crlf ? crlfFix(changes, doc) : undefined;
      if (fix) {
        changes = changes.compose(fix);
        doc = fix.apply(doc);
        selection = selection.map(fix);
        effects = effects.map((e) => e.map(fix)).filter((e) => e !== undefined);
        altered = true;
      }
    }
    // Only a keyboard move may step over the line end; a click past it stays on its line.
    const keyboardMove = !tr.docChanged && tr.isUserEvent('select') && !tr.isUserEvent('select.pointer');
    const ranges = selection.ranges.map((r, i) => {
      const head = allowed(doc, r.head, keyboardMove ? start.selection.ranges[i]?.head : undefined);
      const anchor = r.empty ? head : allowed(doc, r.anchor, undefined);
      if (head === r.head && anchor === r.anchor) return r;
      altered = true;
      return EditorSelection.range(anchor, head);
    });
    if (!altered) return tr;
    const userEvent = tr.annotation(Transaction.userEvent);
    return [
      {
        changes,
        selection: EditorSelection.create(ranges, selection.mainIndex),
        effects,
        scrollIntoView: tr.scrollIntoView,
        // Keep what kind of input it was (closeBrackets and others read it).
        annotations: userEvent !== undefined ? [Transaction.userEvent.of(userEvent)] : [],
      },
    ];
  });
}
