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
import { composeOps, invertOp, isNoop, transformOp, type TextOp } from '../text/text-op.js';

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
}

export class UndoHistory {
  private undo: Step[] = [];
  private redo: Step[] = [];
  private lastEdit = 0;

  /** This editor changed the text (`op` on `before`). */
  recordOwn(op: TextOp, before: string, newStep: boolean, now = Date.now()): void {
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
  rebase(op: TextOp, count = false, now = Date.now()): number {
    // Only a change that deletes can remove anything (a typed character deletes nothing).
    const recent = count && deletedBy(op) > 0 ? this.undo.filter((s) => s.at >= now - RECENT_OWN_MS) : [];
    const before = recent.reduce((n, s) => n + deletedBy(s.revert), 0);
    rebaseChain(this.undo, op);
    rebaseChain(this.redo, op);
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
    (wasUndo ? this.undo : this.redo).push({ revert: op, at: 0 });
  }

  /**
   * After an undo (or redo) `op` on `before` was applied: remember how to take it back. The
   * editor's own undo is not a change to rebase this history through: the rest of the stack it
   * came from applies to the text it leaves, and the other stack's top to the text before it.
   */
  applied(op: TextOp, before: string, wasUndo: boolean): void {
    const back = { revert: invertOp(op, before), at: 0 };
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
function rebaseChain(stack: Step[], op: TextOp): void {
  let other = op;
  for (let i = stack.length - 1; i >= 0 && !isNoop(other); i--) {
    const s = stack[i]!;
    const revert = s.revert;
    // Text others insert at the edge of a step stays out of it ('left': the step's inserts first),
    // and `other` takes the matching side so both transforms describe one merged text.
    s.revert = transformOp(revert, other, 'left');
    other = transformOp(other, revert, 'right');
  }
}
