// BufferRevisions (daemon/src/editor/revisions.ts): the daemon's half of the revision rule. The
// changes sent to an editor since its last edit are kept until its next edit says which it
// applied. Trial s55a F3: they were taken as applied once a minute old, whatever their number,
// and an editor whose edit was held that long (it had dropped a change sent meanwhile, as the
// rule says) had its next edit refused as out of step, losing the keys it carried.
import { describe, expect, it } from 'vitest';
import { BufferRevisions } from '../../daemon/src/editor/revisions.js';
import { Rope } from '../../daemon/src/text/rope.js';
import { applyOp, type TextOp } from '../../daemon/src/text/text-op.js';

const MINUTE = 60_000;

/** A peer appends `words` to the first line of `text`, each sent to the editor as a change of its own; the text after. */
function peerAppends(revs: BufferRevisions, text: string, words: string[]): string {
  for (const w of words) {
    const op: TextOp = [text.indexOf('\n'), w];
    revs.sent(op, text);
    text = applyOp(text, op);
  }
  return text;
}

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
    const got = revs.receive(0, Rope.of(text));
    expect(got.base.toString()).toBe('hello\n');
    const { edit, missing } = got.rebase(['X']);
    expect(applyOp(text, edit)).toBe('Xhello world!\n');
    expect(missing).toHaveLength(1);
    expect(applyOp(applyOp('hello\n', ['X']), missing![0]!)).toBe('Xhello world!\n');
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
    const got = revs.receive(2_500, Rope.of(text));
    expect(got.base.toString()).toBe(text);
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
  it("the editor's text at its revision is the daemon's text without the changes it has not applied yet, and asking changes nothing (decision 273)", () => {
    const revs = new BufferRevisions();
    let text = 'ab\n';
    for (const op of [[2, 'c'], ['X'], [4, 'd']] as TextOp[]) {
      revs.sent(op, text);
      text = applyOp(text, op);
    }
    expect(text).toBe('Xabcd\n');
    expect(revs.textAt(0, Rope.of(text))?.toString()).toBe('ab\n');
    expect(revs.textAt(1, Rope.of(text))?.toString()).toBe('abc\n');
    expect(revs.textAt(3, Rope.of(text))?.toString()).toBe(text);
    expect(revs.textAt(4, Rope.of(text))?.toString()).toBeUndefined(); // more than was sent
    expect(revs.textAt(-1, Rope.of(text))?.toString()).toBeUndefined();
    expect(revs.counters).toEqual({ processed: 0, applied: 0, inFlight: 3 });
    // Its next edit still finds every change in flight.
    expect(revs.receive(1, Rope.of(text)).base.toString()).toBe('abc\n');
  });

  it("an edit that is exactly several of the changes the editor dropped (VS Code reloaded the file that had them) is taken as those changes applied, not as new text", () => {
    const revs = new BufferRevisions();
    const text = peerAppends(revs, 'x\n', [' a1', ' a2', ' a3']);
    expect(text).toBe('x a1 a2 a3\n');
    // The editor had applied none of them, and its document became the file with the first two.
    const got = revs.receive(0, Rope.of(text));
    expect(got.base.toString()).toBe('x\n');
    const { edit, missing } = got.rebase([1, ' a1 a2']);
    expect(applyOp(text, edit)).toBe(text); // nothing of it twice
    expect(missing).toEqual([[7, ' a3']]); // the editor is sent the third
    // All three: nothing to send.
    const again = new BufferRevisions();
    const t = peerAppends(again, 'x\n', [' a1', ' a2']);
    expect(again.receive(0, Rope.of(t)).rebase([1, ' a1 a2'])).toEqual({ edit: [] });
  });

  it("one key typed exactly where a peer's same key went, before it arrived, is the person's too: both are kept", () => {
    const revs = new BufferRevisions();
    const peer: TextOp = [2, ';'];
    revs.sent(peer, 'ab\n');
    const text = applyOp('ab\n', peer);
    const { edit, missing } = revs.receive(0, Rope.of(text)).rebase([2, ';']);
    expect(applyOp(text, edit)).toBe('ab;;\n');
    expect(applyOp('ab;\n', missing![0]!)).toBe('ab;;\n');
  });

  it("a reload that rewrites the line with one of the changes it dropped is that change, and the ones after go again one by one", () => {
    const revs = new BufferRevisions();
    const text = peerAppends(revs, 'x\ny\n', [' a1', ' a2', ' a3']);
    // VS Code reports a reload as the first line replaced by the file's first line; the daemon
    // trims that to what it inserts (replaceOp): the very change sent, made by rewriting.
    const { edit, missing } = revs.receive(0, Rope.of(text)).rebase([1, ' a1'], true);
    expect(applyOp(text, edit)).toBe(text);
    expect(missing).toEqual([[4, ' a2'], [7, ' a3']]);
  });
});
