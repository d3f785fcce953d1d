/**
 * How a Link message crosses a WebRTC data channel, on every platform (node-datachannel in the
 * daemon, webrtc.ts; RTCPeerConnection in the browser page, clients/browser/src/peer/transports.ts):
 * a data channel carries at most 256 KiB per message and cannot carry a close reason, so every
 * Link message is cut into 64 KiB chunks, each prefixed by one byte: MORE (another chunk of this
 * message follows), LAST (final chunk), or CLOSE (the sender is closing; the rest is a utf8
 * reason). Platform-neutral.
 */

export const CHUNK_BYTES = 64 * 1024;
const MORE = 0;
const LAST = 1;
const CLOSE = 2;
const utf8 = new TextEncoder();
const fromUtf8 = new TextDecoder();

/** The chunks that carry `data` (one LAST chunk for an empty message). */
export function chunksOf(data: Uint8Array): Uint8Array[] {
  if (data.length === 0) return [new Uint8Array([LAST])];
  const out: Uint8Array[] = [];
  for (let at = 0; at < data.length; at += CHUNK_BYTES) {
    const end = Math.min(at + CHUNK_BYTES, data.length);
    const chunk = new Uint8Array(1 + end - at);
    chunk[0] = end === data.length ? LAST : MORE;
    chunk.set(data.subarray(at, end), 1);
    out.push(chunk);
  }
  return out;
}

/** The chunk that tells the other side we are closing, and why (cut to 500 bytes). */
export function closeChunk(reason: string): Uint8Array {
  return new Uint8Array([CLOSE, ...utf8.encode(reason).subarray(0, 500)]);
}

/** What one received chunk completes. */
export type Received = { t: 'message'; data: Uint8Array } | { t: 'close'; reason: string } | { t: 'partial' } | { t: 'bad'; why: string };

/**
 * Largest message a link takes before the peer proved the session's secret: what a handshake
 * needs, and no more (as a WebSocket's WS_HANDSHAKE_MAX_PAYLOAD), so a stranger cannot make the
 * daemon hold its chunks.
 */
export const HANDSHAKE_MESSAGE_BYTES = 8 * 1024;
/** Largest message after (a sealed 64 MiB message with room to spare, as WS_MAX_PAYLOAD). */
export const MAX_MESSAGE_BYTES_ON_CHANNEL = 64 * 1024 * 1024 + 4096;

/**
 * Puts received chunks back together into messages, holding at most `limit` bytes of one: past
 * it the message is refused (`bad`) and what was held is let go. A peer that sent MORE chunks
 * forever had every one kept (decision 213).
 */
export class Reassembler {
  #partial: Uint8Array[] = [];
  #held = 0;

  /** `limit`: the largest message, in bytes; raised once the link is authenticated. */
  constructor(public limit = HANDSHAKE_MESSAGE_BYTES) {}

  push(bytes: Uint8Array): Received {
    const body = bytes.subarray(1);
    if ((bytes[0] === MORE || bytes[0] === LAST) && this.#held + body.length > this.limit) {
      this.#partial = [];
      this.#held = 0;
      return { t: 'bad', why: `a message of over ${this.limit} bytes on the data channel` };
    }
    switch (bytes[0]) {
      case MORE:
        this.#partial.push(body.slice());
        this.#held += body.length;
        return { t: 'partial' };
      case LAST: {
        if (this.#partial.length === 0) return { t: 'message', data: body.slice() };
        this.#partial.push(body);
        this.#held = 0;
        const whole = new Uint8Array(this.#partial.reduce((n, p) => n + p.length, 0));
        let at = 0;
        for (const p of this.#partial) {
          whole.set(p, at);
          at += p.length;
        }
        this.#partial = [];
        return { t: 'message', data: whole };
      }
      case CLOSE:
        return { t: 'close', reason: fromUtf8.decode(body) };
      default:
        return { t: 'bad', why: 'unknown chunk type on the data channel' };
    }
  }
}
