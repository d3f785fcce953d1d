// Broadcasts across a partial mesh of real overlays on loopback (decisions 011, 095): each member
// gets each broadcast once, from whichever neighbour passed it first; a broadcast a member refuses
// goes no further.
import { afterAll, expect, it } from 'vitest';
import { FULL_MESH_UP_TO, meshNeighbours } from '../../daemon/src/net/overlay.js';
import { Cluster, connectedTo, sleep, waitFor, type Node } from './overlay-harness.js';

const cluster = new Cluster();
afterAll(() => cluster.stopAll());

const N = FULL_MESH_UP_TO + 2;

/** How many times `node` was handed `payload`, from any neighbour, refused copies included. */
const handed = (node: Node, payload: string): number => [...node.received.values()].flat().filter((m) => m === payload).length;
/** Copies of `payload` that `node` refused (only Mallory's neighbours refuse, below). */
const refused = new Map<Node, string[]>();
/**
 * How many times `node` took `payload` in. A copy relayed by Mallory is refused by her neighbours
 * and its key forgotten (decision 095), so the same broadcast arriving by a trusted route after
 * it is taken in: handed twice, taken once. Which copy comes first is a race of the routes.
 */
const count = (node: Node, payload: string): number => handed(node, payload) - (refused.get(node) ?? []).filter((m) => m === payload).length;

it(`${N} overlays: a broadcast reaches every member once; one refused by the hostile member's neighbours reaches nobody else`, async () => {
  const first = await cluster.start('m00');
  const nodes = [first];
  for (let i = 1; i < N; i++) nodes.push(await cluster.start(`m${String(i).padStart(2, '0')}`, { seeds: first.addrs }));
  const ids = nodes.map((n) => n.id);
  await waitFor('the links to settle on mesh neighbours', () => nodes.every((n) => connectedTo(n).join() === [...meshNeighbours(n.id, ids)].sort().join()), 60_000, nodes);

  // A broadcast from a member linked to only some reaches all, each once.
  nodes[0]!.overlay.broadcast(Buffer.from('hello all'));
  await waitFor('everyone to get the broadcast', () => nodes.slice(1).every((n) => count(n, 'hello all') >= 1), 20_000, nodes);
  await sleep(500); // room for any duplicate still travelling
  for (const n of nodes.slice(1)) expect(count(n, 'hello all'), n.id).toBe(1);
  expect(count(nodes[0]!, 'hello all')).toBe(0);

  // Mallory's neighbours refuse what she broadcasts (as the replicator refuses a read-only
  // member's changes): they take it in no further, and do not pass it on.
  const mallory = nodes[N - 1]!;
  const hers = meshNeighbours(mallory.id, ids);
  for (const n of nodes) {
    if (!hers.has(n.id)) continue;
    refused.set(n, []);
    n.overlay.on('message', (from, data, flood) => {
      if (from !== mallory.id || !flood) return;
      flood.refuse();
      refused.get(n)!.push(Buffer.from(data).toString('utf8'));
    });
  }
  const far = nodes.filter((n) => n !== mallory && !hers.has(n.id));
  expect(far.length).toBeGreaterThan(0);
  mallory.overlay.broadcast(Buffer.from('forged'));
  await waitFor("mallory's neighbours to get her broadcast", () => nodes.filter((n) => hers.has(n.id)).every((n) => handed(n, 'forged') === 1), 20_000, nodes);
  for (const n of nodes.filter((n) => hers.has(n.id))) expect(count(n, 'forged'), `${n.id} took mallory's broadcast in`).toBe(0);
  // Control: a broadcast right after, from a neighbour of hers, does reach the far members.
  const neighbour = nodes.find((n) => hers.has(n.id))!;
  neighbour.overlay.broadcast(Buffer.from('after'));
  await waitFor('the control broadcast to reach everyone', () => nodes.filter((n) => n !== neighbour).every((n) => count(n, 'after') === 1), 20_000, nodes);
  await sleep(500); // room for any duplicate still travelling
  for (const n of nodes.filter((n) => n !== neighbour)) expect(count(n, 'after'), n.id).toBe(1);
  for (const n of far) expect(handed(n, 'forged'), `${n.id} got mallory's refused broadcast`).toBe(0);
}, 120_000);
