// Decision 100: a joiner asks for blobs a budget at a time. Pins the bug where the budget counted
// files whose content was already here (or live): when the first MAX_BLOBS_IN_FLIGHT files of the
// list needed nothing, nothing was asked, no blob ever arrived to ask for the rest, and the files
// after them never came. Real Workspace and Replicator on memory stores; the network records.
import { expect, it } from 'vitest';
import { decodePeerMessage } from '../../daemon/src/sync/peer-messages.js';
import { MAX_BLOBS_IN_FLIGHT, Replicator, type PeerNetwork } from '../../daemon/src/sync/replicator.js';
import { MemoryBlobStore } from '../../daemon/src/workspace/blob-store.js';
import { INDEX_DOC_ID } from '../../daemon/src/workspace/file-index.js';
import { MemoryStore } from '../../daemon/src/workspace/memory-store.js';
import { Workspace } from '../../daemon/src/workspace/workspace.js';

const noFolder = { read: async () => undefined };

it('files after a run of files already here are still asked for', async () => {
  // The sharer: more files than one budget.
  const sharerBlobs = new MemoryBlobStore();
  const sharer = new Workspace(new MemoryStore(), sharerBlobs, 'ab'.repeat(16), noFolder);
  const indexChanges: Uint8Array[] = [];
  sharer.on('localChange', (doc, change) => doc === INDEX_DOC_ID && indexChanges.push(change));
  for (let i = 0; i < MAX_BLOBS_IN_FLIGHT * 2; i++) sharer.addFile(`f${i}.txt`, new TextEncoder().encode(`file ${i}\n`), { kind: 'disk' });
  // The joiner already holds every blob but the one of the file last in its index's order.
  const entries = sharer.index.entries();
  const lastHash = entries[entries.length - 1]![1].hash;
  const joinerBlobs = new MemoryBlobStore(new Map([...sharerBlobs.blobs].filter(([h]) => h !== lastHash)));
  const joiner = new Workspace(new MemoryStore(), joinerBlobs, 'cd'.repeat(16), noFolder);
  const wanted: string[] = [];
  const handlers = new Map<string, (...args: never[]) => void>();
  const net: PeerNetwork = {
    on: ((event: string, fn: (...args: never[]) => void) => handlers.set(event, fn)) as PeerNetwork['on'],
    send: (_peer, data) => {
      const m = decodePeerMessage(data);
      if (m.kind === 'want') wanted.push(...m.hashes);
      return true;
    },
    broadcast: () => 1,
  };
  const rep = new Replicator(joiner, net, () => undefined);
  (handlers.get('peer-up') as (id: string, meta: Record<string, unknown>) => void)('sharer', {});
  joiner.applyRemote(INDEX_DOC_ID, indexChanges, { kind: 'peer', peerId: 'sharer' });
  expect(joiner.index.entries().map(([, e]) => e.hash).at(-1)).toBe(lastHash);
  expect(wanted).toEqual([lastHash]);
  rep.removeAllListeners();
  sharer.close();
  joiner.close();
});
