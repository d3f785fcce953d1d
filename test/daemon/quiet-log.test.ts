// Decision 149: lines a stranger can cause are written a few a minute per kind, then counted.
import { afterEach, beforeEach, expect, it, vi } from 'vitest';
import { QuietLog } from '../../daemon/src/quiet-log.js';

beforeEach(() => vi.useFakeTimers());
afterEach(() => vi.useRealTimers());

it('writes the first lines of a kind in a window, counts the rest, and sums them up when it ends', () => {
  const lines: string[] = [];
  const q = new QuietLog((m) => lines.push(m), 60_000, 3);
  for (let i = 0; i < 1000; i++) q.log('handshake failed: timed out', `line ${i}`);
  q.log('other kind', 'other');
  expect(lines).toEqual(['line 0', 'line 1', 'line 2', 'other']);
  vi.advanceTimersByTime(60_000);
  expect(lines).toHaveLength(5);
  expect(lines[4]).toMatch(/^997 more like this \(handshake failed: timed out\) in the last 60 s, not logged$/);
  // A new window: written again, and nothing more to sum up.
  expect(q.log('handshake failed: timed out', 'again')).toBe(true);
  vi.advanceTimersByTime(120_000);
  expect(lines).toHaveLength(6);
});

it('forgets the kinds of a peer that went away, and keeps at most maxKinds', () => {
  const lines: string[] = [];
  const q = new QuietLog((m) => lines.push(m), 60_000, 1, 10);
  q.log('p1:from', 'a');
  q.log('p1:from', 'b');
  q.forget('p1:', true);
  expect(q.log('p1:from', 'c')).toBe(true);
  for (let i = 0; i < 100; i++) q.log(`k${i}`, `x${i}`);
  vi.advanceTimersByTime(60_000);
  expect(lines.filter((l) => /more like this/.test(l))).toEqual([]);
  q.clear();
});
