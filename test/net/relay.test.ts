import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Link } from '../../daemon/src/net/link.js';
import { RelayClient, type RelayLink } from '../../daemon/src/net/relay-client.js';
import { relayRoomId } from '../../daemon/src/net/relay-protocol.js';
import { startRelay, type RelayHandle } from '../../daemon/src/net/relay-server.js';
import { secureHandshake } from '../../daemon/src/net/secure.js';
import { dialWebSocket } from '../../daemon/src/net/websocket.js';
import { closed, collect, transportAcceptance } from './transport-acceptance.js';

const secret = new Uint8Array(randomBytes(32));
const room = relayRoomId(secret);
let relay: RelayHandle;
let alice: RelayClient;
let bob: RelayClient;
const forwarded: Buffer[] = [];
const relayLog: string[] = [];

beforeAll(async () => {
  relay = await startRelay({ host: '127.0.0.1', port: 0, log: (m) => relayLog.push(m), onForward: (f) => forwarded.push(Buffer.from(f)) });
  alice = await RelayClient.connect({ url: relay.url, roomId: room, peerId: 'alice', dial: dialWebSocket });
  bob = await RelayClient.connect({ url: relay.url, roomId: room, peerId: 'bob', dial: dialWebSocket });
});
afterAll(async () => {
  for (const c of pairClients) c.close();
  alice.close();
  bob.close();
  await relay.close();
});

function nextLink(client: RelayClient): Promise<RelayLink> {
  return new Promise((resolve) => client.once('link', resolve));
}

/** Clients made for the acceptance suite's pairs (in a room of their own), closed at the end. */
const pairClients: RelayClient[] = [];
const pairRoom = relayRoomId(new Uint8Array(randomBytes(32)));

/**
 * A link from a fresh pair of clients each time: a fresh connection's socket buffers are small,
 * so the suite's send-buffer test sees bytes wait, as on a daemon's first sync (a connection the
 * earlier tests had pushed megabytes through has grown kernel buffers that hold them all).
 */
async function relayPair(): Promise<[Link, Link]> {
  const from = await RelayClient.connect({ url: relay.url, roomId: pairRoom, peerId: `a${pairClients.length}`, dial: dialWebSocket });
  const to = await RelayClient.connect({ url: relay.url, roomId: pairRoom, peerId: `b${pairClients.length}`, dial: dialWebSocket });
  pairClients.push(from, to);
  const inbound = nextLink(to);
  const out = from.dial(`b${pairClients.length - 2}`);
  return [out, await inbound];
}

/** Six 1 MiB sends at once: under the relay's 8 MiB bound for a reader behind (transport-acceptance.ts). */
const overRelay = { sendBuffer: true, sendBufferMiB: 6 };
transportAcceptance('relay', relayPair, overRelay);
transportAcceptance(
  'secure over relay',
  async () => {
    const [a, b] = await relayPair();
    return Promise.all([secureHandshake(a, { secret, selfId: 'alice' }), secureHandshake(b, { secret, selfId: 'bob' })]);
  },
  overRelay,
);

describe('relay', () => {
  it('derives the room from the secret by a one-way hash, never the secret itself', () => {
    expect(room).toMatch(/^[0-9a-f]{64}$/);
    expect(room).not.toContain(Buffer.from(secret).toString('hex'));
    expect(relayRoomId(secret)).toBe(room);
    expect(relayRoomId(new Uint8Array(randomBytes(32)))).not.toBe(room);
  });

  it('introduces peers of a room, and only of that room', async () => {
    const joined = new Promise<string>((resolve) => alice.once('peer-joined', resolve));
    const carol = await RelayClient.connect({ url: relay.url, roomId: room, peerId: 'carol', dial: dialWebSocket });
    const stranger = await RelayClient.connect({ url: relay.url, roomId: relayRoomId(new Uint8Array(32)), peerId: 'dave', dial: dialWebSocket });
    expect(await joined).toBe('carol');
    expect(carol.peers().sort()).toEqual(['alice', 'bob']);
    expect(stranger.peers()).toEqual([]);
    const left = new Promise<string>((resolve) => alice.once('peer-left', resolve));
    carol.close();
    expect(await left).toBe('carol');
    stranger.close();
  });

  it('closes a link to a peer that is not in the room, with a reason', async () => {
    const link = alice.dial('nobody');
    expect(await closed(link)).toMatch(/not in the relay room/);
  });

  it('forwards only ciphertext when links are secured', async () => {
    forwarded.length = 0;
    const [a, b] = await relayPair();
    const [sa, sb] = await Promise.all([secureHandshake(a, { secret, selfId: 'alice' }), secureHandshake(b, { secret, selfId: 'bob' })]);
    const got = collect(sb, 1);
    sa.send(Buffer.from('PLAINTEXT-MARKER-relay'));
    expect(Buffer.from((await got)[0]!).toString()).toBe('PLAINTEXT-MARKER-relay');
    expect(forwarded.length).toBeGreaterThan(2);
    expect(Buffer.concat(forwarded).includes('PLAINTEXT-MARKER')).toBe(false);
    expect(Buffer.concat(forwarded).includes(Buffer.from(secret))).toBe(false);
    sa.close();
  });

  it('drops a connection that sends garbage and keeps serving the others', async () => {
    const raw = await dialWebSocket(relay.url);
    raw.send(new Uint8Array([0xde, 0xad, 0xbe, 0xef]));
    expect(await closed(raw)).toMatch(/first frame must be a join/);
    const raw2 = await dialWebSocket(relay.url);
    raw2.send(new Uint8Array([0x10, ...Buffer.from(JSON.stringify({ room, peer: 'eve' }))]));
    await collect(raw2, 1);
    raw2.send(new Uint8Array([0x21, 200, 1]));
    expect(await closed(raw2)).toMatch(/truncated routed frame/);
    expect(relayLog.join('\n')).toMatch(/truncated routed frame/);
    const [a, b] = await relayPair();
    const got = collect(b, 1);
    a.send(new Uint8Array([1]));
    await got;
    a.close();
  });
});
