// Decision 182, the heartbeat side (a session larger than a full mesh, where only a peer's
// repeated presence says it is there): a peer silent past the timeout is lost, its cursor cleared
// at once, and told as left only when the grace runs out; heard within it, nothing is told. The
// daemons' links are exercised in test/collab/presence-flap.test.ts; the clock here is faked so
// the silences are exact.
import { afterEach, beforeEach, expect, it, vi } from 'vitest';
import { LEAVE_GRACE_MS, Presence, PRESENCE_TOPIC, LEAVE_TOPIC } from '../../daemon/src/presence/presence.js';
import { MemoryBlobStore } from '../../daemon/src/workspace/blob-store.js';
import { MemoryStore } from '../../daemon/src/workspace/memory-store.js';
import { Workspace } from '../../daemon/src/workspace/workspace.js';

let presence: Presence;
let ws: Workspace;
let told: string[];
let clock: number;

beforeEach(() => {
  vi.useFakeTimers();
  ws = new Workspace(new MemoryStore(), new MemoryBlobStore(), 'ab'.repeat(16), { read: async () => undefined });
  presence = new Presence({ id: 'p1', name: 'Ada', color: '#123456' }, ws, () => undefined);
  // Heartbeat on: what a partial mesh does (no link says anything about the person).
  presence.connect(() => undefined, { lastHeard: () => undefined, heartbeat: () => true });
  told = [];
  presence.on('joined', (p) => told.push(`joined ${p.name}`));
  presence.on('left', (p, reason) => told.push(`left ${p.name} (${reason})`));
  presence.on('cursor', (c) => c.peer.name === 'Bo' && told.push(`cursor ${c.selections.length}`));
  clock = 0;
});

afterEach(() => {
  presence.leave();
  ws.close();
  vi.useRealTimers();
});

/** Bo's heartbeat, with one editor whose cursor is at offset 0. */
const heartbeat = () => presence.receive('p2', PRESENCE_TOPIC, { clock: ++clock, name: 'Bo', color: '#654321', editors: [{ id: 'e', path: 'a.txt', selections: [{ anchor: { o: 0 }, head: { o: 0 } }] }] });

it('a peer silent past the timeout loses its cursor at once, and is told as left only after the grace', () => {
  heartbeat();
  expect(told).toEqual(['joined Bo', 'cursor 1']);
  vi.advanceTimersByTime(7000); // past TIMEOUT_MS (5 s) and a tick
  expect(told).toEqual(['joined Bo', 'cursor 1', 'cursor 0']);
  expect(presence.peers().map((p) => p.name)).toEqual(['Bo']);
  vi.advanceTimersByTime(LEAVE_GRACE_MS);
  // Not a goodbye: out of reach (a relay's outage said "left the session" of everyone behind it).
  expect(told).toEqual(['joined Bo', 'cursor 1', 'cursor 0', 'left Bo (unreachable)']);
  expect(presence.peers()).toEqual([]);
  heartbeat();
  expect(told.slice(4)).toEqual(['joined Bo', 'cursor 1']);
});

it('heard again within the grace, nothing is told but its cursor coming back', () => {
  heartbeat();
  vi.advanceTimersByTime(7000);
  vi.advanceTimersByTime(LEAVE_GRACE_MS - 3000);
  heartbeat();
  // Heard on, past the grace of that silence: nothing more is told.
  for (let t = 0; t < LEAVE_GRACE_MS; t += 1500) {
    vi.advanceTimersByTime(1500);
    heartbeat();
  }
  expect(told.filter((t) => t !== 'cursor 1')).toEqual(['joined Bo', 'cursor 0']);
  expect(told.slice(0, 4)).toEqual(['joined Bo', 'cursor 1', 'cursor 0', 'cursor 1']);
});

it('a goodbye is told at once, lost or not', () => {
  heartbeat();
  presence.receive('p2', LEAVE_TOPIC, {});
  expect(told).toEqual(['joined Bo', 'cursor 1', 'cursor 0', 'left Bo (left)']);
  heartbeat();
  vi.advanceTimersByTime(7000);
  presence.receive('p2', LEAVE_TOPIC, {});
  expect(told.slice(4)).toEqual(['joined Bo', 'cursor 1', 'cursor 0', 'left Bo (left)']);
});

it('in a full mesh, a link silent past the timeout and then heard again brings the cursor back, telling nothing', () => {
  let heard: number | undefined = Date.now();
  presence.connect(() => undefined, { lastHeard: () => heard, heartbeat: () => false });
  heartbeat();
  vi.advanceTimersByTime(7000); // the link says nothing (a loaded machine): lost
  // (In a full mesh each tick re-resolves the cursors here: 'cursor 1' until it is lost.)
  expect(told.at(-1)).toBe('cursor 0');
  const before = told.length;
  heard = Date.now(); // its pings arrive again
  vi.advanceTimersByTime(1500);
  expect(told.slice(before)).toEqual(['cursor 1']);
  // Heard on, well past the grace: its cursor is re-resolved on each tick, nothing else is told.
  for (let t = 0; t < 2 * LEAVE_GRACE_MS; t += 1500) {
    heard = Date.now();
    vi.advanceTimersByTime(1500);
  }
  expect(told.filter((t) => t !== 'cursor 1')).toEqual(['joined Bo', 'cursor 0']);
  heard = undefined; // its link goes down and stays down
  vi.advanceTimersByTime(5000 + LEAVE_GRACE_MS + 3000);
  expect(told.filter((t) => t !== 'cursor 1')).toEqual(['joined Bo', 'cursor 0', 'cursor 0', 'left Bo (unreachable)']);
});

it('a peer gone from view is still known by the name and colour it last gave (trial s59 F7)', () => {
  heartbeat();
  expect(presence.lastKnown('p2')).toBeUndefined(); // in view: peers() has it
  vi.advanceTimersByTime(7000 + LEAVE_GRACE_MS);
  expect(presence.peers()).toEqual([]);
  expect(presence.lastKnown('p2')).toEqual({ name: 'Bo', color: '#654321' });
  expect(presence.lastKnown('p3')).toBeUndefined();
});
