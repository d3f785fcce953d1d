/**
 * The daemon's half of the revision rule for one editor's open buffer (a Jupiter variant, as in
 * ethersync/teamtype): the editor applies a buffer/didChange only if it has sent no edit the
 * daemon had not processed when it made the change; otherwise it drops it. So when an edit
 * arrives, its `revision` tells exactly which sent changes the editor applied and which it
 * dropped. The edit is rebased over the dropped ones, and the dropped ones over the edit are sent
 * again. All transformation happens here; the editor never transforms.
 */
import { applyOp, composeOps, invertOp, isNoop, transformOp, type TextOp } from '../text/text-op.js';

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
  sent(op: TextOp, before: string, now = Date.now()): number {
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
   * and a function that, given the edit as an op on that text, yields the edit rebased onto the
   * daemon's current text plus the change the editor still lacks (to send back), if any.
   */
  receive(revision: number, current: string): { base: string; rebase(edit: TextOp): { edit: TextOp; missing?: TextOp } } {
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
    for (let i = dropped.length - 1; i >= 0; i--) base = applyOp(base, dropped[i]!.inverse);
    this.applied = revision;
    this.inFlight = [];
    this.inFlightChars = 0;
    return {
      base,
      rebase: (edit) => {
        if (dropped.length === 0) return { edit };
        const theirs = dropped.map((d) => d.op).reduce(composeOps);
        // The daemon's changes happened first, so at equal positions they stay left of the edit.
        const rebased = transformOp(edit, theirs, 'right');
        const missing = transformOp(theirs, edit, 'left');
        return isNoop(missing) ? { edit: rebased } : { edit: rebased, missing };
      },
    };
  }

  /** The editor's counters as the daemon knows them (for status and tests). */
  get counters() {
    return { processed: this.processed, applied: this.applied, inFlight: this.inFlight.length };
  }
}
