/**
 * Exponential backoff with jitter for reconnect attempts: 200 ms doubling to a cap (5 s by
 * default), each delay scaled by a random factor in [0.5, 1] so peers that lost each other at the
 * same moment do not redial in lockstep forever.
 */
export class Backoff {
  #attempts = 0;
  #nextAt = 0;
  constructor(
    private readonly minMs = 200,
    private readonly maxMs = 5000,
  ) {}

  ready(now: number): boolean {
    // A wait is never longer than maxMs: a next try further away than that means the clock (the
    // wall clock the callers pass) went back since the failure, and it is due now rather than
    // after the jump's length (an NTP correction after a laptop wakes could be hours).
    return now >= this.#nextAt || this.#nextAt - now > this.maxMs;
  }

  get attempts(): number {
    return this.#attempts;
  }

  /** Record a failure; the next attempt waits. */
  fail(now: number): number {
    const base = Math.min(this.maxMs, this.minMs * 2 ** this.#attempts);
    const delay = base * (0.5 + Math.random() * 0.5);
    this.#attempts++;
    this.#nextAt = now + delay;
    return delay;
  }

  /** Record a success; the next failure starts from the minimum again. */
  reset(): void {
    this.#attempts = 0;
    this.#nextAt = 0;
  }
}
