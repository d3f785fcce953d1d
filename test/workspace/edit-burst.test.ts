// Decision 115: an editor's burst of edits is staged on the text and committed as one change.
// Pins what must not change with it: each edit is answered only once it is in storage, anything
// else touching the document sees the burst as a change first (a peer's change, another editor,
// a cursor, an undo stop), a refused save refuses every edit of the burst and puts the text
// back, the answers keep the order of the requests, and the CRDT is never used half-staged.
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { EditorBuffers } from '../../daemon/src/editor/editor-buffers.js';
import { MAX_BURST_MS } from '../../daemon/src/workspace/edit-burst.js';
import { Failure } from '../../daemon/src/errors.js';
import { Project } from '../../daemon/src/project.js';
import { diffToOp } from '../../daemon/src/text/diff-op.js';
import { MemoryBlobStore } from '../../daemon/src/workspace/blob-store.js';
import { MemoryStore } from '../../daemon/src/workspace/memory-store.js';
import { TextDoc, type RawChange } from '../../daemon/src/workspace/text-doc.js';
import { Workspace, type TextEvent } from '../../daemon/src/workspace/workspace.js';

const noFolder = { read: async () => undefined };
const editor = (editorId: string, more: { editId?: string; undoStop?: boolean } = {}) => ({ kind: 'editor' as const, editorId, ...more });

/** A `text` event with its texts made strings, to compare. */
type Told = Omit<TextEvent, 'before' | 'after'> & { before: string; after: string };

/** A workspace on memory stores with one file holding `text`, and its `text` events. */
async function setup(text = '', actor = 'ab'.repeat(16)) {
  const docs = new MemoryStore();
  const ws = new Workspace(docs, new MemoryBlobStore(), actor, noFolder);
  const { fileId } = await ws.open('a.txt', true, editor('e1'));
  if (text) ws.edit(fileId, diffToOp('', text), editor('e1'));
  const events: Told[] = [];
  ws.on('text', (e) => events.push({ ...e, before: e.before.toString(), after: e.after.toString() }));
  const logged = () => docs.state.docs.get(fileId)?.changes.length ?? 0;
  return { docs, ws, fileId, events, logged };
}

/** Type `s` at the end of the file, one character per staged edit; the answers. */
function typeAtEnd(ws: Workspace, fileId: string, s: string, editorId = 'e1'): Promise<void>[] {
  return [...s].map((ch, i) => {
    const before = ws.text(fileId);
    return ws.stageEdit(fileId, diffToOp(before, before + ch), editor(editorId, { editId: `${editorId}-${i}` }));
  });
}

describe('a burst of edits (Workspace.stageEdit)', () => {
  // A burst also ends MAX_BURST_MS after its first edit. The clock the bound reads stands still
  // here (timers stay real), so a loaded machine that takes over 10 ms to type a line does not
  // split the bursts these tests type; the last test moves it on.
  beforeEach(() => void vi.useFakeTimers({ toFake: ['performance'] }));
  afterEach(() => void vi.useRealTimers());

  it('is one change, one text event and one log write, and every edit is answered after it is saved', async () => {
    const { ws, fileId, events, logged } = await setup();
    const saved = logged();
    const answers = typeAtEnd(ws, fileId, 'hello, world');
    // The text has the edits at once (the next edit and the revision rule see them)...
    expect(ws.text(fileId)).toBe('hello, world');
    // ...the log and the route only once the burst ends.
    expect(logged()).toBe(saved);
    expect(events).toHaveLength(0);
    const inStorageWhenAnswered: number[] = [];
    await Promise.all(answers.map((a) => a.then(() => inStorageWhenAnswered.push(logged()))));
    expect(inStorageWhenAnswered).toEqual(new Array(12).fill(saved + 1));
    expect(events).toHaveLength(1);
    expect(events[0]).toMatchObject({ before: '', after: 'hello, world', origin: { kind: 'editor', editorId: 'e1', editId: 'e1-11' } });
    expect(events[0]!.raw).toBeInstanceOf(Uint8Array);
    // The last edit's id stands for the burst (decision 055: the newest applied edit is the base).
    expect(ws.hasEdit(fileId, 'e1-11')).toBe(true);
    ws.close();
  });

  it("is a change before a peer's change is applied, and both sides converge", async () => {
    const a = await setup('hello');
    // B: a second replica of the same state, with its own actor.
    const docsB = new MemoryStore(undefined, structuredClone(a.docs.state));
    const b = new Workspace(docsB, new MemoryBlobStore(), 'cd'.repeat(16), noFolder);
    let rawB: RawChange | undefined;
    b.on('text', (e) => (rawB = e.raw));
    b.edit(a.fileId, diffToOp('hello', 'B: hello'), editor('eb'));
    const answers = typeAtEnd(a.ws, a.fileId, ' world');
    a.ws.applyRemote(a.fileId, [rawB!], { kind: 'peer', peerId: 'b' });
    // The burst became a change first, on the text before the peer's; then the peer's.
    expect(a.events.map((e) => e.origin.kind)).toEqual(['editor', 'peer']);
    expect(a.events[0]).toMatchObject({ before: 'hello', after: 'hello world' });
    expect(a.ws.text(a.fileId)).toBe('B: hello world');
    await Promise.all(answers);
    b.applyRemote(a.fileId, [a.events[0]!.raw!], { kind: 'peer', peerId: 'a' });
    expect(b.text(a.fileId)).toBe('B: hello world');
    a.ws.close();
    b.close();
  });

  it("ends at another editor's edit, at an undo stop and at a cursor", async () => {
    const { ws, fileId, events } = await setup('x');
    const answers = typeAtEnd(ws, fileId, 'ab');
    // Another editor about to edit sees e1's burst as a change first (it must reach it as a change).
    expect(ws.ropeFor(fileId, 'e1').toString()).toBe('xab');
    expect(events).toHaveLength(0);
    expect(ws.ropeFor(fileId, 'e2').toString()).toBe('xab');
    expect(events).toHaveLength(1);
    answers.push(...typeAtEnd(ws, fileId, 'cd'));
    const before = ws.text(fileId);
    answers.push(ws.stageEdit(fileId, diffToOp(before, before + 'E'), editor('e1', { undoStop: true })));
    expect(events).toHaveLength(2); // the undo stop ended 'cd'
    // A CRDT cursor needs the committed text.
    expect(ws.cursorAt(fileId, 5)).toBeTypeOf('string');
    expect(events).toHaveLength(3);
    expect(events.map((e) => e.after)).toEqual(['xab', 'xabcd', 'xabcdE']);
    expect(events[2]!.origin).toMatchObject({ undoStop: true });
    await Promise.all(answers);
    ws.close();
  });

  it("can be asked whether a document lacks history while edits are staged (the replicator's timer does)", async () => {
    // Pins: Workspace.lacksHistory threw "the document has staged edits" from a timer.
    const { ws, fileId, events } = await setup('x');
    const answers = typeAtEnd(ws, fileId, 'yz');
    expect(ws.lacksHistory(fileId)).toBe(false);
    expect(events).toHaveLength(0); // asking commits nothing
    await Promise.all(answers);
    expect(events).toHaveLength(1);
    ws.close();
  });

  it(`ends ${MAX_BURST_MS} ms after its first edit however fast edits keep coming`, async () => {
    const { ws, fileId, events } = await setup();
    const answers = typeAtEnd(ws, fileId, 'ab');
    vi.advanceTimersByTime(MAX_BURST_MS);
    answers.push(...typeAtEnd(ws, fileId, 'cd'));
    expect(events.map((e) => e.after)).toEqual(['ab']); // 'c' found no room: 'ab' was committed
    await Promise.all(answers);
    expect(events.map((e) => e.after)).toEqual(['ab', 'abcd']);
    ws.close();
  });

  it('a burst the store refuses: each of its edits is refused and the text goes back', async () => {
    const { docs, ws, fileId, events } = await setup('kept');
    docs.refuseWrites('ENOSPC');
    const answers = typeAtEnd(ws, fileId, 'abc').map((a) => a.then(() => 'answered', (e: unknown) => e));
    expect(ws.text(fileId)).toBe('keptabc');
    const outcomes = await Promise.all(answers);
    for (const o of outcomes) {
      expect(o).toBeInstanceOf(Failure);
      expect((o as Failure).kind).toBe('storage');
    }
    expect(ws.text(fileId)).toBe('kept');
    expect(events).toHaveLength(0);
    expect(ws.hasEdit(fileId, 'e1-2')).toBe(false);
    docs.refuseWrites(undefined);
    ws.close();
  });
});

describe('TextDoc.stage', () => {
  it('changes the text at once, the CRDT at commit; a CRDT use in between commits through the hook, or fails without one', () => {
    const doc = TextDoc.create('f'.padEnd(25, '0'), 'abc', 'ef'.repeat(16));
    doc.stage(diffToOp('abc', 'abcd'));
    doc.stage(diffToOp('abcd', 'Xabcd'));
    expect(doc.text).toBe('Xabcd');
    expect(doc.hasStaged).toBe(true);
    expect(() => doc.save()).toThrow(/staged edits/);
    expect(() => doc.cursorAt(0)).toThrow(/staged edits/);
    const c = doc.commitStaged();
    expect(c?.op).toEqual(diffToOp('abc', 'Xabcd'));
    const copy = TextDoc.load(doc.save(), [], '12'.repeat(16));
    expect(copy.text).toBe('Xabcd');
    // A use of the CRDT nobody settled before: the hook commits (the Workspace's settle), no failure.
    doc.stage(diffToOp('Xabcd', 'Xabcd!'));
    let committed: unknown;
    doc.commitHook = () => (committed = doc.commitStaged());
    expect(doc.cursorAt(0)).toBeTypeOf('string');
    expect(committed).toMatchObject({ op: diffToOp('Xabcd', 'Xabcd!') });
    doc.commitHook = undefined;
    // Edits that cancel out make no change.
    doc.stage(diffToOp('Xabcd!', 'Xabcd!z'));
    doc.stage(diffToOp('Xabcd!z', 'Xabcd!'));
    expect(doc.commitStaged()).toBeUndefined();
    expect(doc.hasStaged).toBe(false);
  });
});

describe('answers to buffer/edit (EditorBuffers)', () => {
  const dirs: string[] = [];
  afterEach(() => {
    for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
  });

  it('keep the order of the requests: a refused edit is answered after the burst before it', async () => {
    const dir = mkdtempSync(join(os.tmpdir(), 'chorus-burst-'));
    dirs.push(dir);
    const ws = new Workspace(new MemoryStore(), new MemoryBlobStore(), 'ab'.repeat(16), noFolder);
    const buffers = new EditorBuffers('e1', new Project(dir), ws, { bufferDidChange: () => undefined, workspaceDidChange: () => undefined });
    await buffers.open('a.txt', '');
    const at = (character: number) => ({ line: 0, character });
    const order: string[] = [];
    const first = buffers.edit('a.txt', 0, [{ range: { start: at(0), end: at(0) }, text: 'a' }], false, 'e1-1').then(() => order.push('first'));
    const second = buffers.edit('a.txt', 0, [{ range: { start: at(1), end: at(1) }, text: 'b' }], false, 'e1-2').then(() => order.push('second'));
    // Revision 7: this editor never received 7 changes; refused, and answered last.
    const refused = buffers.edit('a.txt', 7, [{ range: { start: at(0), end: at(0) }, text: 'z' }], false, 'e1-3').catch((e: Failure) => order.push(`refused: ${e.kind}`));
    await Promise.all([first, second, refused]);
    expect(order).toEqual(['first', 'second', 'refused: invalid']);
    expect(ws.text(buffers.openBuffer('a.txt').fileId)).toBe('ab');
    buffers.dispose();
    ws.close();
  });
});
