// Decision 182: a link that drops and comes back within the grace tells an editor nothing (a
// loaded trial saw some 30 "left"/"joined" pairs for one person); one lost for longer is told
// once as left, and once as back (not as joined) when it returns. Two real daemons on loopback,
// an editor on Alice's over her real socket; the links are cut in Alice's overlay as a failure
// would cut them. Then Alice's daemon restarts: the members it meets again are back, and only a
// member that joins is told as joined (a trial: "joined the session" after every restart, 7 of 7).
import { afterAll, beforeAll, expect, it } from 'vitest';
import * as P from '@chorus/protocol';
import type { Daemon } from '../../daemon/src/daemon.js';
import { aliceAndBob, startDaemon } from '../support/in-process.js';
import { tempProject } from '../support/project-dir.js';
import type { ScriptedEditor } from '../support/scripted-editor.js';

// Read by the first daemon this file starts (test-timings.ts, once per module graph: this file's own); unset after.
// Long enough for a dropped link to be redialled on a loaded machine, short enough to wait out.
const GRACE_MS = 6000;
process.env.CHORUS_TEST_LEAVE_GRACE_MS = String(GRACE_MS);

let A: Daemon, B: Daemon;
let dirA: string;
const more: Daemon[] = [];
let ea: ScriptedEditor, eb: ScriptedEditor;
const F = 'f.txt';

beforeAll(async () => {
  ({ A, B, ea, eb, dirA } = await aliceAndBob({ [F]: 'one\ntwo\n' }, [F]));
  await ea.waitFor(() => A.presence.peers().some((p) => p.name === 'bob'), 'bob in alice\'s presence');
  // And her editor told so (bob is told once his join is done: the counts below start after it).
  await ea.waitFor(() => told(P.PeerDidJoin.method) > 0, 'bob told to alice\'s editor');
});

afterAll(async () => {
  delete process.env.CHORUS_TEST_LEAVE_GRACE_MS;
  for (const e of [ea, eb]) e?.close();
  await Promise.all([A, B, ...more].map((d) => d?.stop()));
});

const told = (method: string) => ea.notes.filter((n) => n.method === method && n.params.peer.name === 'bob').length;
const bobLinked = () => A.session.peers().some((p) => p.id === B.identity.id && p.state === 'connected');
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

it('a link dropped again and again, back each time within the grace, tells the editor nothing', async () => {
  const [joined, left] = [told(P.PeerDidJoin.method), told(P.PeerDidLeave.method)];
  for (let i = 0; i < 5; i++) {
    await ea.waitFor(bobLinked, 'the link to bob');
    A.session.network!.dropLinks(B.identity.id, 'test drop');
    await ea.waitFor(() => !bobLinked(), 'the link to bob to drop');
  }
  await ea.waitFor(bobLinked, 'the link to bob back');
  // Bob's cursor still reaches the editor over the link that came back.
  eb.conn.sendNotification(P.CursorSet.type, { path: F, selections: [{ anchor: { line: 1, character: 1 }, head: { line: 1, character: 1 } }] });
  await ea.waitFor(() => ea.notes.some((n) => n.method === P.CursorDidChange.method && n.params.peer.name === 'bob' && n.params.selections[0]?.head.line === 1), 'bob\'s cursor');
  // Past the grace of the last drop, nothing was told.
  await sleep(GRACE_MS + 2000);
  expect([told(P.PeerDidJoin.method) - joined, told(P.PeerDidLeave.method) - left]).toEqual([0, 0]);
  expect(A.presence.peers().map((p) => p.name)).toEqual(['bob']);
});

it('a link cut for longer than the grace is told once as left, and once as back when it returns', async () => {
  const [joined, left] = [told(P.PeerDidJoin.method), told(P.PeerDidLeave.method)];
  A.session.network!.partition([B.identity.id]);
  B.session.network!.partition([A.identity.id]);
  try {
    await ea.waitFor(() => told(P.PeerDidLeave.method) > left, 'peer/didLeave for bob');
    // Still cut off: no second "left" on a later tick.
    await sleep(2000);
    expect(told(P.PeerDidLeave.method) - left).toBe(1);
    expect(A.presence.peers()).toEqual([]);
    // Cut off, not gone: the editor is told bob is out of reach, not that he left.
    expect(ea.notes.filter((n) => n.method === P.PeerDidLeave.method && n.params.peer.name === 'bob').at(-1)?.params.reason).toBe('unreachable');
  } finally {
    A.session.network!.heal();
    B.session.network!.heal();
  }
  await ea.waitFor(() => told(P.PeerDidJoin.method) > joined, 'peer/didJoin for bob', 60000);
  await sleep(2000);
  expect([told(P.PeerDidJoin.method) - joined, told(P.PeerDidLeave.method) - left]).toEqual([1, 1]);
  // A member this daemon had: back, not new.
  expect(ea.notes.filter((n) => n.method === P.PeerDidJoin.method && n.params.peer.name === 'bob').at(-1)?.params.reason).toBe('back');
});

it('a daemon restarted meets the members as back; a member that then joins is told as joined, on both', async () => {
  const toldB = (name: string) => eb.notes.filter((n) => n.method === P.PeerDidJoin.method && n.params.peer.name === name).map((n) => n.params.reason);
  const before = toldB('alice').length;
  await A.stop();
  ea.close();
  const A2 = await startDaemon(dirA, 'alice');
  more.push(A2);
  // Listening from the moment it started: it rejoins its saved session on its own and links to
  // Bob only after handshakes, which take turns of the event loop this test is not giving away.
  const seen: Array<[string, string]> = [];
  A2.presence.on('joined', (p, reason) => seen.push([p.name, reason]));
  await eb.waitFor(() => seen.some(([n]) => n === 'bob'), "bob in the restarted daemon's presence", 60000);
  expect(seen).toEqual([['bob', 'back']]);
  // Bob's daemon told Alice's goodbye as left; her restarted daemon's return is back too.
  await eb.waitFor(() => toldB('alice').length > before, 'peer/didJoin for alice on bob', 60000);
  expect(toldB('alice').slice(before)).toEqual(['back']);

  const C = await startDaemon(tempProject(), 'carol');
  more.push(C);
  const code = await A2.share({ host: '127.0.0.1', webrtc: false });
  await C.join(code, { disk: true, host: '127.0.0.1', webrtc: false }, () => undefined);
  await eb.waitFor(() => seen.some(([n]) => n === 'carol') && toldB('carol').length > 0, 'carol in both daemons', 60000);
  expect(seen.filter(([n]) => n === 'carol')).toEqual([['carol', 'joined']]);
  expect(toldB('carol')).toEqual(['joined']);
});
