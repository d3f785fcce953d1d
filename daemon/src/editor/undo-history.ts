/**
 * Per-editor undo and redo that touch only that editor's own edits (decisions 006 and 197). Each
 * stack is a chain: its top step's revert op is valid for the current text, and each step below
 * is valid for the text the step above it leaves once reverted — the text as it would be had the
 * later steps never been made. A change by anyone else (a peer, another editor, another editor's
 * undo) is made on the current text, so it is carried down the chain: transformed through each
 * step's revert in turn, each step's revert transformed through it. So undoing an insert removes
 * the characters the editor typed that still exist — text others typed inside it stays — and
 * undoing a delete puts the deleted text back where its neighbours are now, while the editor's
 * own later steps never shift an earlier step (it comes into today's text only after them).
 */
import { composeOps, invertOp, isNoop, normalizeOp, transformApart, transformOp, type TextOp } from '../text/text-op.js';
import type { GapMarks } from './gap-marks.js';
import type { TextSource } from '../text/rope.js';

/** A pause this long between two edits starts a new undo step (when the editor marks none). */
export const UNDO_GAP_MS = 1000;
const MAX_STEPS = 200;
/** Own steps this recent count for `rebase`'s answer: typing a person may not have saved anywhere else. */
export const RECENT_OWN_MS = 60_000;
/** A step whose revert op has grown this many parts is closed (keeps composing cheap). */
const MAX_STEP_PARTS = 64;

interface Step {
  /**
   * Reverts the step: on the current text for a stack's top step, else on the text the step
   * above it leaves once reverted.
   */
  revert: TextOp;
  /** When the editor last added to the step (ms since the epoch); 0 for an undo's or redo's. */
  at: number;
  /**
   * Whose deleted text lies right before the step's place (its revert's one region), nearest
   * first: who deleted it (an editor or a peer, `Author`). Text one of them inserts at that place
   * later is that text coming back (their redo), so it goes before the step's, where it stood
   * (see `rebaseChain`, decision 266). Undefined or empty: no such gap.
   */
  gaps?: string[];
}

/**
 * Who made a change, as far as ordering around a gap goes: an editor here (its edits, undos and
 * redos) or a peer (everything its member did). Two editors on one peer are one author here.
 */
export type Author = string;

export class UndoHistory {
  private undo: Step[] = [];
  private redo: Step[] = [];
  private lastEdit = 0;
  /** The gaps of the step `take` handed out last: its inverse (`applied`) stands after them too. */
  private takenGaps: string[] | undefined;

  /** This editor changed the text (`op` on `before`). */
  recordOwn(op: TextOp, before: TextSource, newStep: boolean, now = Date.now()): void {
    const revert = invertOp(op, before);
    const top = this.undo[this.undo.length - 1];
    if (top && !newStep && now - this.lastEdit < UNDO_GAP_MS && top.revert.length < MAX_STEP_PARTS) {
      // Undoing the step undoes this edit first, then the earlier ones.
      top.revert = composeOps(revert, top.revert);
      top.at = now;
    } else {
      // Steps below stay as they are: they apply once this one is reverted (see the file header).
      this.undo.push({ revert, at: now });
      if (this.undo.length > MAX_STEPS) this.undo.shift();
    }
    this.lastEdit = now;
    this.redo = [];
  }

  /**
   * Someone else changed the current text with `op`: keep every stored step valid. With
   * `count` (a peer's change), returns how many UTF-16 code units this editor typed in the last
   * RECENT_OWN_MS that `op` deleted (what the recent steps' reverts would remove shrank by that
   * much); else 0, without looking (this runs for every keystroke of every other editor).
   */
  rebase(op: TextOp, by: Author, marks?: GapMarks, count = false, now = Date.now()): number {
    // Only a change that deletes can remove anything (a typed character deletes nothing).
    const recent = count && deletedBy(op) > 0 ? this.undo.filter((s) => s.at >= now - RECENT_OWN_MS) : [];
    const before = recent.reduce((n, s) => n + deletedBy(s.revert), 0);
    rebaseChain(this.undo, op, by, marks);
    rebaseChain(this.redo, op, by, marks);
    return Math.max(0, before - recent.reduce((n, s) => n + deletedBy(s.revert), 0));
  }

  /** The op that undoes the last step (to apply now), or undefined; moves it to redo. */
  takeUndo(): TextOp | undefined {
    return this.take(this.undo);
  }

  takeRedo(): TextOp | undefined {
    return this.take(this.redo);
  }

  private take(stack: Step[]): TextOp | undefined {
    for (;;) {
      const s = stack.pop();
      if (!s) return undefined;
      this.takenGaps = s.gaps;
      if (!isNoop(s.revert)) return s.revert;
      // Everything the step did is gone already (others deleted it): nothing to undo there. Its
      // revert changes nothing, so the step below is valid for the current text as it is.
    }
  }

  /**
   * `op`, just taken by `takeUndo` (`wasUndo`) or `takeRedo`, was refused and not applied: it goes
   * back on top of its stack, for the current text (nothing changed since it was taken).
   */
  putBack(op: TextOp, wasUndo: boolean): void {
    (wasUndo ? this.undo : this.redo).push({ revert: op, at: 0, gaps: this.takenGaps });
  }

  /**
   * After an undo (or redo) `op` on `before` was applied: remember how to take it back. The
   * editor's own undo is not a change to rebase this history through: the rest of the stack it
   * came from applies to the text it leaves, and the other stack's top to the text before it.
   */
  applied(op: TextOp, before: TextSource, wasUndo: boolean): void {
    // The inverse stands where the step stood: after the same gaps, if it was.
    const back = { revert: invertOp(op, before), at: 0, gaps: this.takenGaps };
    (wasUndo ? this.redo : this.undo).push(back);
    this.lastEdit = 0; // the next edit starts a new step
  }
}

/** How many code units `op` deletes. */
function deletedBy(op: TextOp): number {
  let n = 0;
  for (const c of op) if (typeof c === 'object') n += c.d;
  return n;
}

/**
 * Carry `op`, made on the current text, down a chain of steps (top last): the top step's revert
 * and `op` are made on the same text, so each is transformed through the other; what is left of
 * `op` is then on the text the top step's revert leaves, where the next step's revert applies.
 */
function rebaseChain(stack: Step[], op: TextOp, by: Author, marks?: GapMarks): void {
  let other = op;
  for (let i = stack.length - 1; i >= 0; i--) {
    const s = stack[i]!;
    const revert = s.revert;
    // Most steps are away from the change (people type in different places): only positions
    // move, and no edge or gap is met (a one-region change that touches nothing).
    const apart = transformApart(revert, other);
    if (apart) {
      [s.revert, other] = apart;
      continue;
    }
    if (isNoop(other)) break;
    const place = placeOf(revert);
    const meets = place === undefined ? undefined : edgesAt(other, place);
    // Text others insert at the edge of a step stays out of it ('left': the step's inserts first),
    // and `other` takes the matching side so both transforms describe one merged text. But text
    // inserted at the step's place by one whose deleted text stood right before it (a gap) is
    // that text coming back, their redo: it goes before the step, where it stood. Two people's
    // adjacent words, both undone, then both redone, came back swapped (decision 266).
    const gap = meets?.inserts ? (s.gaps?.indexOf(by) ?? -1) : -1;
    const stepFirst = gap === -1;
    s.revert = transformOp(revert, other, stepFirst ? 'left' : 'right');
    other = transformOp(other, revert, stepFirst ? 'right' : 'left');
    // What came back is right before the step now, with the gaps nearer than it between them;
    // the farther ones are beyond it. (Text that went after the step leaves its gaps as they are.)
    if (gap !== -1) s.gaps = s.gaps!.slice(0, gap);
    if (meets?.deletesFrom !== undefined) {
      // The deleted text's own left edge may be another gap (a word undone while this one's
      // neighbour still stood between them): it is farther, and the file's marks know it. They
      // are in the current text's coordinates, which only the top step shares.
      const farther = marks && i === stack.length - 1 ? marks.at(meets.deletesFrom) : [];
      const gaps = [...(s.gaps ?? []), by];
      for (const who of farther) if (!gaps.includes(who)) gaps.push(who);
      s.gaps = gaps;
    }
  }
}

/**
 * Where a step's revert changes the text, when it changes it in one place (a word typed, a
 * selection deleted: the text up to there kept, then an insertion, a deletion or both); else
 * undefined (a step of edits in several places).
 */
function placeOf(revert: TextOp): number | undefined {
  const parts = normalizeOp(revert);
  const lead = typeof parts[0] === 'number' ? parts[0] : 0;
  const rest = parts.slice(typeof parts[0] === 'number' ? 1 : 0);
  if (rest.length === 0 || rest.length > 2 || rest.some((c) => typeof c === 'number')) return undefined;
  return lead;
}

/**
 * Whether `op` inserts text exactly at `place`, and where text it deletes that ends exactly there
 * starts (undefined: none).
 */
function edgesAt(op: TextOp, place: number): { inserts: boolean; deletesFrom: number | undefined } {
  let pos = 0;
  let inserts = false;
  let deletesFrom: number | undefined;
  for (const c of op) {
    if (pos > place) break;
    if (typeof c === 'number') pos += c;
    else if (typeof c === 'string') inserts ||= pos === place;
    else {
      if (pos < place && pos + c.d === place) deletesFrom = pos;
      pos += c.d;
    }
  }
  return { inserts, deletesFrom };
}
