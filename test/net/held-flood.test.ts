// A link holds what it cannot hand on this turn (decision 246), bounded by MAX_HELD_BYTES counted
// with what holding each message costs, not its bytes alone: a read-only guest's 1,000,000
// two-byte frames were all held (2 MB by their bytes) and the member grew to 468 MB, handing them
// on one `shift` (a copy of the rest) at a time (trial s54a, F4). Every message is still handed
// on, once, in order.
import { expect, it } from 'vitest';
import { MemoryLink } from '../../daemon/src/net/memory.js';

it('a flood of tiny messages in one read is handed on whole, in order, and no more is held than the bound lets', async () => {
  const link = new MemoryLink('memory:flood');
  const got: number[] = [];
  let mostHeld = 0;
  link.on('message', (data) => {
    got.push(data[0]! * 65536 + data[1]! * 256 + data[2]!);
    // Keep each hand-on busy long enough that the turn's slice runs out and the rest is held.
    if (got.length % 1000 === 0) {
      const end = performance.now() + 2;
      while (performance.now() < end);
    }
  });
  const N = 300_000;
  for (let i = 0; i < N; i++) {
    link.receive(new Uint8Array([i >> 16, (i >> 8) & 255, i & 255]));
    mostHeld = Math.max(mostHeld, N - got.length - (N - i - 1));
  }
  for (const end = Date.now() + 60_000; got.length < N && Date.now() < end; ) await new Promise((r) => setTimeout(r, 10));
  expect(got.length).toBe(N);
  expect(got.every((v, i) => v === i)).toBe(true);
  // 16 MiB at 128 + 3 bytes a message: at most ~128,000 waited at once (all 300,000 did before).
  expect(mostHeld).toBeLessThan(130_000);
  expect(mostHeld).toBeGreaterThan(0); // some were held: the slice ran out
});
