// Each run of a daemon takes an Automerge actor of its own (daemon/src/workspace/actors.ts): a
// daemon whose saved log lost its last changes must never number a change as one of those, which
// peers may hold ("duplicate seq" split a file from its session for good: trials s48, s48b).
import * as A from '@automerge/automerge/next';
import { expect, it } from 'vitest';
import { runActor, sameDaemon } from '../../daemon/src/workspace/actors.js';

const ID = '0123456789abcdef0123456789abcdef';

it('a run actor is the identity id and random bytes, another each run, and tells the same daemon apart from others', () => {
  const [x, y] = [runActor(ID), runActor(ID)];
  expect(x).toMatch(/^0123456789abcdef0123456789abcdef[0-9a-f]{8}$/);
  expect(y).not.toBe(x);
  expect(sameDaemon(x, y)).toBe(true);
  expect(sameDaemon(x, ID)).toBe(true);
  expect(sameDaemon(x, runActor('f'.repeat(32)))).toBe(false);
  expect(sameDaemon('ab', 'ab')).toBe(false); // too short to carry an identity
});

it("a daemon that lost its last changes and starts under a new run actor makes changes peers can take with the lost ones", () => {
  // Run 1 of a daemon: three changes, all at a peer; the daemon's saved state keeps only the first.
  let run1 = A.from({ t: 'x' }, { actor: runActor(ID) });
  const kept = A.getAllChanges(run1);
  run1 = A.change(run1, (d) => A.splice(d, ['t'], 1, 0, 'a'));
  run1 = A.change(run1, (d) => A.splice(d, ['t'], 2, 0, 'b'));
  const peer = A.clone(run1, { actor: 'ee'.repeat(16) });
  // Run 2 starts from what was kept, with its own actor, and changes the text.
  let run2 = A.applyChanges(A.init<{ t: string }>({ actor: runActor(ID) }), kept)[0];
  run2 = A.change(run2, (d) => A.splice(d, ['t'], 1, 0, 'Z'));
  const [merged] = A.applyChanges(peer, [A.getLastLocalChange(run2)!]);
  // Both the lost changes and the new one are in, in one of the two orders concurrent inserts take.
  expect(['xZab', 'xabZ']).toContain(A.load<{ t: string }>(A.save(merged)).t);
  const [back] = A.applyChanges(run2, A.getAllChanges(run1));
  expect(back.t).toBe(merged.t);
});
