/**
 * A deterministic model of two overlays' PeerLinks joined by any number of links, for tests that
 * force every order in which links come up, carry messages, and go down.
 *
 * Each link is two FIFO queues (one per direction), as every real transport is: the first item
 * each way is the hello (its arrival is when the overlay attaches the link on that side), then
 * the frames PeerLinks sends, then a close. The test picks which queue moves next, so arrival
 * order *across* links is whatever it says — what real loopback sockets almost never show, but
 * relay, WebSocket and WebRTC links raced against each other do.
 *
 * Faithful to the overlay (overlay.ts) in what PeerLinks sees: `attach` when the peer's hello
 * arrives, `receive` for stream frames, `detach` when the link's close arrives (or right away
 * when this side closes it); a link that ended before its hello arrived is not its business.
 */
import { Wire } from '../../daemon/src/net/overlay-wire.js';
import { newPeerConn, PeerLinks, type PeerConn, type PeerPath } from '../../daemon/src/net/peer-links.js';
import type { SecureLink } from '../../daemon/src/net/secure.js';

type Item = { t: 'hello' } | { t: 'frame'; data: Uint8Array } | { t: 'close'; reason: string };

/** One end of a simulated link: what PeerLinks holds as `conn.link`. */
class SimEnd {
  closeReason: string | undefined;
  conn: PeerConn | undefined;
  constructor(
    readonly sim: PeerLinksSim,
    readonly link: SimLink,
    readonly side: 0 | 1,
  ) {}
  get remote(): string {
    return `${this.link.path}:${this.link.id}`;
  }
  get kind(): string {
    return this.link.path;
  }
  send(data: Uint8Array): void {
    if (this.closeReason !== undefined || this.link.broken) return;
    this.link.queues[this.side].push({ t: 'frame', data: data.slice() });
  }
  close(reason = 'closed locally'): void {
    if (this.closeReason !== undefined) return;
    this.closeReason = reason;
    if (!this.link.broken) this.link.queues[this.side].push({ t: 'close', reason: `closed by peer: ${reason}` });
    this.sim.closed(this, reason);
  }
}

export class SimLink {
  /** queues[0]: side 0 → side 1; queues[1]: side 1 → side 0. */
  readonly queues: [Item[], Item[]] = [[{ t: 'hello' }], [{ t: 'hello' }]];
  readonly ends: [SimEnd, SimEnd];
  broken = false;
  constructor(
    sim: PeerLinksSim,
    readonly id: string,
    readonly path: PeerPath,
    /** Which side dialed it. */
    readonly dialer: 0 | 1,
  ) {
    this.ends = [new SimEnd(sim, this, 0), new SimEnd(sim, this, 1)];
  }
}

export interface SimSide {
  id: string;
  links: PeerLinks;
  /** Stream messages handed to the layer above, in order. */
  delivered: string[];
  /** Messages `send` accepted, in order. */
  sent: string[];
  events: string[];
  /** How many times the stream has come up (its up period, from 1). */
  epoch: number;
  /** For each message: the up period it was sent in (by its sender) or delivered in (by this side). */
  epochOf: Map<string, number>;
}

export class PeerLinksSim {
  readonly sides: [SimSide, SimSide];
  readonly links: SimLink[] = [];
  #sentCount = 0;

  constructor(ids: [string, string] = ['a', 'b']) {
    const make = (self: string, peer: string): SimSide => {
      const side: SimSide = { id: self, delivered: [], sent: [], events: [], epoch: 0, epochOf: new Map(), links: undefined as unknown as PeerLinks };
      side.links = new PeerLinks(self, peer, {
        up: () => {
          side.events.push('up');
          side.epoch++;
        },
        down: (_s, reason) => side.events.push(`down: ${reason}`),
        message: (_s, data) => {
          const text = Buffer.from(data).toString();
          side.delivered.push(text);
          side.epochOf.set(text, side.epoch);
        },
        log: () => {},
      });
      return side;
    };
    this.sides = [make(ids[0], ids[1]), make(ids[1], ids[0])];
  }

  /** A new link, dialed by `dialer`; it attaches on each side when the other side's hello arrives. */
  open(id: string, path: PeerPath, dialer: 0 | 1): SimLink {
    const link = new SimLink(this, id, path, dialer);
    this.links.push(link);
    return link;
  }

  /** Queues that still hold something, as [link index, direction]. */
  movable(): Array<[number, 0 | 1]> {
    const out: Array<[number, 0 | 1]> = [];
    this.links.forEach((l, i) => {
      if (l.queues[0].length > 0) out.push([i, 0]);
      if (l.queues[1].length > 0) out.push([i, 1]);
    });
    return out;
  }

  /** Deliver the next item queued on `link` in direction `dir` (0: side 0 → side 1). */
  step(link: SimLink, dir: 0 | 1): void {
    const item = link.queues[dir].shift();
    if (!item) return;
    const to = (1 - dir) as 0 | 1;
    const end = link.ends[to];
    const side = this.sides[to];
    if (item.t === 'close') {
      if (end.closeReason !== undefined) return;
      end.closeReason = item.reason;
      this.closed(end, item.reason);
      return;
    }
    if (end.closeReason !== undefined) return; // a closed link delivers nothing more
    if (item.t === 'hello') {
      const dialer = this.sides[link.dialer].id;
      const conn = newPeerConn(end as unknown as SecureLink, link.id, link.path, dialer, 0);
      end.conn = conn;
      side.links.attach(conn);
      return;
    }
    side.links.receive(end.conn!, item.data[0] as Wire, item.data.subarray(1));
  }

  /** The link fails: whatever is in flight is lost, both ends see it close. */
  lose(link: SimLink): void {
    if (link.broken) return;
    link.broken = true;
    for (const dir of [0, 1] as const) {
      // Each end learns of the loss only when it comes to it, after nothing.
      link.queues[dir] = link.ends[(1 - dir) as 0 | 1].closeReason === undefined ? [{ t: 'close', reason: 'connection lost' }] : [];
    }
  }

  /** Side `i` sends the next numbered message if its stream is up; the text is what should arrive. */
  send(i: 0 | 1): void {
    const text = `${this.sides[i].id}${this.#sentCount++}`;
    const side = this.sides[i];
    if (!side.links.send(Buffer.from(text))) return;
    side.sent.push(text);
    side.epochOf.set(text, side.epoch);
  }

  /** What the overlay does when a link closes on one side. */
  closed(end: SimEnd, reason: string): void {
    const side = this.sides[end.side];
    if (end.conn) side.links.detach(end.conn, reason);
  }

  /** Move every queue until all are empty, in a fixed order. */
  drain(): void {
    for (let guard = 0; guard < 100_000; guard++) {
      const next = this.movable()[0];
      if (!next) return;
      this.step(this.links[next[0]]!, next[1]);
    }
    throw new Error('the links never went quiet');
  }
}
