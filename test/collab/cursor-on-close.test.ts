// An editor's cursor in a file it closes: others see it go at the close (the editor can no longer
// send one for that file), and a cursor that arrives for a file just closed is dropped with a log
// line in plain words (user trial: VS Code's daemon logged "cursor/set refused: X is not open in
// this editor; call buffer/open first" after each close, rename and delete). Two real daemons on
// loopback, a scripted editor on each over its real socket.
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import * as P from '@chorus/protocol';
import type { Daemon } from '../../daemon/src/daemon.js';
import { aliceAndBob, logsOf } from '../support/in-process.js';
import type { ScriptedEditor } from '../support/scripted-editor.js';

let A: Daemon, B: Daemon;
let dirB: string;
let ea: ScriptedEditor, eb: ScriptedEditor;
const F = 'f.txt';

beforeAll(async () => {
  ({ A, B, dirB, ea, eb } = await aliceAndBob({ [F]: 'one\ntwo\n', 'g.txt': 'g\n' }, [F, 'g.txt']));
  await ea.waitFor(() => A.presence.peers().some((p) => p.name === 'bob'), 'bob in alice\'s presence');
});

afterAll(async () => {
  for (const e of [ea, eb]) e?.close();
  await Promise.all([A, B].map((d) => d?.stop()));
});

const bobsCursors = () => ea.notes.filter((n) => n.method === P.CursorDidChange.method && n.params.peer.name === 'bob' && n.params.path === F);

it('closing a buffer takes the editor\'s cursor there away for everyone; a cursor for it sent after is dropped and logged in words', async () => {
  eb.conn.sendNotification(P.CursorSet.type, { path: F, selections: [{ anchor: { line: 1, character: 1 }, head: { line: 1, character: 1 } }] });
  await ea.waitFor(() => bobsCursors().some((n) => n.params.selections[0]?.head.line === 1), "bob's cursor");
  await eb.conn.sendRequest(P.BufferClose.type, { path: F });
  await ea.waitFor(() => bobsCursors().at(-1)?.params.selections.length === 0, "bob's cursor to go with the close");
  // A cursor sent for the file after its close (the editor's cursor moving off a closed tab).
  eb.conn.sendNotification(P.CursorSet.type, { path: F, selections: [] });
  await eb.conn.sendRequest(P.SessionStatus.type, {}); // answered after the notification: it was handled
  const lines = logsOf(B).filter((l) => l.includes(F));
  expect(lines.some((l) => /its cursor in f\.txt was ignored: that file is not open in this editor/.test(l))).toBe(true);
  expect(lines.some((l) => /cursor\/set|buffer\/open/.test(l))).toBe(false);
});

it('a cursor in a file renamed stays shown at its new name, and closing the renamed buffer takes it away', async () => {
  // Helper-91's finding: the cursor was kept under the file's old name: alice's editor dropped it
  // at the rename (no such file), and bob's close of the renamed buffer, which names the new path,
  // did not take it away.
  const bobs = () => ea.notes.filter((n) => n.method === P.CursorDidChange.method && n.params.peer.name === 'bob' && (n.params.path === 'g.txt' || n.params.path === 'h.txt'));
  eb.conn.sendNotification(P.CursorSet.type, { path: 'g.txt', selections: [{ anchor: { line: 0, character: 1 }, head: { line: 0, character: 1 } }] });
  await ea.waitFor(() => bobs().some((n) => n.params.path === 'g.txt' && n.params.selections[0]?.head.character === 1), "bob's cursor in g.txt");
  fs.renameSync(path.join(dirB, 'g.txt'), path.join(dirB, 'h.txt'));
  await eb.waitFor(() => eb.notes.some((n) => n.method === P.BufferDidRename.method && n.params.to === 'h.txt'), "the rename told to bob's editor");
  await ea.waitFor(() => bobs().at(-1)?.params.path === 'h.txt' && bobs().at(-1)?.params.selections[0]?.head.character === 1, "bob's cursor shown at the new name");
  await eb.conn.sendRequest(P.BufferClose.type, { path: 'h.txt' });
  await ea.waitFor(() => bobs().at(-1)?.params.selections.length === 0, "bob's cursor to go with the close of the renamed buffer");
  // An editor shows one cursor per peer's editor (the last said), so the last word is what stays.
  expect(bobs().at(-1)?.params.path).toBe('h.txt');
});
