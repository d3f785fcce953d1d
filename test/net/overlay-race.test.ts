/**
 * The path-switching race on real links (issue 13; found in decision 097, fixed in 105). Two
 * peers meet through a relay that is slower than their direct path, as a relay across the
 * internet is: each learns the other's address from the hello and both dial WebSocket in the same
 * instant, so the stream moves relay → WebSocket → the other WebSocket → WebRTC while the END on
 * the relay is still on its way. It pins the stall found there: an END read on a link the stream
 * had not reached yet was dropped, and a link closed as superseded took messages the stream still
 * needed with it — the stream stopped for good with both peers "connected".
 */
import { createConnection, createServer, type Server, type Socket } from 'node:net';
import { afterAll, afterEach, expect, it } from 'vitest';
import { startRelay } from '../../daemon/src/net/relay-server.js';
import { shutdownWebRtc } from '../../daemon/src/net/webrtc.js';
import { Cluster, sleep, waitFor, type Node } from './overlay-harness.js';

let cluster = new Cluster();
afterEach(async () => {
  await cluster.stopAll();
  cluster = new Cluster();
});
afterAll(() => shutdownWebRtc());

const ROUNDS = 6;
/** One-way delay the proxy adds in front of the relay. */
const RELAY_DELAY_MS = 40;

/** A TCP proxy on loopback that passes bytes on unchanged and in order, each chunk `delayMs` late. */
async function delayingProxy(targetPort: number, delayMs: number): Promise<{ port: number; close(): Promise<void> }> {
  const sockets = new Set<Socket>();
  const later = (to: Socket) => (chunk: Buffer) => void setTimeout(() => to.destroyed || to.write(chunk), delayMs);
  const server: Server = createServer((client) => {
    const upstream = createConnection({ host: '127.0.0.1', port: targetPort });
    for (const s of [client, upstream]) {
      sockets.add(s);
      s.on('close', () => sockets.delete(s));
      s.on('error', () => {});
    }
    client.on('data', later(upstream));
    upstream.on('data', later(client));
    client.on('close', () => setTimeout(() => upstream.destroy(), delayMs));
    upstream.on('close', () => setTimeout(() => client.destroy(), delayMs));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as { port: number }).port;
  return {
    port,
    close: async () => {
      for (const s of sockets) s.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

it('peers meeting through a slow relay and racing their direct links keep every message, in order, without a peer-down', async () => {
  const relay = await startRelay({ host: '127.0.0.1', port: 0 });
  const proxy = await delayingProxy(relay.port, RELAY_DELAY_MS);
  const relayUrl = `ws://127.0.0.1:${proxy.port}`;
  try {
    for (let round = 0; round < ROUNDS; round++) {
      const rtc = { bindAddress: '127.0.0.1' };
      // No seeds: they can only meet through the relay; direct addresses come from the hellos.
      const a = await cluster.start(`a${round}`, { relayUrl, webrtc: rtc });
      const b = await cluster.start(`b${round}`, { relayUrl, webrtc: rtc });
      const path = (n: Node, peer: Node): string | undefined => n.overlay.peers().find((p) => p.id === peer.id && p.state === 'connected')?.path;
      await waitFor(`round ${round}: connected`, () => path(a, b) !== undefined, 20_000, [a, b]);
      // Stream both ways from the first moment on, across every switch.
      let n = 0;
      const sent: string[] = [];
      const sentByB: string[] = [];
      while (path(a, b) !== 'webrtc' || path(b, a) !== 'webrtc' || n < 200) {
        const text = `m${n++}`;
        if (a.overlay.send(b.id, Buffer.from(text))) sent.push(text);
        if (b.overlay.send(a.id, Buffer.from(text))) sentByB.push(text);
        await sleep(1);
        if (n > 20_000) throw new Error(`round ${round}: no webrtc path:\n${a.logs.join('\n')}`);
      }
      const arrived = (to: Node, from: Node, count: number): boolean => (to.received.get(from.id)?.length ?? 0) >= count;
      await waitFor(`round ${round}: everything delivered`, () => arrived(b, a, sent.length) && arrived(a, b, sentByB.length), 20_000, [a, b]);
      expect(b.received.get(a.id)).toEqual(sent);
      expect(a.received.get(b.id)).toEqual(sentByB);
      expect([...a.events, ...b.events].filter((e) => e.startsWith('down'))).toEqual([]);
      await cluster.stopAll();
    }
  } finally {
    await cluster.stopAll();
    await proxy.close();
    await relay.close();
  }
}, 180_000);
