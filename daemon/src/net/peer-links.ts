/**
 * Everything the overlay knows about one peer it is connected to: the set of secure links to it
 * and which one carries each direction's stream.
 *
 * Path switching keeps order by flush-and-marker, per direction:
 * - The sender transmits DATA on one link (its tx). The first tx link to a peer is announced
 *   with BEGIN. To move to a better link it sends END(next link id) on the old one and continues on
 *   the new one; every other link it will not use also gets an END.
 * - The receiver delivers DATA only from its rx link (the one BEGIN arrived on); DATA arriving on
 *   any other link is held. On END(next) it moves rx to `next` and releases what that link held.
 *   Since each link is ordered, nothing is reordered or lost across the switch.
 * - A link on which both sides sent END carries nothing more and is closed ("superseded").
 * - A link that dies while it still carries a stream (no END) may have lost messages: the peer's links
 *   are reset (all links closed, 'peer-down'), the overlay redials, and the layer above re-syncs
 *   after the next 'peer-up'.
 * Both sides rank links identically (path, then whoever-the-lower-id-dialed, then link id), so they
 * converge on the same best link and duplicate connections from simultaneous dials are dropped.
 */
import type { SecureLink } from './secure.js';
import { frame, Wire } from './overlay-wire.js';

const utf8 = new TextDecoder();

export type PeerPath = 'webrtc' | 'websocket' | 'relay';
const PATH_RANK: Record<PeerPath, number> = { webrtc: 3, websocket: 2, relay: 1 };

export function pathOf(link: SecureLink): PeerPath {
  return link.kind === 'webrtc' ? 'webrtc' : link.kind === 'relay' ? 'relay' : 'websocket';
}

export interface PeerConn {
  link: SecureLink;
  /** Identical on both ends (derived from the handshake nonces). */
  id: string;
  path: PeerPath;
  /** Peer id of the side that opened this link. */
  dialer: string;
  sentEnd: boolean;
  gotEnd: boolean;
  /** DATA (and FLOOD, wrapped) that arrived here before this link became the rx link. */
  held: Array<Uint8Array | { flood: Uint8Array }>;
  lastHeard: number;
}

export interface PeerLinksHooks {
  up(peer: PeerLinks): void;
  down(peer: PeerLinks, reason: string): void;
  /** A message of the stream, in order; `flooded` for FLOOD (a broadcast to be relayed). */
  message(peer: PeerLinks, data: Uint8Array, flooded: boolean): void;
  log(msg: string): void;
}

export class PeerLinks {
  readonly conns = new Map<string, PeerConn>();
  meta: Record<string, unknown> = {};
  inc = 0;
  rtc = false;
  addrs: string[] = [];
  rttMs: number | undefined;
  up = false;
  #tx: PeerConn | undefined;
  #rx: PeerConn | undefined;
  #rxNext: string | undefined;

  constructor(
    readonly selfId: string,
    readonly id: string,
    private readonly hooks: PeerLinksHooks,
  ) {}

  get path(): PeerPath | undefined {
    return this.#tx?.path;
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
    if (this.#rxNext === conn.id) this.#moveRx(conn);
    this.#chooseTx();
  }

  /** Send on the stream: as DATA, or as FLOOD (same order; the receiver may relay it). */
  send(data: Uint8Array, flooded = false): boolean {
    if (!this.#tx) return false;
    this.#tx.link.send(frame(flooded ? Wire.Flood : Wire.Data, data));
    return true;
  }

  /** Send a control message on the current tx link (e.g. signalling); false if none. */
  sendControl(message: Uint8Array): boolean {
    if (!this.#tx) return false;
    this.#tx.link.send(message);
    return true;
  }

  /** Handle the stream messages (DATA, FLOOD, BEGIN, END) that arrived on `conn`. */
  receive(conn: PeerConn, type: Wire, body: Uint8Array): void {
    if (type === Wire.Data || type === Wire.Flood) {
      const flooded = type === Wire.Flood;
      if (this.#rx === conn) this.hooks.message(this, body, flooded);
      else conn.held.push(flooded ? { flood: body } : body);
    } else if (type === Wire.Begin) {
      if (this.#rx !== undefined && this.#rx !== conn) {
        this.reset(`peer ${this.id} restarted its stream`);
        return;
      }
      this.#moveRx(conn);
    } else if (type === Wire.End) {
      conn.gotEnd = true;
      if (this.#rx === conn) {
        this.#rx = undefined;
        const next = utf8.decode(body);
        const nextConn = this.conns.get(next);
        if (nextConn) this.#moveRx(nextConn);
        else this.#rxNext = next;
      }
      this.#chooseTx();
    }
  }

  /** A link closed. Called by the overlay with the link's close reason. */
  detach(conn: PeerConn, reason: string): void {
    if (this.conns.get(conn.id) !== conn) return;
    this.conns.delete(conn.id);
    const carriedTx = this.#tx === conn && !conn.sentEnd;
    const carriedRx = (this.#rx === conn || this.#rxNext === conn.id) && !conn.gotEnd;
    if (carriedTx || carriedRx) {
      this.reset(`link lost (${reason})`);
    } else if (this.conns.size === 0 && this.up) {
      this.reset(reason);
    }
  }

  /** Drop every link to the peer; the overlay will redial. */
  reset(reason: string): void {
    const conns = [...this.conns.values()];
    this.conns.clear();
    this.#tx = undefined;
    this.#rx = undefined;
    this.#rxNext = undefined;
    this.rttMs = undefined;
    for (const c of conns) c.link.close(`resetting the links: ${reason}`);
    if (this.up) {
      this.up = false;
      this.hooks.down(this, reason);
    }
  }

  #moveRx(conn: PeerConn): void {
    this.#rx = conn;
    this.#rxNext = undefined;
    const held = conn.held.splice(0);
    for (const data of held) {
      if (this.#rx !== conn) {
        // A held END-less switch cannot happen mid-flush, but keep order if rx moved anyway.
        conn.held.push(data);
        continue;
      }
      if (data instanceof Uint8Array) this.hooks.message(this, data, false);
      else this.hooks.message(this, data.flood, true);
    }
  }

  #better(a: PeerConn, b: PeerConn): boolean {
    if (PATH_RANK[a.path] !== PATH_RANK[b.path]) return PATH_RANK[a.path] > PATH_RANK[b.path];
    const low = this.selfId < this.id ? this.selfId : this.id;
    if ((a.dialer === low) !== (b.dialer === low)) return a.dialer === low;
    return a.id < b.id;
  }

  /** Move tx to the best usable link, and END every link this side will not transmit on. */
  #chooseTx(): void {
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
      if (c.sentEnd && c.gotEnd) {
        this.conns.delete(c.id);
        c.link.close('superseded by a better path');
      }
    }
  }
}
