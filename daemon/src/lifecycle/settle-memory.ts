/**
 * One full garbage collection once a burst of bulk work is over (the folder taken in, a join
 * done), so the daemon sits at its working set instead of at whatever garbage V8 had not yet
 * collected when the burst ended (issue 13, decision 100). V8 by itself collects when the heap
 * reaches a limit, or when idle after a full collection; after a join that can be tens of MB of
 * garbage away, and the dead buffers it holds (file bytes, blobs, frames) keep their memory until
 * then. Measured: the joiner of the benchmark's project −12 MB RSS.
 *
 * Needs `gc`, which Node gives only with `--expose-gc` (DAEMON_NODE_OPTIONS): a daemon started
 * otherwise (in-process in tests) skips it.
 */
import { unref, type Timer } from '../timers.js';

/** How long after the last call the collection runs: the reply that ended the burst goes out first. */
export const SETTLE_DELAY_MS = 200;

let pending: Timer | undefined;

/**
 * Collect garbage SETTLE_DELAY_MS from now; calls in that time share one collection. Never keeps
 * the process alive; a no-op without `gc` (`--expose-gc`). `gc` can be passed in (tests).
 */
export function settleMemory(gc: (() => void) | undefined = (globalThis as { gc?: () => void }).gc): void {
  if (typeof gc !== 'function') return;
  if (pending) clearTimeout(pending);
  pending = unref(
    setTimeout(() => {
      pending = undefined;
      gc();
    }, SETTLE_DELAY_MS),
  );
}
