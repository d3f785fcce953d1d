// Decision 100 (issue 13, memory): the one full collection after a scan or a join. Pins that calls
// close together share one collection (a join ends with several bursts' ends at once), that it
// runs after the call returns (the reply that ended the burst goes out first), and that a daemon
// without `gc` (not started with --expose-gc) just skips it.
import { expect, it } from 'vitest';
import { SETTLE_DELAY_MS, settleMemory } from '../../daemon/src/lifecycle/settle-memory.js';

const wait = (ms: number) => new Promise((r) => setTimeout(r, ms));

it('calls close together share one collection, run after they return', async () => {
  let collections = 0;
  const gc = () => void collections++;
  settleMemory(gc);
  settleMemory(gc);
  settleMemory(gc);
  expect(collections).toBe(0);
  await wait(SETTLE_DELAY_MS * 3);
  expect(collections).toBe(1);
  settleMemory(gc);
  await wait(SETTLE_DELAY_MS * 3);
  expect(collections).toBe(2);
});

it('without gc (no --expose-gc) it does nothing', async () => {
  expect(() => settleMemory(undefined)).not.toThrow();
  await wait(SETTLE_DELAY_MS * 2);
});
