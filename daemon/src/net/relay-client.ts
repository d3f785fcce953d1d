/**
 * A daemon's one connection to a relay, multiplexing a virtual Link per peer conversation.
 * `dial(peer)` opens a link to a peer in the same room; links the other side opens arrive as
 * 'link' events. Frames are opaque to the relay: the overlay runs the secure handshake over each
 * virtual link, so the relay forwards ciphertext only. The connection to the relay is dialed
 * with the platform's `dial` (transports.ts), so this module is platform-neutral.
 */
// `events`: Node's own module in the daemon, the same-API `events` package in a browser bundle.
import { EventEmitter } from 'events';
import { bytesToHex, randomBytes, utf8ToBytes } from '@noble/hashes/utils.js';
import { BaseLink, type Link, type LinkKind } from './link.js';
import { decodeRouted, encodeRouted, isRouted, LINK_ID_BYTES, RelayFrame, tagged } from './relay-protocol.js';
import type { Transports } from './transports.js';

const utf8 = new TextDecoder();

/**
 * Why the connection to a relay ended, in words, from the reason its Link gave (websocket.ts).
 * A send on a connection the relay had begun to close (it answers a bound with a close, decision
 * 194) failed with the library's text, "send failed (WebSocket is not open: readyState 2
 * (CLOSING))", which a person cannot read; the relay's own reason, if any, came in a close frame
 * that arrives after. What happens next (the overlay redials with backoff) is said by the caller.
 */
export function relayCloseInWords(reason: string): string {
  if (/^send failed \(WebSocket is not open: readyState [23]\b/.test(reason)) return 'the link to the relay was already closing (closed by the relay or the network) when this daemon sent on it';
  const said = /^closed by peer: (.*)$/s.exec(reason);
  if (said) return `the relay said: ${said[1]}`;
  return reason;
}

export class RelayLink extends BaseLink {
  readonly kind: LinkKind = 'relay';
  readonly remote: string;
  constructor(
    readonly peerId: string,
    readonly key: string,
    readonly linkId: Uint8Array,
    private readonly client: RelayClient,
  ) {
    super();
    this.remote = `relay:${peerId}`;
  }
  protected transmit(data: Uint8Array): void {
    this.client.transmit(RelayFrame.Data, this, data);
  }
  protected shutdown(reason: string): void {
    this.client.transmit(RelayFrame.Close, this, utf8ToBytes(reason));
    this.client.forget(this);
  }
  /**
   * Bytes not yet written to the relay: those of the one connection to it, which every link
   * through this relay shares, so a peer's link counts the others' bytes too (an over-estimate,
   * which only makes the sync layer wait sooner for a relay that is not draining; decision 149).
   */
  bufferedAmount(): number {
    return this.client.bufferedAmount();
  }
  /** Called by the client. */
  receive(data: Uint8Array): void {
    this.deliver(data);
  }
  ended(reason: string): void {
    this.closed(reason);
  }
}

export interface RelayClientEvents {
  link: [link: RelayLink];
  'peer-joined': [peerId: string];
  'peer-left': [peerId: string];
  close: [reason: string];
}

export interface RelayConnectOptions {
  url: string;
  roomId: string;
  peerId: string;
  /**
   * A secret of this daemon's run: the relay binds the peer id's slot to it, so only this daemon
   * can take its slot over (after a reconnect) and nobody else who merely knows the id.
   */
  slotKey?: string;
  timeoutMs?: number;
  /** How to dial the relay's `ws://` address: the platform's Transports.dial. */
  dial: Transports['dial'];
}

export class RelayClient extends EventEmitter<RelayClientEvents> {
  readonly url: string;
  readonly #ws: Link;
  readonly #links = new Map<string, RelayLink>();
  readonly #peers = new Set<string>();
  #closeReason: string | undefined;

  /** Connect and join the room; resolves once the relay has listed the room's peers. */
  static async connect(opts: RelayConnectOptions): Promise<RelayClient> {
    const ws = await opts.dial(opts.url, { timeoutMs: opts.timeoutMs ?? 5000 });
    ws.raiseFrameLimit?.(); // the relay we chose to dial forwards whole authenticated frames
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        ws.close('relay did not answer the join');
        reject(new Error(`relay ${opts.url} did not answer the join`));
      }, opts.timeoutMs ?? 5000);
      const onFirst = (data: Uint8Array): void => {
        ws.off('message', onFirst);
        ws.off('close', onClose);
        clearTimeout(timer);
        if (data[0] !== RelayFrame.Peers) {
          ws.close('unexpected first frame from relay');
          return reject(new Error(`${opts.url} is not a Chorus relay`));
        }
        let peers: string[] = [];
        try {
          peers = (JSON.parse(utf8.decode(data.subarray(1))) as { peers: string[] }).peers;
        } catch {
          ws.close('bad peer list');
          return reject(new Error(`${opts.url} sent a bad peer list`));
        }
        resolve(new RelayClient(opts.url, ws, peers));
      };
      const onClose = (reason: string): void => {
        clearTimeout(timer);
        reject(new Error(`relay ${opts.url} closed the connection before answering the join: ${relayCloseInWords(reason)}`));
      };
      ws.on('message', onFirst);
      ws.on('close', onClose);
      ws.send(tagged(RelayFrame.Join, JSON.stringify({ room: opts.roomId, peer: opts.peerId, ...(opts.slotKey ? { key: opts.slotKey } : {}) })));
    });
  }

  private constructor(url: string, ws: Link, peers: string[]) {
    super();
    this.url = url;
    this.#ws = ws;
    for (const p of peers) if (typeof p === 'string') this.#peers.add(p);
    ws.on('message', (data) => this.#receive(data));
    ws.on('close', (reason) => this.#ended(`relay connection lost: ${relayCloseInWords(reason)}`));
  }

  get closeReason(): string | undefined {
    return this.#closeReason;
  }

  /** Peers currently in the room (excluding this one). */
  peers(): string[] {
    return [...this.#peers];
  }

  /** Open a virtual link to `peerId`. If the peer is not in the room it closes with a reason. */
  dial(peerId: string): RelayLink {
    const link = this.#register(peerId, randomBytes(LINK_ID_BYTES));
    this.transmit(RelayFrame.Open, link, new Uint8Array(0));
    return link;
  }

  close(reason = 'relay client closed'): void {
    this.#ws.close(reason);
    this.#ended(reason);
  }

  /** Bytes handed to the connection to the relay and not yet written to the network. */
  bufferedAmount(): number {
    return this.#ws.bufferedAmount?.() ?? 0;
  }

  /** Used by RelayLink. */
  transmit(type: RelayFrame, link: RelayLink, payload: Uint8Array): void {
    this.#ws.send(encodeRouted(type, link.peerId, link.linkId, payload));
  }
  forget(link: RelayLink): void {
    if (this.#links.get(link.key) === link) this.#links.delete(link.key);
  }

  #register(peerId: string, linkId: Uint8Array): RelayLink {
    const key = `${peerId}\n${bytesToHex(linkId)}`;
    const link = new RelayLink(peerId, key, linkId, this);
    this.#links.set(key, link);
    if (this.#closeReason !== undefined) link.ended(this.#closeReason);
    return link;
  }

  #receive(data: Uint8Array): void {
    const type = data[0];
    if (type === RelayFrame.Joined || type === RelayFrame.Left) {
      const peer = utf8.decode(data.subarray(1));
      if (type === RelayFrame.Joined) {
        this.#peers.add(peer);
        this.emit('peer-joined', peer);
      } else {
        this.#peers.delete(peer);
        for (const link of [...this.#links.values()]) if (link.peerId === peer) this.#endLink(link, 'peer left the relay');
        this.emit('peer-left', peer);
      }
      return;
    }
    if (type !== RelayFrame.NoRoute && !isRouted(type)) {
      this.close(`protocol error from relay: unexpected frame type ${type}`);
      return;
    }
    const routed = decodeRouted(data);
    if (!routed) {
      this.close('protocol error from relay: truncated frame');
      return;
    }
    const key = `${routed.peer}\n${bytesToHex(routed.linkId)}`;
    const link = this.#links.get(key);
    switch (routed.type) {
      case RelayFrame.NoRoute:
        if (link) this.#endLink(link, `peer ${routed.peer} is not in the relay room`);
        break;
      case RelayFrame.Open:
        if (!link) this.emit('link', this.#register(routed.peer, new Uint8Array(routed.linkId)));
        break;
      case RelayFrame.Data:
        // Data for a link we no longer know is late traffic after a close: drop it.
        link?.receive(routed.payload.slice());
        break;
      case RelayFrame.Close:
        if (link) this.#endLink(link, `closed by peer: ${utf8.decode(routed.payload)}`);
        break;
      default:
        break; // a future routed type: ignore, as the relay forwards what it does not know
    }
  }

  #endLink(link: RelayLink, reason: string): void {
    this.#links.delete(link.key);
    link.ended(reason);
  }

  #ended(reason: string): void {
    if (this.#closeReason !== undefined) return;
    this.#closeReason = reason;
    for (const link of [...this.#links.values()]) this.#endLink(link, reason);
    this.emit('close', reason);
  }
}
