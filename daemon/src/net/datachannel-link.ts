/**
 * A WebRTC data channel as a Link, for any platform: messages cross the channel in chunks
 * (datachannel-frames.ts), a close carries its reason, and the channel is closed only once what
 * was queued (a close notice included) has left. The daemon's WebRtcLink (webrtc.ts,
 * node-datachannel) and the page's (clients/browser/src/peer/transports.ts, RTCDataChannel)
 * differ only in the `DataChannelPort` they hand in.
 */
import { chunksOf, closeChunk, MAX_MESSAGE_BYTES_ON_CHANNEL, Reassembler } from './datachannel-frames.js';
import { BaseLink, type LinkKind } from './link.js';
import { soon, unref } from '../timers.js';

/** What a DataChannelLink needs of its platform's data channel and peer connection. */
export interface DataChannelPort {
  /** Send one binary chunk; may throw if the channel is gone. */
  send(chunk: Uint8Array): void;
  isOpen(): boolean;
  /** Bytes queued and not yet sent. */
  bufferedAmount(): number;
  /** Close the channel and its peer connection; never throws. */
  close(): void;
}

/**
 * How long a closing link waits for its queued chunks to leave and, when this side closed it, for
 * the peer to close its end, before closing anyway, ms.
 */
const FLUSH_WAIT_MS = 2000;

export class DataChannelLink extends BaseLink {
  readonly kind: LinkKind = 'webrtc';
  readonly #port: DataChannelPort;
  readonly #frames = new Reassembler();
  /** The peer closed its end (its close notice arrived, or the channel or connection ended). */
  #peerClosed = false;

  /** The platform calls `received` for each channel message and `ended` when channel or connection end. */
  constructor(
    port: DataChannelPort,
    readonly remote: string,
  ) {
    super();
    this.#port = port;
  }

  /** After authentication (secure.ts): messages up to a sealed 64 MiB one. */
  raiseFrameLimit(): void {
    this.#frames.limit = MAX_MESSAGE_BYTES_ON_CHANNEL;
  }

  /** A message from the channel: binary chunks only; text is a protocol error. */
  received(msg: string | Uint8Array): void {
    if (typeof msg === 'string') {
      this.close('protocol error: text message on the data channel');
      return;
    }
    const got = this.#frames.push(msg);
    if (got.t === 'message') this.deliver(got.data);
    else if (got.t === 'close') this.ended(`closed by peer: ${got.reason}`);
    else if (got.t === 'bad') this.close(`protocol error: ${got.why}`);
  }

  /** The channel or its connection ended (`reason` in words); the link closes with it. */
  ended(reason: string): void {
    this.#peerClosed = true;
    if (this.closeReason !== undefined) return;
    this.closed(reason);
    this.#teardownWhenFlushed();
  }

  protected transmit(data: Uint8Array): void {
    try {
      for (const chunk of chunksOf(data)) this.#port.send(chunk);
    } catch (err) {
      this.ended(`send failed (${(err as Error).message})`);
    }
  }

  /**
   * Closed on this side: the close notice goes after what was queued, and the channel is torn down
   * once the peer has closed its end too (it does on reading the notice), not as soon as the
   * notice has left. Torn down at once, the peer could find its end closed while chunks sent before
   * the notice (the overlay's DONE) were still on their way to its JavaScript, and a message it
   * sent meanwhile (a pong) would fail: it took that for a lost link and reset every link to this
   * peer (a full run, overlay.test.ts "an idle stream leaves WebRTC").
   */
  protected shutdown(reason: string): void {
    try {
      if (this.#port.isOpen()) this.#port.send(closeChunk(reason));
    } catch {
      this.#peerClosed = true; // already gone (a closed channel is not waited for either)
    }
    this.#teardownWhenFlushed();
  }

  /**
   * Bytes handed to the channel and not yet sent (the channel's `bufferedAmount`; 0 once it is
   * closed or gone), so the sync layer can stop building answers for a peer that is not draining
   * (decision 149).
   */
  bufferedAmount(): number {
    try {
      return this.#isOpen() ? this.#port.bufferedAmount() : 0;
    } catch {
      return 0;
    }
  }

  /** Whether the channel is open (false once it or its connection is gone). */
  #isOpen(): boolean {
    try {
      return this.#port.isOpen();
    } catch {
      return false;
    }
  }

  #teardownWhenFlushed(): void {
    const started = Date.now();
    const attempt = (): void => {
      const waiting = this.bufferedAmount() > 0 || (!this.#peerClosed && this.#isOpen());
      if (waiting && Date.now() - started < FLUSH_WAIT_MS) {
        unref(setTimeout(attempt, 20));
        return;
      }
      // Never close from inside a channel callback (node-datachannel forbids it).
      soon(() => this.#port.close());
    };
    attempt();
  }
}
