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
 *   to the first listener — so handing a fresh link from one owner to another loses nothing.
 */
// `events`: Node's own module in the daemon, the same-API `events` package in a browser bundle.
import { EventEmitter } from 'events';

export type LinkKind = 'websocket' | 'webrtc' | 'relay' | 'memory';

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
  send(data: Uint8Array): void;
  close(reason?: string): void;
  on<E extends keyof LinkEvents>(event: E, listener: (...args: LinkEvents[E]) => void): this;
  once<E extends keyof LinkEvents>(event: E, listener: (...args: LinkEvents[E]) => void): this;
  off<E extends keyof LinkEvents>(event: E, listener: (...args: LinkEvents[E]) => void): this;
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
  #held: Uint8Array[] = [];
  #flushScheduled = false;

  constructor() {
    super();
    (this as EventEmitter).on('newListener', (event: string | symbol) => {
      if (event === 'message' && this.#held.length > 0 && !this.#flushScheduled) {
        // The listener is being added right now; deliver after it is in place.
        this.#flushScheduled = true;
        queueMicrotask(() => this.#flushHeld());
      }
    });
  }

  get closeReason(): string | undefined {
    return this.#closeReason;
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

  /** Subclasses call this for each whole message received. */
  protected deliver(data: Uint8Array): void {
    if (this.#closeReason !== undefined) return;
    if (this.#held.length > 0 || this.listenerCount('message') === 0) {
      this.#held.push(data);
      if (this.listenerCount('message') > 0 && !this.#flushScheduled) {
        this.#flushScheduled = true;
        queueMicrotask(() => this.#flushHeld());
      }
      return;
    }
    this.#emitMessage(data);
  }

  /** A throwing listener must not crash the process from inside a socket callback. */
  #emitMessage(data: Uint8Array): void {
    try {
      this.emit('message', data);
    } catch (err) {
      this.close(`internal error while handling a message: ${(err as Error).message}`);
    }
  }

  /** Subclasses call this when the underlying channel ended (idempotent). */
  protected closed(reason: string): void {
    if (this.#closeReason !== undefined) return;
    this.#closeReason = reason;
    // Messages already received are still delivered if someone listens; then the close.
    if (this.#held.length > 0 && this.listenerCount('message') > 0) this.#flushHeld(true);
    this.#held = [];
    try {
      this.emit('close', reason);
    } catch {
      /* a close listener failing has nothing left to tear down */
    }
  }

  #flushHeld(force = false): void {
    this.#flushScheduled = false;
    if (this.#closeReason !== undefined && !force) return;
    while (this.#held.length > 0 && this.listenerCount('message') > 0) {
      const next = this.#held.shift()!;
      this.#emitMessage(next);
    }
  }
}
