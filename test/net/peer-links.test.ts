/**
 * Unit tests of the per-peer stream switching (flush-and-marker), with fake links so the
 * arrival order across links can be forced — real loopback sockets almost never reorder.
 */
import { describe, expect, it } from 'vitest';
import { Wire } from '../../daemon/src/net/overlay-wire.js';
import { newPeerConn, PeerLinks, type PeerConn, type PeerPath } from '../../daemon/src/net/peer-links.js';
import type { SecureLink } from '../../daemon/src/net/secure.js';

class FakeLink {
  sent: Array<[number, string]> = [];
  closedWith: string | undefined;
  constructor(readonly remote: string) {}
  send(data: Uint8Array): void {
    this.sent.push([data[0]!, Buffer.from(data.subarray(1)).toString()]);
  }
  close(reason: string): void {
    this.closedWith = reason;
  }
}

function conn(id: string, path: PeerPath, dialer: string): PeerConn & { fake: FakeLink } {
  const fake = new FakeLink(`${path}:${id}`);
  return { ...newPeerConn(fake as unknown as SecureLink, id, path, dialer, 0), fake };
}

function session(self = 'a', peer = 'b') {
  const log = { delivered: [] as string[], events: [] as string[] };
  const s = new PeerLinks(self, peer, {
    up: () => log.events.push('up'),
    down: (_s, reason) => log.events.push(`down:${reason}`),
    message: (_s, data) => log.delivered.push(Buffer.from(data).toString()),
    log: () => {},
  });
  return { s, log };
}

const bytes = (text: string): Uint8Array => Buffer.from(text);

describe('peer session stream switching', () => {
  it('delivers in send order when the new link overtakes the old one', () => {
    const { s, log } = session();
    const ws = conn('ws1', 'websocket', 'b');
    s.attach(ws);
    s.receive(ws, Wire.Begin, bytes(''));
    s.receive(ws, Wire.Data, bytes('1'));
    s.receive(ws, Wire.Data, bytes('2'));
    const rtc = conn('rtc1', 'webrtc', 'a');
    s.attach(rtc);
    // The peer switched after "3": its later messages arrive on webrtc before "3" and the END.
    s.receive(rtc, Wire.Data, bytes('4'));
    s.receive(rtc, Wire.Data, bytes('5'));
    expect(log.delivered).toEqual(['1', '2']);
    s.receive(ws, Wire.Data, bytes('3'));
    s.receive(ws, Wire.End, bytes('rtc1'));
    s.receive(rtc, Wire.Data, bytes('6'));
    expect(log.delivered).toEqual(['1', '2', '3', '4', '5', '6']);
    expect(log.events).toEqual(['up']);
    // Both sides ENDed the websocket link and this side read past it: it says DONE there...
    expect(ws.fake.sent.at(-1)).toEqual([Wire.Done, '']);
    expect(ws.fake.closedWith).toBeUndefined();
    // ...and once the peer says DONE too (it read this side's END), it is closed as superseded.
    s.receive(ws, Wire.Done, bytes(''));
    expect(ws.fake.closedWith).toMatch(/superseded/);
    expect(s.path).toBe('webrtc');
  });

  it('waits for a link named by END that has not finished its hello yet', () => {
    const { s, log } = session();
    const ws = conn('ws1', 'websocket', 'b');
    s.attach(ws);
    s.receive(ws, Wire.Begin, bytes(''));
    s.receive(ws, Wire.End, bytes('rtc1'));
    const rtc = conn('rtc1', 'webrtc', 'a');
    rtc.held.push(bytes('x')); // arrived before attach completed
    s.attach(rtc);
    s.receive(rtc, Wire.Data, bytes('y'));
    expect(log.delivered).toEqual(['x', 'y']);
  });

  it('as sender: BEGIN on the first link, END(next) on the old one when a better link appears', () => {
    const { s } = session();
    const ws = conn('ws1', 'websocket', 'b');
    s.attach(ws);
    s.send(bytes('m1'));
    const rtc = conn('rtc1', 'webrtc', 'a');
    s.attach(rtc);
    s.send(bytes('m2'));
    expect(ws.fake.sent).toEqual([
      [Wire.Begin, ''],
      [Wire.Data, 'm1'],
      [Wire.End, 'rtc1'],
    ]);
    expect(rtc.fake.sent).toEqual([[Wire.Data, 'm2']]);
  });

  it('breaks ties between duplicate links the same way on both ends', () => {
    const chosen: string[] = [];
    for (const [self, peer] of [['a', 'b'], ['b', 'a']] as const) {
      const { s } = session(self, peer);
      const byA = conn('zz', 'websocket', 'a');
      const byB = conn('aa', 'websocket', 'b');
      // Opposite attach orders on the two ends, as with simultaneous dials.
      if (self === 'a') {
        s.attach(byA);
        s.attach(byB);
      } else {
        s.attach(byB);
        s.attach(byA);
      }
      s.send(bytes('after'));
      chosen.push(byA.fake.sent.some(([t, v]) => t === Wire.Data && v === 'after') ? 'byA' : 'byB');
    }
    expect(chosen).toEqual(['byA', 'byA']); // the link the lower id dialed wins on both ends
  });

  it('resets the session when a link that carried a stream dies without an END', () => {
    const { s, log } = session();
    const ws = conn('ws1', 'websocket', 'b');
    const relay = conn('r1', 'relay', 'b');
    s.attach(ws);
    s.attach(relay);
    s.receive(ws, Wire.Begin, bytes(''));
    s.detach(ws, 'connection lost (ECONNRESET)');
    expect(log.events).toEqual(['up', 'down:link lost (connection lost (ECONNRESET))']);
    expect(relay.fake.closedWith).toMatch(/resetting the links/);
    expect(s.up).toBe(false);
    expect(s.send(bytes('x'))).toBe(false);
  });

  it('closing a superseded link does not disturb the session', () => {
    const { s, log } = session();
    const relay = conn('r1', 'relay', 'b');
    s.attach(relay);
    s.receive(relay, Wire.Begin, bytes(''));
    const ws = conn('ws1', 'websocket', 'a');
    s.attach(ws);
    s.receive(relay, Wire.End, bytes('ws1'));
    s.receive(relay, Wire.Done, bytes(''));
    expect(relay.fake.closedWith).toMatch(/superseded/);
    s.detach(relay, 'superseded by a better path');
    s.receive(ws, Wire.Data, bytes('ok'));
    expect(log.events).toEqual(['up']);
    expect(log.delivered).toEqual(['ok']);
  });
});
