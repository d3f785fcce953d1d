// Decision 090: the Workspace, UndoManager and Presence run on any store, not only the daemon's
// files — here on the in-memory stores a page uses until its IndexedDB store exists. Pins that
// the Workspace keeps the store contract's promises: an edit is saved (with its edit mark) before
// `edit` returns, a refused save takes the edit back, and a restart finds the text.
import { describe, expect, it } from 'vitest';
import { Presence, type CursorView } from '../../daemon/src/presence/presence.js';
import { UndoManager } from '../../daemon/src/editor/undo-manager.js';
import { Failure } from '../../daemon/src/errors.js';
import { diffToOp } from '../../daemon/src/text/diff-op.js';
import { MemoryBlobStore } from '../../daemon/src/workspace/blob-store.js';
import { MemoryStore } from '../../daemon/src/workspace/memory-store.js';
import { Workspace } from '../../daemon/src/workspace/workspace.js';

const ACTOR = 'ab'.repeat(16);
const noFolder = { read: async () => undefined };

function workspaceOn(docs: MemoryStore, blobs: MemoryBlobStore): Workspace {
  return new Workspace(docs, blobs, ACTOR, noFolder);
}

describe('Workspace on the in-memory stores', () => {
  it('saves an edit and its mark before edit returns: a restart on the same state has both', async () => {
    const docs = new MemoryStore();
    const blobs = new MemoryBlobStore();
    const ws = workspaceOn(docs, blobs);
    const { fileId } = await ws.open('notes.md', true, { kind: 'editor', editorId: 'e1' });
    ws.edit(fileId, diffToOp('', 'hello'), { kind: 'editor', editorId: 'e1', editId: 'e1-1' });
    expect(ws.text(fileId)).toBe('hello');
    expect(ws.hasEdit(fileId, 'e1-1')).toBe(true);
    // No close: as after a crash, only what the store holds remains.
    const again = workspaceOn(new MemoryStore(undefined, docs.state), new MemoryBlobStore(blobs.blobs));
    expect(again.index.idOf('notes.md')).toBe(fileId);
    expect(again.text(fileId)).toBe('hello');
    expect(again.hasEdit(fileId, 'e1-1')).toBe(true);
    ws.close();
    again.close();
  });

  it('a save the store refuses takes the edit back, says why, and the changes wait for space', async () => {
    const docs = new MemoryStore();
    const ws = workspaceOn(docs, new MemoryBlobStore());
    const { fileId } = await ws.open('a.txt', true);
    ws.edit(fileId, diffToOp('', 'kept'), { kind: 'editor', editorId: 'e1' });
    docs.refuseWrites('QuotaExceededError');
    let failed: unknown;
    try {
      ws.edit(fileId, diffToOp('kept', 'kept, lost'), { kind: 'editor', editorId: 'e1', editId: 'e1-2' });
    } catch (e) {
      failed = e;
    }
    expect(failed).toBeInstanceOf(Failure);
    expect((failed as Failure).message).toContain("storage quota");
    expect(ws.text(fileId)).toBe('kept');
    expect(ws.hasEdit(fileId, 'e1-2')).toBe(false);
    expect(docs.waitingForSpace).toBe(1);
    docs.refuseWrites(undefined);
    ws.close();
    expect(docs.waitingForSpace).toBe(0);
  });

  it('runs UndoManager and Presence (the core a page runs) on it', async () => {
    const ws = workspaceOn(new MemoryStore(), new MemoryBlobStore());
    const undo = new UndoManager(ws);
    ws.on('text', (e) => undo.observe(e));
    const { fileId } = await ws.open('b.txt', true);
    ws.edit(fileId, diffToOp('', 'one'), { kind: 'editor', editorId: 'e1', undoStop: true });
    expect(undo.step('e1', fileId, true)).toBe(true);
    expect(ws.text(fileId)).toBe('');
    const presence = new Presence({ id: 'p1', name: 'Ada', color: '#123456' }, ws, () => undefined);
    const seen: CursorView[] = [];
    presence.on('cursor', (c) => seen.push(c));
    presence.setLocal('e1', 'b.txt', fileId, [{ anchor: 0, head: 0 }]);
    expect(seen[0]?.selections).toEqual([{ anchor: 0, head: 0 }]);
    presence.leave();
    ws.close();
  });
});

// Decision 137: a join into a folder with a different file at a path the session has. `resolve`
// keeps one of the two at the path by file id (random), the same way on every peer; the joiner
// then gives the path back to the session's file. Both outcomes of `resolve` are seen here.
describe('Workspace.keepSessionVersions after a join', () => {
  const bytes = (s: string) => new TextEncoder().encode(s);
  const DISK = { kind: 'disk' } as const;

  it("leaves the session's version at the path and this folder's beside it, whichever resolve kept", () => {
    const outcomes = new Set<'swapped' | 'as resolved'>();
    for (let trial = 0; trial < 24; trial++) {
      const session = new Workspace(new MemoryStore(), new MemoryBlobStore(), 'cd'.repeat(16), noFolder);
      const joiner = new Workspace(new MemoryStore(), new MemoryBlobStore(), 'ab'.repeat(16), noFolder);
      const fromSession: Parameters<Workspace['applyRemote']>[1] = [];
      session.on('localChange', (doc, c) => doc === 'index' && fromSession.push(c));
      joiner.on('localChange', (doc, c) => doc === 'index' && session.applyRemote('index', [c], { kind: 'peer', peerId: 'joiner' }));
      const theirs = session.addFile('notes.txt', bytes('the session has this\n'), DISK);
      const mine = joiner.addFile('notes.txt', bytes('this folder had this\n'), DISK);
      joiner.applyRemote('index', fromSession, { kind: 'peer', peerId: 'session' }); // the first sync
      const met = joiner.keepSessionVersions(new Set([mine]));
      const kept = `notes (conflict ${mine.slice(1, 7)}).txt`;
      expect(met).toHaveLength(1);
      expect(met[0]).toMatchObject({ path: 'notes.txt', kept });
      outcomes.add(met[0]!.said.endsWith(kept) ? 'as resolved' : 'swapped');
      for (const ws of [joiner, session]) {
        expect(ws.index.idOf('notes.txt')).toBe(theirs);
        expect(ws.index.idOf(kept)).toBe(mine);
        expect(ws.index.entries()).toHaveLength(2);
      }
      expect(joiner.keepSessionVersions(new Set([mine]))).toEqual([{ path: 'notes.txt', kept, said: expect.any(String) }]); // nothing moves again
      expect(joiner.index.idOf('notes.txt')).toBe(theirs);
      session.close();
      joiner.close();
    }
    expect([...outcomes].sort()).toEqual(['as resolved', 'swapped']);
  });
});
