/**
 * The daemon's half of the revision rule for one editor's open buffer (a Jupiter variant, as in
 * ethersync/teamtype): the editor applies a buffer/didChange only if it has sent no edit the
 * daemon had not processed when it made the change; otherwise it drops it. So when an edit
 * arrives, its `revision` tells exactly which sent changes the editor applied and which it
 * dropped. The edit is rebased over the dropped ones, and the dropped ones over the edit are sent
 * again. All transformation happens here; the editor never transforms.
 */
import { composeOps, invertOp, isNoop, lengthChange, normalizeOp, transformOp, type TextOp } from '../text/text-op.js';
import type { Rope, TextSource } from '../text/rope.js';

interface Sent {
  op: TextOp;
  /** Undoes `op`: the text the editor had before it is recovered from the current text. */
  inverse: TextOp;
  at: number;
  /** charsOf op and inverse. */
  chars: number;
}

/**
 * Changes sent and not yet followed by an edit are kept (their fate is known only from the
 * editor's next edit). An editor that only watches never edits, so they are bounded: past
 * MAX_IN_FLIGHT of them, or past IN_FLIGHT_MAX_CHARS of their text for those older than
 * SETTLED_AFTER_MS, the oldest are taken as applied (a watching editor applied them all).
 * Taken as applied after a minute whatever their number, they made an editor whose edit was
 * held that long (behind its own earlier request, a daemon under a peer's backlog) out of step:
 * its next edit was refused, "revision 1580 does not match … (expected 1581..1582)", and the
 * keys it carried were lost (trial s55a F3).
 */
const MAX_IN_FLIGHT = 2_000;
const IN_FLIGHT_MAX_CHARS = 4_000_000;
const SETTLED_AFTER_MS = 60_000;

/** Characters an op holds (its insertions; other parts count one): what keeping it costs, roughly. */
function charsOf(op: TextOp): number {
  let n = 0;
  for (const c of op) n += typeof c === 'string' ? c.length : 1;
  return n;
}

export class RevisionError extends Error {}

/**
 * How many of `dropped` (the daemon's changes an editor had not applied, in order, the first
 * made on `base`) the editor's `edit` on `base` is, to the character: the editor's text after
 * it is the daemon's text after that many of them. 0 when it is none. One alone counts only when
 * the editor `rewrote` text (a range that was not empty, as a reload reports its changed lines)
 * or the edit is not that very change: one key typed exactly where a peer's same key went,
 * before it arrived, is the person's too (both are kept; trial s49, fault 5). Several changes of
 * a peer's, made one by one and arriving as one edit, were never typed in that editor.
 */
function alreadyHad(base: Rope, edit: TextOp, dropped: readonly Sent[], rewrote: boolean): number {
  // Texts are compared only where the lengths agree: an edit made while changes were on their
  // way is typing almost always, and comparing a long file's texts costs a copy of each.
  const grows = lengthChange(edit);
  let grown = 0;
  let after: string | undefined;
  let text = base;
  let applied = 0;
  for (let i = 0; i < dropped.length; i++) {
    grown += lengthChange(dropped[i]!.op);
    if (grown !== grows) continue;
    after ??= base.apply(edit).toString();
    for (; applied <= i; applied++) text = text.apply(dropped[applied]!.op);
    if (text.toString() === after && (i >= 1 || rewrote || !sameOp(edit, dropped[0]!.op))) return i + 1;
  }
  return 0;
}

/** Whether two ops on one text are the same change, part for part (ot-text's normal form). */
function sameOp(a: TextOp, b: TextOp): boolean {
  return JSON.stringify(normalizeOp(a)) === JSON.stringify(normalizeOp(b));
}

export class BufferRevisions {
  /** buffer/edit messages from the editor processed so far (valid or not). */
  private processed = 0;
  /** buffer/didChange messages the editor is known to have applied. */
  private applied = 0;
  /** Changes sent since the last edit, tagged with `processed`; their fate is not known yet. */
  private inFlight: Sent[] = [];
  /** The characters they hold (Sent.chars). */
  private inFlightChars = 0;

  /** Record a change from elsewhere that is being sent to the editor; returns its revision tag. */
  sent(op: TextOp, before: TextSource, now = Date.now()): number {
    const inverse = invertOp(op, before);
    const chars = charsOf(op) + charsOf(inverse);
    this.inFlight.push({ op, inverse, at: now, chars });
    this.inFlightChars += chars;
    let settled = 0;
    const over = () => this.inFlight.length - settled > MAX_IN_FLIGHT || (this.inFlightChars > IN_FLIGHT_MAX_CHARS && now - this.inFlight[settled]!.at > SETTLED_AFTER_MS);
    while (settled < this.inFlight.length - 1 && over()) this.inFlightChars -= this.inFlight[settled++]!.chars;
    if (settled) {
      this.inFlight.splice(0, settled);
      this.applied += settled;
    }
    return this.processed;
  }

  /**
   * An edit arrived with the editor's `revision`. Returns the text the editor made it against,
   * and a function that, given the edit as an op on that text (and whether the editor replaced
   * text to make it, `rewrote`: a range that was not empty), yields the edit rebased onto the
   * daemon's current text plus the changes the editor still lacks (to send back, in order, each
   * on the editor's text after the edit and the ones before it), if any.
   */
  receive(revision: number, current: Rope): { base: Rope; rebase(edit: TextOp, rewrote?: boolean): { edit: TextOp; missing?: TextOp[] } } {
    this.processed++;
    const seen = revision - this.applied;
    if (!Number.isInteger(seen) || seen < 0 || seen > this.inFlight.length) {
      const expected = this.inFlight.length ? `${this.applied}..${this.applied + this.inFlight.length}` : `${this.applied}`;
      this.inFlight = [];
      this.inFlightChars = 0;
      throw new RevisionError(
        `revision ${revision} does not match this buffer's history (expected ${expected}); the editor is out of step: re-open the buffer with buffer/open`,
      );
    }
    const dropped = this.inFlight.slice(seen);
    let base = current;
    for (let i = dropped.length - 1; i >= 0; i--) base = base.apply(dropped[i]!.inverse);
    this.applied = revision;
    this.inFlight = [];
    this.inFlightChars = 0;
    return {
      base,
      rebase: (edit, rewrote = false) => {
        if (dropped.length === 0) return { edit };
        const had = alreadyHad(base, edit, dropped, rewrote);
        if (had > 0) {
          // The edit is exactly the first `had` of the changes it dropped: the editor did not
          // type them, it got them another way (VS Code reloaded the file the daemon had written
          // them into, and reported the reload as a change). Taken as applied, not as new text:
          // taken as typing, they were in the file twice, on every member (trial s60 F1 scene).
          // The others go again one by one, so that a later reload can match them too.
          const rest = dropped.slice(had).map((d) => d.op);
          return rest.length === 0 ? { edit: [] } : { edit: [], missing: rest };
        }
        const theirs = dropped.map((d) => d.op).reduce(composeOps);
        // The daemon's changes happened first, so at equal positions they stay left of the edit.
        const rebased = transformOp(edit, theirs, 'right');
        const missing = transformOp(theirs, edit, 'left');
        return isNoop(missing) ? { edit: rebased } : { edit: rebased, missing: [missing] };
      },
    };
  }

  /**
   * The text the editor has now, given its `revision` (the daemon's changes it has applied, as
   * a buffer/edit carries it) and the daemon's `current` text: `current` without the changes
   * sent since that it has not applied yet. Changes nothing. Undefined for a revision that does
   * not fit (see `receive`). Asked by a save whose file must hold exactly the editor's text
   * (`buffer/save` with `revision`, decision 273); every edit the editor sent before is in `current`.
   */
  textAt(revision: number, current: Rope): Rope | undefined {
    const seen = revision - this.applied;
    if (!Number.isInteger(seen) || seen < 0 || seen > this.inFlight.length) return undefined;
    let text = current;
    for (let i = this.inFlight.length - 1; i >= seen; i--) text = text.apply(this.inFlight[i]!.inverse);
    return text;
  }

  /**
   * Every text the editor may have now, the daemon's `current` text aside: `current` without the
   * last one, two, … of the changes sent that it has not been seen to apply (it may have applied
   * any number of them, in order). Empty when none is on its way. Changes nothing.
   */
  heldTexts(current: Rope): Rope[] {
    const out: Rope[] = [];
    let text = current;
    for (let i = this.inFlight.length - 1; i >= 0; i--) out.push((text = text.apply(this.inFlight[i]!.inverse)));
    return out;
  }

  /** The editor's counters as the daemon knows them (for status and tests). */
  get counters() {
    return { processed: this.processed, applied: this.applied, inFlight: this.inFlight.length };
  }
}
