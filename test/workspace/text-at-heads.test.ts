// Decision 200: the text a file had when the folder got it is found again in its document's
// history, from the heads recorded then (Workspace.headsIf), after a restart (Workspace.textAt):
// the base an outside edit made while the daemon was down is diffed from.
import { expect, it } from 'vitest';
import { diffToOp } from '../../daemon/src/text/diff-op.js';
import { MemoryBlobStore } from '../../daemon/src/workspace/blob-store.js';
import { MemoryStore } from '../../daemon/src/workspace/memory-store.js';
import { contentHash } from '../../daemon/src/workspace/text-doc.js';
import { Workspace } from '../../daemon/src/workspace/workspace.js';

const ACTOR = 'cd'.repeat(16);
const noFolder = { read: async () => undefined };
const editor = { kind: 'editor', editorId: 'e1' } as const;

it("finds a file's earlier text at the heads it had then, after a restart too, and nothing at heads it lacks", async () => {
  const docs = new MemoryStore();
  const blobs = new MemoryBlobStore();
  const ws = new Workspace(docs, blobs, ACTOR, noFolder);
  const { fileId } = await ws.open('f.txt', true, editor);
  ws.edit(fileId, diffToOp('', 'one\n'), editor);
  const written = ws.headsIf(fileId, contentHash('one\n'));
  expect(written).toHaveLength(1);
  expect(ws.headsIf(fileId, contentHash('one\n'), 'one\n')).toEqual(written);
  expect(ws.headsIf(fileId, contentHash('other\n'))).toBeUndefined(); // not the text it has
  // A staged burst is committed first: the heads are those of the text as editors see it.
  const pending = ws.stageEdit(fileId, diffToOp('one\n', 'one\ntwo\n'), editor);
  const staged = ws.headsIf(fileId, contentHash('one\ntwo\n'), ws.text(fileId));
  await pending;
  expect(staged).toBeDefined();
  expect(ws.textAt(fileId, staged!)).toBe('one\ntwo\n');
  expect(ws.textAt(fileId, written!)).toBe('one\n');
  // As after a crash: only what the store holds. The document is not loaded for headsIf, and is for textAt.
  const again = new Workspace(new MemoryStore(undefined, docs.state), new MemoryBlobStore(blobs.blobs), ACTOR, noFolder);
  expect(again.isLoaded(fileId)).toBe(false);
  expect(again.headsIf(fileId, contentHash('one\ntwo\n'))).toBeUndefined();
  expect(again.isLoaded(fileId)).toBe(false);
  expect(again.textAt(fileId, written!)).toBe('one\n');
  expect(again.isLoaded(fileId)).toBe(true);
  expect(again.text(fileId)).toBe('one\ntwo\n');
  // Heads this document never had (another file's, a damaged record): nothing, and no error.
  expect(again.textAt(fileId, ['ab'.repeat(32)])).toBeUndefined();
  expect(again.textAt(fileId, [])).toBeUndefined();
  expect(again.textAt('f' + '0'.repeat(24), written!)).toBeUndefined();
  ws.close();
  again.close();
});
