// The data-channel framing both WebRTC links use (daemon and browser page, issue 17): a message
// of any size comes back whole and byte-exact, a close carries its reason, garbage is refused.
import { describe, expect, it } from 'vitest';
import { CHUNK_BYTES, chunksOf, closeChunk, HANDSHAKE_MESSAGE_BYTES, MAX_MESSAGE_BYTES_ON_CHANNEL, Reassembler } from '../../daemon/src/net/datachannel-frames.js';
import { DataChannelLink } from '../../daemon/src/net/datachannel-link.js';

function roundTrip(data: Uint8Array): Uint8Array {
  const r = new Reassembler(MAX_MESSAGE_BYTES_ON_CHANNEL); // an authenticated link's
  const chunks = chunksOf(data);
  for (const c of chunks) expect(c.length).toBeLessThanOrEqual(CHUNK_BYTES + 1);
  const results = chunks.map((c) => r.push(c));
  expect(results.slice(0, -1).every((x) => x.t === 'partial')).toBe(true);
  const last = results.at(-1)!;
  if (last.t !== 'message') throw new Error(`expected a message, got ${last.t}`);
  return last.data;
}

/** What `r` makes of `data`'s chunks: the last chunk's result. */
function roundTripWith(r: Reassembler, data: Uint8Array) {
  return chunksOf(data).map((c) => r.push(c)).at(-1)!;
}

describe('data-channel frames', () => {
  it('carries empty, small, exactly-one-chunk and multi-chunk messages whole', () => {
    for (const size of [0, 1, 1000, CHUNK_BYTES, CHUNK_BYTES + 1, 3 * CHUNK_BYTES + 17]) {
      const data = Uint8Array.from({ length: size }, (_, i) => (i * 31 + size) & 0xff);
      expect(roundTrip(data)).toEqual(data);
    }
  });

  it('keeps messages apart: a second message after a multi-chunk one', () => {
    const r = new Reassembler(MAX_MESSAGE_BYTES_ON_CHANNEL);
    const big = new Uint8Array(2 * CHUNK_BYTES + 5).fill(7);
    for (const c of chunksOf(big)) r.push(c);
    expect(r.push(chunksOf(new Uint8Array([1, 2, 3]))[0]!)).toEqual({ t: 'message', data: new Uint8Array([1, 2, 3]) });
  });

  it('holds at most its limit of one message: what a handshake needs until the peer is authenticated, then a sealed 64 MiB one (decision 213)', () => {
    // A peer sending MORE chunks forever had every one kept, whatever the link's state.
    const r = new Reassembler();
    expect(r.limit).toBe(HANDSHAKE_MESSAGE_BYTES);
    expect(roundTripWith(r, new Uint8Array(HANDSHAKE_MESSAGE_BYTES).fill(1)).t).toBe('message'); // a handshake fits
    const more = (n: number) => new Uint8Array([0, ...new Uint8Array(n)]);
    expect(r.push(more(HANDSHAKE_MESSAGE_BYTES / 2)).t).toBe('partial');
    expect(r.push(more(HANDSHAKE_MESSAGE_BYTES / 2 + 1))).toEqual({ t: 'bad', why: `a message of over ${HANDSHAKE_MESSAGE_BYTES} bytes on the data channel` });
    expect(r.push(chunksOf(new Uint8Array(HANDSHAKE_MESSAGE_BYTES + 1))[0]!).t).toBe('bad'); // one chunk too
    // Raised: big messages come whole; past the raised limit, refused the same way.
    r.limit = 3 * CHUNK_BYTES;
    const big = Uint8Array.from({ length: 3 * CHUNK_BYTES }, (_, i) => i & 0xff);
    expect(roundTripWith(r, big)).toEqual({ t: 'message', data: big });
    const over = chunksOf(new Uint8Array(3 * CHUNK_BYTES + 1));
    expect(over.map((c) => r.push(c).t)).toEqual(['partial', 'partial', 'partial', 'bad']); // the last byte is one too many
    expect(r.push(chunksOf(new Uint8Array([5]))[0]!)).toEqual({ t: 'message', data: new Uint8Array([5]) }); // nothing held over
  });

  it('a DataChannelLink closes on a message over its limit, and lifts the limit once authenticated', () => {
    const link = new DataChannelLink({ send: () => undefined, isOpen: () => true, bufferedAmount: () => 0, close: () => undefined }, 'webrtc:x');
    const got: number[] = [];
    link.on('message', (m: Uint8Array) => got.push(m.length));
    for (const c of chunksOf(new Uint8Array(2 * CHUNK_BYTES))) link.received(c);
    expect(link.closeReason).toBe(`protocol error: a message of over ${HANDSHAKE_MESSAGE_BYTES} bytes on the data channel`);
    const authenticated = new DataChannelLink({ send: () => undefined, isOpen: () => true, bufferedAmount: () => 0, close: () => undefined }, 'webrtc:y');
    authenticated.on('message', (m: Uint8Array) => got.push(m.length));
    authenticated.raiseFrameLimit();
    for (const c of chunksOf(new Uint8Array(2 * CHUNK_BYTES))) authenticated.received(c);
    expect(authenticated.closeReason).toBeUndefined();
    expect(got).toEqual([2 * CHUNK_BYTES]);
    authenticated.close('done');
  });

  it('a close chunk carries its reason; an unknown chunk type is refused', () => {
    expect(new Reassembler().push(closeChunk('bye now'))).toEqual({ t: 'close', reason: 'bye now' });
    expect(new Reassembler().push(new Uint8Array([9, 1, 2])).t).toBe('bad');
  });
});
