/**
 * The overlay: the only part of net/ the daemon uses. It keeps this daemon connected to every
 * other member of the session over the best path available, and hides links, handshakes,
 * encryption, gossip and reconnects behind a per-peer reliable ordered message stream.
 *
 *   const overlay = new Overlay({ selfId, selfMeta, secret, sessionId, listen, relayUrl, seeds, log, transports });
 *   const { addrs } = await overlay.start();         // listening addresses, for the join code
 *   overlay.on('peer-up', (id, meta) => ...);         // run a full sync with `id` now
 *   overlay.on('message', (id, data, flood) => ...);  // in order, per peer, while up
 *   overlay.on('peer-down', (id, reason) => ...);
 *   overlay.on('refused', (where, reason) => ...);    // a handshake failed (e.g. wrong secret)
 *   overlay.send(id, bytes);                          // to one linked peer
 *   overlay.broadcast(bytes);                         // to every member, each once (flooded)
 *   overlay.peers(); overlay.knownAddrs();
 *   await overlay.stop();                             // the last one to stop releases WebRTC threads
 *
 * Guarantees: between a 'peer-up' and the next 'peer-down' for a peer, messages sent to it are
 * delivered once and in order, even across path switches (see peer-links.ts). Nothing is
 * buffered across a 'peer-down': `send` returns false while a peer is down, and the layer above
 * re-syncs after each 'peer-up'. Every link is authenticated and encrypted (secure.ts).
 *
 * Access: a peer without the secret never gets past the handshake; it sees a refusal and the
 * overlay emits 'refused' (it keeps redialing with backoff — stop it if the code is wrong).
 * A peer's `meta.readOnly` is what its handshake proved (secure.ts, decision 013), never what its
 * hello says; the sync layer refuses every mutation from a read-only peer. A peer id that proved
 * one role on a live link cannot attach a read-only link (no take-over of a writer's id); a link
 * proving a writer takes an id a read-only member holds (decision 146).
 *
 * Membership: every daemon announces its listening addresses in its hello; each overlay gossips
 * the members it has heard of recently (with the age of that news), on every change and every
 * ping. Up to FULL_MESH_UP_TO members everyone links to everyone; beyond, each member links only
 * to its `meshNeighbours` and broadcasts are flooded across (decision 011, flood.ts): each member
 * gets each broadcast once, and a listener that refuses one (`flood.refuse()`) stops it from
 * going further (decision 095). Dials back off 200 ms → 5 s with jitter, forever.
 *
 * Platform: the overlay is platform-neutral (decision 065). How links are made — WebSocket
 * listen and dial, WebRTC, this machine's host id — comes from `transports` (transports.ts); the
 * daemon passes nodeTransports() (node-transports.ts).
 */
// `events`: Node's own module in the daemon, the same-API `events` package in a browser bundle.
import { EventEmitter } from 'events';
import { bytesToHex, randomBytes } from '@noble/hashes/utils.js';
import { QuietLog } from '../quiet-log.js';
import { soon, unref, type Timer } from '../timers.js';
import { Backoff } from './backoff.js';
import { Flood, type FloodDelivery } from './flood.js';
import { dialable } from './host-addrs.js';
import { HandshakeSlots, sourceOf } from './handshake-slots.js';
import type { Link } from './link.js';
import { frame, jsonFrame, MAX_ADDRS, MAX_MEMBERS, memberName, parseHello, parseJson, parseMembers, ProtocolError, Wire, type Hello, type Member } from './overlay-wire.js';
import { lastHeard, newPeerConn, PeerLinks, pathOf, type PeerConn, type PeerPath } from './peer-links.js';
import { RelayClient } from './relay-client.js';
import { relayRoomId } from './relay-protocol.js';
import { writerKeys, type SessionKeys } from './credentials.js';
import { HandshakeError, MAX_MESSAGE_BYTES, MessageTooLargeError, secureHandshake, type SecureLink } from './secure.js';
import { dialFailureInWords, type Listener, type Transports } from './transports.js';
import { isSignal, type Signal, type SignalChannel, type WebRtcOptions } from './webrtc-signals.js';

export type { PeerPath } from './peer-links.js';
export type { FloodDelivery } from './flood.js';

export interface OverlayOptions {
  selfId: string;
  /** Delivered to peers at handshake, e.g. {name, color, readOnly}. */
  selfMeta?: Record<string, unknown>;
  /** The session's keys from the join code; or `secret`, a writer secret they derive from. */
  keys?: SessionKeys;
  secret?: Uint8Array;
  sessionId: string;
  /** Accept direct websocket connections here (port 0 = ephemeral). */
  listen?: { host: string; port: number };
  relayUrl?: string;
  /** `ws://` addresses to dial at start (from the join code or a previous run's knownAddrs()). */
  seeds: string[];
  /**
   * Addresses dialed again, for as long as the overlay runs, whenever the peer behind them is not
   * linked directly: a browser page's serving daemon (a page cannot listen, so a daemon that
   * restarts cannot dial it; it must dial back, however long the daemon was away).
   */
  anchors?: string[];
  /** Upgrade peers to WebRTC data channels (default true). `bindAddress` pins ICE to one address. */
  webrtc?: boolean | { bindAddress?: string };
  /** Use direct paths (default true). false = relay only: no listener, no dialing, no WebRTC. */
  direct?: boolean;
  log: (msg: string) => void;
  /** How this platform makes links (node-transports.ts in the daemon). */
  transports: Transports;
  /**
   * Tuning knobs; the defaults suit real use. `webrtcIdleMs`: a peer's stream idle this long moves
   * from WebRTC to WebSocket where it can (decision 106).
   */
  timing?: { pingIntervalMs?: number; deadAfterMs?: number; backoffMaxMs?: number; webrtcIdleMs?: number; forgetAfterMs?: number };
}

export interface PeerInfo {
  id: string;
  meta: Record<string, unknown>;
  /**
   * `left`: it said goodbye (its daemon stopped, or it left the session) and has not been back
   * since; it is still dialled, and is `connected` again once it returns.
   */
  state: 'connected' | 'reconnecting' | 'relayed' | 'left';
  /** The path carrying our messages to this peer, while connected. */
  path?: PeerPath;
  rttMs?: number;
  addrs: string[];
  /** Why the last handshake with this member, while not linked, was refused for good (HandshakeError.final). */
  refused?: string;
}

export interface OverlayEvents {
  'peer-up': [id: string, meta: Record<string, unknown>];
  'peer-down': [id: string, reason: string];
  /** From linked peer `id` (a broadcast may have come to it from further away: `flood` set). */
  message: [id: string, data: Uint8Array, flood: FloodDelivery | undefined];
  refused: [where: string, reason: string];
  /** A peer let us in but serves another session (`theirs`): the join code is mixed up. */
  'wrong-session': [where: string, theirs: string];
  /** A direct dial failed before any handshake; `code` is the system error (e.g. ECONNREFUSED). */
  unreachable: [addr: string, code: string];
  /**
   * A direct dial connected (the far end accepted the WebSocket) but the secure handshake did not
   * complete, and nobody refused it: it timed out or was closed (an overloaded listener, or one
   * flooded by strangers, decision 165). `reason` is the handshake's failure.
   */
  'handshake-incomplete': [addr: string, reason: string];
}

/** Largest message `send`/`broadcast` accept: the secure frame limit less the DATA type byte. */
export const MAX_PAYLOAD_BYTES = MAX_MESSAGE_BYTES - 1;
export { MessageTooLargeError } from './secure.js';

const HELLO_TIMEOUT_MS = 10_000;
/**
 * Most incoming links (dialled by others, or through the relay) in their secure handshake at
 * once that have not knocked with the session's secret (strangers); beyond, the oldest stranger
 * of the busiest address is closed to make room (handshake-slots.ts, decision 165). The handshake
 * needs no secret to start, so anyone who reaches the port (peers listen on every interface) could
 * otherwise hold sockets, timers and a log line each for 10 s, by the thousand (decision 149).
 */
export const MAX_PENDING_HANDSHAKES = 64;
/**
 * Most incoming links in their handshake whose hello knocked with the session's secret: strangers
 * cannot take these. A session's members dial in a few links each; 64 leaves room for a full mesh
 * of them all reconnecting at once.
 */
export const MAX_KNOCKED_HANDSHAKES = 64;
/** Lines of one kind about failed or refused handshakes logged per minute; the rest are counted. */
const HANDSHAKE_LOG_LINES_PER_MINUTE = 3;
/** Up to this many members (this one included) every member links to every other. */
export const FULL_MESH_UP_TO = 8;
/** A member nobody has had news of for this long is taken as gone (for choosing links). */
export const ALIVE_MS = 20_000;
/**
 * A member not linked and with no news for this long is forgotten: no longer listed, dialled
 * or saved (decision 161). Its daemon was killed, crashed or left for good (a join cut short);
 * one that comes back links again, by dialling the addresses it saved, and is known again.
 */
export const FORGET_AFTER_MS = 10 * 60_000;
/**
 * The goodbye (Wire.Bye) of a member whose join stopped before it was in (interrupted, refused,
 * failed): it will not come back (its folder's `.chorus/` goes with it), so it is forgotten at
 * once rather than listed as left (decision 161). An older daemon takes it as any goodbye.
 */
export const JOIN_ABANDONED = 'its join stopped before it was in: it will not come back';
/**
 * Most members the address book holds. Gossip comes from any member, a hostile one included, and
 * each message may name 256 members never heard of: without a bound, the book (and the session
 * file its addresses are saved to) grows without end. When full, the member with the oldest news
 * that is not linked now makes room.
 */
export const MAX_KNOWN_MEMBERS = 1024;
/** Most addresses `knownAddrs` returns (each is dialled when the daemon starts again). */
export const MAX_SAVED_ADDRS = 64;
/** Longest wait between dials of a forgotten member's address (#lapsed) while nothing is linked. */
const LAPSED_BACKOFF_MAX_MS = 60_000;
/** A link that is not needed any more in a larger session is closed after it has been up this long. */
const PRUNE_AFTER_MS = 5_000;

/**
 * The members this one links to in a session larger than FULL_MESH_UP_TO: on the ring of sorted
 * ids, those at distance 1, 2, 4, 8, … either way. Every member computes the same relation, it is
 * symmetric, and it keeps the graph connected with about 2·log2(n) links per member and short
 * paths; broadcasts (live changes, presence) are flooded over it (flood.ts).
 */
export function meshNeighbours(self: string, alive: Iterable<string>): Set<string> {
  const ids = [...new Set([self, ...alive])].sort();
  if (ids.length <= FULL_MESH_UP_TO) return new Set(ids.filter((id) => id !== self));
  const n = ids.length;
  const i = ids.indexOf(self);
  const out = new Set<string>();
  for (let d = 1; d < n; d *= 2) {
    out.add(ids[(i + d) % n]!);
    out.add(ids[(i - d + n * 2) % n]!);
  }
  out.delete(self);
  return out;
}
let runningOverlays = 0;
/** How long a direct dial may take to connect (the transport's own timeout: WebSocket's opening handshake). */
const DIAL_TIMEOUT_MS = 5_000;
/** Past its own timeout, a dial that has neither connected nor failed after this much more counts as failed. */
const DIAL_GRACE_MS = 5_000;
/** How often the overlay looks again while it has dialing or pruning to do. */
const TICK_MS = 200;
/**
 * A peer's stream idle this long leaves WebRTC for WebSocket when it can: while any WebRTC peer
 * connection lives, node-datachannel's SCTP timer thread wakes the process ~100 times a second
 * (decision 106). The next message brings WebRTC back.
 */
const WEBRTC_IDLE_MS = 30_000;
/** The lower id of a pair pings every interval; the higher one only every this many (for its rtt). */
const HIGHER_PINGS_EVERY = 5;
/** Most of a peer's goodbye reason a log line keeps (a goodbye may be a whole message long). */
const MAX_REASON_LOGGED = 200;
const utf8 = new TextDecoder();

/** How a raw link came to be, for ranking and bookkeeping. */
interface Origin {
  dialedBy: 'me' | 'them';
  /** For direct dials: the address dialed. */
  addr?: string;
  /** The peer we expected to reach, when known. */
  expect?: string;
  /** Called when the handshake fails, so the dialer tries the next address next time. */
  onHandshakeFail?: () => void;
}

/** Dial bookkeeping for one target: a member id, a seed address, or the relay itself. */
interface DialState {
  backoff: Backoff;
  inFlight: boolean;
  addrIndex: number;
}

interface RtcAttempt {
  id: string;
  handlers: Set<(signal: Signal) => void>;
}

export class Overlay extends EventEmitter<OverlayEvents> {
  readonly #opts: OverlayOptions;
  readonly #inc = Date.now();
  readonly #links = new Map<string, PeerLinks>();
  /** Address book: everyone we have heard of, with where they listen. */
  readonly #members = new Map<string, Member>();
  /** When this overlay last had news of each member (directly, or by gossip with its age). */
  readonly #seen = new Map<string, number>();
  /** Peers whose last word was a goodbye (Wire.Bye), until they are up again. */
  readonly #left = new Set<string>();
  /** Members whose last handshake was refused for good, and why (until a link with one succeeds). At most one per member. */
  readonly #refusedBy = new Map<string, string>();
  /**
   * Joiners whose join stopped before it was in (a goodbye said so, or their link went while
   * their hello said `joining`), with the incarnation that did: gossip of that run, which other
   * members may still pass on for a while, does not bring them back (decision 229). A hello from
   * them does. At most MAX_KNOWN_MEMBERS, the oldest going first.
   */
  readonly #abandoned = new Map<string, number>();
  /** Set by `joined`: this member's hello no longer says it is joining, and new links hear so too. */
  #joinDone = false;
  /**
   * Members this overlay has been linked to in this run: they proved they hold the session's
   * secret, which a member only heard of by gossip has not (decision 135).
   */
  readonly #verified = new Set<string>();
  readonly #upSince = new Map<string, number>();
  readonly #dials = new Map<string, DialState>();
  readonly #pending = new Set<Link>();
  /** Links dialled by others (or reached through the relay) still in their handshake: see MAX_PENDING_HANDSHAKES. */
  readonly #pendingIn = new HandshakeSlots<Link>(MAX_PENDING_HANDSHAKES, MAX_KNOCKED_HANDSHAKES);
  /**
   * Lines anyone who reaches the port can cause (a failed handshake, a connection over the cap):
   * a few a minute per kind, then a count (decision 149; there is no log rotation).
   */
  readonly #quiet = new QuietLog((m) => this.#log(m), 60_000, HANDSHAKE_LOG_LINES_PER_MINUTE);
  readonly #rtc = new Map<string, RtcAttempt>();
  readonly #rtcBackoff = new Map<string, Backoff>();
  readonly #selfAddrs = new Set<string>();
  #seeds: string[];
  /**
   * Addresses of members linked in this run that were forgotten for silence (FORGET_AFTER_MS), not
   * for a goodbye: dialled only while this overlay has no link at all, and saved only when it
   * knows no other address. A member cut off for longer than that (its network gone, its lid
   * closed) forgets everyone, and everyone forgets it: without these it could find nobody
   * again, even after a restart (stopping saves knownAddrs). Newest first, at most MAX_SAVED_ADDRS.
   */
  #lapsed: string[] = [];
  /** Anchor address → the peer that answered there. */
  readonly #anchorPeers = new Map<string, string>();
  #listener: Listener | undefined;
  #relay: RelayClient | undefined;
  #relayConnecting = false;
  /** Why the last attempt to reach the relay failed, in words; cleared once it is reached. */
  #relayProblem: string | undefined;
  #addrs: string[] = [];
  /** The one timer: the next tick (dialing, pruning, pings, the silent-link check). */
  #timer: Timer | undefined;
  #timerAt = Infinity;
  #nextPingAt = 0;
  #pingRound = 0;
  #gossipQueued = false;
  /** Peers whose quiet stream was logged as leaving WebRTC (until their next message). */
  readonly #leftWebRtc = new Set<string>();
  #running = false;
  readonly #blocked = new Set<string>();
  /** Broadcasts: each delivered once, relayed in a partial mesh. */
  readonly #flood = new Flood({
    neighbours: () => this.#linked(),
    send: (id, data) => {
      const s = this.#links.get(id);
      if (s?.sendFramed(this.#floodFrame(data)) !== true) return false;
      this.#streamed(s);
      return true;
    },
    relaying: () => this.isPartialMesh(),
  });

  /**
   * A broadcast's FLOOD frame, made once for all the peers it goes to (with 8 members a keystroke
   * goes to 7), keyed by the payload; held only as long as the payload is.
   */
  readonly #floodFrames = new WeakMap<Uint8Array, Uint8Array>();
  #floodFrame(data: Uint8Array): Uint8Array {
    let framed = this.#floodFrames.get(data);
    if (!framed) this.#floodFrames.set(data, (framed = frame(Wire.Flood, data)));
    return framed;
  }

  readonly #keys: SessionKeys;
  /** Binds this run's relay slot to this overlay (relay-server.ts). */
  readonly #relaySlotKey = bytesToHex(randomBytes(32));

  constructor(opts: OverlayOptions) {
    super();
    this.#opts = opts;
    this.startedJoining = opts.selfMeta?.joining === true;
    if (opts.keys) this.#keys = opts.keys;
    else if (opts.secret) this.#keys = writerKeys(opts.secret);
    else throw new Error('an overlay needs the session keys');
    this.#seeds = [...new Set(opts.seeds)];
  }

  get #direct(): boolean {
    return this.#opts.direct !== false;
  }

  get #webrtc(): boolean {
    return this.#direct && this.#opts.webrtc !== false && this.#opts.transports.webrtc !== undefined;
  }

  /** A bug of ours inside a callback: log it and drop the link involved; never crash the daemon. */
  #internalError(doing: string, err: unknown, link?: Link): void {
    this.#log(`internal error while ${doing}: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`);
    link?.close('internal error');
  }

  #log(msg: string): void {
    try {
      this.#opts.log(msg);
    } catch {
      /* a broken logger must not break networking */
    }
  }

  async start(): Promise<{ addrs: string[] }> {
    if (this.#running) throw new Error('overlay already started');
    if (this.#opts.listen && this.#direct) {
      const listen = this.#opts.transports.listen;
      if (!listen) throw new Error('this platform cannot accept connections: start the overlay without `listen`');
      this.#listener = await listen({
        host: this.#opts.listen.host,
        port: this.#opts.listen.port,
        onLink: (link) => this.#adopt(link, { dialedBy: 'them' }),
      });
      this.#addrs = this.#listener.addrs;
      for (const a of this.#addrs) this.#selfAddrs.add(a);
      this.#log(`listening on ${this.#addrs.join(', ')}`);
    }
    this.#running = true;
    runningOverlays++;
    this.#nextPingAt = Date.now() + this.#pingInterval;
    this.#tick();
    return { addrs: [...this.#addrs] };
  }

  /** Leave: say goodbye to every linked peer (`why`, default "peer left the session") and close everything. */
  async stop(why = 'peer left the session'): Promise<void> {
    if (!this.#running) return;
    this.#running = false;
    clearTimeout(this.#timer);
    this.#timer = undefined;
    for (const peer of [...this.#links.values()]) {
      for (const c of peer.conns.values()) c.link.send(frame(Wire.Bye, why));
      peer.reset('overlay stopped');
    }
    for (const link of this.#pending) link.close('overlay stopped');
    this.#pending.clear();
    this.#pendingIn.clear();
    this.#quiet.clear();
    this.#relay?.close('overlay stopped');
    await this.#listener?.close();
    // node-datachannel's threads would keep the process alive: release them with the last overlay.
    if (--runningOverlays === 0) await this.#opts.transports.webrtc?.releaseWhenIdle?.();
  }

  /**
   * The relay this overlay uses (`relayUrl`), as `chorus status` tells it: connected, or not, with
   * why the last attempt failed (it keeps retrying). Undefined without a relay.
   */
  relayState(): { connected: boolean; problem?: string } | undefined {
    if (!this.#opts.relayUrl) return undefined;
    const connected = this.#relay !== undefined && this.#relay.closeReason === undefined;
    return connected || this.#relayProblem === undefined ? { connected } : { connected, problem: this.#relayProblem };
  }

  peers(): PeerInfo[] {
    const out: PeerInfo[] = [];
    for (const s of this.#links.values()) {
      if (!s.up) continue;
      const info: PeerInfo = { id: s.id, meta: s.meta, state: 'connected', addrs: s.addrs };
      if (s.path) info.path = s.path;
      if (s.rttMs !== undefined) info.rttMs = s.rttMs;
      out.push(info);
    }
    const now = Date.now();
    const alive = this.#alive(now);
    const neighbours = this.#neighbours(alive);
    for (const m of this.#members.values()) {
      if (this.#links.get(m.id)?.up) continue;
      // In a larger session most members are reached through others, not linked directly.
      const state = this.#left.has(m.id) ? 'left' : !neighbours.has(m.id) && alive.includes(m.id) ? 'relayed' : 'reconnecting';
      const name = this.#nameOf(m.id);
      const refused = this.#refusedBy.get(m.id);
      out.push({ id: m.id, meta: this.#links.get(m.id)?.meta ?? (name ? { name } : {}), state, addrs: m.addrs, ...(refused !== undefined ? { refused } : {}) });
    }
    return out;
  }

  /**
   * Send to one peer, reliably and in order. False (and nothing sent) when it is not connected.
   * Throws MessageTooLargeError above MAX_PAYLOAD_BYTES (64 MiB less one framing byte).
   */
  send(peerId: string, data: Uint8Array): boolean {
    if (data.length > MAX_PAYLOAD_BYTES) throw new MessageTooLargeError(data.length);
    const s = this.#links.get(peerId);
    if (s?.up !== true || !s.send(data)) return false;
    this.#streamed(s);
    return true;
  }

  /**
   * Bytes sent to `peerId` and still waiting in its transmitting link (a WebSocket's send buffer;
   * 0 for transports that cannot tell); undefined when it is not linked. The replicator builds no
   * more blob or sync answers for a peer while this is high (decision 149).
   */
  buffered(peerId: string): number | undefined {
    const s = this.#links.get(peerId);
    return s?.up === true ? s.buffered() : undefined;
  }

  get #webrtcIdleMs(): number {
    return this.#opts.timing?.webrtcIdleMs ?? WEBRTC_IDLE_MS;
  }

  /**
   * A message of `s`'s stream went out or came in. After a quiet spell (WebRTC ranks first again
   * with it), tick, so the lower id offers a new WebRTC link (decision 106).
   */
  #streamed(s: PeerLinks): void {
    const wasQuiet = s.isQuiet();
    s.lastStreamAt = Date.now();
    this.#leftWebRtc.delete(s.id);
    if (wasQuiet && this.#webrtc) this.#kick();
  }

  /**
   * Send to every member of the session, each once: to every linked peer, and in a partial mesh
   * on from them (flooded, flood.ts). Returns how many linked peers it went to.
   */
  broadcast(data: Uint8Array): number {
    if (data.length > MAX_PAYLOAD_BYTES) throw new MessageTooLargeError(data.length);
    return this.#flood.originate(data);
  }

  /** Ids of the peers linked now. */
  *#linked(): Iterable<string> {
    for (const s of this.#links.values()) if (s.up) yield s.id;
  }

  /** Hand a broadcast to the listeners; false if one refused it (then it goes no further). */
  #deliverFlooded(from: string, data: Uint8Array): boolean {
    let refused = false;
    this.emit('message', from, data, { refuse: () => (refused = true) });
    return !refused;
  }

  /**
   * Where `peerId`'s join stands, as its direct link tells: `joining` while its hello said so and
   * no `joined` came, `abandoned` once its join stopped before it was in (its goodbye said so, or
   * its link went mid-join; decision 161) until a hello of a new run; undefined for a member, or a
   * peer never linked directly (nothing here says it is joining).
   */
  joinState(peerId: string): 'joining' | 'abandoned' | undefined {
    // A hello of a new run takes it off #abandoned (#onHello): until then it is that run's.
    if (this.#abandoned.has(peerId)) return 'abandoned';
    const s = this.#links.get(peerId);
    return s?.up && s.meta.joining === true ? 'joining' : undefined;
  }

  /** When anything last arrived from `peerId` on a direct link (ms epoch); undefined while not linked. */
  lastHeard(peerId: string): number | undefined {
    const s = this.#links.get(peerId);
    if (!s?.up) return undefined;
    let last: number | undefined;
    for (const c of s.conns.values()) last = Math.max(last ?? 0, lastHeard(c));
    return last;
  }

  /**
   * Addresses to persist for a later rejoin (dialled at the next start): those of the members
   * with the freshest news first (linked now, then by when last heard of), then the seeds; at
   * most MAX_SAVED_ADDRS, since every one is dialled.
   */
  knownAddrs(): string[] {
    const all = new Set<string>();
    const add = (a: string) => {
      if (all.size < MAX_SAVED_ADDRS && !this.#selfAddrs.has(a)) all.add(a);
    };
    for (const id of this.#freshestFirst(this.#members.keys())) for (const a of this.#members.get(id)!.addrs) add(a);
    for (const a of this.#seeds) add(a);
    // Forgotten members' addresses only when there is nothing else: a daemon cut off for longer
    // than FORGET_AFTER_MS would otherwise save none, and find nobody when it starts again.
    if (all.size === 0) for (const a of this.#lapsed) add(a);
    return [...all];
  }

  /**
   * Is `peerId` a member of this session as far as this overlay knows: linked now, or in its
   * address book? The replicator asks it of the claimed origin of a relayed broadcast, which no
   * link authenticates (decision 140): a made-up id is refused, a real member's is taken.
   */
  isMember(peerId: string): boolean {
    return this.#links.get(peerId)?.up === true || this.#members.has(peerId);
  }

  /**
   * Close every link to a peer as a network failure would: fault injection, diagnostics, and the
   * replicator dropping a peer that broke a bound (it may link again, starting afresh).
   */
  dropLinks(peerId: string, reason = 'dropped on request'): void {
    this.#links.get(peerId)?.reset(reason);
  }

  /**
   * The host says its network is gone (a browser's `offline` event): close every link now, as
   * the dead-link timer would after deadAfterMs of silence; dialing goes on at its backoff.
   */
  networkLost(reason = 'the network is gone'): void {
    for (const s of this.#links.values()) s.reset(reason);
  }

  /** The host says its network is back (a browser's `online` event): dial every peer now, not at the backoff's next try. */
  networkBack(): void {
    for (const d of this.#dials.values()) d.backoff.reset();
    this.#kick();
  }

  /** Fault injection: cut this overlay off from these peers (a partition) until `heal()`. */
  partition(peerIds: string[]): void {
    for (const id of peerIds) {
      this.#blocked.add(id);
      this.#links.get(id)?.reset('partitioned');
    }
  }

  heal(): void {
    this.#blocked.clear();
    this.#kick();
  }

  // ---- links: handshake, hello, dispatch ----

  #adopt(raw: Link, origin: Origin): void {
    if (!this.#running) {
      raw.close('overlay stopped');
      return;
    }
    const incoming = origin.dialedBy === 'them';
    this.#pending.add(raw);
    if (incoming) {
      // Never refuse the newcomer: it may be the honest one (decision 165).
      const evicted = this.#pendingIn.admit(raw, sourceOf(raw.remote));
      if (evicted) {
        this.#quiet.log(
          'handshake cap',
          `closed a connection from ${evicted.remote} before its handshake to make room: ${MAX_PENDING_HANDSHAKES} connections that did not knock with the session's secret are in their handshake already (a flood of bare connections?)`,
        );
        evicted.close('too many connections waiting for a handshake; this one waited longest');
      }
    }
    const onKnock = incoming ? (nonce: string) => void this.#pendingIn.vouch(raw, nonce) : undefined;
    secureHandshake(raw, { keys: this.#keys, selfId: this.#opts.selfId, ...(onKnock ? { onKnock } : {}) }).then(
      (link) => {
        this.#pending.delete(raw);
        this.#pendingIn.release(raw);
        this.#afterHandshake(link, origin);
      },
      (err: unknown) => {
        this.#pending.delete(raw);
        this.#pendingIn.release(raw);
        origin.onHandshakeFail?.();
        const reason = err instanceof Error ? err.message : String(err);
        // One kind per reason, without its details (addresses, close codes).
        this.#quiet.log(`handshake failed: ${reason.replace(/\s*\(.*$/, '').slice(0, 60)}`, `handshake with ${raw.remote} failed: ${reason}`);
        // An address that leads back to us (e.g. "localhost" in a seed list) is not worth redialing.
        if (/connected to itself/.test(reason) && origin.addr) this.#selfAddrs.add(origin.addr);
        if (err instanceof HandshakeError && err.final) {
          // A member we dialled: `chorus status` says why it stays apart (decision 269).
          if (origin.expect !== undefined && this.#members.has(origin.expect)) this.#refusedBy.set(origin.expect, reason);
          this.emit('refused', raw.remote, reason);
        }
        else if (origin.addr !== undefined && !/connected to itself/.test(reason)) this.emit('handshake-incomplete', origin.addr, reason);
      },
    ).catch((err: unknown) => this.#internalError('adopting a link', err, raw));
  }

  #afterHandshake(link: SecureLink, origin: Origin): void {
    if (!this.#running) {
      link.close('overlay stopped');
      return;
    }
    if (origin.expect !== undefined && origin.expect !== link.peerId) {
      this.#log(`${link.remote} turned out to be ${link.peerId}, not ${origin.expect}`);
    }
    this.#refusedBy.delete(link.peerId);
    const hello: Hello = {
      session: this.#opts.sessionId,
      // The host id lets a peer on the same machine keep WebRTC on loopback (see host-addrs.ts).
      meta: { ...(this.#opts.selfMeta ?? {}), host: this.#opts.transports.hostId },
      addrs: this.#addrs,
      inc: this.#inc,
      rtc: this.#webrtc,
    };
    link.send(jsonFrame(Wire.Hello, hello));
    let conn: PeerConn | undefined;
    const timer = unref(setTimeout(() => link.close('no hello within 10 s'), HELLO_TIMEOUT_MS));
    link.on('message', (data) => {
      try {
        if (conn === undefined) {
          if (data[0] !== Wire.Hello) throw new ProtocolError('expected a hello first');
          clearTimeout(timer);
          conn = this.#onHello(link, parseHello(data.subarray(1)), origin);
        } else {
          this.#dispatch(conn, link.peerId, data);
        }
      } catch (err) {
        if (!(err instanceof ProtocolError)) throw err;
        this.#log(`closing link to ${link.peerId} (${link.remote}): ${err.message}`);
        link.close(`protocol error: ${err.message}`);
      }
    });
    link.on('close', (reason) => {
      clearTimeout(timer);
      if (conn === undefined) {
        this.#log(`link to ${link.peerId} (${link.remote}) closed before its hello: ${reason}`);
        return;
      }
      this.#log(`link to ${link.peerId} via ${conn.path} closed: ${reason}`);
      // Its browser said the page is gone (a tab too busy to send its own goodbye when closed):
      // a goodbye too, so it is listed as left, not as coming back (a reload comes back at once).
      if (link.wentAway && !this.#left.has(link.peerId)) {
        this.#log(`peer ${link.peerId}'s page went away without its goodbye: listed as left`);
        this.#left.add(link.peerId);
      }
      this.#links.get(link.peerId)?.detach(conn, reason);
      this.#kick(); // a path to make again (e.g. WebRTC)
    });
  }

  #onHello(link: SecureLink, hello: Hello, origin: Origin): PeerConn | undefined {
    const peerId = link.peerId;
    if (this.#blocked.has(peerId)) throw new ProtocolError(`peer ${peerId} is on the other side of a test partition`);
    if (hello.session !== this.#opts.sessionId) {
      this.emit('wrong-session', origin.addr ?? link.remote, hello.session);
      throw new ProtocolError(`peer ${peerId} is in session ${hello.session}, not ${this.#opts.sessionId}`);
    }
    this.#abandoned.delete(peerId); // it is back, whatever its earlier run did
    // Learn where it listens; an address we reached it at counts too (it may be behind a proxy).
    const addrs = [...new Set([...(origin.addr ? [origin.addr] : []), ...hello.addrs])];
    this.#learn({ id: peerId, addrs, inc: hello.inc });
    if (origin.addr) this.#seeds = this.#seeds.filter((a) => a !== origin.addr);
    for (const a of this.#lapsed.filter((a) => addrs.includes(a))) this.#dials.delete(`lapsed:${a}`); // known again
    if (this.#lapsed.length > 0) this.#lapsed = this.#lapsed.filter((a) => !addrs.includes(a));
    if (origin.addr && this.#opts.anchors?.includes(origin.addr)) {
      this.#anchorPeers.set(origin.addr, peerId);
      this.#dialState(`anchor:${origin.addr}`).backoff.reset();
    }
    this.#dialState(`peer:${peerId}`).backoff.reset();
    this.#dialState(`relay:${peerId}`).backoff.reset();

    let session = this.#links.get(peerId);
    // What the peer may do is what it proved on this link; its hello cannot claim more.
    const meta: Record<string, unknown> = { ...hello.meta, readOnly: !link.remoteWriter };
    if (session?.up && session.meta.readOnly && !meta.readOnly) {
      // A read-only member can claim any id, a writer's too while that writer is away; only a
      // writer proves the writer key, so the proven writer takes the id back (decision 146).
      this.#log(`peer id ${peerId} was held by a read-only member; a link proving a writer takes it over`);
      session.reset(`a writer proved peer id ${peerId}`);
    }
    if (session?.up && session.meta.readOnly !== meta.readOnly) {
      throw new ProtocolError(`peer id ${peerId} is connected as a ${session.meta.readOnly ? 'read-only member' : 'writer'}; a link proving another role is refused`);
    }
    if (session?.up && hello.inc < session.inc) throw new ProtocolError(`link from an earlier run of ${peerId}`);
    if (session?.up && hello.inc > session.inc) session.reset(`peer ${peerId} restarted`);
    if (!session) {
      session = new PeerLinks(this.#opts.selfId, peerId, {
        up: (s) => {
          this.#upSince.set(s.id, Date.now());
          this.#left.delete(s.id);
          this.#verified.add(s.id);
          s.lastStreamAt = Date.now(); // a fresh stream counts as active: upgrade to WebRTC now
          this.#log(`peer ${s.id} up via ${s.path ?? '?'}`);
          // A hello sent while joining may have crossed `joined`: say it again (no-op if not).
          if (this.#joinDone) s.sendControl(frame(Wire.Joined, new Uint8Array(0)));
          this.emit('peer-up', s.id, s.meta);
          this.#queueGossip();
          this.#kick();
        },
        down: (s, reason) => {
          // Linked until now is news of it: it stays alive for ALIVE_MS unless heard of (and is
          // redialled after that too, until forgotten: #neighbours).
          this.#seen.set(s.id, Date.now());
          this.#log(`peer ${s.id} down: ${reason}`);
          this.emit('peer-down', s.id, reason);
          if (s.meta.joining === true) {
            // Its daemon died mid-join (killed, with no time for a goodbye): no member yet, and
            // not one to list as coming back. One whose link only dropped dials again.
            this.#log(`peer ${s.id} went while its join was under way, without a goodbye: not listed as coming back`);
            this.#abandon(s.id, s.inc);
          }
          this.#queueGossip();
          this.#kick();
        },
        message: (s, data, flooded) => {
          this.#streamed(s);
          if (flooded) this.#flood.receive(s.id, data, (d) => this.#deliverFlooded(s.id, d));
          else this.emit('message', s.id, data, undefined);
        },
        log: (m) => this.#log(m),
      });
      if (this.#webrtc) session.quietAfterMs = this.#webrtcIdleMs;
      this.#links.set(peerId, session);
    }
    // A run that said its join was done stays a member: a hello of that run made before (another
    // path's handshake, a WebRTC upgrade begun mid-join, crossing `joined`) would make it a joiner
    // again for good, untold to editors (decision 272) and left out of gossip.
    if (session.joinedRun === hello.inc && meta.joining === true) delete meta.joining;
    session.meta = meta;
    session.inc = hello.inc;
    session.rtc = hello.rtc;
    session.addrs = addrs;
    const dialer = origin.dialedBy === 'me' ? this.#opts.selfId : peerId;
    const conn = newPeerConn(link, link.linkId, pathOf(link), dialer);
    session.attach(conn);
    // Tell the newcomer about everyone we know.
    link.send(jsonFrame(Wire.Members, { members: this.#memberList() }));
    return conn;
  }

  #dispatch(conn: PeerConn, peerId: string, data: Uint8Array): void {
    const type = data[0] as Wire;
    const body = data.subarray(1);
    const session = this.#links.get(peerId);
    if (!session) return;
    switch (type) {
      case Wire.Data:
      case Wire.Flood:
      case Wire.Begin:
      case Wire.End:
      case Wire.Done:
        session.receive(conn, type, body);
        break;
      case Wire.Ping:
        if (body.length !== 8) throw new ProtocolError('malformed ping');
        conn.link.send(frame(Wire.Pong, body));
        break;
      case Wire.Pong: {
        if (body.length !== 8) throw new ProtocolError('malformed pong');
        const sent = new DataView(body.buffer, body.byteOffset, 8).getFloat64(0);
        if (session.path === conn.path) session.rttMs = Math.max(0, performance.now() - sent);
        break;
      }
      case Wire.Members:
        for (const m of parseMembers(body)) this.#learn(m);
        break;
      case Wire.Signal: {
        const msg = parseJson(body, 'signal');
        if (typeof msg.a !== 'string' || !isSignal(msg.s)) throw new ProtocolError('malformed signal');
        this.#onSignal(session, msg.a, msg.s);
        break;
      }
      case Wire.Bye: {
        const why = utf8.decode(body);
        // Cut for the log: a goodbye may be up to a whole message long, sent again and again.
        this.#log(`peer ${peerId} is leaving: ${why.length > MAX_REASON_LOGGED ? `${why.slice(0, MAX_REASON_LOGGED)}…` : why}`);
        if (why === JOIN_ABANDONED) {
          this.#abandon(peerId, session.inc);
          delete session.meta.joining; // said: its link's end is no news
        } else this.#left.add(peerId);
        break;
      }
      case Wire.Joined:
        if (session.meta.joining !== true) break;
        delete session.meta.joining;
        session.joinedRun = session.inc;
        this.#log(`peer ${peerId} finished its join`);
        this.#queueGossip(); // a member now: others may hear of it
        break;
      case Wire.Hello:
        throw new ProtocolError('second hello on one link');
      default:
        // Unknown types from a newer peer are ignored, so the protocol can grow.
        break;
    }
  }

  // ---- membership gossip ----

  #learn(m: Member): void {
    if (m.id === this.#opts.selfId) return;
    const abandoned = this.#abandoned.get(m.id);
    if (abandoned !== undefined && m.inc <= abandoned) return;
    const known = this.#members.get(m.id);
    if (!known && !this.#roomForMember()) return;
    const heard = Date.now() - (m.age ?? 0);
    if (heard > (this.#seen.get(m.id) ?? 0)) this.#seen.set(m.id, heard);
    if (!known || m.inc > known.inc) {
      this.#members.set(m.id, { id: m.id, addrs: m.addrs, inc: m.inc, ...(m.name ? { name: m.name } : {}) });
      if (known) this.#dialState(`peer:${m.id}`).backoff.reset(); // it moved: try the new address now
      this.#kick();
    } else if (m.inc === known.inc) {
      if (m.name && !known.name) known.name = m.name;
      const before = known.addrs.length;
      // The addresses heard first stay: later gossip (anyone's) cannot push them out.
      known.addrs = [...new Set([...known.addrs, ...m.addrs])].slice(0, MAX_ADDRS);
      if (known.addrs.length !== before) this.#kick();
    }
  }

  /**
   * Make room for one more member if the address book is full (MAX_KNOWN_MEMBERS): forget the
   * member with the oldest news that is not linked now. False when every member is linked.
   */
  #roomForMember(): boolean {
    if (this.#members.size < MAX_KNOWN_MEMBERS) return true;
    let oldest: string | undefined;
    let oldestSeen = Infinity;
    for (const id of this.#members.keys()) {
      if (this.#links.get(id)?.up) continue;
      const seen = this.#seen.get(id) ?? 0;
      if (seen < oldestSeen) {
        oldestSeen = seen;
        oldest = id;
      }
    }
    if (oldest === undefined) return false;
    this.#forget(oldest);
    return true;
  }

  /**
   * This member's join is done (its hello said `joining`, and the caller has taken that out of
   * `selfMeta` for the hellos to come): every linked peer is told, so that it lists this member
   * as coming back if its link goes from now on (decision 229).
   */
  joined(): void {
    if (!this.#running || this.#joinDone) return;
    this.#joinDone = true;
    const msg = frame(Wire.Joined, new Uint8Array(0));
    for (const s of this.#links.values()) if (s.up) s.sendControl(msg);
  }

  /** A joiner whose join stopped before it was in: forgotten, and not learnt again from gossip of that run. */
  #abandon(id: string, inc: number): void {
    this.#forget(id);
    this.#abandoned.delete(id);
    this.#abandoned.set(id, inc);
    if (this.#abandoned.size > MAX_KNOWN_MEMBERS) this.#abandoned.delete(this.#abandoned.keys().next().value!);
  }

  /** Drop a member from the address book, with its dial and WebRTC state (its link, if any, closes by itself). */
  #forget(id: string): void {
    this.#members.delete(id);
    this.#seen.delete(id);
    this.#left.delete(id);
    this.#verified.delete(id);
    this.#upSince.delete(id);
    this.#rtcBackoff.delete(id);
    this.#dials.delete(`peer:${id}`);
    this.#dials.delete(`relay:${id}`);
  }

  /** Forget members not linked that nobody has had news of for FORGET_AFTER_MS (decision 161). */
  #forgetSilent(now: number): void {
    const after = this.#opts.timing?.forgetAfterMs ?? FORGET_AFTER_MS;
    for (const id of [...this.#members.keys()]) {
      if (this.#links.get(id)?.up || now - (this.#seen.get(id) ?? now) < after) continue;
      this.#log(`forgetting peer ${id}: not heard of for ${Math.round(after / 1000)} s`);
      // One that proved itself in this run and said no goodbye may be fine, and this one cut off.
      if (this.#verified.has(id) && !this.#left.has(id)) this.#lapse(this.#members.get(id)!.addrs);
      this.#forget(id);
    }
  }

  /** Keep a forgotten member's addresses in #lapsed (newest first; the oldest go, with their dial state). */
  #lapse(addrs: string[]): void {
    const all = [...new Set([...addrs.filter((a) => !this.#selfAddrs.has(a)), ...this.#lapsed])];
    for (const a of all.slice(MAX_SAVED_ADDRS)) this.#dials.delete(`lapsed:${a}`);
    this.#lapsed = all.slice(0, MAX_SAVED_ADDRS);
  }

  /** Members with recent news (linked now, or heard of within ALIVE_MS). */
  #alive(now: number): string[] {
    const out: string[] = [];
    for (const id of this.#members.keys()) {
      if (this.#links.get(id)?.up || now - (this.#seen.get(id) ?? 0) < ALIVE_MS) out.push(id);
    }
    return out;
  }

  /**
   * Did this overlay start with a fresh join (its hello said `joining`)? Then every member it
   * meets is new to it; otherwise (a share, or a daemon rejoining its saved session) a member
   * whose hello does not say `joining` was in the session before.
   */
  readonly startedJoining: boolean;

  /** Is this a session too large for a full mesh, so that broadcasts are relayed? */
  isPartialMesh(): boolean {
    return this.#partial(this.#alive(Date.now()));
  }

  /**
   * Partial mesh when more than FULL_MESH_UP_TO members, this one included, are alive *and* have
   * been linked to this one: members only heard of by gossip (which a hostile member can make up
   * by the hundred) cannot turn a small session into a ring whose links skip its real members
   * (decision 135). In a full mesh every alive member gets linked, so each real one is counted
   * once its link has been up.
   */
  #partial(alive: string[]): boolean {
    let verified = 1;
    for (const id of alive) if (this.#verified.has(id)) verified++;
    return verified > FULL_MESH_UP_TO;
  }

  /**
   * The members to keep linked: in a partial mesh the ring's (meshNeighbours); in a full mesh
   * every alive member linked before, and of those never linked, the FULL_MESH_UP_TO with the
   * freshest news (made-up members cannot make this overlay dial hundreds of addresses); and, not
   * alive, the FULL_MESH_UP_TO members linked in this run with the freshest news, until they are
   * forgotten (FORGET_AFTER_MS).
   *
   * Why the last: a member with no link has no news of anyone, so after ALIVE_MS every member
   * is "gone" to it. Dialling only alive members, a member paused (a laptop lid, `kill -STOP`)
   * whose first dials after it resumed failed (its event loop busy catching up, the handshakes
   * timed out) never dialled again, and the others had given it up too: linked again only by a
   * restart (trial s51, F3). A member proved itself by linking, so it is dialled, at the backoff
   * (at most every backoffMaxMs), for as long as it is remembered. In a larger session, a member
   * with no link falls back to this full-mesh choice too (nothing it counts alive), and
   * pruning trims the extra links once gossip tells it the ring again.
   */
  #neighbours(alive: string[]): Set<string> {
    if (this.#partial(alive)) return meshNeighbours(this.#opts.selfId, alive);
    const out = new Set(alive.filter((id) => this.#verified.has(id)));
    const untried = this.#freshestFirst(alive.filter((id) => !this.#verified.has(id)));
    for (const id of untried.slice(0, FULL_MESH_UP_TO)) out.add(id);
    const isAlive = new Set(alive);
    const away = this.#freshestFirst([...this.#verified].filter((id) => !isAlive.has(id) && this.#members.has(id)));
    for (const id of away.slice(0, FULL_MESH_UP_TO)) out.add(id);
    return out;
  }

  /**
   * `ids` with the freshest news first: linked ones, then by when last heard of (ties by id, so
   * every call orders the same). What to gossip, dial or save first when not all of it can be.
   */
  #freshestFirst(ids: Iterable<string>): string[] {
    const news = (id: string) => (this.#links.get(id)?.up ? Infinity : (this.#seen.get(id) ?? 0));
    return [...ids].sort((x, y) => news(y) - news(x) || (x < y ? -1 : x > y ? 1 : 0));
  }

  /**
   * What this member gossips: itself and the alive members, linked ones first, then the freshest
   * news; at most MAX_MEMBERS, the most a receiver takes (a longer list would close every link
   * it went on: made-up members gossiped to this one must not cut it off from the real ones).
   */
  #memberList(): Member[] {
    const now = Date.now();
    const self = memberName(this.#opts.selfMeta?.name);
    const list: Member[] = [{ id: this.#opts.selfId, addrs: this.#addrs, inc: this.#inc, age: 0, ...(self ? { name: self } : {}) }];
    const age = (id: string) => (this.#links.get(id)?.up ? 0 : now - (this.#seen.get(id) ?? now));
    // A member still joining is no member yet: only those it links to hear of it (from its own
    // hello), so that if it dies mid-join nobody else lists it as coming back (decision 229).
    // One that left said so to those linked to it; the others need not list it (they could not
    // say it left). Every other member this one lists goes, down ones too, with the age of the
    // news of it: a member that restarted while another was down lists it as this one does, and
    // forgets it when this one does (decision 231).
    const listed = (id: string) => this.#links.get(id)?.meta.joining !== true && !this.#left.has(id);
    for (const id of this.#freshestFirst([...this.#members.keys()].filter(listed)).slice(0, MAX_MEMBERS - 1)) {
      const m = this.#members.get(id)!;
      const name = this.#nameOf(id);
      list.push({ id: m.id, addrs: m.addrs, inc: m.inc, age: age(id), ...(name ? { name } : {}) });
    }
    return list;
  }

  /** The name `id` gave in its hello to this member, or the one gossip brought, as a member list may carry it (`memberName`). */
  #nameOf(id: string): string | undefined {
    return memberName(this.#links.get(id)?.meta.name) ?? this.#members.get(id)?.name;
  }

  #queueGossip(): void {
    if (this.#gossipQueued) return;
    this.#gossipQueued = true;
    soon(() => {
      this.#gossipQueued = false;
      if (!this.#running) return;
      const msg = jsonFrame(Wire.Members, { members: this.#memberList() });
      for (const s of this.#links.values()) if (s.up) s.sendControl(msg);
    });
  }

  /**
   * In a larger session, close links the mesh does not need (after they settled a while).
   * True while such a link waits to be closed.
   */
  #prune(now: number): boolean {
    const alive = this.#alive(now);
    if (!this.#partial(alive)) return false;
    const neighbours = meshNeighbours(this.#opts.selfId, alive);
    let waiting = false;
    for (const s of this.#links.values()) {
      if (!s.up || neighbours.has(s.id)) continue;
      if (now - (this.#upSince.get(s.id) ?? now) < PRUNE_AFTER_MS) {
        waiting = true;
        continue;
      }
      this.#log(`closing the link to ${s.id}: the session has ${alive.length + 1} members, each keeps a bounded number of links`);
      s.reset('pruned: not a mesh neighbour');
    }
    return waiting;
  }

  // ---- dialing: direct, relay, WebRTC ----

  #dialState(key: string, backoffMaxMs = this.#opts.timing?.backoffMaxMs ?? 5000): DialState {
    let d = this.#dials.get(key);
    if (!d) {
      d = { backoff: new Backoff(200, backoffMaxMs), inFlight: false, addrIndex: 0 };
      this.#dials.set(key, d);
    }
    return d;
  }

  get #pingInterval(): number {
    return this.#opts.timing?.pingIntervalMs ?? 2000;
  }

  /**
   * Tick soon: something happened that may need a dial (a member learnt, a link lost). In
   * TICK_MS, as with a steady tick, so that a burst of events costs one tick. (Both ends of a new
   * pair still dial each other in about the same instant; peer-links.ts keeps the stream whole
   * whatever order the racing links come up and close in, decision 105.)
   */
  #kick(): void {
    if (this.#running) this.#schedule(TICK_MS);
  }

  /** Run the tick in `delayMs`, unless it is due earlier already. */
  #schedule(delayMs: number): void {
    const at = Date.now() + delayMs;
    if (this.#timer !== undefined && this.#timerAt <= at) return;
    clearTimeout(this.#timer);
    this.#timerAt = at;
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      this.#timerAt = Infinity;
      this.#tick();
    }, delayMs);
  }

  /**
   * Everything the overlay does on a clock, in one timer so an idle daemon wakes rarely: every
   * TICK_MS while a dial, prune, relay or WebRTC attempt is pending; else at the next ping, or at
   * the moment the quietest link would count as dead, whichever comes first — so a silent link
   * is still closed `deadAfterMs` after its last message. Events that may need a dial `#kick` it.
   */
  #tick(): void {
    if (!this.#running) return;
    const now = Date.now();
    if (now >= this.#nextPingAt) {
      this.#pingAll();
      this.#nextPingAt = now + this.#pingInterval;
    }
    const quietest = this.#reapSilentLinks(now);
    this.#quietIdleWebRtc(now);
    this.#forgetSilent(now);
    let pending = false;
    if (this.#direct) {
      for (const addr of this.#opts.anchors ?? []) {
        const s = this.#links.get(this.#anchorPeers.get(addr) ?? '');
        if (s && (s.hasPath('websocket') || s.hasPath('webrtc'))) continue;
        this.#dialDirect(`anchor:${addr}`, [addr], undefined, now);
        pending = true;
      }
      for (const addr of dialable(this.#seeds, this.#opts.transports.hostId)) {
        if (this.#selfAddrs.has(addr)) continue;
        this.#dialDirect(`seed:${addr}`, [addr], undefined, now);
        pending = true;
      }
      // Cut off from everyone: forgotten members may be reachable again. Not `pending` (the tick
      // comes at the next ping anyway), and at a slower backoff: they may be gone for good.
      if (this.#lapsed.length > 0 && ![...this.#links.values()].some((s) => s.up)) {
        for (const addr of dialable(this.#lapsed, this.#opts.transports.hostId)) this.#dialDirect(`lapsed:${addr}`, [addr], undefined, now, LAPSED_BACKOFF_MAX_MS);
      }
      const neighbours = this.#neighbours(this.#alive(now));
      for (const m of this.#members.values()) {
        if (!neighbours.has(m.id)) continue; // a larger session: linked through others
        const s = this.#links.get(m.id);
        // A quiet stream on WebRTC wants a WebSocket link to move to (decision 106).
        const quiet = s?.isQuiet(now) === true;
        if (s && (s.hasPath('websocket') || (s.hasPath('webrtc') && !quiet))) continue;
        const addrs = dialable(m.addrs, this.#opts.transports.hostId).filter((a) => !this.#selfAddrs.has(a));
        if (addrs.length > 0) {
          this.#dialDirect(`peer:${m.id}`, addrs, m.id, now);
          // Not for a quiet peer: it is linked, so retrying at the next ping is soon enough.
          if (!quiet) pending = true;
        }
      }
    }
    if (this.#prune(now)) pending = true;
    if (this.#opts.relayUrl && this.#tickRelay(now)) pending = true;
    if (this.#webrtc) {
      for (const s of this.#links.values()) {
        if (!s.up || !s.rtc || this.#opts.selfId > s.id || s.hasPath('webrtc')) continue;
        if (s.isQuiet(now)) continue; // WebRTC waits for the next message
        if (!this.#rtcInFlight(s.id)) this.#startRtc(s, now);
        pending = true;
      }
    }
    let next = Math.min(this.#nextPingAt, quietest);
    if (pending) next = Math.min(next, now + TICK_MS);
    this.#schedule(Math.max(0, next - now));
  }

  #dialDirect(key: string, addrs: string[], expect: string | undefined, now: number, backoffMaxMs?: number): void {
    const d = this.#dialState(key, backoffMaxMs);
    if (d.inFlight || !d.backoff.ready(now)) return;
    const addr = addrs[d.addrIndex % addrs.length]!;
    d.inFlight = true;
    // Every dial ends in a retry, whatever the transport does: one that has neither connected nor
    // failed well after its own timeout (a socket that never reports, on any platform) counts as
    // failed, so it cannot hold this target's dials for good. What it does later is still taken
    // (a late link is a link), but no longer counts for the backoff.
    let settled = false;
    const settle = (): boolean => {
      if (settled) return false;
      settled = true;
      clearTimeout(watchdog);
      d.inFlight = false;
      return true;
    };
    const watchdog = unref(
      setTimeout(() => {
        if (!settle() || !this.#running) return;
        d.addrIndex++;
        const delay = d.backoff.fail(Date.now());
        this.#log(`dialling ${addr} did not finish within ${Math.round((DIAL_TIMEOUT_MS + DIAL_GRACE_MS) / 1000)} s; retrying (attempt ${d.backoff.attempts}, next in ${Math.round(delay)} ms)`);
      }, DIAL_TIMEOUT_MS + DIAL_GRACE_MS),
    );
    this.#opts.transports.dial(addr, { timeoutMs: DIAL_TIMEOUT_MS }).then(
      (link) => {
        // Success of the handshake resets the backoff (in #onHello); until then count it a try.
        if (settle()) d.backoff.fail(Date.now());
        // An address can answer yet not be the session (e.g. another machine's 127.0.0.1 from a
        // wildcard bind's address list): then try the next address.
        const origin: Origin = { dialedBy: 'me', addr, onHandshakeFail: () => d.addrIndex++ };
        if (expect !== undefined) origin.expect = expect;
        this.#adopt(link, origin);
      },
      (err: Error & { code?: string }) => {
        if (!settle()) return;
        d.addrIndex++;
        this.emit('unreachable', addr, err.code ?? 'unknown');
        const delay = d.backoff.fail(Date.now());
        if (d.backoff.attempts === 1 || d.backoff.attempts % 20 === 0) {
          this.#log(`${err.message}; retrying (attempt ${d.backoff.attempts}, next in ${Math.round(delay)} ms)`);
        }
      },
    ).catch((err: unknown) => this.#internalError(`dialing ${addr}`, err));
  }

  /**
   * A peer on WebRTC whose stream has been quiet for webrtcIdleMs ranks WebSocket first: the tick
   * dials one and the stream moves there, which retires the WebRTC link on both ends
   * (peer-links.ts). Once no peer connection is left, webrtc.ts stops node-datachannel's threads.
   */
  #quietIdleWebRtc(now: number): void {
    for (const s of this.#links.values()) {
      if (!s.up || !s.hasPath('webrtc') || !s.isQuiet(now)) continue;
      if (!this.#leftWebRtc.has(s.id)) {
        this.#leftWebRtc.add(s.id);
        this.#log(`peer ${s.id}: no messages for ${Math.round(this.#webrtcIdleMs / 1000)} s, moving off WebRTC where a WebSocket link can be had`);
      }
      s.reconsider();
    }
  }

  /** Connect to the relay and dial peers through it; true while something is still to do. */
  #tickRelay(now: number): boolean {
    const relay = this.#relay;
    if (!relay || relay.closeReason !== undefined) {
      const d = this.#dialState('relay');
      if (this.#relayConnecting || !d.backoff.ready(now)) return true;
      this.#relayConnecting = true;
      const dial = this.#opts.transports.dial;
      RelayClient.connect({ url: this.#opts.relayUrl!, roomId: relayRoomId(this.#keys.read), peerId: this.#opts.selfId, slotKey: this.#relaySlotKey, dial }).then(
        (client) => {
          this.#relayConnecting = false;
          if (!this.#running) {
            client.close('overlay stopped');
            return;
          }
          d.backoff.reset();
          this.#relay = client;
          this.#relayProblem = undefined;
          this.#kick();
          this.#log(`connected to relay ${client.url}`);
          client.on('link', (link) => this.#adopt(link, { dialedBy: 'them' }));
          client.on('close', (reason) => {
            this.#log(`relay connection closed: ${reason}`);
            this.#kick();
          });
        },
        (err: Error) => {
          this.#relayConnecting = false;
          const code = (err as Error & { code?: unknown }).code;
          // At most 1,000 characters: what status may carry (SessionStatus relayState.problem).
          this.#relayProblem = (typeof code === 'string' ? `cannot reach ${this.#opts.relayUrl}: ${dialFailureInWords(code)}` : err.message).slice(0, 1000);
          const delay = d.backoff.fail(Date.now());
          if (d.backoff.attempts === 1 || d.backoff.attempts % 20 === 0) this.#log(`${err.message}; retrying in ${Math.round(delay)} ms`);
        },
      ).catch((err: unknown) => this.#internalError('connecting to the relay', err));
      return true;
    }
    let pending = false;
    for (const peerId of relay.peers()) {
      const s = this.#links.get(peerId);
      if (s && s.conns.size > 0) continue;
      pending = true;
      const d = this.#dialState(`relay:${peerId}`);
      if (d.inFlight || !d.backoff.ready(now)) continue;
      d.backoff.fail(now); // reset by a successful hello
      const link = relay.dial(peerId);
      d.inFlight = true;
      link.once('close', () => (d.inFlight = false));
      this.#adopt(link, { dialedBy: 'me', expect: peerId });
      // In flight only until the handshake settles; a live link is tracked by its session.
      unref(setTimeout(() => (d.inFlight = false), 2000));
    }
    return pending;
  }

  #rtcInFlight(peerId: string): boolean {
    for (const key of this.#rtc.keys()) if (key.startsWith(`${peerId}\n`)) return true;
    return false;
  }

  #signalsFor(session: PeerLinks, attempt: RtcAttempt): SignalChannel {
    return {
      send: (signal) => session.sendControl(jsonFrame(Wire.Signal, { a: attempt.id, s: signal })),
      onSignal: (handler) => {
        attempt.handlers.add(handler);
        return () => attempt.handlers.delete(handler);
      },
    };
  }

  #startRtc(session: PeerLinks, now: number): void {
    let backoff = this.#rtcBackoff.get(session.id);
    if (!backoff) this.#rtcBackoff.set(session.id, (backoff = new Backoff(500, 30_000)));
    if (!backoff.ready(now)) return;
    backoff.fail(now); // reset once the data channel carries a hello
    this.#runRtc(session, bytesToHex(randomBytes(8)), 'offerer');
  }

  #onSignal(session: PeerLinks, attemptId: string, signal: Signal): void {
    const key = `${session.id}\n${attemptId}`;
    let attempt = this.#rtc.get(key);
    if (!attempt) {
      // Only an offer can start an attempt, and only the lower id offers.
      if (!this.#webrtc || signal.t !== 'description' || signal.type !== 'offer' || session.id > this.#opts.selfId) return;
      attempt = this.#runRtc(session, attemptId, 'answerer');
    }
    for (const handler of attempt.handlers) handler(signal);
  }

  #runRtc(session: PeerLinks, attemptId: string, role: 'offerer' | 'answerer'): RtcAttempt {
    const attempt: RtcAttempt = { id: attemptId, handlers: new Set() };
    const key = `${session.id}\n${attemptId}`;
    this.#rtc.set(key, attempt);
    const rtcOpt = this.#opts.webrtc;
    const sameHost = session.meta.host === this.#opts.transports.hostId;
    const bindAddress = (typeof rtcOpt === 'object' ? rtcOpt.bindAddress : undefined) ?? (sameHost ? '127.0.0.1' : undefined);
    const opts: WebRtcOptions = { role, signals: this.#signalsFor(session, attempt), remote: `webrtc:${session.id}` };
    if (bindAddress) opts.bindAddress = bindAddress;
    this.#opts.transports.webrtc!.connect(opts).then(
      (link) => {
        this.#rtc.delete(key);
        this.#rtcBackoff.get(session.id)?.reset();
        const origin: Origin = { dialedBy: role === 'offerer' ? 'me' : 'them', expect: session.id };
        this.#adopt(link, origin);
      },
      (err: Error) => {
        this.#rtc.delete(key);
        this.#log(`${err.message}; staying on ${session.path ?? 'the current path'}`);
      },
    ).catch((err: unknown) => this.#internalError('setting up webrtc', err));
    return attempt;
  }

  // ---- liveness ----

  /**
   * Keep every link's traffic above the silent-link threshold, and measure round trips. Of each
   * pair the lower id pings every interval (the pong keeps the link alive both ways); the higher
   * one every HIGHER_PINGS_EVERY intervals, for its own rtt — about three wake-ups per interval
   * per pair instead of six when both pinged.
   */
  #pingAll(): void {
    // Gossip on a clock too, so news of members spreads beyond direct links and ages out — needed
    // only while some member we count alive is not linked to us (a larger session, a lost link).
    const now = Date.now();
    if (this.#alive(now).some((id) => !this.#links.get(id)?.up)) this.#queueGossip();
    const round = this.#pingRound++;
    const stamp = new Uint8Array(8);
    new DataView(stamp.buffer).setFloat64(0, performance.now());
    const ping = frame(Wire.Ping, stamp);
    for (const s of this.#links.values()) {
      const lower = this.#opts.selfId < s.id || round % HIGHER_PINGS_EVERY === 0;
      // The higher one pings a link it has not heard on for an interval too (the lower one's
      // pings stopped, or it pings more slowly than this side counts a link dead).
      for (const c of s.conns.values()) if (lower || now - lastHeard(c) > this.#pingInterval) c.link.send(ping);
    }
  }

  /**
   * Close links silent for longer than deadAfterMs; returns when the quietest left would be.
   * A link found silent is closed only after this daemon has read what waits on its sockets: the
   * check runs again once the event loop has polled them (`soon`: setImmediate, which runs after
   * the poll phase). Timers run before that phase, so after this daemon's own event loop was held (a long
   * take-in, a burst of documents loaded, a process suspended and resumed) a peer's pings sent
   * meanwhile were still unread, and the link was closed as silent though only this side had been.
   */
  #reapSilentLinks(now: number): number {
    const deadAfter = this.#opts.timing?.deadAfterMs ?? 10_000;
    let next = Infinity;
    const silent: PeerConn[] = [];
    for (const s of this.#links.values()) {
      for (const c of s.conns.values()) {
        if (now - lastHeard(c) > deadAfter) silent.push(c);
        else next = Math.min(next, lastHeard(c) + deadAfter + 1);
      }
    }
    if (silent.length > 0) {
      soon(() => {
        const later = Date.now();
        for (const c of silent) if (later - lastHeard(c) > deadAfter) c.link.close(`no traffic for ${Math.round(deadAfter / 1000)} s (peer unreachable)`);
      });
    }
    return next;
  }
}
