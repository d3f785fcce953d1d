// Trial s51, F3: a member paused (laptop lid, `kill -STOP`) and busy after it resumed never
// linked again: the overlay dialled only members with news younger than ALIVE_MS (20 s), so once
// both sides had gone that long without reaching each other neither dialled the other, until
// a restart. Members linked in this run are dialled, at the backoff, until they are forgotten.
import { afterAll, afterEach, expect, it } from 'vitest';
import { ALIVE_MS } from '../../daemon/src/net/overlay.js';
import { nodeTransports } from '../../daemon/src/net/node-transports.js';
import type { Link } from '../../daemon/src/net/link.js';
import { shutdownWebRtc } from '../../daemon/src/net/webrtc.js';
import { Cluster, connectedTo, sleep, waitFor } from './overlay-harness.js';

let cluster = new Cluster();
afterEach(async () => {
  await cluster.stopAll();
  cluster = new Cluster();
});
afterAll(() => shutdownWebRtc());

it('two members that could not reach each other for longer than ALIVE_MS link again once they can', async () => {
  const a = await cluster.start('a');
  const b = await cluster.start('b', { seeds: a.addrs });
  await waitFor('a and b linked', () => connectedTo(a).includes('b') && connectedTo(b).includes('a'), 20_000, [a, b]);

  // Cut both ways: every dial still connects, and each hello is refused, so neither side has
  // any news of the other for the whole cut, as when one of them is paused.
  a.overlay.partition(['b']);
  b.overlay.partition(['a']);
  await waitFor('a and b down', () => !connectedTo(a).includes('b') && !connectedTo(b).includes('a'), 20_000, [a, b]);
  await sleep(ALIVE_MS + 5_000);
  expect(a.overlay.peers().find((p) => p.id === 'b')?.state).toBe('reconnecting');
  expect(b.overlay.peers().find((p) => p.id === 'a')?.state).toBe('reconnecting');

  a.overlay.heal();
  b.overlay.heal();
  // Before the fix neither dialled the other again (no news for longer than ALIVE_MS).
  await waitFor('a and b linked again', () => connectedTo(a).includes('b') && connectedTo(b).includes('a'), 30_000, [a, b]);
  a.received.clear();
  expect(a.overlay.broadcast(Buffer.from('after the cut'))).toBe(1);
  await waitFor('the message after the cut delivered', () => (b.received.get('a') ?? []).includes('after the cut'), 20_000, [a, b]);
}, 120_000);

it('a dial that never settles does not stop that address from being dialled again', async () => {
  const b = await cluster.start('b');
  // a's first dial hangs for good (a transport whose socket never reports: no open, no error,
  // no close); the later ones are real. Before the fix the hung dial held that address's dials.
  const real = nodeTransports();
  let dials = 0;
  const transports = { ...real, dial: (url: string, opts: { timeoutMs?: number }): Promise<Link> => (++dials === 1 ? new Promise<Link>(() => undefined) : real.dial(url, opts)) };
  const a = await cluster.start('a', { seeds: b.addrs, transports });
  await waitFor('a and b linked', () => connectedTo(a).includes('b') && connectedTo(b).includes('a'), 30_000, [a, b]);
  expect(dials).toBeGreaterThan(1);
  expect(a.logs.some((l) => /did not finish within/.test(l))).toBe(true);
}, 60_000);

it('two members cut off from each other until each forgot the other link again once they can, and keep an address to save meanwhile', async () => {
  // Forgotten after 2 s instead of 10 minutes (the overlay's test knob, decision 151).
  const timing = { pingIntervalMs: 300, forgetAfterMs: 2_000 };
  const a = await cluster.start('a', { timing });
  const b = await cluster.start('b', { seeds: a.addrs, timing });
  await waitFor('a and b linked', () => connectedTo(a).includes('b') && connectedTo(b).includes('a'), 20_000, [a, b]);

  a.overlay.partition(['b']);
  b.overlay.partition(['a']);
  await waitFor('each forgot the other', () => a.overlay.peers().length === 0 && b.overlay.peers().length === 0, 30_000, [a, b]);
  // A daemon stopping now saves these for its next start: without them it could find nobody.
  expect(b.overlay.knownAddrs()).toEqual(expect.arrayContaining(a.addrs));

  a.overlay.heal();
  b.overlay.heal();
  // Before the fix neither knew the other any more: no dial, for as long as they ran.
  await waitFor('a and b linked again', () => connectedTo(a).includes('b') && connectedTo(b).includes('a'), 90_000, [a, b]);
}, 180_000);
