/**
 * The one rule for tests that need something from outside (an editor, a browser, root): where it
 * is missing they skip with a printed reason, unless CHORUS_REQUIRE_ALL=1 (CI), which turns the
 * skip into a failure so a missing install step cannot pass as green.
 */

/** `reason` (why `what` cannot run here) passed through after printing it; throws under CHORUS_REQUIRE_ALL=1. */
export function skipReason(what: string, reason: string | undefined): string | undefined {
  if (!reason) return undefined;
  if (process.env.CHORUS_REQUIRE_ALL === '1') throw new Error(`${what} required (CHORUS_REQUIRE_ALL=1) but ${reason}`);
  console.warn(`skipping ${what}: ${reason}`);
  return reason;
}
