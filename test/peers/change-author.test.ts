// A change is told as made by the member whose actor made it, not by the member whose link
// brought it (trial s54a, F2: Carol was told "a change from Bob just removed … you typed" for
// Alice's `git stash`, which reached her through Bob). The identity part of a daemon's actor is
// its member id (actors.ts). Real Workspaces and a Replicator on memory stores; the link is the
// queued in-memory network, with the relaying member's messages handed on by the test.
import { afterEach, expect, it } from 'vitest';
import { diffToOp } from '../../daemon/src/text/diff-op.js';
import { encodePeerMessage } from '../../daemon/src/sync/peer-messages.js';
import { identityOf } from '../../daemon/src/workspace/actors.js';
import type { TextEvent } from '../../daemon/src/workspace/workspace.js';
import { QueuedPeers } from '../support/queued-peers.js';

const ALICE = 'a1'.repeat(16);
const BOB = 'b2'.repeat(16);
const disk = { kind: 'disk' } as const;
const peers = new QueuedPeers();
afterEach(() => peers.release());

it("a change relayed by one member is told as the maker's, the link's member when several made the changes", async () => {
  const alice = peers.workspace(`${ALICE}0000beef`);
  const bob = peers.workspace(`${BOB}0000cafe`);
  const carol = peers.workspace(`${'c3'.repeat(16)}0000f00d`);
  const toBob: Array<() => void> = [];
  const c = peers.node('carol', carol, toBob, () => new Map());
  c.up(BOB);
  /** A message from Bob's link, as Bob relays it or his sync brings it. */
  const overBob = (doc: string, changes: Uint8Array[]) => (c.handlers.get('message') as (from: string, d: Uint8Array, f: undefined) => void)(BOB, encodePeerMessage({ kind: 'changes', doc, changes }), undefined);
  const told: TextEvent[] = [];
  carol.on('text', (e) => told.push(e));
  const files: string[] = [];
  carol.on('files', (e) => {
    if (e.origin.kind === 'peer') files.push(e.origin.peerId);
  });

  // Alice makes a file: its index change reaches Carol over Bob's link, with its content.
  const made: Uint8Array[] = [];
  alice.on('localChange', (doc, change) => {
    if (doc === 'index') made.push(change);
  });
  const id = alice.addFile('notes.txt', new TextEncoder().encode('one two three\n'), disk);
  carol.blobs.put(new TextEncoder().encode('one two three\n'));
  overBob('index', made);
  expect(files).toEqual([ALICE]);

  // Alice's edit, relayed by Bob.
  const raw: Uint8Array[] = [];
  alice.on('text', (e) => {
    if (e.raw) raw.push(e.raw);
  });
  await alice.open('notes.txt', false, disk);
  alice.edit(id, diffToOp('one two three\n', 'one three\n'), disk);
  alice.settle();
  expect(raw).toHaveLength(1); // the edit (its first change each member makes alike from the content)
  overBob(id, raw);
  expect(carol.text(id)).toBe('one three\n');
  expect(told.at(-1)!.origin).toEqual({ kind: 'peer', peerId: ALICE });

  // Bob's own edit and another of Alice's in one message: several made them, so the link's member.
  const bobRaw: Uint8Array[] = [];
  bob.on('text', (e) => {
    if (e.raw) bobRaw.push(e.raw);
  });
  bob.applyRemote('index', made, { kind: 'peer', peerId: ALICE });
  bob.blobs.put(new TextEncoder().encode('one two three\n'));
  bob.applyRemote(id, raw, { kind: 'peer', peerId: ALICE });
  bob.edit(id, diffToOp('one three\n', 'one three four\n'), disk);
  bob.settle();
  alice.edit(id, diffToOp('one three\n', 'zero one three\n'), disk);
  alice.settle();
  overBob(id, [raw.at(-1)!, bobRaw.at(-1)!]);
  expect(carol.text(id)).toBe('zero one three four\n');
  expect(told.at(-1)!.origin).toEqual({ kind: 'peer', peerId: BOB });
  expect(identityOf(`${ALICE}0000beef`)).toBe(ALICE);
  expect(identityOf('not an actor')).toBeUndefined();
});
