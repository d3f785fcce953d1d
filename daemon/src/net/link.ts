/**
 * The transport contract. A Link is one reliable, ordered, bidirectional message channel to one
 * peer. Transports (websocket, webrtc, relay, memory) produce Links; the secure wrapper consumes a
 * Link and produces an authenticated, encrypted Link; the overlay only ever sees Links.
 *
 * Contract every transport keeps (checked by test/net/transport-acceptance.ts):
 * - `send` never throws for a closed link; it drops the message (the layer above re-syncs after
 *   every reconnect, so a message sent into a dying link is covered by that re-sync).
 * - messages arrive whole, in order, byte-exact, each exactly once, while the link is open;
 * - `close` is idempotent; both ends see exactly one 'close' event with a reason string;
 * - messages that arrive before anyone listens for 'message' are held and delivered, in order,
 *   to the first listener — so handing a fresh link from one owner to another loses nothing;
 * - a burst of messages is handed on over several turns of the event loop, in order, at most
 *   SLICE_MS (timers.ts) of them per turn (BaseLink), so the process keeps answering meanwhile.
 */
// `events`: Node's own module in the daemon, the same-API `events` package in a browser bundle.
import { EventEmitter } from 'events';
import { SLICE_MS, soon } from '../timers.js';

export type LinkKind = 'websocket' | 'webrtc' | 'relay' | 'memory';

/**
 * WebSocket close code 1001, "going away" (RFC 6455 §7.4.1: "a browser having navigated away from
 * a page"). Browsers send it for every socket of a page that is closed, reloaded or navigated
 * away from, also when the page's own script never got to say goodbye: Chromium gives a closing
 * tab 500 ms to run `pagehide`, then ends it (a tab busy at that moment says nothing itself).
 */
export const WS_GOING_AWAY = 1001;

export interface LinkEvents {
  message: [data: Uint8Array];
  close: [reason: string];
}

export interface Link {
  readonly kind: LinkKind;
  /** A short human description of the far end, for logs (e.g. `ws://127.0.0.1:4312`). */
  readonly remote: string;
  /** Undefined while open; the close reason once closed. */
  readonly closeReason: string | undefined;
  /**
   * Closed by a far end that said it is going away for good (a browser closing the page:
   * WS_GOING_AWAY), as opposed to a lost connection; false while open. The overlay takes it as
   * that peer's goodbye. Absent where the transport cannot tell.
   */
  readonly wentAway?: boolean;
  /**
   * Transports that buffer whole frames start with a frame limit of what a handshake needs (so a
   * stranger cannot make us hold 64 MiB); the secure layer lifts it once the peer proved the secret.
   */
  raiseFrameLimit?(): void;
  /**
   * Bytes handed to `send` and not yet written to the network (a WebSocket's send buffer);
   * absent where the transport cannot tell. Lets the sync layer stop building answers for a
   * peer whose link is not draining (decision 149).
   */
  bufferedAmount?(): number;
  /**
   * When this link last received a message (Date.now(); 0: never), whether it has been handed on
   * yet or waits behind a burst (BaseLink): a peer whose messages arrive is not silent.
   */
  readonly lastReceived?: number;
  send(data: Uint8Array): void;
  close(reason?: string): void;
  on<E extends keyof LinkEvents>(event: E, listener: (...args: LinkEvents[E]) => void): this;
  once<E extends keyof LinkEvents>(event: E, listener: (...args: LinkEvents[E]) => void): this;
  off<E extends keyof LinkEvents>(event: E, listener: (...args: LinkEvents[E]) => void): this;
}

/**
 * Most bytes one link holds back for later turns. Past it the link hands everything on at once,
 * as it arrives: a peer sending faster than this daemon takes its messages in is then slowed by
 * the transport's own flow control, as before, rather than filling this daemon's memory.
 */
export const MAX_HELD_BYTES = 16 * 1024 * 1024;

/**
 * What holding one message costs beyond its bytes (its object and its place in the queue), counted
 * against MAX_HELD_BYTES: a read-only guest's 1,000,000 two-byte frames were 2 MB by their bytes,
 * so all were held, and the daemon grew to 468 MB (trial s54a, F4).
 */
const HELD_MESSAGE_COST = 128;

/**
 * When this turn's slice of delivery ends (performance.now()); 0 while no slice runs. One turn of
 * the event loop spends at most SLICE_MS handing received messages on, over every link of the
 * process; what arrives after that waits, in order, for the next turn. A socket read can hold
 * hundreds of messages, and each can cost tens of milliseconds (a document made live for each file
 * of a tree-wide rewrite): handed on all at once, they held a daemon for 5–11 s, during which it
 * answered no editor and no ping, and its peers counted it unreachable (decision 246).
 */
let sliceEnds = 0;

/** Has this turn's slice of delivery run out? The first delivery of a turn starts one. */
function sliceOver(): boolean {
  const now = performance.now();
  if (sliceEnds === 0) {
    sliceEnds = now + SLICE_MS;
    soon(() => {
      sliceEnds = 0;
    });
    return false;
  }
  return now >= sliceEnds;
}

/**
 * Shared logic for every transport: the close-once state machine and holding early messages
 * until a listener exists. Subclasses implement `transmit` and `shutdown`, and call `deliver` and
 * `closed` when the underlying channel reports data or an end.
 */
export abstract class BaseLink extends EventEmitter<LinkEvents> implements Link {
  abstract readonly kind: LinkKind;
  abstract readonly remote: string;
  #closeReason: string | undefined;
  #wentAway = false;
  /** Messages held for later turns: those from `#heldAt` on (a queue without `shift`, which copies the rest). */
  #held: Uint8Array[] = [];
  #heldAt = 0;
  #heldBytes = 0;
  #lastReceived = 0;
  #flushScheduled = false;

  constructor() {
    super();
    (this as EventEmitter).on('newListener', (event: string | symbol) => {
      if (event === 'message' && this.#holding() && !this.#flushScheduled) {
        // The listener is being added right now; deliver after it is in place.
        this.#flushScheduled = true;
        queueMicrotask(() => this.#flushHeld());
      }
    });
  }

  get closeReason(): string | undefined {
    return this.#closeReason;
  }

  get wentAway(): boolean {
    return this.#wentAway;
  }

  get lastReceived(): number {
    return this.#lastReceived;
  }

  send(data: Uint8Array): void {
    if (this.#closeReason !== undefined) return;
    this.transmit(data);
  }

  close(reason = 'closed locally'): void {
    if (this.#closeReason !== undefined) return;
    this.shutdown(reason);
    this.closed(reason);
  }

  /** Write one message to the underlying channel. Called only while open. */
  protected abstract transmit(data: Uint8Array): void;
  /** Tear down the underlying channel, telling the far end `reason` where the transport can. */
  protected abstract shutdown(reason: string): void;

  /**
   * Subclasses call this for each whole message received. It is handed on now, or, when the
   * turn's slice of delivery is over (SLICE_MS) or messages are held already, in a later
   * turn, in order.
   */
  protected deliver(data: Uint8Array): void {
    if (this.#closeReason !== undefined) return;
    this.#lastReceived = Date.now();
    if (this.listenerCount('message') === 0) {
      this.#hold(data);
      return;
    }
    if (this.#holding() || sliceOver()) {
      this.#hold(data);
      if (this.#heldBytes > MAX_HELD_BYTES) this.#flushHeld(true);
      else this.#flushSoon();
      return;
    }
    this.#emitMessage(data);
  }

  #holding(): boolean {
    return this.#heldAt < this.#held.length;
  }

  #hold(data: Uint8Array): void {
    this.#held.push(data);
    this.#heldBytes += data.length + HELD_MESSAGE_COST;
  }

  /** The next held message, taken off the queue (whose taken front is dropped now and then). */
  #unhold(): Uint8Array {
    const next = this.#held[this.#heldAt++]!;
    this.#heldBytes -= next.length + HELD_MESSAGE_COST;
    if (this.#heldAt === this.#held.length) {
      this.#held = [];
      this.#heldAt = 0;
    } else if (this.#heldAt >= 1024 && this.#heldAt * 2 >= this.#held.length) {
      this.#held = this.#held.slice(this.#heldAt);
      this.#heldAt = 0;
    }
    return next;
  }

  #flushSoon(): void {
    if (this.#flushScheduled) return;
    this.#flushScheduled = true;
    soon(() => this.#flushHeld());
  }

  /** A throwing listener must not crash the process from inside a socket callback. */
  #emitMessage(data: Uint8Array): void {
    try {
      this.emit('message', data);
    } catch (err) {
      this.close(`internal error while handling a message: ${(err as Error).message}`);
    }
  }

  /** Subclasses call this when the underlying channel ended (idempotent); `wentAway`: see Link. */
  protected closed(reason: string, wentAway = false): void {
    if (this.#closeReason !== undefined) return;
    this.#closeReason = reason;
    this.#wentAway = wentAway;
    // Messages already received are still delivered if someone listens; then the close.
    if (this.#holding() && this.listenerCount('message') > 0) this.#flushHeld(true);
    this.#held = [];
    this.#heldAt = 0;
    this.#heldBytes = 0;
    try {
      this.emit('close', reason);
    } catch {
      /* a close listener failing has nothing left to tear down */
    }
  }

  /**
   * Hand held messages on, in order, while this turn's slice lasts (then again in a later turn);
   * `all`: every one now (the link closing, or over MAX_HELD_BYTES). At least one each turn, even
   * when another link's burst has used the slice: the links' flushes run in the order they were
   * scheduled, so a link behind a busy one waited until that one's whole burst was handed on (a
   * joiner took 11 s of another member's documents before reading a third's pings, and dropped it).
   */
  #flushHeld(all = false): void {
    this.#flushScheduled = false;
    if (this.#closeReason !== undefined && !all) return;
    let first = true;
    while (this.#holding() && this.listenerCount('message') > 0) {
      if (!all && !first && sliceOver()) {
        this.#flushSoon();
        return;
      }
      first = false;
      this.#emitMessage(this.#unhold());
    }
  }
}
