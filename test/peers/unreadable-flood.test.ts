// A member that sends messages that cannot be read (an honest daemon sends none) has at most 500
// of them logged a minute, and past 100 in a minute its links are closed (trial s54a, F4: a read-only
// guest's flood of two-byte frames wrote a log line each, 100,000 lines in 15 s, and held a
// member for over 12 minutes). Its readable messages before that are taken as any member's.
import { afterEach, expect, it } from 'vitest';
import { Replicator, type PeerNetwork } from '../../daemon/src/sync/replicator.js';
import { QueuedPeers } from '../support/queued-peers.js';

const peers = new QueuedPeers();
afterEach(() => peers.release());

/** A replicator linked to `peer` over a network that sends nothing and records links it closes. */
function linkedTo(peer: string, meta: Record<string, unknown>) {
  const handlers = new Map<string, (...a: never[]) => void>();
  const dropped: string[] = [];
  const lines: string[] = [];
  const net: PeerNetwork = {
    on: ((event: string, fn: (...a: never[]) => void) => handlers.set(event, fn)) as PeerNetwork['on'],
    send: () => true,
    broadcast: () => 1,
    dropLinks: (id, reason) => dropped.push(`${id}: ${reason}`),
  };
  const rep = new Replicator(peers.workspace('ab'.repeat(16)), net, (m) => lines.push(m));
  (handlers.get('peer-up') as (id: string, meta: Record<string, unknown>) => void)(peer, meta);
  const message = handlers.get('message') as (from: string, d: Uint8Array, f: undefined) => void;
  return { rep, dropped, lines, send: (data: Uint8Array) => message(peer, data, undefined) };
}

it('a flood of unreadable messages is logged up to its bound and closes the sender’s links', async () => {
  const guest = 'ee'.repeat(16);
  const { rep, dropped, lines, send } = linkedTo(guest, { readOnly: true });
  for (let i = 0; i < 5000; i++) send(new Uint8Array([200 + (i % 50), i & 255]));
  await new Promise((r) => setTimeout(r, 20));
  // Each refused one is a line up to the links' closing (past 100), not 5,000 lines.
  expect(lines.filter((l) => l.startsWith('refused a message from peer eeeeeeee'))).toHaveLength(500);
  expect(lines.filter((l) => l.startsWith('closing the links of peer eeeeeeee: it sent over 100 messages in a minute that cannot be read'))).toHaveLength(1);
  expect(dropped.length).toBeGreaterThan(0);
  expect(dropped[0]).toBe(`${guest}: it sent messages that cannot be read`);
  expect(lines.filter((l) => !l.startsWith('peer eeeeeeee connected'))).toHaveLength(501);
  rep.halt();
});

it('a few unreadable messages close nothing', async () => {
  const { rep, dropped, send } = linkedTo('cd'.repeat(16), {});
  for (let i = 0; i < 100; i++) send(new Uint8Array([201, i]));
  await new Promise((r) => setTimeout(r, 20));
  expect(dropped).toEqual([]);
  rep.halt();
});
