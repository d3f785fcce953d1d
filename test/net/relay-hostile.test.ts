// Issue 10, item 10: the relay kept 1.12 GB for a member that did not read, and anyone who knew
// a peer id could take its slot over (the victim's connection was replaced 82 times in 8 s).
import { afterEach, beforeEach, expect, it } from 'vitest';
import { WebSocket } from 'ws';
import { encodeRouted, RelayFrame, tagged } from '../../daemon/src/net/relay-protocol.js';
import { MAX_BUFFERED_BYTES, MAX_UNJOINED, startRelay, type RelayHandle } from '../../daemon/src/net/relay-server.js';

let relay: RelayHandle;
let log: string[];
const sockets: WebSocket[] = [];
beforeEach(async () => {
  log = [];
  relay = await startRelay({ host: '127.0.0.1', port: 0, log: (m) => log.push(m) });
});
afterEach(async () => {
  for (const s of sockets.splice(0)) s.terminate();
  await relay.close();
});

const ROOM = 'ab'.repeat(16);

async function member(peer: string, key?: string): Promise<{ ws: WebSocket; closed: Promise<string> }> {
  const ws = new WebSocket(relay.url, { perMessageDeflate: false });
  sockets.push(ws);
  await new Promise((r, j) => ws.once('open', r).once('error', j));
  const closed = new Promise<string>((r) => ws.once('close', (_c, reason) => r(reason.toString())));
  const first = new Promise<void>((r) => ws.once('message', () => r()));
  ws.send(tagged(RelayFrame.Join, JSON.stringify({ room: ROOM, peer, ...(key ? { key } : {}) })));
  await Promise.race([first, closed]);
  return { ws, closed };
}

it('a peer id slot cannot be taken over by another connection, only by the same daemon (same key)', async () => {
  const victim = await member('alice', 'k-alice');
  const thief = await member('alice', 'k-thief');
  expect(await thief.closed).toMatch(/in use in the room by another connection/);
  const anonymous = await member('alice');
  expect(await anonymous.closed).toMatch(/in use/);
  expect(victim.ws.readyState).toBe(WebSocket.OPEN);
  // The same daemon reconnecting (its old connection half-dead) takes its own slot back.
  const again = await member('alice', 'k-alice');
  expect(await victim.closed).toMatch(/replaced by a newer connection of the same daemon/);
  expect(again.ws.readyState).toBe(WebSocket.OPEN);
});

it('a member that does not read is dropped instead of buffered for', async () => {
  const sender = await member('bob', 'kb');
  const slow = await member('carol', 'kc');
  (slow.ws as unknown as { _socket: { pause(): void } })._socket.pause(); // carol stops reading
  const chunk = new Uint8Array(1024 * 1024);
  for (let i = 0; i < 4 * (MAX_BUFFERED_BYTES / chunk.length) && slow.ws.readyState === WebSocket.OPEN; i++) {
    sender.ws.send(encodeRouted(RelayFrame.Data, 'carol', new Uint8Array(8), chunk));
    await new Promise((r) => setTimeout(r, 5));
    if (log.some((l) => /not reading/.test(l))) break;
  }
  const end = Date.now() + 20_000;
  while (!log.some((l) => /not reading: over \d+ bytes waiting for it/.test(l))) {
    if (Date.now() > end) throw new Error(`the relay never dropped the slow member; log: ${log.join(' / ')}`);
    await new Promise((r) => setTimeout(r, 50));
  }
  expect(sender.ws.readyState).toBe(WebSocket.OPEN);
});

it('bare connections that never join are capped, and closing them logs a few lines, not one each (decision 149)', async () => {
  const n = MAX_UNJOINED + 40;
  const reasons: string[] = [];
  for (let i = 0; i < n; i++) {
    const ws = new WebSocket(relay.url, { perMessageDeflate: false });
    ws.on('error', () => undefined);
    ws.on('close', (_c, reason) => reasons.push(reason.toString()));
    sockets.push(ws);
  }
  const deadline = Date.now() + 8000;
  while (reasons.length < n - MAX_UNJOINED && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
  expect(reasons.length).toBeGreaterThanOrEqual(n - MAX_UNJOINED);
  expect(reasons.every((r) => /too many connections waiting to join/.test(r))).toBe(true);
  expect(log.filter((l) => /relay: closing a connection/.test(l)).length).toBeLessThanOrEqual(3);
  // A member still gets in once the strangers are gone.
  for (const s of sockets.splice(0)) s.terminate();
  await new Promise((r) => setTimeout(r, 200));
  const alice = await member('alice', 'k');
  expect(alice.ws.readyState).toBe(WebSocket.OPEN);
});
