/**
 * Two or more Replicators on real Workspaces, linked by an in-memory network that delivers
 * nothing by itself: what each sends waits in an outbox, in order, until the test hands it on.
 * For tests of the replicator's exchange step by step (a unit of one module: the overlay is the
 * fake here).
 */
import { Replicator, type PeerNetwork } from '../../daemon/src/sync/replicator.js';
import { MemoryBlobStore } from '../../daemon/src/workspace/blob-store.js';
import { MemoryStore } from '../../daemon/src/workspace/memory-store.js';
import { Workspace } from '../../daemon/src/workspace/workspace.js';

type Handler = (...a: never[]) => void;

/** One side: its replicator, and its network's handlers (the replicator's, as the overlay would call them). */
export interface QueuedNode {
  rep: Replicator;
  handlers: Map<string, Handler>;
  /** The overlay says `peer` is linked (`peer-up`, with no hello fields). */
  up(peer: string): void;
  /** The overlay says `peer`'s link is gone (`peer-down`). */
  down(peer: string): void;
}

/**
 * A replicator on `ws`, known to others as `id`: what it sends (to one peer or to all) waits in
 * `outbox` as a call that delivers it to the handlers `deliverTo` gives (the other side's).
 */
export function queuedNode(id: string, ws: Workspace, outbox: Array<() => void>, deliverTo: () => Map<string, Handler>): QueuedNode {
  const handlers = new Map<string, Handler>();
  const net: PeerNetwork = {
    on: ((event: string, fn: Handler) => handlers.set(event, fn)) as PeerNetwork['on'],
    send: (_peer, data) => {
      outbox.push(() => (deliverTo().get('message') as (from: string, d: Uint8Array, f: undefined) => void)(id, data, undefined));
      return true;
    },
    broadcast: (data) => (net.send('', data) ? 1 : 0),
  };
  return {
    rep: new Replicator(ws, net, () => undefined),
    handlers,
    up: (peer) => (handlers.get('peer-up') as (id: string, meta: Record<string, unknown>) => void)(peer, {}),
    down: (peer) => (handlers.get('peer-down') as (id: string) => void)(peer),
  };
}

/** The Workspaces (on memory stores) and queued Replicators of one test, released after it. */
export class QueuedPeers {
  private readonly replicators: Replicator[] = [];
  private readonly workspaces: Workspace[] = [];

  /** A Workspace on memory stores, with no folder, for `actor`. */
  workspace(actor: string): Workspace {
    return this.keep(new Workspace(new MemoryStore(), new MemoryBlobStore(), actor, { read: async () => undefined }));
  }

  /** A Workspace made elsewhere, closed with the rest. */
  keep(ws: Workspace): Workspace {
    this.workspaces.push(ws);
    return ws;
  }

  /** A queued replicator on `ws` (queuedNode), halted with the rest. */
  node(id: string, ws: Workspace, outbox: Array<() => void>, deliverTo: () => Map<string, Handler>): QueuedNode {
    const n = queuedNode(id, ws, outbox, deliverTo);
    this.replicators.push(n.rep);
    return n;
  }

  /** Halt every replicator and close every workspace (an afterEach). */
  release(): void {
    for (const r of this.replicators.splice(0)) {
      r.halt();
      r.removeAllListeners();
    }
    for (const w of this.workspaces.splice(0)) w.close();
  }
}
