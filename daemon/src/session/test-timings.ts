/**
 * Test-only timings (decision 151): environment variables named `CHORUS_TEST_*` that shorten a
 * daemon timer so a test can see it fire in seconds instead of minutes. The logic is the same,
 * only the wait is shorter. Unset, every timer keeps its production value. They are read here and
 * nowhere else, once per process. A value that is not a whole number of milliseconds within the
 * timer's range is refused with a message naming the variable, by a command before it starts a
 * daemon (ensureDaemon) and by a daemon at start: a mistyped value silently ignored would leave a
 * test waiting out the full production time (decision 172).
 *
 * - `CHORUS_TEST_JOIN_TIMEOUT_MS`: how long a join waits on a session where no peer says
 *   anything (session-manager.ts JOIN_TIMEOUT_MS, 60 s), and how long it waits for file content
 *   on its way at the end of a join.
 * - `CHORUS_TEST_FORGET_AFTER_MS`: how long a peer not heard of stays in the address book
 *   (overlay.ts FORGET_AFTER_MS, 10 minutes; decision 161).
 * - `CHORUS_TEST_WRITE_DELAY_MS`: the one that slows instead: each write that changes a file
 *   of the folder (write-back.ts `writeNow`, once it finds the file is not as it should be: a
 *   join, a peer's change, an editor's text) waits this long first (production: no wait; at
 *   most 10 s), so a test can see `chorus status` while files are still being written
 *   (decision 179).
 * - `CHORUS_TEST_LEAVE_GRACE_MS`: how long a peer lost without a goodbye stays before editors are
 *   told it left (presence.ts LEAVE_GRACE_MS, 10 s; decision 182).
 * - `CHORUS_TEST_START_DELAY_MS`: the one that lengthens: how long `chorus daemon` waits, its
 *   signals already handled, before it takes the lock (none in production, at most 10 s), so a
 *   test can run `chorus stop` in the moment a daemon is starting (decision 183).
 * - `CHORUS_TEST_BATCH_FILES`: not a timer but a size, read by the same rule: how many of the
 *   folder's files one index change takes in (folder-sync.ts BATCH_FILES, 2,000), so a test can
 *   move a handful of files through the split a move of thousands takes (decision 175).
 * - `CHORUS_TEST_TAKE_IN_HOLD_MS`: the other one that lengthens: how long the start-up take-in of
 *   the folder (folder-sync.ts `scanAll`), having read the folder's files, waits before it takes
 *   in what it read (production: no wait; at most 10 s), so a test can have an editor re-open its
 *   buffer, and its typing be written to the folder, in that moment (decision 196).
 */

/** The production values, in milliseconds, that the variables may shorten. */
export const JOIN_TIMEOUT_MS = 60_000;
/** Longest wait `CHORUS_TEST_WRITE_DELAY_MS` may set before each write. */
const WRITE_DELAY_MAX_MS = 10_000;
/** Kept equal to overlay.ts FORGET_AFTER_MS (not imported: this module stays free of the network code). */
const FORGET_AFTER_MAX_MS = 10 * 60_000;
/** Kept equal to presence.ts LEAVE_GRACE_MS (not imported, as above). */
const LEAVE_GRACE_MAX_MS = 10_000;
const START_DELAY_MAX_MS = 10_000;
const TAKE_IN_HOLD_MAX_MS = 10_000;
/** Kept equal to folder-sync.ts BATCH_FILES (not imported: that module imports this one). */
const BATCH_FILES_MAX = 2000;

/** The timers a test shortened, in milliseconds; a field absent keeps its production value. */
export interface TestTimings {
  joinTimeoutMs?: number;
  forgetAfterMs?: number;
  /** A wait before each write of a session's file into the folder (none in production). */
  writeDelayMs?: number;
  leaveGraceMs?: number;
  /** A wait before the daemon takes the lock; absent (no wait) in production. */
  startDelayMs?: number;
  /** Files per index change when the folder is taken in (a count, not a time). */
  batchFiles?: number;
  /** A wait between the start-up take-in's reading of the folder and its taking in; absent (no wait) in production. */
  takeInHoldMs?: number;
}

/**
 * Read `CHORUS_TEST_JOIN_TIMEOUT_MS`, `CHORUS_TEST_FORGET_AFTER_MS`, `CHORUS_TEST_WRITE_DELAY_MS`,
 * `CHORUS_TEST_LEAVE_GRACE_MS`, `CHORUS_TEST_START_DELAY_MS`, `CHORUS_TEST_BATCH_FILES` and
 * `CHORUS_TEST_TAKE_IN_HOLD_MS` from `env`. Each, when set (and not empty), must be a whole
 * number from 1 to its production value (the write and start delays and the take-in hold: to 10 s).
 * Throws an Error naming the variable, its value and what it accepts otherwise.
 */
export function readTestTimings(env: NodeJS.ProcessEnv): TestTimings {
  const join = milliseconds(env, 'CHORUS_TEST_JOIN_TIMEOUT_MS', JOIN_TIMEOUT_MS);
  const forget = milliseconds(env, 'CHORUS_TEST_FORGET_AFTER_MS', FORGET_AFTER_MAX_MS);
  const writeDelay = milliseconds(env, 'CHORUS_TEST_WRITE_DELAY_MS', WRITE_DELAY_MAX_MS);
  const grace = milliseconds(env, 'CHORUS_TEST_LEAVE_GRACE_MS', LEAVE_GRACE_MAX_MS);
  const delay = milliseconds(env, 'CHORUS_TEST_START_DELAY_MS', START_DELAY_MAX_MS);
  const batch = wholeNumber(env, 'CHORUS_TEST_BATCH_FILES', BATCH_FILES_MAX, 'files', 'a batch');
  const hold = milliseconds(env, 'CHORUS_TEST_TAKE_IN_HOLD_MS', TAKE_IN_HOLD_MAX_MS);
  return {
    ...(join !== undefined ? { joinTimeoutMs: join } : {}),
    ...(forget !== undefined ? { forgetAfterMs: forget } : {}),
    ...(writeDelay !== undefined ? { writeDelayMs: writeDelay } : {}),
    ...(grace !== undefined ? { leaveGraceMs: grace } : {}),
    ...(delay !== undefined ? { startDelayMs: delay } : {}),
    ...(batch !== undefined ? { batchFiles: batch } : {}),
    ...(hold !== undefined ? { takeInHoldMs: hold } : {}),
  };
}

let cached: TestTimings | undefined;

/** readTestTimings of this process's environment, read on the first call only. Throws as it does. */
export function testTimings(): TestTimings {
  cached ??= readTestTimings(process.env);
  return cached;
}

function milliseconds(env: NodeJS.ProcessEnv, name: string, max: number): number | undefined {
  return wholeNumber(env, name, max, 'milliseconds', 'a timer');
}

/** `env[name]` as a whole number from 1 to `max` of `unit`; undefined when unset or empty; throws otherwise. */
function wholeNumber(env: NodeJS.ProcessEnv, name: string, max: number, unit: string, shortens: string): number | undefined {
  const raw = env[name];
  if (raw === undefined || raw === '') return undefined;
  const n = /^\d+$/.test(raw.trim()) ? Number(raw.trim()) : NaN;
  if (!(n >= 1 && n <= max)) {
    throw new Error(
      `${name}=${JSON.stringify(raw.slice(0, 40))} is not a whole number of ${unit} from 1 to ${max}: it is a test-only setting that shortens ${shortens} (decision 151); fix it or unset it`,
    );
  }
  return n;
}
