// BufferRevisions (daemon/src/editor/revisions.ts): the daemon's half of the revision rule. The
// changes sent to an editor since its last edit are kept until its next edit says which it
// applied. Trial s55a F3: they were taken as applied once a minute old, whatever their number,
// and an editor whose edit was held that long (it had dropped a change sent meanwhile, as the
// rule says) had its next edit refused as out of step, losing the keys it carried.
import { describe, expect, it } from 'vitest';
import { BufferRevisions } from '../../daemon/src/editor/revisions.js';
import { applyOp, type TextOp } from '../../daemon/src/text/text-op.js';

const MINUTE = 60_000;

describe('BufferRevisions', () => {
  it('an edit held over a minute, made before a change it dropped, is rebased over it, not refused', () => {
    const revs = new BufferRevisions();
    const t0 = 1_000_000;
    // The editor has sent an edit (not processed yet) and so drops this peer change, tagged 0...
    let text = 'hello\n';
    const peer: TextOp = [5, ' world'];
    expect(revs.sent(peer, text, t0)).toBe(0);
    text = applyOp(text, peer);
    // ...and another, over a minute later: the editor's edit is still held (a loaded daemon).
    const peer2: TextOp = [11, '!'];
    revs.sent(peer2, text, t0 + MINUTE + 1);
    text = applyOp(text, peer2);
    // Its edit arrives: it applied none of them (revision 0), and typed "X" at the start.
    const got = revs.receive(0, text);
    expect(got.base).toBe('hello\n');
    const { edit, missing } = got.rebase(['X']);
    expect(applyOp(text, edit)).toBe('Xhello world!\n');
    expect(applyOp(applyOp('hello\n', ['X']), missing!)).toBe('Xhello world!\n');
  });

  it('an editor that only watches keeps at most 2,000 changes in flight; the oldest are taken as applied', () => {
    const revs = new BufferRevisions();
    let text = '';
    for (let i = 0; i < 2_500; i++) {
      revs.sent([text.length, 'a'], text, 1_000 + i);
      text += 'a';
    }
    expect(revs.counters).toEqual({ processed: 0, applied: 500, inFlight: 2_000 });
    // It applied them all: its edit says so, and is taken as it is.
    const got = revs.receive(2_500, text);
    expect(got.base).toBe(text);
  });

  it('changes holding over 4,000,000 characters are taken as applied once a minute old', () => {
    const revs = new BufferRevisions();
    const big = 'x'.repeat(1_500_000);
    let text = '';
    for (let i = 0; i < 3; i++) {
      revs.sent([text.length, big], text, 0);
      text += big;
    }
    // Over the size, but none a minute old: all kept.
    expect(revs.counters.inFlight).toBe(3);
    revs.sent([text.length, 'y'], text, MINUTE + 1);
    // The oldest go until what is kept is under the size (the newest is always kept).
    expect(revs.counters.inFlight).toBeLessThan(4);
    expect(revs.counters.applied).toBeGreaterThan(0);
  });
});
