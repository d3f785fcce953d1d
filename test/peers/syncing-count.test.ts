// `chorus status` counts the files still syncing with each peer (Replicator.syncingWith), so a
// member catching up after time apart says so: a trial's member 218 files behind was shown only
// as "connected" (s53 N2). Real Workspaces and Replicators on memory stores, over an in-order
// in-memory network whose messages this test hands on itself.
import { afterEach, expect, it } from 'vitest';
import { diffToOp } from '../../daemon/src/text/diff-op.js';
import { Replicator, type PeerNetwork } from '../../daemon/src/sync/replicator.js';
import { MemoryBlobStore } from '../../daemon/src/workspace/blob-store.js';
import { MemoryStore } from '../../daemon/src/workspace/memory-store.js';
import { Workspace } from '../../daemon/src/workspace/workspace.js';

const noFolder = { read: async () => undefined };
const disk = { kind: 'disk' } as const;
const bytes = (s: string) => new TextEncoder().encode(s);
const workspaces: Workspace[] = [];
const replicators: Replicator[] = [];

afterEach(() => {
  for (const r of replicators.splice(0)) {
    r.halt();
    r.removeAllListeners();
  }
  for (const w of workspaces.splice(0)) w.close();
});

type Handler = (...a: never[]) => void;

/** A replicator on `ws`; what it sends waits in `outbox` for the other side's handlers. */
function node(id: string, ws: Workspace, outbox: Array<() => void>, deliverTo: () => Map<string, Handler>) {
  const handlers = new Map<string, Handler>();
  const net: PeerNetwork = {
    on: ((event: string, fn: Handler) => handlers.set(event, fn)) as PeerNetwork['on'],
    send: (_peer, data) => {
      outbox.push(() => (deliverTo().get('message') as (from: string, d: Uint8Array, f: undefined) => void)(id, data, undefined));
      return true;
    },
    broadcast: (data) => (net.send('', data) ? 1 : 0),
  };
  const rep = new Replicator(ws, net, () => undefined);
  replicators.push(rep);
  return { rep, handlers, up: (peer: string) => (handlers.get('peer-up') as (id: string, meta: Record<string, unknown>) => void)(peer, {}), down: (peer: string) => (handlers.get('peer-down') as (id: string) => void)(peer) };
}

/** Hand every message on, both ways, letting timers run between rounds, until all fall quiet. */
async function deliverAll(queues: Array<Array<() => void>>): Promise<void> {
  for (let quiet = 0, rounds = 0; quiet < 5 && rounds < 2000; rounds++) {
    let any = false;
    for (const q of queues) {
      for (const next of q.splice(0)) {
        next();
        any = true;
      }
    }
    quiet = any ? 0 : quiet + 1;
    await new Promise((r) => setTimeout(r, 2));
  }
}

it('files changed while two members were apart count as syncing on both sides until each is level', async () => {
  const a = new Workspace(new MemoryStore(), new MemoryBlobStore(), 'ab'.repeat(16), noFolder);
  const b = new Workspace(new MemoryStore(), new MemoryBlobStore(), 'cd'.repeat(16), noFolder);
  workspaces.push(a, b);
  const ids: string[] = [];
  for (let i = 0; i < 4; i++) ids.push(a.addFile(`src/f${i}.ts`, bytes(`const f${i} = ${i};\n`), disk));
  const toB: Array<() => void> = [];
  const toA: Array<() => void> = [];
  const na = node('A', a, toB, () => nb.handlers);
  const nb = node('B', b, toA, () => na.handlers);
  na.up('B');
  nb.up('A');
  await deliverAll([toB, toA]);
  expect(b.index.entries().length).toBe(4);
  expect(na.rep.syncingWith('B')).toBe(0);
  expect(nb.rep.syncingWith('A')).toBe(0);

  // Apart: A edits three of the files (each becomes a document with history B has none of).
  na.down('B');
  nb.down('A');
  for (const id of ids.slice(0, 3)) {
    await a.open(a.pathOf(id)!, false, disk);
    const before = a.text(id);
    a.edit(id, diffToOp(before, before.replace('const', 'let')), disk);
  }
  a.settle();
  toA.splice(0);
  toB.splice(0);

  // Linked again: A counts its three from the start; B once A's list of documents arrives.
  na.up('B');
  nb.up('A');
  expect(na.rep.syncingWith('B')).toBe(3);
  expect(nb.rep.syncingWith('A')).toBe(0); // B holds none of them, and has not heard A's list yet
  for (const next of toB.splice(0)) next(); // A's hello and list of documents, at B
  expect(nb.rep.syncingWith('A')).toBe(3);
  await deliverAll([toB, toA]);
  expect(na.rep.syncingWith('B')).toBe(0);
  expect(nb.rep.syncingWith('A')).toBe(0);
  for (const id of ids.slice(0, 3)) expect(b.text(id)).toBe(a.text(id));
  // A peer not linked has nothing syncing.
  expect(na.rep.syncingWith('nobody')).toBe(0);
});
