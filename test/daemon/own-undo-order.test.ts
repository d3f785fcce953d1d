/**
 * Own-edit undo and redo of two people's adjacent words (trial s58a F3, decision 266): Alice
 * types a word, Bob types his right after it; both undo, then both redo, in any order. Each undo
 * and redo must touch only its own word, and once both redid, the words stand as they were typed.
 * Before, the second redo went in at the very place the first one had, and before it: the words
 * came back swapped ("A1x B2x" → "B2x A1x"), on every member and in every editor, 10 of 10 pairs.
 * UndoManager with a one-file Workspace: every change is observed as the change route hands it on.
 */
import { describe, expect, it } from 'vitest';
import { GapMarks, MAX_GAP_MARKS } from '../../daemon/src/editor/gap-marks.js';
import { Rope } from '../../daemon/src/text/rope.js';
import { UndoManager } from '../../daemon/src/editor/undo-manager.js';
import { applyOp, spliceOp, type TextOp } from '../../daemon/src/text/text-op.js';
import type { TextEvent, TextOrigin, Workspace } from '../../daemon/src/workspace/workspace.js';

class OneFile {
  undo!: UndoManager;
  constructor(public content: string) {}
  settle(): void {}
  text(): string {
    return this.content;
  }
  edit(fileId: string, op: TextOp, origin: TextOrigin): void {
    const before = this.content;
    this.content = applyOp(before, op);
    const e: TextEvent = { fileId, path: fileId, op, before: Rope.of(before), after: Rope.of(this.content), origin };
    this.undo.observe(e);
  }
}

function scene(text: string) {
  const file = new OneFile(text);
  const undo = new UndoManager(file as unknown as Workspace);
  file.undo = undo;
  const type = (editorId: string, at: number, ins: string) => file.edit('f', spliceOp({ at, del: 0, ins }), { kind: 'editor', editorId, undoStop: true });
  const step = (editorId: string, isUndo: boolean) => expect(undo.step(editorId, 'f', isUndo)).toBe(true);
  return { file, type, step, peer: (op: TextOp) => file.edit('f', op, { kind: 'peer', peerId: 'p' }) };
}

const orders = [
  ['A', 'B'],
  ['B', 'A'],
] as const;

describe('own-edit undo and redo of two people’s adjacent words', () => {
  for (const undos of orders) {
    for (const redos of orders) {
      it(`B typed right after A; undo ${undos.join(', ')}; redo ${redos.join(', ')}: the words back in the order typed`, () => {
        const s = scene('v1:');
        s.type('A', 3, ' A1x');
        s.type('B', 7, ' B2x');
        expect(s.file.content).toBe('v1: A1x B2x');
        s.step(undos[0], true);
        s.step(undos[1], true);
        expect(s.file.content).toBe('v1:');
        s.step(redos[0], false);
        expect(s.file.content).toBe(redos[0] === 'A' ? 'v1: A1x' : 'v1: B2x');
        s.step(redos[1], false);
        expect(s.file.content).toBe('v1: A1x B2x');
      });

      it(`B typed right before A's word; undo ${undos.join(', ')}; redo ${redos.join(', ')}: the words back in the order they stood`, () => {
        const s = scene('v1:\n');
        s.type('A', 3, ' A1x');
        s.type('B', 3, ' B2x');
        expect(s.file.content).toBe('v1: B2x A1x\n');
        s.step(undos[0], true);
        s.step(undos[1], true);
        expect(s.file.content).toBe('v1:\n');
        s.step(redos[0], false);
        s.step(redos[1], false);
        expect(s.file.content).toBe('v1: B2x A1x\n');
      });
    }
  }

  for (const people of ['ABC', 'ABCD']) {
    it(`${people.length} people's words in a row, undone and redone in every order: the words back in the order typed`, () => {
      // With three, the first word undone while the second still stood between it and the third
      // needs the file's gap marks: the third's history never saw the first word go.
      const perms = (w: string): string[] => (w.length <= 1 ? [w] : [...w].flatMap((c, i) => perms(w.slice(0, i) + w.slice(i + 1)).map((p) => c + p)));
      const words = [...people].map((p) => ` ${p.toLowerCase().repeat(2)}`);
      for (const undos of perms(people)) {
        for (const redos of perms(people)) {
          const s = scene('x');
          [...people].forEach((p, k) => s.type(p, 1 + 3 * k, words[k]!));
          for (const who of undos) s.step(who, true);
          expect(s.file.content).toBe('x');
          for (const who of redos) s.step(who, false);
          expect(s.file.content, `undo ${undos}, redo ${redos}`).toBe(`x${words.join('')}`);
        }
      }
    });
  }

  it('a peer types where both undone words were: each redo brings its word back before the peer’s text, in the order typed', () => {
    // The peer's text is no word coming back: it goes after the redone words, as it goes after
    // one person's (the next case).
    const s = scene('v1:');
    s.type('A', 3, ' A1x');
    s.type('B', 7, ' B2x');
    s.step('A', true);
    s.step('B', true);
    s.peer(spliceOp({ at: 3, del: 0, ins: ' P' }));
    s.step('B', false);
    expect(s.file.content).toBe('v1: B2x P');
    s.step('A', false);
    expect(s.file.content).toBe('v1: A1x B2x P');
  });

  it('a word deleted and typed again by its writer (not an undo) comes back before the neighbour’s redone word too', () => {
    // Alice selects her word and deletes it, then types another there: Bob's word stood after
    // hers, and after undo and redo stands after her new one.
    const s = scene('v1:');
    s.type('A', 3, ' A1x');
    s.type('B', 7, ' B2x');
    s.step('B', true);
    s.file.edit('f', spliceOp({ at: 3, del: 4, ins: '' }), { kind: 'editor', editorId: 'A', undoStop: true });
    s.type('A', 3, ' new');
    s.step('B', false);
    expect(s.file.content).toBe('v1: new B2x');
  });

  it('without a gap nothing changes: text a peer types at the edge of a redo goes after it, as before', () => {
    const s = scene('v1:');
    s.type('B', 3, ' B2x');
    s.step('B', true);
    s.peer(spliceOp({ at: 3, del: 0, ins: ' P' }));
    s.step('B', false);
    expect(s.file.content).toBe('v1: B2x P');
  });

  it('the gap marks of a file stay bounded, the newest kept: a thousand deletions leave MAX_GAP_MARKS', () => {
    const marks = new GapMarks();
    for (let k = 0; k < 1000; k++) marks.change(spliceOp({ at: 0, del: 1, ins: '' }), `peer ${k}`);
    expect(marks.size).toBe(MAX_GAP_MARKS);
    // All at the start, the newest nearest the text after it.
    expect(marks.at(0).slice(0, 2)).toEqual(['peer 999', 'peer 998']);
    // Its author's text coming back there takes its mark away; another's leaves it.
    marks.change(spliceOp({ at: 0, del: 0, ins: 'x' }), 'peer 999');
    expect(marks.at(0)[0]).toBe('peer 998');
    marks.change(spliceOp({ at: 0, del: 0, ins: 'y' }), 'someone');
    expect(marks.at(0)[0]).toBe('peer 998');
  });
});
