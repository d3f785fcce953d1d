// The data-channel framing both WebRTC links use (daemon and browser page, issue 17): a message
// of any size comes back whole and byte-exact, a close carries its reason, garbage is refused.
import { describe, expect, it } from 'vitest';
import { CHUNK_BYTES, chunksOf, closeChunk, Reassembler } from '../../daemon/src/net/datachannel-frames.js';

function roundTrip(data: Uint8Array): Uint8Array {
  const r = new Reassembler();
  const chunks = chunksOf(data);
  for (const c of chunks) expect(c.length).toBeLessThanOrEqual(CHUNK_BYTES + 1);
  const results = chunks.map((c) => r.push(c));
  expect(results.slice(0, -1).every((x) => x.t === 'partial')).toBe(true);
  const last = results.at(-1)!;
  if (last.t !== 'message') throw new Error(`expected a message, got ${last.t}`);
  return last.data;
}

describe('data-channel frames', () => {
  it('carries empty, small, exactly-one-chunk and multi-chunk messages whole', () => {
    for (const size of [0, 1, 1000, CHUNK_BYTES, CHUNK_BYTES + 1, 3 * CHUNK_BYTES + 17]) {
      const data = Uint8Array.from({ length: size }, (_, i) => (i * 31 + size) & 0xff);
      expect(roundTrip(data)).toEqual(data);
    }
  });

  it('keeps messages apart: a second message after a multi-chunk one', () => {
    const r = new Reassembler();
    const big = new Uint8Array(2 * CHUNK_BYTES + 5).fill(7);
    for (const c of chunksOf(big)) r.push(c);
    expect(r.push(chunksOf(new Uint8Array([1, 2, 3]))[0]!)).toEqual({ t: 'message', data: new Uint8Array([1, 2, 3]) });
  });

  it('a close chunk carries its reason; an unknown chunk type is refused', () => {
    expect(new Reassembler().push(closeChunk('bye now'))).toEqual({ t: 'close', reason: 'bye now' });
    expect(new Reassembler().push(new Uint8Array([9, 1, 2])).t).toBe('bad');
  });
});
