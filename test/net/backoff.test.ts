// The overlay's dial backoff counts on the wall clock (Date.now), which can go back (an NTP
// correction after a laptop wakes): a wait computed before must not become the jump's length.
import { expect, it } from 'vitest';
import { Backoff } from '../../daemon/src/net/backoff.js';

it('waits after a failure, at most its cap, and not longer when the clock goes back', () => {
  const b = new Backoff(200, 5000);
  const t = 1_000_000_000;
  expect(b.ready(t)).toBe(true);
  let delay = 0;
  for (let i = 0; i < 10; i++) delay = b.fail(t);
  expect(delay).toBeLessThanOrEqual(5000);
  expect(b.ready(t)).toBe(false);
  expect(b.ready(t + 5000)).toBe(true);
  // The clock went back an hour after the failure: the next try is not an hour away.
  expect(b.ready(t - 3_600_000)).toBe(true);
  b.reset();
  expect(b.ready(t - 3_600_000)).toBe(true);
});
