/**
 * Own-edit undo (UndoManager and UndoHistory, decisions 006 and 197) over random interleavings
 * of two editors' steps, their undos and redos, and a peer's edits: an undo or a redo takes back
 * exactly the editor's own step in today's text. It removes every character the step put in that
 * is still there and no other, and puts back exactly the characters the step took out, in their
 * order. Pins the bug where an older step's revert was shifted by changes it had never seen in its
 * own coordinates (a peer's deletion of a newer step's text, the editor's own undo of a newer step)
 * and deleted text nobody had typed in that step.
 *
 * The model gives every character an identity: the text is a list of characters ever made, the
 * deleted ones kept in place as tombstones, so the characters an op removes and inserts are known
 * by identity and a restored run can be matched with the one it restores.
 */
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { UndoManager } from '../../daemon/src/editor/undo-manager.js';
import { Rope } from '../../daemon/src/text/rope.js';
import { applyOp, spliceOp, type TextOp } from '../../daemon/src/text/text-op.js';
import type { TextEvent, TextOrigin, Workspace } from '../../daemon/src/workspace/workspace.js';

const FILE = 'f';
const EDITORS = ['me', 'you'] as const;
/** Own edits per step at most (a step's revert stays far below UndoHistory's 64-part cap). */
const STEP_EDITS = 4;

interface Char {
  id: number;
  ch: string;
  alive: boolean;
}

/** An undo (or redo) entry as the model sees it: what taking it back must remove and restore. */
interface Entry {
  /** Characters the step put in: the undo removes those still there, and nothing else. */
  ins: Set<number>;
  /** Characters the step took out (ids of tombstones): the undo puts these back, in order. */
  del: number[];
  edits: number;
}

interface EditorModel {
  undo: Entry[];
  redo: Entry[];
  /** The next edit without an undo stop joins the top step. */
  open: boolean;
}

class Model {
  chars: Char[];
  private next = 0;
  readonly editors = new Map<string, EditorModel>(EDITORS.map((e) => [e, { undo: [], redo: [], open: false }]));

  constructor(text: string) {
    this.chars = [...text].map((ch) => ({ id: this.next++, ch, alive: true }));
  }

  get text(): string {
    return this.chars.filter((c) => c.alive).map((c) => c.ch).join('');
  }

  /** Apply `op` (made on the text now) by identity: which characters went, which came. */
  apply(op: TextOp): { removed: number[]; inserted: Char[] } {
    const removed: number[] = [];
    const inserted: Char[] = [];
    const out: Char[] = [];
    let i = 0;
    // Move past `n` alive characters (and the tombstones among them), keeping them.
    const skipAlive = (n: number, keep: (c: Char) => void) => {
      while (n > 0) {
        const c = this.chars[i++]!;
        if (c.alive) n--;
        keep(c);
      }
    };
    for (const part of op) {
      if (typeof part === 'number') skipAlive(part, (c) => out.push(c));
      else if (typeof part === 'string') {
        // After the tombstones here, as a revert's transform puts text others insert at the
        // edge of a step's deletion ('left': the step's text first).
        while (i < this.chars.length && !this.chars[i]!.alive) out.push(this.chars[i++]!);
        for (const ch of part) {
          const c = { id: this.next++, ch, alive: true };
          out.push(c);
          inserted.push(c);
        }
      } else {
        skipAlive(part.d, (c) => {
          if (c.alive) removed.push(c.id);
          c.alive = false;
          out.push(c);
        });
      }
    }
    out.push(...this.chars.slice(i));
    this.chars = out;
    return { removed, inserted };
  }

  isEmpty(e: Entry): boolean {
    return e.del.length === 0 && !this.chars.some((c) => c.alive && e.ins.has(c.id));
  }

  /**
   * Characters an editor's undo or redo restored stand for the ones they restore in that editor's
   * own steps (`ids`, in order): its older step that typed them removes them on undo. For everyone
   * else they are new characters (decision 197: another editor's undo that brings back your text
   * does not make it yours again), so they keep new identities and only `m`'s steps are updated.
   */
  adopt(m: EditorModel, restored: Char[], ids: number[]): void {
    const now = new Map(ids.map((id, k) => [id, restored[k]!.id]));
    for (const e of [...m.undo, ...m.redo]) {
      for (const [old, fresh] of now) if (e.ins.delete(old)) e.ins.add(fresh);
    }
  }

  /** `ids` in text order (tombstones keep their place). */
  inOrder(ids: number[]): number[] {
    const at = new Map(this.chars.map((c, k) => [c.id, k]));
    return [...ids].sort((a, b) => at.get(a)! - at.get(b)!);
  }

  charOf(id: number): string {
    return this.chars.find((c) => c.id === id)!.ch;
  }
}

/** The Workspace as UndoManager uses it: the text, and every change handed to `observe` at once. */
class OneFile {
  content: string;
  undo!: UndoManager;
  /** The last op applied (an undo's or redo's, after `UndoManager.step`). */
  last: TextOp = [];
  constructor(text: string) {
    this.content = text;
  }
  settle(): void {}
  text(_fileId: string): string {
    return this.content;
  }
  /** Set: the next edit is refused (as a read-only member's, or one whose log write failed). */
  refuse: Error | undefined;
  edit(fileId: string, op: TextOp, origin: TextOrigin): void {
    if (this.refuse) throw this.refuse;
    const before = this.content;
    this.content = applyOp(before, op);
    this.last = op;
    const e: TextEvent = { fileId, path: fileId, op, before: Rope.of(before), after: Rope.of(this.content), origin };
    this.undo.observe(e);
  }
}

type Action =
  | { kind: 'edit'; who: number; pos: number; del: number; ins: string; stop: boolean }
  | { kind: 'undo' | 'redo'; who: number };

const edit = fc.record({
  kind: fc.constant('edit' as const),
  who: fc.nat(2), // 0, 1: the editors; 2: a peer
  pos: fc.nat(60),
  del: fc.nat(4),
  ins: fc.string({ unit: fc.constantFrom('x', 'y', 'z', '\n'), maxLength: 4 }),
  stop: fc.boolean(),
});
const step = fc.record({ kind: fc.constantFrom('undo' as const, 'redo' as const), who: fc.nat(1) });

function run(actions: Action[]): void {
  const initial = 'line one\nline two\nline three';
  const model = new Model(initial);
  const file = new OneFile(initial);
  const manager = new UndoManager(file as unknown as Workspace);
  file.undo = manager;
  for (const a of actions) {
    if (a.kind === 'edit') {
      const len = file.content.length;
      const at = a.pos % (len + 1);
      const op = spliceOp({ at, del: Math.min(a.del, len - at), ins: a.ins });
      if (op.length === 0) continue;
      const { removed, inserted } = model.apply(op);
      const who = EDITORS[a.who];
      if (who === undefined) {
        file.edit(FILE, op, { kind: 'peer', peerId: 'peer' });
      } else {
        const m = model.editors.get(who)!;
        let top = m.undo[m.undo.length - 1];
        // A long step is closed by an undo stop, as an editor marks one.
        const stop = a.stop || (top !== undefined && top.edits >= STEP_EDITS);
        if (!top || stop || !m.open) m.undo.push((top = { ins: new Set(), del: [], edits: 0 }));
        top.edits++;
        for (const id of removed) if (!top.ins.delete(id)) top.del.push(id);
        for (const c of inserted) top.ins.add(c.id);
        m.redo = [];
        m.open = true;
        file.edit(FILE, op, { kind: 'editor', editorId: who, ...(stop ? { undoStop: true } : {}) });
      }
    } else {
      const who = EDITORS[a.who]!;
      const m = model.editors.get(who)!;
      const [from, to] = a.kind === 'undo' ? [m.undo, m.redo] : [m.redo, m.undo];
      let entry: Entry | undefined;
      while ((entry = from.pop()) && model.isEmpty(entry));
      const before = file.content;
      const applied = manager.step(who, FILE, a.kind === 'undo');
      expect(applied, `${who}'s ${a.kind} has ${entry ? 'a step' : 'nothing'} to take`).toBe(entry !== undefined);
      if (!entry) {
        expect(file.content).toBe(before);
        continue;
      }
      m.open = false;
      const { removed, inserted } = model.apply(file.last);
      const mine = [...entry.ins].filter((id) => model.chars.some((c) => c.id === id && (c.alive || removed.includes(id))));
      // Nothing but the step's own characters goes, and all of them that were still there.
      expect(removed.filter((id) => !entry!.ins.has(id)).map((id) => model.charOf(id)), `characters ${who}'s ${a.kind} removed that its step did not put in`).toEqual([]);
      expect(new Set(removed), `${who}'s ${a.kind} removes all its step put in`).toEqual(new Set(mine));
      // What the step took out comes back, in its order.
      const restore = model.inOrder(entry.del);
      expect(inserted.map((c) => c.ch).join(''), `${who}'s ${a.kind} puts back what its step took out`).toBe(restore.map((id) => model.charOf(id)).join(''));
      model.adopt(m, inserted, restore);
      to.push({ ins: new Set(inserted.map((c) => c.id)), del: removed, edits: 0 });
    }
    expect(model.text).toBe(file.content);
  }
}

beforeAll(() => {
  // Every edit at one instant: steps are made by undo stops only, never by a pause.
  vi.useFakeTimers({ toFake: ['Date'], now: new Date('2026-12-01T00:00:00Z') });
});
afterAll(() => vi.useRealTimers());

describe('own-edit undo, by property', () => {
  it('the bug: two steps, a peer deletes the newer one\'s text, the undo takes back the older step only', () => {
    run([
      { kind: 'edit', who: 0, pos: 17, del: 0, ins: ' B1', stop: true },
      { kind: 'edit', who: 0, pos: 0, del: 0, ins: 'B2 ', stop: true },
      { kind: 'edit', who: 2, pos: 0, del: 3, ins: '', stop: false },
      { kind: 'undo', who: 0 },
    ]);
  });

  it('two steps undone and redone with nobody else typing', () => {
    run([
      { kind: 'edit', who: 0, pos: 17, del: 0, ins: ' B1', stop: true },
      { kind: 'edit', who: 0, pos: 0, del: 0, ins: 'B2 ', stop: true },
      { kind: 'undo', who: 0 },
      { kind: 'undo', who: 0 },
      { kind: 'redo', who: 0 },
      { kind: 'redo', who: 0 },
      { kind: 'undo', who: 0 },
    ]);
  });

  it('a refused undo or redo keeps its step: the next one takes it back', () => {
    const file = new OneFile('line one\nline two');
    const manager = new UndoManager(file as unknown as Workspace);
    file.undo = manager;
    file.edit(FILE, spliceOp({ at: 8, del: 0, ins: ' A1' }), { kind: 'editor', editorId: 'me', undoStop: true });
    file.edit(FILE, spliceOp({ at: 0, del: 0, ins: 'A2 ' }), { kind: 'editor', editorId: 'me', undoStop: true });
    file.refuse = new Error('read-only');
    expect(() => manager.step('me', FILE, true)).toThrow('read-only');
    file.refuse = undefined;
    // The newest step is still the one undone, then the older one: none was lost to the refusal.
    expect(manager.step('me', FILE, true)).toBe(true);
    expect(file.content).toBe('line one A1\nline two');
    expect(manager.step('me', FILE, true)).toBe(true);
    expect(file.content).toBe('line one\nline two');
    file.refuse = new Error('read-only');
    expect(() => manager.step('me', FILE, false)).toThrow('read-only');
    file.refuse = undefined;
    expect(manager.step('me', FILE, false)).toBe(true);
    expect(file.content).toBe('line one A1\nline two');
  });

  it('an undo or redo takes back exactly the editor\'s own step, whatever others and its own later steps did', () => {
    fc.assert(
      fc.property(fc.array(fc.oneof({ arbitrary: edit, weight: 3 }, { arbitrary: step, weight: 2 }), { maxLength: 30 }), (actions) => run(actions)),
      { seed: 197, numRuns: 3000 },
    );
  });
});
