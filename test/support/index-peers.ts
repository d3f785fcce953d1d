// Workspaces in memory whose index changes a test hands over by hand, in the order it needs
// (a race, a join's first sync): no network, no disk.
import { MemoryBlobStore } from '../../daemon/src/workspace/blob-store.js';
import { MemoryStore } from '../../daemon/src/workspace/memory-store.js';
import { INDEX_DOC_ID } from '../../daemon/src/workspace/file-index.js';
import type { RawChange } from '../../daemon/src/workspace/text-doc.js';
import { Workspace } from '../../daemon/src/workspace/workspace.js';

const noFolder = { read: async () => undefined };

/** The origin of a file the folder's watcher saw. */
export const DISK = { kind: 'disk' } as const;

/** A string's UTF-8 bytes. */
export const bytes = (s: string) => new TextEncoder().encode(s);

/** A workspace whose own index changes are collected, to be handed to peers when the test says. */
export function peer(actor: string): { ws: Workspace; out: RawChange[] } {
  const ws = new Workspace(new MemoryStore(), new MemoryBlobStore(), actor.repeat(16), noFolder);
  const out: RawChange[] = [];
  ws.on('localChange', (doc, c) => doc === INDEX_DOC_ID && out.push(c));
  return { ws, out };
}

/** Hand `to` every index change in `changes` (Automerge skips those it has). */
export function deliver(to: Workspace, changes: RawChange[], from: string): void {
  to.applyRemote(INDEX_DOC_ID, changes, { kind: 'peer', peerId: from });
}
