/**
 * The path-switching race (issue 13, decision 097): both ends of a pair dial every path at once,
 * so relay, WebSocket (one each way) and WebRTC links come up, carry END markers and close in
 * every order. Property tests over those orders, on the deterministic model in peer-links-sim.ts.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { PeerPath } from '../../daemon/src/net/peer-links.js';
import { PeerLinksSim, type SimSide } from './peer-links-sim.js';

const PATHS: PeerPath[] = ['relay', 'websocket', 'webrtc'];

type Op =
  | { op: 'open'; id: number; path: number; dialer: 0 | 1 }
  | { op: 'step'; pick: number }
  | { op: 'send'; side: 0 | 1 }
  | { op: 'lose'; pick: number }
  | { op: 'quiet'; on: boolean };

const open = fc.record({ op: fc.constant('open' as const), id: fc.nat(25), path: fc.nat(2), dialer: fc.constantFrom(0 as const, 1 as const) });
const step = fc.record({ op: fc.constant('step' as const), pick: fc.nat(63) });
const send = fc.record({ op: fc.constant('send' as const), side: fc.constantFrom(0 as const, 1 as const) });
const lose = fc.record({ op: fc.constant('lose' as const), pick: fc.nat(63) });
/** The stream's quiet time crosses the threshold (both ends: same last message, same threshold; decision 106). */
const quiet = fc.record({ op: fc.constant('quiet' as const), on: fc.boolean() });

/** Run the ops; link ids are a letter (so ties between same-path links break either way) and a serial. */
function run(ops: Op[]): PeerLinksSim {
  const sim = new PeerLinksSim();
  let serial = 0;
  for (const o of ops) {
    if (o.op === 'open') sim.open(`${String.fromCharCode(97 + o.id)}${serial++}`, PATHS[o.path]!, o.dialer);
    else if (o.op === 'send') sim.send(o.side);
    else if (o.op === 'quiet') for (const side of sim.sides) side.links.quietAfterMs = o.on ? 0 : undefined;
    else if (o.op === 'lose') {
      if (sim.links.length > 0) sim.lose(sim.links[o.pick % sim.links.length]!);
    } else {
      const movable = sim.movable();
      const m = movable[o.pick % Math.max(1, movable.length)];
      if (m) sim.step(sim.links[m[0]]!, m[1]);
    }
  }
  return sim;
}

const up = (s: SimSide): boolean => s.links.up;

/** Each side's stream went through in full: what one sent, the other delivered, in order, once. */
function expectAllDelivered(sim: PeerLinksSim): void {
  const [a, b] = sim.sides;
  expect(b.delivered).toEqual(a.sent);
  expect(a.delivered).toEqual(b.sent);
}

/**
 * Within one up period of the receiver, what it delivered is a gap-free run of what the sender
 * sent in one up period of its own: nothing lost or reordered without a peer-down, and no
 * restart of the peer's stream slipped through unnoticed (the layer above would not re-sync).
 */
function expectNoSilentLoss(from: SimSide, to: SimSide): void {
  const byEpoch = new Map<number, string[]>();
  for (const m of to.delivered) {
    const e = to.epochOf.get(m)!;
    byEpoch.set(e, [...(byEpoch.get(e) ?? []), m]);
  }
  for (const run of byEpoch.values()) {
    const first = from.sent.indexOf(run[0]!);
    expect(first).toBeGreaterThanOrEqual(0);
    expect(run).toEqual(from.sent.slice(first, first + run.length));
    expect(new Set(run.map((m) => from.epochOf.get(m))).size).toBe(1);
  }
}

/**
 * Run ops with no link failing, let everything arrive, and check what must hold then: the peer
 * never went down, both ends are up, and a last message each way arrives after all the others.
 * Undefined when no link was ever opened.
 */
function runCleanly(ops: Op[]): PeerLinksSim | undefined {
  const sim = run(ops);
  sim.drain();
  const [a, b] = sim.sides;
  expect([...a.events, ...b.events].filter((e) => e.startsWith('down'))).toEqual([]);
  if (sim.links.length === 0) return undefined;
  expect(up(a) && up(b)).toBe(true);
  sim.send(0);
  sim.send(1);
  sim.drain();
  expectAllDelivered(sim);
  return sim;
}

function expectOneLinkEach(sim: PeerLinksSim): void {
  for (const side of sim.sides) expect(side.links.conns.size).toBe(1);
}

describe('path switching under racing links', () => {
  it('pins the stall of decision 097: an END read on a link before the stream reached it, and that link closed with messages held', () => {
    // The order that stalled the overlay test racing relay, two WebSockets and WebRTC: the pair
    // is on relay r; both switch to WebSocket w, then to WebRTC t, while r is slow. w's END and
    // close reach a before the END on r that leads a's stream to w: a dropped w's END (its rx was
    // still r), then closed w with b's message held on it, and waited for w forever.
    const sim = new PeerLinksSim();
    const [a, b] = sim.sides;
    const r = sim.open('r0', 'relay', 0);
    for (const dir of [0, 1, 0, 1] as const) sim.step(r, dir); // hellos, then BEGINs: both up on r
    const w = sim.open('w1', 'websocket', 1);
    sim.step(w, 1); // a attaches w: END(w1) on r
    sim.step(w, 0); // b attaches w: END(w1) on r
    sim.send(1); // b1, on w
    const t = sim.open('t2', 'webrtc', 0);
    sim.step(t, 0); // b attaches t: END(t2) on w
    sim.step(t, 1); // a attaches t: END(t2) on w
    sim.send(0); // a2, on t
    sim.send(1); // b3, on t
    sim.step(w, 0); // a's END(t2) reaches b, whose stream from a is still on r: b closes w
    for (let i = 0; i < 3; i++) sim.step(w, 1); // b1, END(t2) and the close reach a
    for (let i = 0; i < 2; i++) sim.step(t, 1); // b3 (held) and a2 reach a
    expect(a.delivered).toEqual([]);
    sim.drain(); // the slow relay's ENDs arrive last
    expectAllDelivered(sim);
    expect(a.delivered).toEqual(['b0', 'b2']);
    expect([...a.events, ...b.events]).toEqual(['up', 'up']);
  });

  it('links coming up, switching and closing cleanly in any order lose nothing and never drop the peer', () => {
    fc.assert(
      fc.property(fc.array(fc.oneof({ arbitrary: open, weight: 1 }, { arbitrary: step, weight: 6 }, { arbitrary: send, weight: 2 }), { maxLength: 80 }), (ops) => {
        const sim = runCleanly(ops);
        if (!sim) return;
        // Duplicates are dropped: both ends converge on one link and close every other.
        const open = sim.links.filter((l) => l.ends.some((e) => e.closeReason === undefined));
        expect(open).toHaveLength(1);
        expectOneLinkEach(sim);
      }),
      { seed: 105, numRuns: 3000 },
    );
  });

  it('while the ranking changes (WebSocket over WebRTC once the stream is quiet) links may stay doubled, but nothing is lost and the peer stays up', () => {
    fc.assert(
      fc.property(
        fc.array(fc.oneof({ arbitrary: open, weight: 1 }, { arbitrary: step, weight: 6 }, { arbitrary: send, weight: 2 }, { arbitrary: quiet, weight: 1 }), { maxLength: 80 }),
        (ops) => {
          const sim = runCleanly(ops);
          if (!sim) return;
          // The next link to attach (the overlay redials WebRTC with the next message) leaves one link again.
          sim.open('fresh', 'webrtc', 0);
          sim.drain();
          expectOneLinkEach(sim);
        },
      ),
      { seed: 106, numRuns: 3000 },
    );
  });

  it('with links failing at any moment, nothing is lost without a peer-down, and the stream always recovers', () => {
    fc.assert(
      fc.property(
        fc.array(fc.oneof({ arbitrary: open, weight: 2 }, { arbitrary: step, weight: 8 }, { arbitrary: send, weight: 3 }, { arbitrary: lose, weight: 1 }), { maxLength: 100 }),
        (ops) => {
          const sim = run(ops);
          sim.drain();
          const [a, b] = sim.sides;
          // Once everything in flight has arrived, the two ends agree whether the peer is up.
          expect(up(a)).toBe(up(b));
          // As the overlay would: redial while down (a fresh link both ends attach).
          for (let round = 0; round < 3 && !(up(a) && up(b)); round++) {
            sim.open(`redial${round}`, 'websocket', 0);
            sim.drain();
          }
          expect(up(a) && up(b)).toBe(true);
          sim.send(0);
          sim.send(1);
          sim.drain();
          expect(b.delivered.at(-1)).toBe(a.sent.at(-1));
          expect(a.delivered.at(-1)).toBe(b.sent.at(-1));
          expectNoSilentLoss(a, b);
          expectNoSilentLoss(b, a);
        },
      ),
      { seed: 105, numRuns: 3000 },
    );
  });
});
