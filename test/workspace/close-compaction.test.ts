// Pins a user-trial fault (decision 176): `chorus stop` of a daemon in a 5,127-file session was
// killed after 10 s. Closing the workspace snapshotted every live document (load-checked, written
// and fsynced one by one) although each change was in its log already. Now close compacts only the
// documents whose log grew long; everything, edit marks included, is still there after a restart.
import { describe, expect, it, vi } from 'vitest';
import { diffToOp } from '../../daemon/src/text/diff-op.js';
import { MemoryBlobStore } from '../../daemon/src/workspace/blob-store.js';
import { MemoryStore } from '../../daemon/src/workspace/memory-store.js';
import { CLOSE_COMPACT_AFTER, Workspace } from '../../daemon/src/workspace/workspace.js';

const ACTOR = 'cd'.repeat(16);
const noFolder = { read: async () => undefined };

describe('Workspace.close', () => {
  it('snapshots only documents with a long log, and a restart finds every edit', async () => {
    const docs = new MemoryStore();
    const blobs = new MemoryBlobStore();
    const ws = new Workspace(docs, blobs, ACTOR, noFolder);
    const ids: string[] = [];
    for (let i = 0; i < 40; i++) {
      const { fileId } = await ws.open(`f${i}.txt`, true, { kind: 'editor', editorId: 'e1' });
      ws.edit(fileId, diffToOp('', `file ${i}`), { kind: 'editor', editorId: 'e1', editId: `e1-${i}` });
      ids.push(fileId);
    }
    // One document edited often: its log is worth compacting for the next start.
    const busy = ids[0]!;
    let text = 'file 0';
    for (let i = 0; i < CLOSE_COMPACT_AFTER; i++) {
      ws.edit(busy, diffToOp(text, text + '.'), { kind: 'editor', editorId: 'e1' });
      text += '.';
    }
    const snapshots = vi.spyOn(docs, 'snapshot');
    ws.close();
    // The index, one document, always; of the files only the busy one.
    expect(snapshots.mock.calls.map((c) => c[0])).toEqual(['index', busy]);

    const again = new Workspace(new MemoryStore(undefined, docs.state), new MemoryBlobStore(blobs.blobs), ACTOR, noFolder);
    expect(again.text(busy)).toBe(text);
    for (let i = 1; i < ids.length; i++) {
      expect(again.text(ids[i]!)).toBe(`file ${i}`);
      expect(again.hasEdit(ids[i]!, `e1-${i}`)).toBe(true);
    }
    again.close();
  });
});
