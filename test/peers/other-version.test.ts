/**
 * A member running another version of Chorus (another network protocol version): both ends refuse
 * the link, and the person joining is told so at once, with which end is older and what to do.
 * Before, each end settled its own refusal as "connection closed during handshake (…)", which the
 * overlay did not count as a refusal: `chorus join` said "still waiting for a peer of the session
 * to answer" for its whole wait (found trying a v6 daemon against a v7 one), then blamed an
 * overloaded daemon.
 */
import { WebSocket, WebSocketServer } from 'ws';
import { afterEach, expect, it } from 'vitest';
import type { Daemon } from '../../daemon/src/daemon.js';
import { decodeJoinCode, encodeJoinCode } from '../../daemon/src/net/join-code.js';
import { NET_VERSION } from '../../daemon/src/net/secure.js';
import { joinAll, logsOf, startDaemon } from '../support/in-process.js';
import { tempProject } from '../support/project-dir.js';
import { stopAll } from './peer-helpers.js';

let daemons: Daemon[] = [];
let servers: WebSocketServer[] = [];
afterEach(async () => {
  [daemons] = await stopAll(daemons, []);
  for (const s of servers) {
    for (const c of s.clients) c.terminate();
    await new Promise((r) => s.close(r));
  }
  servers = [];
});

/** A hello frame as a daemon speaking network protocol `v` sends it first on every link. */
function helloOf(v: number): Buffer {
  const hello = JSON.stringify({ p: 'chorus-net', v, id: 'a'.repeat(32), n: Buffer.alloc(32, 1).toString('base64') });
  return Buffer.concat([Buffer.from([1]), Buffer.from(hello)]);
}

/**
 * A member of an older version, as its daemon behaves on a link: its hello first, then a refusal
 * of ours naming both versions (what the v6 daemon sent), then the close.
 */
async function olderMember(): Promise<string> {
  const wss = new WebSocketServer({ host: '127.0.0.1', port: 0 });
  servers.push(wss);
  await new Promise((r) => wss.once('listening', r));
  wss.on('connection', (ws: WebSocket) => {
    ws.send(helloOf(NET_VERSION - 1));
    ws.once('message', () => {
      ws.send(Buffer.concat([Buffer.from([3]), Buffer.from(`peer speaks Chorus network protocol v${NET_VERSION}, this daemon speaks v${NET_VERSION - 1}; upgrade the older one`)]));
      ws.close();
    });
  });
  const { port } = wss.address() as { port: number };
  return `ws://127.0.0.1:${port}`;
}

it('joining a member of an older version fails at once, naming both versions and which end to upgrade; nothing is taken in', { timeout: 60_000 }, async () => {
  const host = await startDaemon(tempProject({ 'a.txt': 'x\n' }), 'host');
  const guest = await startDaemon(tempProject(), 'guest');
  daemons = [host, guest];
  const older = await olderMember();
  // The session's code, pointing at the older member only.
  const code = encodeJoinCode({ ...decodeJoinCode(await host.share({ host: '127.0.0.1', webrtc: false })), addrs: [older] });
  const started = Date.now();
  const err = await guest.join(code, { disk: true, host: '127.0.0.1' }, () => undefined).then(() => undefined, (e: Error) => e);
  expect(err?.message).toMatch(new RegExp(`network protocol v${NET_VERSION - 1}, this daemon v${NET_VERSION}: they are different versions of Chorus, and the peer runs the older one; upgrade Chorus there`));
  expect(err?.message).not.toMatch(/connection closed during handshake|overloaded|nothing came/);
  // At once: not after the join's wait for silence (JOIN_TIMEOUT_MS, a minute).
  expect(Date.now() - started).toBeLessThan(30_000);
  expect(guest.workspace.index.entries()).toEqual([]);
  expect(guest.session.session).toBeUndefined();
});

it('a daemon that a newer member dials refuses it, naming this end as the older one, and logs that reason itself', { timeout: 60_000 }, async () => {
  const host = await startDaemon(tempProject({ 'a.txt': 'x\n' }), 'host');
  daemons = [host];
  const code = decodeJoinCode(await host.share({ host: '127.0.0.1', webrtc: false }));
  const addr = code.addrs.find((a) => a.includes('127.0.0.1'))!;
  // A newer member's daemon: its hello with a higher version.
  const ws = new WebSocket(addr);
  const frames: Buffer[] = [];
  ws.on('message', (d: Buffer) => frames.push(d));
  await new Promise((r) => ws.once('open', r));
  ws.send(helloOf(NET_VERSION + 1));
  await new Promise((r) => ws.once('close', r));
  const refusal = frames.find((f) => f[0] === 3);
  expect(refusal?.subarray(1).toString()).toMatch(new RegExp(`v${NET_VERSION + 1}, this daemon v${NET_VERSION}: .* and this daemon runs the older one; upgrade Chorus there`));
  expect(logsOf(host).some((l) => /this daemon runs the older one/.test(l) && !/connection closed during handshake/.test(l))).toBe(true);
});

it('a member whose daemon now runs another version is shown in status as not linked, with why, until it links again', { timeout: 60_000 }, async () => {
  const host = await startDaemon(tempProject({ 'a.txt': 'x\n' }), 'host');
  const guest = await startDaemon(tempProject(), 'guest');
  daemons = [host, guest];
  await joinAll(host, [guest], { webrtc: false });
  const guestId = guest.identity.id;
  const port = Number(new URL(guest.session.listening.find((a) => a.includes('127.0.0.1'))!).port);
  await guest.stop();
  daemons = [host];
  // The guest's person installed an older Chorus and started it: the same address, another version.
  const wss = new WebSocketServer({ host: '127.0.0.1', port });
  servers.push(wss);
  await new Promise((r) => wss.once('listening', r));
  wss.on('connection', (ws: WebSocket) => {
    ws.send(helloOf(NET_VERSION - 1));
    ws.once('message', () => ws.close());
  });
  const peer = async () => host.status().peers.find((p) => p.id === guestId);
  const until = Date.now() + 40_000;
  while ((await peer())?.refused === undefined && Date.now() < until) await new Promise((r) => setTimeout(r, 100));
  expect((await peer())?.refused).toMatch(new RegExp(`v${NET_VERSION - 1}, this daemon v${NET_VERSION}: .*the peer runs the older one`));

  // Upgraded again: the member's own daemon starts in its folder and links; the reason goes.
  for (const c of wss.clients) c.terminate();
  await new Promise((r) => wss.close(r));
  servers = [];
  daemons.push(await startDaemon(guest.project.root, 'guest'));
  const back = Date.now() + 40_000;
  while ((await peer())?.state !== 'connected' && Date.now() < back) await new Promise((r) => setTimeout(r, 100));
  expect(await peer()).toMatchObject({ state: 'connected' });
  expect((await peer())?.refused).toBeUndefined();
});
