// Decision 151: a test may shorten a daemon timer through CHORUS_TEST_*; a value the daemon cannot
// use is refused by name rather than ignored (a test would then wait out the production minute).
import { expect, it } from 'vitest';
import { LEAVE_GRACE_MS } from '../../daemon/src/presence/presence.js';
import { JOIN_TIMEOUT_MS, readTestTimings } from '../../daemon/src/session/test-timings.js';

it('unset or empty, every timer keeps its production value', () => {
  expect(readTestTimings({})).toEqual({});
  expect(readTestTimings({ CHORUS_TEST_JOIN_TIMEOUT_MS: '', CHORUS_TEST_FORGET_AFTER_MS: '' })).toEqual({});
});

it('takes whole milliseconds up to the production value', () => {
  expect(readTestTimings({ CHORUS_TEST_JOIN_TIMEOUT_MS: '20000', CHORUS_TEST_FORGET_AFTER_MS: ' 3000 ' })).toEqual({ joinTimeoutMs: 20_000, forgetAfterMs: 3000 });
  expect(readTestTimings({ CHORUS_TEST_JOIN_TIMEOUT_MS: String(JOIN_TIMEOUT_MS) })).toEqual({ joinTimeoutMs: JOIN_TIMEOUT_MS });
  expect(readTestTimings({ CHORUS_TEST_LEAVE_GRACE_MS: String(LEAVE_GRACE_MS) })).toEqual({ leaveGraceMs: LEAVE_GRACE_MS });
  expect(readTestTimings({ CHORUS_TEST_START_DELAY_MS: '4000' })).toEqual({ startDelayMs: 4000 });
});

it('refuses, naming the variable, a value that is not a whole number of milliseconds in range', () => {
  for (const bad of ['20s', '-5', '0', '1.5', 'NaN', '1e4', String(JOIN_TIMEOUT_MS + 1)]) {
    expect(() => readTestTimings({ CHORUS_TEST_JOIN_TIMEOUT_MS: bad }), bad).toThrow(
      `CHORUS_TEST_JOIN_TIMEOUT_MS=${JSON.stringify(bad)} is not a whole number of milliseconds from 1 to ${JOIN_TIMEOUT_MS}: it is a test-only setting that shortens a timer (decision 151); fix it or unset it`,
    );
  }
  expect(() => readTestTimings({ CHORUS_TEST_LEAVE_GRACE_MS: String(LEAVE_GRACE_MS + 1) })).toThrow(/^CHORUS_TEST_LEAVE_GRACE_MS="10001" is not a whole number of milliseconds from 1 to 10000/);
  expect(() => readTestTimings({ CHORUS_TEST_START_DELAY_MS: '60000' })).toThrow(/^CHORUS_TEST_START_DELAY_MS="60000" is not a whole number of milliseconds from 1 to 10000/);
  expect(() => readTestTimings({ CHORUS_TEST_FORGET_AFTER_MS: 'soon' })).toThrow(/^CHORUS_TEST_FORGET_AFTER_MS="soon" is not a whole number of milliseconds from 1 to 600000/);
});

it('takes a write delay (decision 179) of whole milliseconds up to 10 s, and refuses more', () => {
  expect(readTestTimings({ CHORUS_TEST_WRITE_DELAY_MS: '250' })).toEqual({ writeDelayMs: 250 });
  expect(() => readTestTimings({ CHORUS_TEST_WRITE_DELAY_MS: '10001' })).toThrow(/^CHORUS_TEST_WRITE_DELAY_MS="10001" is not a whole number of milliseconds from 1 to 10000/);
});

it('takes a batch of files (decision 175) as a whole number up to the production 2,000, and refuses more', () => {
  expect(readTestTimings({ CHORUS_TEST_BATCH_FILES: '5' })).toEqual({ batchFiles: 5 });
  expect(() => readTestTimings({ CHORUS_TEST_BATCH_FILES: '2001' })).toThrow(/^CHORUS_TEST_BATCH_FILES="2001" is not a whole number of files from 1 to 2000: it is a test-only setting that shortens a batch/);
  expect(() => readTestTimings({ CHORUS_TEST_BATCH_FILES: 'few' })).toThrow(/^CHORUS_TEST_BATCH_FILES="few"/);
});

it('takes a hold of the start-up take-in (decision 196) of whole milliseconds up to 10 s, and refuses more', () => {
  expect(readTestTimings({ CHORUS_TEST_TAKE_IN_HOLD_MS: '3000' })).toEqual({ takeInHoldMs: 3000 });
  expect(() => readTestTimings({ CHORUS_TEST_TAKE_IN_HOLD_MS: '10001' })).toThrow(/^CHORUS_TEST_TAKE_IN_HOLD_MS="10001" is not a whole number of milliseconds from 1 to 10000/);
});
