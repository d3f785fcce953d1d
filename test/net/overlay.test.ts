import { readdirSync, readFileSync } from 'node:fs';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { localHostId } from '../../daemon/src/net/host-id.js';
import { MAX_KNOWN_MEMBERS, MAX_PAYLOAD_BYTES, MAX_SAVED_ADDRS, meshNeighbours } from '../../daemon/src/net/overlay.js';
import { frame, jsonFrame, Wire } from '../../daemon/src/net/overlay-wire.js';
import { withoutWriter, writerKeys } from '../../daemon/src/net/credentials.js';
import { startRelay } from '../../daemon/src/net/relay-server.js';
import { secureHandshake } from '../../daemon/src/net/secure.js';
import { shutdownWebRtc } from '../../daemon/src/net/webrtc.js';
import { dialWebSocket } from '../../daemon/src/net/websocket.js';
import { Cluster, connectedTo, newSecret, sleep, waitFor, type Node } from './overlay-harness.js';

let cluster = new Cluster();
afterEach(async () => {
  await cluster.stopAll();
  cluster = new Cluster();
});
afterAll(() => shutdownWebRtc());

const others = (all: Node[], me: Node): string[] => all.filter((n) => n !== me).map((n) => n.id).sort();

/** Every node broadcasts `count` numbered messages; every node must get all of them, in order. */
async function broadcastAndCheck(nodes: Node[], count: number, tag: string): Promise<void> {
  for (const n of nodes) n.received.clear();
  for (let i = 0; i < count; i++) for (const n of nodes) expect(n.overlay.broadcast(Buffer.from(`${tag}:${n.id}:${i}`))).toBe(nodes.length - 1);
  await waitFor(`all ${tag} messages delivered`, () => nodes.every((n) => others(nodes, n).every((o) => (n.received.get(o)?.length ?? 0) === count)), 20_000, nodes);
  for (const n of nodes) {
    for (const o of others(nodes, n)) {
      expect(n.received.get(o)).toEqual(Array.from({ length: count }, (_, i) => `${tag}:${o}:${i}`));
    }
  }
}

describe('overlay on loopback', () => {
  it('two peers connect, exchange meta, and deliver messages both ways in order', async () => {
    const a = await cluster.start('alice');
    const b = await cluster.start('bob', { seeds: a.addrs });
    const metaSeen = new Promise<Record<string, unknown>>((resolve) => a.overlay.once('peer-up', (_id, meta) => resolve(meta)));
    await waitFor('mesh of 2', () => connectedTo(a).join() === 'bob' && connectedTo(b).join() === 'alice', 10_000, [a, b]);
    // The overlay adds its host id, so same-machine peers keep WebRTC on loopback.
    // readOnly is what bob proved in the handshake (a writer), not anything bob said.
    expect(await metaSeen).toEqual({ name: 'name-of-bob', host: localHostId(), readOnly: false });
    await broadcastAndCheck([a, b], 1000, 'm');
    const info = a.overlay.peers().find((p) => p.id === 'bob')!;
    expect(info.path).toBe('websocket');
    await waitFor('an rtt measurement', () => a.overlay.peers().find((p) => p.id === 'bob')?.rttMs !== undefined);
    expect(a.overlay.knownAddrs()).toEqual(b.addrs);
    expect(b.overlay.knownAddrs()).toEqual(a.addrs);
    expect(a.overlay.send('nobody', Buffer.from('x'))).toBe(false);
    expect(() => a.overlay.send('bob', new Uint8Array(MAX_PAYLOAD_BYTES + 1))).toThrow(/exceeds the 64 MiB frame limit/);
    expect(connectedTo(a)).toEqual(['bob']);
  });

  it('five peers that only know the sharer form a full mesh; it survives the sharer leaving; a newcomer joins through anyone', async () => {
    const sharer = await cluster.start('p0');
    const rest: typeof sharer[] = [];
    for (let i = 1; i < 5; i++) rest.push(await cluster.start(`p${i}`, { seeds: sharer.addrs }));
    const all = [sharer, ...rest];
    await waitFor('full mesh of 5', () => all.every((n) => connectedTo(n).join() === others(all, n).join()), 20_000, all);
    await broadcastAndCheck(all, 50, 'five');

    await sharer.overlay.stop();
    await waitFor('sharer gone everywhere', () => rest.every((n) => connectedTo(n).join() === others(rest, n).join()), 20_000, rest);
    await broadcastAndCheck(rest, 50, 'after-sharer');
    // It said goodbye: 'left', not 'reconnecting' (it is still dialled, and comes back if it returns).
    expect(rest.every((n) => n.overlay.peers().some((p) => p.id === 'p0' && p.state === 'left'))).toBe(true);

    // A newcomer that can reach any one member (here p3, from a persisted address list) gets everyone.
    const late = await cluster.start('p5', { seeds: rest[2]!.addrs });
    const now = [...rest, late];
    await waitFor('newcomer meshed', () => now.every((n) => connectedTo(n).join() === others(now, n).join()), 20_000, now);
    await broadcastAndCheck(now, 20, 'late');
  });

  it('reconnects a dropped link by itself, and finds a restarted peer on its new port through gossip', async () => {
    const a = await cluster.start('a');
    const b = await cluster.start('b', { seeds: a.addrs });
    const c = await cluster.start('c', { seeds: a.addrs });
    await waitFor('mesh of 3', () => [a, b, c].every((n) => connectedTo(n).length === 2), 20_000, [a, b, c]);

    a.overlay.dropLinks('b', 'test drop');
    await waitFor('b seen down and up again by a', () => a.events.filter((e) => e === 'up:b').length === 2, 20_000, [a, b]);
    expect(a.events.some((e) => e.startsWith('down:b:'))).toBe(true);
    await waitFor('b connected again', () => connectedTo(a).includes('b') && connectedTo(b).includes('a'));
    await broadcastAndCheck([a, b, c], 20, 'after-drop');

    // b goes away and comes back on a different port, knowing only c: a learns b's new address from gossip.
    const oldAddrs = b.addrs;
    await b.overlay.stop();
    cluster.nodes.splice(cluster.nodes.indexOf(b), 1);
    await waitFor('b down at a', () => !connectedTo(a).includes('b'));
    expect(a.overlay.peers().find((p) => p.id === 'b')?.state).toBe('left');
    const b2 = await cluster.start('b', { seeds: c.addrs });
    expect(b2.addrs).not.toEqual(oldAddrs);
    await waitFor('restarted b reconnected with a', () => connectedTo(a).includes('b') && connectedTo(b2).includes('a'), 20_000, [a, b2, c]);
    expect(a.overlay.peers().find((p) => p.id === 'b')?.state).toBe('connected');
    await broadcastAndCheck([a, b2, c], 20, 'restarted');
  });

  it('refuses a wrong secret with a clear reason and delivers nothing either way', async () => {
    const a = await cluster.start('a');
    const intruderCluster = new Cluster(newSecret(), cluster.sessionId);
    const x = await intruderCluster.start('x', { seeds: a.addrs });
    try {
      await waitFor('intruder refused', () => x.refusals.length > 0, 10_000, [a, x]);
      expect(x.refusals[0]).toMatch(/session secret does not match|refused by peer/);
      expect(a.logs.join('\n')).toMatch(/session secret does not match/);
      x.overlay.broadcast(Buffer.from('intruder data'));
      await sleep(500);
      expect(a.events).toEqual([]);
      expect(x.events).toEqual([]);
      expect(a.received.size).toBe(0);
      expect(connectedTo(a)).toEqual([]);
    } finally {
      await intruderCluster.stopAll();
    }
  });

  it('logs garbage, truncated and undecryptable frames and keeps serving', async () => {
    const a = await cluster.start('a');
    const url = a.addrs[0]!;

    const garbage = await dialWebSocket(url);
    garbage.send(new Uint8Array([0xff, 0x00, 0x13, 0x37]));
    const truncated = await dialWebSocket(url);
    truncated.send(new Uint8Array([0x01, ...Buffer.from('{"p":"chorus-net","v":1,"id":"tr')]));
    // A peer with the right secret that then sends bytes the AEAD rejects.
    const forger = await dialWebSocket(url);
    await secureHandshake(forger, { secret: cluster.secret, selfId: 'forger' });
    forger.send(new Uint8Array(64).fill(7));
    // And one that sends a malformed overlay hello inside valid encryption.
    const rude = await secureHandshake(await dialWebSocket(url), { secret: cluster.secret, selfId: 'rude' });
    rude.send(new Uint8Array([0x01, ...Buffer.from('{not json')]));

    await waitFor('all four logged', () => {
      const log = a.logs.join('\n');
      return /unexpected frame during handshake/.test(log) && /not valid JSON/.test(log) && /failed to decrypt/.test(log) && /malformed hello/.test(log);
    }, 10_000, [a]);
    expect(a.events).toEqual([]);

    const b = await cluster.start('b', { seeds: a.addrs });
    await waitFor('a still serves', () => connectedTo(a).join() === 'b', 10_000, [a, b]);
    await broadcastAndCheck([a, b], 10, 'still-serving');
  });

  it('works relay-only, and the relay never sees plaintext, the secret or peer meta', async () => {
    const forwarded: Buffer[] = [];
    const relay = await startRelay({ host: '127.0.0.1', port: 0, onForward: (f) => forwarded.push(Buffer.from(f)) });
    try {
      const a = await cluster.start('a', { direct: false, relayUrl: relay.url, listen: undefined });
      const b = await cluster.start('b', { direct: false, relayUrl: relay.url, listen: undefined });
      await waitFor('connected through the relay', () => connectedTo(a).join() === 'b' && connectedTo(b).join() === 'a', 15_000, [a, b]);
      expect(a.overlay.peers()[0]!.path).toBe('relay');
      expect(a.addrs).toEqual([]);
      expect(a.overlay.send('b', Buffer.from('PLAINTEXT-MARKER-overlay'))).toBe(true);
      await waitFor('marker delivered', () => b.received.get('a')?.includes('PLAINTEXT-MARKER-overlay') === true);
      await broadcastAndCheck([a, b], 100, 'relayed');
      expect(forwarded.length).toBeGreaterThan(100);
      const everything = Buffer.concat(forwarded);
      expect(everything.includes('PLAINTEXT-MARKER')).toBe(false);
      expect(everything.includes('relayed:a:')).toBe(false);
      expect(everything.includes('name-of-a')).toBe(false);
      expect(everything.includes(Buffer.from(cluster.secret))).toBe(false);
    } finally {
      await cluster.stopAll();
      await relay.close();
    }
  });

  it('upgrades to WebRTC when both sides can, without reordering, losing or dropping the peer', async () => {
    const rtc = { bindAddress: '127.0.0.1' };
    const a = await cluster.start('a', { webrtc: rtc });
    const b = await cluster.start('b', { webrtc: rtc, seeds: a.addrs });
    await new Promise<void>((resolve) => a.overlay.once('peer-up', () => resolve()));
    // Stream messages from the first moment on, across the websocket → webrtc switch.
    let sent = 0;
    const path = (): string | undefined => a.overlay.peers().find((p) => p.id === 'b')?.path;
    while (path() !== 'webrtc' || b.overlay.peers().find((p) => p.id === 'a')?.path !== 'webrtc' || sent < 200) {
      a.overlay.send('b', Buffer.from(`s:${sent++}`));
      b.overlay.send('a', Buffer.from(`r:${sent}`));
      await sleep(2);
      if (sent > 20_000) throw new Error(`no webrtc path:\n${a.logs.join('\n')}`);
    }
    for (let i = 0; i < 100; i++) a.overlay.send('b', Buffer.from(`s:${sent++}`));
    await waitFor('all streamed messages delivered', () => (b.received.get('a')?.length ?? 0) >= sent, 20_000, [a, b]);
    expect(b.received.get('a')).toEqual(Array.from({ length: sent }, (_, i) => `s:${i}`));
    expect(a.events.filter((e) => e.startsWith('down'))).toEqual([]);
    expect(b.events.filter((e) => e.startsWith('down'))).toEqual([]);
    expect(a.logs.join('\n')).toMatch(/switching to webrtc/);
  });

  it('an idle stream leaves WebRTC for WebSocket (and node-datachannel stops its threads); the next message brings WebRTC back', async () => {
    // Decision 106: while any peer connection lives, usrsctp's timer thread wakes the process 100 times a second.
    const rtc = { bindAddress: '127.0.0.1' };
    const timing = { pingIntervalMs: 300, webrtcIdleMs: 1000 };
    const a = await cluster.start('a', { webrtc: rtc, timing });
    const b = await cluster.start('b', { webrtc: rtc, timing, seeds: a.addrs });
    const path = (n: Node, peer: string): string | undefined => n.overlay.peers().find((p) => p.id === peer)?.path;
    // A thread may end between the listing and the read of its name (ENOENT): it is no timer then.
    const threadName = (t: string): string | undefined => {
      try {
        return readFileSync(`/proc/self/task/${t}/comm`, 'utf8').trim();
      } catch {
        return undefined;
      }
    };
    const sctpTimer = (): boolean => readdirSync('/proc/self/task').some((t) => threadName(t) === 'SCTP timer');
    const sent: string[] = [];
    const send = (text: string): void => {
      expect(a.overlay.send('b', Buffer.from(text))).toBe(true);
      sent.push(text);
    };
    await waitFor('connected', () => path(a, 'b') !== undefined, 10_000, [a, b]);
    for (let i = 0; path(a, 'b') !== 'webrtc' || path(b, 'a') !== 'webrtc'; i++) {
      send(`busy:${i}`);
      await sleep(20);
      if (i > 1000) throw new Error(`no webrtc path:\n${a.logs.join('\n')}`);
    }
    expect(sctpTimer()).toBe(true);
    // Nothing sent for webrtcIdleMs: both move to a WebSocket link; the WebRTC link closes.
    await waitFor('both on websocket', () => path(a, 'b') === 'websocket' && path(b, 'a') === 'websocket', 10_000, [a, b]);
    // Whichever end's timer notices the quiet first makes the move (the other just follows it).
    expect([...a.logs, ...b.logs].join('\n')).toMatch(/moving off WebRTC/);
    await waitFor('node-datachannel threads stopped', () => !sctpTimer(), 10_000, [a, b]);
    // The next message goes at once (over WebSocket) and brings WebRTC back.
    for (let i = 0; path(a, 'b') !== 'webrtc' || path(b, 'a') !== 'webrtc'; i++) {
      send(`again:${i}`);
      await sleep(20);
      if (i > 1000) throw new Error(`no webrtc path again:\n${a.logs.join('\n')}`);
    }
    send('last');
    await waitFor('all delivered', () => b.received.get('a')?.at(-1) === 'last', 10_000, [a, b]);
    expect(b.received.get('a')).toEqual(sent);
    expect([...a.events, ...b.events].filter((e) => e.startsWith('down'))).toEqual([]);
  });

  it('meets through the relay, then upgrades relay → websocket → webrtc, keeping order and the peer up', async () => {
    const relay = await startRelay({ host: '127.0.0.1', port: 0 });
    try {
      const rtc = { bindAddress: '127.0.0.1' };
      // No seeds: the only way to find each other is the relay; direct addresses come from the hello.
      const a = await cluster.start('a', { relayUrl: relay.url, webrtc: rtc });
      const b = await cluster.start('b', { relayUrl: relay.url, webrtc: rtc });
      const paths = new Set<string>();
      let sent = 0;
      await waitFor('connected', () => connectedTo(a).includes('b'), 15_000, [a, b]);
      const path = (): string | undefined => a.overlay.peers().find((p) => p.id === 'b')?.path;
      while (path() !== 'webrtc' || sent < 200) {
        paths.add(path() ?? 'none');
        a.overlay.send('b', Buffer.from(`s:${sent++}`));
        await sleep(2);
        if (sent > 20_000) throw new Error(`no webrtc path:\n${a.logs.join('\n')}`);
      }
      await waitFor('all delivered', () => (b.received.get('a')?.length ?? 0) >= sent, 20_000, [a, b]);
      expect(b.received.get('a')).toEqual(Array.from({ length: sent }, (_, i) => `s:${i}`));
      expect(a.logs.join('\n')).toMatch(/peer b up via relay/);
      expect(a.logs.join('\n')).toMatch(/switching to websocket/);
      expect(a.logs.join('\n')).toMatch(/switching to webrtc/);
      expect([...a.events, ...b.events].filter((e) => e.startsWith('down'))).toEqual([]);
    } finally {
      await cluster.stopAll();
      await relay.close();
    }
  });

  it('keeps a bounded address book however many members a hostile member gossips', async () => {
    const a = await cluster.start('a');
    const b = await cluster.start('b', { seeds: a.addrs });
    await waitFor('a and b linked', () => connectedTo(a).includes('b'), 10_000, [a, b]);
    const gossiper = await secureHandshake(await dialWebSocket(a.addrs[0]!), { secret: cluster.secret, selfId: 'gossiper' });
    gossiper.send(jsonFrame(Wire.Hello, { session: cluster.sessionId, meta: {}, addrs: [], inc: 1, rtc: false }));
    gossiper.send(frame(Wire.Begin));
    await waitFor('gossiper up', () => a.events.includes('up:gossiper'), 10_000, [a]);
    // Six lists of 256 members nobody else knows, each with 32 addresses (nothing listens there).
    for (let list = 0; list < 6; list++) {
      const members = Array.from({ length: 256 }, (_, i) => ({ id: `fake-${list}-${i}`, inc: 1, age: 0, addrs: Array.from({ length: 32 }, (_, k) => `ws://127.0.0.1:9/${list}-${i}-${k}`) }));
      gossiper.send(jsonFrame(Wire.Members, { members }));
    }
    await waitFor('the last list taken in', () => a.overlay.peers().some((p) => p.id === 'fake-5-255'), 10_000, [a]);
    const peers = a.overlay.peers();
    expect(peers.length).toBeLessThanOrEqual(MAX_KNOWN_MEMBERS);
    // Linked members are never the ones forgotten.
    expect(peers.filter((p) => p.state === 'connected').map((p) => p.id).sort()).toEqual(['b', 'gossiper']);
    const saved = a.overlay.knownAddrs();
    expect(saved.length).toBeLessThanOrEqual(MAX_SAVED_ADDRS);
    expect(saved).toContain(b.addrs[0]); // a linked member's address is saved first
    gossiper.close();
  });

  it('a small session stays a full mesh when a hostile member gossips hundreds of made-up members', async () => {
    const a = await cluster.start('a');
    const b = await cluster.start('b', { seeds: a.addrs });
    const c = await cluster.start('c', { seeds: a.addrs });
    const honest = [a, b, c];
    await waitFor('mesh of 3', () => honest.every((n) => connectedTo(n).length === 2), 20_000, honest);
    // Made-up ids placed so that, in the ring of a larger session, no two real members would be
    // neighbours: taking the made-up ones for alive would close the real members' links.
    const fakes = ['ab', 'bc', 'cd'].flatMap((p) => Array.from({ length: 150 }, (_, i) => `${p}-${String(i).padStart(3, '0')}`));
    const ring = meshNeighbours('a', ['b', 'c', 'gossiper', ...fakes]);
    expect([ring.has('b'), ring.has('c'), meshNeighbours('b', ['a', 'c', 'gossiper', ...fakes]).has('c')]).toEqual([false, false, false]);
    const gossiper = await secureHandshake(await dialWebSocket(a.addrs[0]!), { secret: cluster.secret, selfId: 'gossiper' });
    gossiper.send(jsonFrame(Wire.Hello, { session: cluster.sessionId, meta: {}, addrs: [], inc: 1, rtc: false }));
    gossiper.send(frame(Wire.Begin));
    await waitFor('gossiper up', () => a.events.includes('up:gossiper'), 10_000, [a]);
    const gossip = () => {
      for (let i = 0; i < fakes.length; i += 225) gossiper.send(jsonFrame(Wire.Members, { members: fakes.slice(i, i + 225).map((id) => ({ id, inc: 1, age: 0, addrs: [`ws://127.0.0.1:9/${id}`] })) }));
    };
    // Past the time a link the ring does not need is closed (5 s), the made-up ones kept alive.
    for (let t = 0; t < 4; t++) {
      gossip();
      await sleep(2000);
    }
    expect(a.overlay.peers().filter((p) => fakes.includes(p.id))).toHaveLength(fakes.length);
    expect(honest.map((n) => n.overlay.isPartialMesh())).toEqual([false, false, false]);
    expect(honest.map((n) => connectedTo(n).filter((id) => id !== 'gossiper').sort())).toEqual([['b', 'c'], ['a', 'c'], ['a', 'b']]);
    expect([...a.events, ...b.events, ...c.events].filter((e) => e.startsWith('down:') && !e.startsWith('down:gossiper'))).toEqual([]);
    gossiper.close();
    await waitFor('gossiper gone', () => !connectedTo(a).includes('gossiper'), 10_000, [a]);
    await broadcastAndCheck(honest, 20, 'after-gossip');
  }, 30_000);

  it("a read-only member holding a writer's id while that writer is away gives it up when the writer comes", async () => {
    const host = await cluster.start('host');
    // The read-only code lets anyone claim any id; this one claims writer w's, and a later run (inc).
    const squatter = await cluster.start('w', { seeds: host.addrs, keys: withoutWriter(writerKeys(cluster.secret)) });
    const metaOf = () => host.overlay.peers().find((p) => p.id === 'w' && p.state === 'connected')?.meta;
    await waitFor('the squatter linked as a read-only member', () => metaOf()?.readOnly === true, 10_000, [host, squatter]);
    const writer = await cluster.start('w', { seeds: host.addrs });
    await waitFor('the writer to hold its id', () => metaOf()?.readOnly === false, 15_000, [host, squatter, writer]);
    expect(host.logs).toContain('peer id w was held by a read-only member; a link proving a writer takes it over');
    // and keeps it: the squatter's redials prove the other role and are refused
    await sleep(1500);
    expect(metaOf()?.readOnly).toBe(false);
    expect(host.overlay.broadcast(Buffer.from('to w'))).toBe(1);
    await waitFor('the writer to get a broadcast', () => writer.received.get('host')?.includes('to w') === true, 10_000, [host, writer]);
    expect(squatter.received.get('host') ?? []).not.toContain('to w');
  });

  it('drops a peer that goes silent (half-open connection) and reports it down', async () => {
    const a = await cluster.start('a', { timing: { pingIntervalMs: 100, deadAfterMs: 1000 } });
    // A peer that completes the handshake and hello, then never sends another byte (not even pongs).
    const silent = await secureHandshake(await dialWebSocket(a.addrs[0]!), { secret: cluster.secret, selfId: 'silent' });
    silent.send(jsonFrame(Wire.Hello, { session: cluster.sessionId, meta: {}, addrs: [], inc: 1, rtc: false }));
    silent.send(frame(Wire.Begin));
    await waitFor('silent peer up', () => a.events.includes('up:silent'), 10_000, [a]);
    await waitFor('silent peer down', () => a.events.some((e) => e.startsWith('down:silent:')), 10_000, [a]);
    expect(a.events.find((e) => e.startsWith('down:silent:'))).toMatch(/no traffic for 1 s/);
    silent.close();
  });

  it('keeps a link whose silence was its own: with its event loop held past the dead-link time, a daemon reads the peer before it counts the link dead', async () => {
    const timing = { pingIntervalMs: 100, deadAfterMs: 1000 };
    const a = await cluster.start('a', { timing });
    const b = await cluster.start('b', { seeds: a.addrs, timing });
    await waitFor('linked', () => connectedTo(a).join() === 'b' && connectedTo(b).join() === 'a', 10_000, [a, b]);
    // Hold this process's event loop (both daemons are in it) for longer than the dead-link time,
    // as a long take-in, a burst of documents loaded or a suspended process holds a daemon's. Each
    // side's pings meanwhile wait, unread, in the sockets. Before, the first timer to run after the
    // hold found the link silent for 1.5 s and closed it before reading them.
    const until = Date.now() + 1500;
    while (Date.now() < until) {
      // held
    }
    await sleep(1500);
    expect(a.events.filter((e) => e.startsWith('down:'))).toEqual([]);
    expect(b.events.filter((e) => e.startsWith('down:'))).toEqual([]);
    expect([connectedTo(a).join(), connectedTo(b).join()]).toEqual(['b', 'a']);
  });

  it('relay-only peers find each other again after the relay restarts', async () => {
    let relay = await startRelay({ host: '127.0.0.1', port: 0 });
    const port = relay.port;
    try {
      const a = await cluster.start('a', { direct: false, relayUrl: relay.url, listen: undefined });
      const b = await cluster.start('b', { direct: false, relayUrl: relay.url, listen: undefined });
      await waitFor('connected through the relay', () => connectedTo(a).join() === 'b' && connectedTo(b).join() === 'a', 15_000, [a, b]);
      await relay.close();
      await waitFor('both see the peer down', () => a.events.some((e) => e.startsWith('down:b')) && b.events.some((e) => e.startsWith('down:a')), 15_000, [a, b]);
      relay = await startRelay({ host: '127.0.0.1', port });
      await waitFor('reconnected through the new relay', () => a.events.filter((e) => e === 'up:b').length === 2 && connectedTo(b).join() === 'a', 20_000, [a, b]);
      await broadcastAndCheck([a, b], 20, 'after-relay-restart');
    } finally {
      await cluster.stopAll();
      await relay.close();
    }
  });
});
