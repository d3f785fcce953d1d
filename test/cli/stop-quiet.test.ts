// Pins a user-trial fault: `chorus stop` on a daemon with editors open and a peer linked wrote
// "Sending notification failed." (vscode-jsonrpc's own words) into the daemon's log, once per
// notification: stopping, the daemon closed the editors' sockets and then told them the peer had gone.
import fs from 'node:fs';
import path from 'node:path';
import * as P from '@chorus/protocol';
import { expect, it } from 'vitest';
import { chorus, joinedPair, stopAfterEach, waitUntil } from '../support/cli.js';
import { ScriptedEditor } from '../support/scripted-editor.js';

const used = stopAfterEach();

it('stops a daemon with editors and a peer without a library error in its log', async () => {
  const { a, b } = joinedPair({ 'f.txt': 'hello\n' }, used);
  const editors: ScriptedEditor[] = [];
  for (const name of ['one', 'two']) {
    const e = await ScriptedEditor.socket(path.join(a, '.chorus', 'daemon.sock'), { name });
    await e.init();
    await e.open('f.txt');
    editors.push(e);
  }
  // B's cursor reaches A's editors: A has presence of a peer to take down as it stops.
  const onB = await ScriptedEditor.socket(path.join(b, '.chorus', 'daemon.sock'), { name: 'three' });
  await onB.init();
  await onB.open('f.txt');
  await onB.conn.sendNotification(P.CursorSet.method, { path: 'f.txt', selections: [{ anchor: { line: 0, character: 2 }, head: { line: 0, character: 2 } }] });
  await waitUntil("B's cursor in A's editors", () => editors.every((e) => e.notes.some((n) => n.method === P.CursorDidChange.method)));

  const stop = chorus(['stop', a]);
  expect(stop.status, stop.stderr).toBe(0);
  const log = fs.readFileSync(path.join(a, '.chorus', 'daemon.log'), 'utf8');
  expect(log).toContain('stopping');
  expect(log).not.toMatch(/Sending notification failed/);
  for (const e of [...editors, onB]) e.close();
});
