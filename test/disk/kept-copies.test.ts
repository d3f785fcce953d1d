// Copies of the daemon's own bookkeeping kept aside (decision 153) are named by the time they were
// made; several within one millisecond are numbered. Found when the unit tests first ran in a
// shared, warmed-up process (decision 209): five ledger set-asides in one millisecond named the
// fifth like the first, which pruning had removed, so the newest copy sorted oldest and went.
import fs from 'node:fs';
import path from 'node:path';
import { afterEach, expect, it, vi } from 'vitest';
import { copyName, KEEP_COPIES, pruneCopies } from '../../daemon/src/lifecycle/kept-copies.js';
import { tempDir } from '../support/project-dir.js';

afterEach(() => void vi.useRealTimers());

it('copies made within one millisecond keep their order through pruning: the newest are the ones kept', () => {
  vi.useFakeTimers({ toFake: ['Date'], now: new Date('2026-12-04T03:30:00.123Z') });
  const file = path.join(tempDir(), 'ledger.jsonl');
  const logs: string[] = [];
  const made: string[] = [];
  for (let i = 1; i <= KEEP_COPIES + 3; i++) {
    const name = copyName(file, 'stale');
    fs.writeFileSync(name, `copy ${i}\n`);
    made.push(path.basename(name));
    pruneCopies(file, 'stale', (m) => logs.push(m));
  }
  expect(new Set(made).size).toBe(made.length);
  const left = fs.readdirSync(path.dirname(file)).filter((n) => n.includes('.stale-'));
  expect(left.map((n) => fs.readFileSync(path.join(path.dirname(file), n), 'utf8')).sort()).toEqual(['copy 4\n', 'copy 5\n', 'copy 6\n']);
  expect(logs.length).toBe(3);
});

it('a copy made in a later millisecond is named by its time alone', () => {
  vi.useFakeTimers({ toFake: ['Date'], now: new Date('2026-12-04T03:30:00.123Z') });
  const file = path.join(tempDir(), 'identity.json');
  const first = copyName(file, 'damaged');
  fs.writeFileSync(first, '');
  expect(path.basename(copyName(file, 'damaged'))).toBe('identity.json.damaged-2026-12-04T03-30-00-123Z-2');
  vi.setSystemTime(new Date('2026-12-04T03:30:00.124Z'));
  expect(path.basename(copyName(file, 'damaged'))).toBe('identity.json.damaged-2026-12-04T03-30-00-124Z');
});
