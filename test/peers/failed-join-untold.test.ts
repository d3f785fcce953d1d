// Trial s59 F3 (4 of 4 failed joins): members' editors said the joiner "joined the session", and
// once its join had given up, that it "is out of reach … back by themselves", though their logs
// knew it would not come back (decision 161). A joiner is told to editors once its join is done;
// one whose join stops before it is in is told neither as joined nor as gone. Real daemons on
// loopback, an editor on the sharer's daemon over its real socket.
import { afterAll, expect, it } from 'vitest';
import * as P from '@chorus/protocol';
import type { Daemon } from '../../daemon/src/daemon.js';
import { startDaemon } from '../support/in-process.js';
import { tempProject } from '../support/project-dir.js';
import { ScriptedEditor } from '../support/scripted-editor.js';

// Read by the first daemon this file starts (test-timings.ts, once per module graph); unset after.
const GRACE_MS = 2000;
process.env.CHORUS_TEST_LEAVE_GRACE_MS = String(GRACE_MS);
// Each of a join's files waits this long before it is written: a join is still under way seconds
// after it linked, however fast the machine (it finished within the second once).
process.env.CHORUS_TEST_WRITE_DELAY_MS = '4000';

const daemons: Daemon[] = [];
const editors: ScriptedEditor[] = [];
afterAll(async () => {
  delete process.env.CHORUS_TEST_LEAVE_GRACE_MS;
  delete process.env.CHORUS_TEST_WRITE_DELAY_MS;
  for (const e of editors) e.close();
  await Promise.all(daemons.map((d) => d.stop()));
});

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

it("a joiner whose join stops before it is in is never told to members' editors; one that gets in is told once it is", async () => {
  const files: Record<string, string> = {};
  for (let i = 0; i < 20; i++) files[`d/f${i}.txt`] = `file ${i}\n`;
  const A = await startDaemon(tempProject(files), 'alice');
  daemons.push(A);
  const code = await A.share({ host: '127.0.0.1', webrtc: false });
  const ea = await ScriptedEditor.socket(A.project.socketPath, { name: 'alice-editor' });
  editors.push(ea);
  await ea.init();
  const toldOf = (name: string) => ea.notes.filter((n) => (n.method === P.PeerDidJoin.method || n.method === P.PeerDidLeave.method) && n.params.peer.name === name).map((n) => `${n.method} ${n.params.reason}`);

  // Bob's join is under way: linked, his presence sent (on link up), the 20 files still being written.
  const B = await startDaemon(tempProject(), 'bob');
  daemons.push(B);
  let finished = false;
  void B.join(code, { disk: true, host: '127.0.0.1', webrtc: false }, () => undefined)
    .then(() => (finished = true))
    .catch(() => undefined);
  for (let i = 0; i < 600 && !A.session.peers().some((p) => p.state === 'connected'); i++) await sleep(50);
  expect(A.session.peers().map((p) => p.state)).toEqual(['connected']);
  await sleep(1000); // his presence reaches Alice's daemon (on the old code her editor was told "joined" by now)
  expect(finished).toBe(false); // the join is under way: this tests one that stops
  // It stops before he is in (a join that gives up says the same goodbye).
  await B.stop();
  for (let i = 0; i < 400 && A.session.peers().length > 0; i++) await sleep(50);
  expect(A.session.peers()).toEqual([]);
  await sleep(GRACE_MS + 3000); // a "left" or "out of reach" would have been told by now
  expect(toldOf('bob')).toEqual([]);
  expect(A.presence.peers().map((p) => p.name)).not.toContain('bob');

  // Carol's join gets in: her editor-less daemon is told as joined, once.
  const C = await startDaemon(tempProject(), 'carol');
  daemons.push(C);
  await C.join(code, { disk: true, host: '127.0.0.1', webrtc: false }, () => undefined);
  await ea.waitFor(() => toldOf('carol').length > 0, 'carol told as joined', 20_000);
  await sleep(1500);
  expect(toldOf('carol')).toEqual([`${P.PeerDidJoin.method} joined`]);
  expect(toldOf('bob')).toEqual([]);
}, 90_000);
