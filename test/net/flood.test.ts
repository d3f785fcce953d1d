/**
 * Unit tests of flooding (net/flood.ts): each member delivers each broadcast once, never sends it
 * back where it came from, relays it across a partial mesh only after accepting it, and keeps a
 * bounded memory of what it has seen. Members are linked by in-memory links (net/memory.ts).
 */
import { describe, expect, it } from 'vitest';
import { Flood } from '../../daemon/src/net/flood.js';
import { memoryPair, type MemoryLink } from '../../daemon/src/net/memory.js';

const utf8 = new TextEncoder();
const text = new TextDecoder();
const bytes = (s: string): Uint8Array => utf8.encode(s);

/** One member: its Flood over memory links, what it delivered, and what it was sent per link. */
class Member {
  readonly links = new Map<string, MemoryLink>();
  readonly delivered: string[] = [];
  /** Frames that arrived, as `from:payload`, whether or not delivered. */
  readonly arrived: string[] = [];
  /** Return false to refuse what this neighbour sends (a hostile member's messages). */
  refuseFrom = new Set<string>();
  relaying = true;
  readonly flood: Flood;

  constructor(
    readonly id: string,
    limit?: number,
  ) {
    this.flood = new Flood(
      {
        neighbours: () => this.links.keys(),
        send: (peer, data) => {
          const link = this.links.get(peer);
          link?.send(data);
          return link !== undefined;
        },
        relaying: () => this.relaying,
      },
      limit,
    );
  }

  /** Take a message as the layer above would: refused from a member in `refuseFrom`. */
  accept(from: string, data: Uint8Array): boolean {
    if (this.refuseFrom.has(from)) return false;
    this.delivered.push(text.decode(data));
    return true;
  }
}

function link(a: Member, b: Member): void {
  const [ab, ba] = memoryPair(a.id, b.id);
  a.links.set(b.id, ab);
  b.links.set(a.id, ba);
  ab.on('message', (data) => {
    a.arrived.push(`${b.id}:${text.decode(data)}`);
    a.flood.receive(b.id, data, (d) => a.accept(b.id, d));
  });
  ba.on('message', (data) => {
    b.arrived.push(`${a.id}:${text.decode(data)}`);
    b.flood.receive(a.id, data, (d) => b.accept(a.id, d));
  });
}

/** Let the memory links deliver everything in flight (they deliver on later macrotasks). */
async function settle(): Promise<void> {
  for (let i = 0; i < 20; i++) await new Promise((r) => setTimeout(r, 0));
}

function line(...ids: string[]): Member[] {
  const ms = ids.map((id) => new Member(id));
  for (let i = 1; i < ms.length; i++) link(ms[i - 1]!, ms[i]!);
  return ms;
}

describe('flooding', () => {
  it('relays along a line of memory links: every member delivers once, nothing comes back', async () => {
    const [a, b, c, d] = line('a', 'b', 'c', 'd');
    expect(a!.flood.originate(bytes('hello'))).toBe(1);
    await settle();
    for (const m of [b!, c!, d!]) expect(m.delivered).toEqual(['hello']);
    // No echo: the originator never gets its own message back, nor does any member from downstream.
    expect(a!.arrived).toEqual([]);
    expect(b!.arrived).toEqual(['a:hello']);
    expect(c!.arrived).toEqual(['b:hello']);
    expect(d!.arrived).toEqual(['c:hello']);
  });

  it('delivers a message that arrives by two routes once (a ring)', async () => {
    const [a, b, c, d] = line('a', 'b', 'c', 'd');
    link(d!, a!);
    a!.flood.originate(bytes('m1'));
    a!.flood.originate(bytes('m2'));
    await settle();
    for (const m of [b!, c!, d!]) expect(m.delivered).toEqual(['m1', 'm2']);
    expect(a!.delivered).toEqual([]);
    // c got each message from both b and d, and delivered it once.
    expect(c!.arrived.filter((x) => x.endsWith(':m1')).length).toBe(2);
  });

  it('delivers the same message once also when not relaying (a full mesh in transition)', () => {
    const m = new Member('m');
    m.relaying = false;
    m.flood.receive('x', bytes('p'), (d) => m.accept('x', d));
    m.flood.receive('y', bytes('p'), (d) => m.accept('y', d));
    expect(m.delivered).toEqual(['p']);
  });

  it('does not pass on what the layer above refused (a hostile member), and takes a genuine copy later', async () => {
    // Pins: relaying before acceptance let one hostile member's refused messages reach everyone.
    const [mallory, b, c] = line('mallory', 'b', 'c');
    b!.refuseFrom.add('mallory');
    mallory!.flood.originate(bytes('forged change'));
    await settle();
    expect(b!.delivered).toEqual([]);
    expect(c!.arrived).toEqual([]);
    // The same bytes from a member b trusts are taken in: a refusal does not poison the dedup.
    const carol = new Member('carol');
    link(carol, b!);
    carol.flood.originate(bytes('forged change'));
    await settle();
    expect(b!.delivered).toEqual(['forged change']);
    expect(c!.delivered).toEqual(['forged change']);
  });

  it('keeps a bounded memory of what it has seen', () => {
    const m = new Member('m', 100);
    for (let i = 0; i < 1000; i++) m.flood.receive('x', bytes(`k${i}`), (d) => m.accept('x', d));
    expect(m.delivered.length).toBe(1000);
    expect(m.flood.remembered).toBeLessThanOrEqual(200);
    // Recent ones are still known; the oldest were forgotten whole, a generation at a time.
    m.flood.receive('y', bytes('k999'), (d) => m.accept('y', d));
    m.flood.receive('y', bytes('k0'), (d) => m.accept('y', d));
    expect(m.delivered.slice(1000)).toEqual(['k0']);
  });

  it('counts the links an own message went to', () => {
    const a = new Member('a');
    const [b, c] = [new Member('b'), new Member('c')];
    link(a, b);
    link(a, c);
    expect(a.flood.originate(bytes('x'))).toBe(2);
  });
});
