// `chorus status` counts the files still syncing with each peer (Replicator.syncingWith), so a
// member catching up after time apart says so: a trial's member 218 files behind was shown only
// as "connected" (s53 N2). Real Workspaces and Replicators on memory stores, over an in-order
// in-memory network whose messages this test hands on itself.
import { afterEach, expect, it } from 'vitest';
import { diffToOp } from '../../daemon/src/text/diff-op.js';
import { QueuedPeers } from '../support/queued-peers.js';

const disk = { kind: 'disk' } as const;
const bytes = (s: string) => new TextEncoder().encode(s);
const peers = new QueuedPeers();

afterEach(() => peers.release());

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
  const a = peers.workspace('ab'.repeat(16));
  const b = peers.workspace('cd'.repeat(16));
  const ids: string[] = [];
  for (let i = 0; i < 4; i++) ids.push(a.addFile(`src/f${i}.ts`, bytes(`const f${i} = ${i};\n`), disk));
  const toB: Array<() => void> = [];
  const toA: Array<() => void> = [];
  const na = peers.node('A', a, toB, () => nb.handlers);
  const nb = peers.node('B', b, toA, () => na.handlers);
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
