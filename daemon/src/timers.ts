/**
 * The two timer behaviours the core needs that Node and browsers spell differently (decision
 * 065). The core calls these instead of `setImmediate` and `timer.unref()`, which only Node has;
 * in Node they do exactly what those did.
 */

/**
 * Run `fn` soon, after the I/O callbacks already queued: Node's setImmediate; a 0 ms timeout
 * where there is none (a browser), which also yields to pending events.
 */
export const soon: (fn: () => void) => void =
  typeof globalThis.setImmediate === 'function' ? (fn) => void globalThis.setImmediate(fn) : (fn) => void setTimeout(fn, 0);

/**
 * Let the process exit while this timer is pending (Node's `unref`); a no-op where timers cannot
 * keep anything alive (a browser, where they are numbers). Returns the timer.
 */
export function unref<T>(timer: T): T {
  (timer as { unref?: () => void } | undefined)?.unref?.();
  return timer;
}

/**
 * Longest one piece of work that can grow with the project (a tree-wide rewrite taken in, a burst
 * of peers' messages handed on, a joiner's documents offered) runs before it lets the event loop
 * run (ms): far below the 10 s after which a peer counts a silent link dead, and about what one
 * keystroke may wait behind it (decision 246).
 */
export const SLICE_MS = 50;

/** What setTimeout/setInterval return on this platform. */
export type Timer = ReturnType<typeof setTimeout>;
