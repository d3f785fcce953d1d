/**
 * Per-editor undo and redo that touch only that editor's own edits. Each step is stored as the
 * op that reverts it, kept valid for the current text by transforming it through every later
 * change (anyone's), as in selective undo for OT. So undoing an insert removes the characters the
 * editor typed that still exist — text others typed inside it stays — and undoing a delete puts
 * the deleted text back where its neighbours are now.
 */
import { composeOps, invertOp, isNoop, transformOp, type TextOp } from '../text/text-op.js';

/** A pause this long between two edits starts a new undo step (when the editor marks none). */
export const UNDO_GAP_MS = 1000;
const MAX_STEPS = 200;
/** A step whose revert op has grown this many parts is closed (keeps composing cheap). */
const MAX_STEP_PARTS = 64;

interface Step {
  /** Reverts the step; valid for the current text. */
  revert: TextOp;
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
    } else {
      this.undo.push({ revert });
      if (this.undo.length > MAX_STEPS) this.undo.shift();
    }
    this.lastEdit = now;
    this.redo = [];
  }

  /** Someone else changed the text: keep every stored step valid. */
  rebase(op: TextOp): void {
    // Text others insert at the edge of a step stays out of it ('left': the step's inserts first).
    for (const s of this.undo) s.revert = transformOp(s.revert, op, 'left');
    for (const s of this.redo) s.revert = transformOp(s.revert, op, 'left');
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
      // Everything the step did is gone already (others deleted it): nothing to undo there.
    }
  }

  /** After an undo (or redo) `op` on `before` was applied: remember how to take it back. */
  applied(op: TextOp, before: string, wasUndo: boolean): void {
    const back = { revert: invertOp(op, before) };
    (wasUndo ? this.redo : this.undo).push(back);
    this.lastEdit = 0; // the next edit starts a new step
  }
}
