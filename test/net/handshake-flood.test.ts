// Decision 165 (user trial): anyone who could reach a peer port, with no join code, kept every new
// member out by holding the 64 handshake slots with reconnecting sockets that said nothing; a join
// waited 60 s and failed. These floods run as a separate process against a real overlay on
// loopback, and a member (another real overlay, dialling over WebSocket) must link up meanwhile.
import { afterEach, expect, it } from 'vitest';
import { MAX_PENDING_HANDSHAKES } from '../../daemon/src/net/overlay.js';
import { ConnectionFlood, type FloodOptions } from '../support/connection-flood.js';
import { Cluster, connectedTo, waitFor } from './overlay-harness.js';

let cluster: Cluster | undefined;
let flood: ConnectionFlood | undefined;
afterEach(async () => {
  await flood?.stop();
  await cluster?.stopAll();
  [flood, cluster] = [undefined, undefined];
});

/** Start a listening member, flood its port until its cap is hit, then have a second member dial it. */
async function joinDuring(opts: FloodOptions): Promise<void> {
  cluster = new Cluster();
  const host = await cluster.start('host');
  const port = new URL(host.addrs.find((a) => a.includes('127.0.0.1'))!.split('#')[0]!).port;
  flood = new ConnectionFlood(`ws://127.0.0.1:${port}/?host=x`, opts);
  // The cap is full and the flood keeps knocking: the host closes (or refuses) strangers now.
  await waitFor('the flood to fill the handshake slots', () => host.logs.some((l) => /closed a connection from .* before its handshake/.test(l)), 30_000, [host]);
  const openedBefore = flood.opened;
  const member = await cluster.start('member', { seeds: host.addrs });
  await waitFor('the member to link up with the host during the flood', () => connectedTo(member).includes('host') && connectedTo(host).includes('member'), 40_000, [host, member]);
  // It was during the flood: the flood was still opening connections.
  await waitFor('the flood to go on', () => flood!.opened > openedBefore + MAX_PENDING_HANDSHAKES, 30_000);
  expect(host.refusals).toEqual([]);
}

/** The first slots are taken 40 ms apart: the old code then never frees them all at once. */
const stagger = { first: MAX_PENDING_HANDSHAKES, everyMs: 40 };

it('a member links up while a stranger on the same address floods the port with silent connections', async () => {
  await joinDuring({ count: 320, mode: 'bare', reopenMs: 0, stagger });
}, 120_000);

it('a member links up while strangers on 16 other addresses flood the port with hellos they cannot prove', async () => {
  const from = Array.from({ length: 16 }, (_, i) => `127.0.0.${i + 2}`);
  await joinDuring({ count: 320, mode: 'hello', reopenMs: 0, stagger, from });
}, 120_000);
