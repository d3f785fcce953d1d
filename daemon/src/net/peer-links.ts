/**
 * Everything the overlay knows about one peer it is connected to: the set of secure links to it
 * and which one carries each direction's stream.
 *
 * Path switching keeps order by flush-and-marker, per direction (decision 105):
 * - The sender transmits DATA on one link (its tx). The first tx link to a peer is announced
 *   with BEGIN. To move to a better link it sends END(next link id) on the old one and continues on
 *   the new one; every other link it will not use also gets an END (naming its tx).
 * - The receiver follows the peer's chain of links: BEGIN names the first, each END the next. It
 *   delivers DATA only from the link the chain has reached (its rx link) and holds what arrives on
 *   the others; an END read on a link the chain has not reached yet stays with that link until the
 *   chain gets there. Since each link is ordered, nothing is reordered or lost, whatever order the
 *   links' hellos, messages and closes arrive in.
 * - Once the receiver has read all it will read on a link — the chain went past it, or it is not
 *   on the chain (its END names a link the chain reached without it) — it sends DONE there. A
 *   link with END and DONE sent and received both ways is finished: it carries nothing more and
 *   either side closes it ("superseded"); its close loses nothing.
 * - Any other close of a link may have lost part of a stream — this side's, the peer's, or the
 *   start of the peer's next one after it reset — so it resets the peer's links (all closed,
 *   'peer-down'); the overlay redials, and the layer above re-syncs after the next 'peer-up'. A
 *   second BEGIN (the peer restarted its stream) does the same. Outside a switch a peer has one
 *   link, so this costs nothing more than before; while links race, a failure resets rather than
 *   guesses what the peer had read.
 * Both sides rank links identically (path, then whoever-the-lower-id-dialed, then link id), so they
 * converge on the same best link and duplicate connections from simultaneous dials are dropped.
 * While the stream has been quiet for `quietAfterMs`, WebSocket ranks above WebRTC (decision 106).
 * Both ends count from the same last message and use the same threshold, so they rank alike;
 * should they still differ for a moment (a message crossing the threshold), the END one sends on
 * a link takes it out of the other's choice, and no message is lost either way.
 */
import type { SecureLink } from './secure.js';
import { frame, ProtocolError, Wire } from './overlay-wire.js';

const utf8 = new TextDecoder();

export type PeerPath = 'webrtc' | 'websocket' | 'relay';
const PATH_RANK: Record<PeerPath, number> = { webrtc: 3, websocket: 2, relay: 1 };
/** While the stream is quiet, WebSocket ranks above WebRTC (decision 106). */
const QUIET_PATH_RANK: Record<PeerPath, number> = { websocket: 3, webrtc: 2, relay: 1 };

export function pathOf(link: SecureLink): PeerPath {
  return link.kind === 'webrtc' ? 'webrtc' : link.kind === 'relay' ? 'relay' : 'websocket';
}

/** One secure link to the peer, with its part in each direction's stream. */
export interface PeerConn {
  link: SecureLink;
  /** Identical on both ends (derived from the handshake nonces). */
  id: string;
  path: PeerPath;
  /** Peer id of the side that opened this link. */
  dialer: string;
  sentEnd: boolean;
  gotEnd: boolean;
  /** The link id the peer's END on this link named, once read. */
  endNext: string | undefined;
  sentDone: boolean;
  gotDone: boolean;
  /** DATA (and FLOOD, wrapped) that arrived here before this link became the rx link. */
  held: Array<Uint8Array | { flood: Uint8Array }>;
  /** When this link finished its hello (ms epoch): it counts as heard from then (see `lastHeard`). */
  opened: number;
}

/**
 * When anything last arrived on `conn`'s link (ms epoch), handed on yet or waiting behind a
 * burst (`Link.lastReceived`); at the earliest, when it finished its hello.
 */
export function lastHeard(conn: PeerConn): number {
  return Math.max(conn.opened, conn.link.lastReceived);
}

/** A link that has just finished its hello, not yet part of any stream. */
export function newPeerConn(link: SecureLink, id: string, path: PeerPath, dialer: string, now = Date.now()): PeerConn {
  return { link, id, path, dialer, sentEnd: false, gotEnd: false, endNext: undefined, sentDone: false, gotDone: false, held: [], opened: now };
}

export interface PeerLinksHooks {
  up(peer: PeerLinks): void;
  down(peer: PeerLinks, reason: string): void;
  /** A message of the stream, in order; `flooded` for FLOOD (a broadcast to be relayed). */
  message(peer: PeerLinks, data: Uint8Array, flooded: boolean): void;
  log(msg: string): void;
}

export class PeerLinks {
  /** The live links to this peer (attached, not closed). */
  readonly conns = new Map<string, PeerConn>();
  meta: Record<string, unknown> = {};
  inc = 0;
  /** The run (`inc`) that said its join was done (Wire.Joined), if one did: it stays a member. */
  joinedRun: number | undefined;
  rtc = false;
  addrs: string[] = [];
  rttMs: number | undefined;
  up = false;
  /** When this peer's stream last carried a message either way (ms epoch; the overlay keeps it). */
  lastStreamAt = 0;
  /**
   * After this long without a stream message, prefer a WebSocket link over WebRTC
   * (node-datachannel's threads wake ~100 times a second while any peer connection lives;
   * decision 106). Undefined: never.
   */
  quietAfterMs: number | undefined;
  #tx: PeerConn | undefined;
  /** The peer's BEGIN has arrived in this up period. */
  #begun = false;
  /** The link the peer's stream is on now (from BEGIN, then each END), attached or not yet. */
  #rxId: string | undefined;
  /** The attached link `#rxId` names; undefined while its hello has not arrived. */
  #rx: PeerConn | undefined;
  /** Links the peer's stream has been on in this up period, the current one included. */
  readonly #visited = new Set<string>();

  constructor(
    readonly selfId: string,
    readonly id: string,
    private readonly hooks: PeerLinksHooks,
  ) {}

  get path(): PeerPath | undefined {
    return this.#tx?.path;
  }

  /** Has the stream carried nothing for `quietAfterMs`? */
  isQuiet(now = Date.now()): boolean {
    return this.quietAfterMs !== undefined && now - this.lastStreamAt >= this.quietAfterMs;
  }

  /** Choose the transmitting link again (the ranking depends on quiet time, which passes by itself). */
  reconsider(): void {
    if (this.up) this.#settle();
  }

  hasPath(path: PeerPath): boolean {
    for (const c of this.conns.values()) if (c.path === path && !c.sentEnd && !c.gotEnd) return true;
    return false;
  }

  /** A link whose hello has been exchanged joins this peer's links. */
  attach(conn: PeerConn): void {
    this.conns.set(conn.id, conn);
    if (!this.up) {
      this.up = true;
      this.#tx = conn;
      conn.link.send(frame(Wire.Begin));
      this.hooks.up(this);
    }
    if (this.#rxId === conn.id && this.#rx === undefined) {
      // The peer's stream moved here already: its END arrived before this link's hello.
      this.#rx = conn;
      const next = this.#readRx();
      if (next !== undefined) this.#follow(next);
    }
    if (this.up) this.#settle();
  }

  /** Send `data` on the stream as DATA; false if not linked. */
  send(data: Uint8Array): boolean {
    return this.sendFramed(frame(Wire.Data, data));
  }

  /**
   * Send a DATA or FLOOD frame made already, on the same ordered stream (a FLOOD the receiver
   * may relay: a broadcast's one frame for every peer, overlay.ts); false if not linked.
   */
  sendFramed(framed: Uint8Array): boolean {
    if (!this.#tx) return false;
    this.#tx.link.send(framed);
    return true;
  }

  /** Bytes waiting in the transmitting link, not yet on the network (0 where it cannot tell). */
  buffered(): number {
    return this.#tx?.link.bufferedAmount?.() ?? 0;
  }

  /** Send a control message on the current tx link (e.g. signalling); false if none. */
  sendControl(message: Uint8Array): boolean {
    if (!this.#tx) return false;
    this.#tx.link.send(message);
    return true;
  }

  /**
   * Handle the stream messages (DATA, FLOOD, BEGIN, END, DONE) that arrived on `conn`. Throws
   * ProtocolError for a message no well-behaved peer sends there (the overlay closes that link).
   */
  receive(conn: PeerConn, type: Wire, body: Uint8Array): void {
    if (this.conns.get(conn.id) !== conn) return; // reset since; its close is on the way
    if (type === Wire.Data || type === Wire.Flood) {
      if (conn.gotEnd) throw new ProtocolError('stream data after END on the same link');
      const flooded = type === Wire.Flood;
      if (this.#rx === conn) this.hooks.message(this, body, flooded);
      else conn.held.push(flooded ? { flood: body } : body);
    } else if (type === Wire.Begin) {
      if (this.#begun) {
        this.reset(`peer ${this.id} restarted its stream`);
        return;
      }
      this.#begun = true;
      this.#follow(conn.id);
    } else if (type === Wire.End) {
      if (conn.gotEnd) throw new ProtocolError('a second END on one link');
      conn.gotEnd = true;
      conn.endNext = utf8.decode(body);
      if (this.#rx === conn) this.#follow(conn.endNext);
    } else if (type === Wire.Done) {
      if (!conn.sentEnd) throw new ProtocolError('DONE on a link this side has not ENDed');
      conn.gotDone = true;
    }
    if (this.up) this.#settle();
  }

  /**
   * A link closed. Called by the overlay with the link's close reason. A finished link was closed
   * and dropped by #settle already; any other may have taken part of a stream with it.
   */
  detach(conn: PeerConn, reason: string): void {
    if (this.conns.get(conn.id) !== conn) return;
    this.reset(`link lost (${reason})`);
  }

  /** Drop every link to the peer; the overlay will redial. */
  reset(reason: string): void {
    const conns = [...this.conns.values()];
    this.conns.clear();
    this.#tx = undefined;
    this.#begun = false;
    this.#rxId = undefined;
    this.#rx = undefined;
    this.#visited.clear();
    this.rttMs = undefined;
    for (const c of conns) c.link.close(`resetting the links: ${reason}`);
    if (this.up) {
      this.up = false;
      this.hooks.down(this, reason);
    }
  }

  /**
   * Move the peer's stream to link `linkId` and along every END already read from there,
   * delivering what each link held. Stops at a link whose hello has not arrived (attach() goes on
   * from there) or that has no END yet.
   */
  #follow(linkId: string): void {
    let id: string | undefined = linkId;
    while (id !== undefined) {
      if (this.#visited.has(id)) {
        this.reset(`peer ${this.id} moved its stream back to a link it had left`);
        return;
      }
      this.#visited.add(id);
      this.#rxId = id;
      this.#rx = this.conns.get(id);
      id = this.#readRx();
    }
  }

  /** Deliver what the rx link holds; returns the link its END names, if it has one by now. */
  #readRx(): string | undefined {
    const conn = this.#rx;
    if (!conn) return undefined;
    for (const data of conn.held.splice(0)) {
      if (data instanceof Uint8Array) this.hooks.message(this, data, false);
      else this.hooks.message(this, data.flood, true);
      // The layer above may have reset the links from inside the callback.
      if (this.#rx !== conn) return undefined;
    }
    return conn.gotEnd ? conn.endNext : undefined;
  }

  /**
   * Has this side read all it will read on `conn`? Either the peer's stream went past it, or its
   * END names a link the stream reached without passing through it (the peer never sent on it).
   */
  #doneReading(conn: PeerConn): boolean {
    if (!conn.gotEnd) return false;
    if (this.#visited.has(conn.id)) return this.#rxId !== conn.id;
    return conn.endNext !== undefined && this.#visited.has(conn.endNext);
  }

  #better(a: PeerConn, b: PeerConn): boolean {
    const rank = this.isQuiet() ? QUIET_PATH_RANK : PATH_RANK;
    if (rank[a.path] !== rank[b.path]) return rank[a.path] > rank[b.path];
    const low = this.selfId < this.id ? this.selfId : this.id;
    if ((a.dialer === low) !== (b.dialer === low)) return a.dialer === low;
    return a.id < b.id;
  }

  /**
   * Move tx to the best usable link and END every link this side will not transmit on; send DONE
   * where this side has read all it will; close the links both sides are finished with.
   */
  #settle(): void {
    let best: PeerConn | undefined;
    for (const c of this.conns.values()) {
      if (c.sentEnd || c.gotEnd) continue;
      if (!best || this.#better(c, best)) best = c;
    }
    const tx = best ?? this.#tx;
    if (!tx) return;
    if (tx !== this.#tx) this.hooks.log(`peer ${this.id}: switching to ${tx.path} (${tx.link.remote})`);
    this.#tx = tx;
    for (const c of this.conns.values()) {
      if (c === tx || c.sentEnd) continue;
      c.sentEnd = true;
      c.link.send(frame(Wire.End, tx.id));
    }
    for (const c of [...this.conns.values()]) {
      if (!c.sentDone && this.#doneReading(c)) {
        c.sentDone = true;
        c.link.send(frame(Wire.Done));
      }
      if (c.sentEnd && c.sentDone && c.gotDone) {
        this.conns.delete(c.id);
        c.link.close('superseded by a better path');
      }
    }
  }
}
