// After a join (or a peer's change of many files) the daemon goes on writing files into the
// folder, and `chorus status` gave no sign of it: a person who ran `ls` saw a half-filled folder
// and no reason. Decision 179: status counts the files waiting to be written (SessionStatus
// `writing`) and `chorus status` says "writing N files to disk" while there are any. The writes
// are slowed by a test-only knob (CHORUS_TEST_WRITE_DELAY_MS) so the join is seen mid-way. Real
// daemons, run by the built CLI, on loopback.
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import * as P from '@chorus/protocol';
import { afterEach, expect, it } from 'vitest';
import { chorus, listTree, shareCode, stopAfterEach, waitUntil } from '../support/cli.js';
import { CLI } from '../support/paths.js';
import { ScriptedEditor } from '../support/scripted-editor.js';
import { tempDir, tempProject } from '../support/project-dir.js';

const used = stopAfterEach();
const children: ChildProcess[] = [];
afterEach(() => {
  for (const c of children.splice(0)) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
});

const WRITING_LINE = /^writing {3}(\d[\d,]*) files? to disk \(the folder is not complete until they are written\)$/m;

it('chorus status says how many files are still being written while a join fills the folder, and not after', async () => {
  const files: Record<string, string> = {};
  for (let i = 0; i < 80; i++) files[`d/f${i}.txt`] = `file ${i}\n`;
  const a = tempProject(files);
  used.push(a);
  const code = shareCode(a);
  const b = path.join(tempDir(), 'b');
  used.push(b);
  // Each write into b waits 3 s first (the daemon b's join starts inherits the variable).
  const join = spawn(process.execPath, [CLI, 'join', code, b, '--host', '127.0.0.1'], { stdio: 'ignore', env: { ...process.env, CHORUS_TEST_WRITE_DELAY_MS: '3000' } });
  children.push(join);
  const exited = new Promise<number | null>((r) => join.on('exit', (c) => r(c)));

  // Asked on the daemon's socket (the request `chorus status` sends) until files wait to be written.
  const sock = path.join(b, '.chorus', 'daemon.sock');
  await waitUntil("b's daemon to serve", () => fs.existsSync(sock), 60_000);
  const e = await ScriptedEditor.socket(sock, { name: 'status check' });
  let seen = 0;
  try {
    await e.init();
    for (const end = Date.now() + 60_000; seen === 0; await new Promise((r) => setTimeout(r, 50))) {
      seen = (await e.conn.sendRequest(P.SessionStatus.type, undefined)).writing;
      if (Date.now() > end) throw new Error('timed out waiting for status to count files being written');
    }
  } finally {
    e.close();
  }
  expect(seen).toBeGreaterThan(0);
  expect(seen).toBeLessThanOrEqual(80);
  // What the person reads meanwhile (writes of 3 s each leave seconds to see it).
  const during = chorus(['status', b]);
  expect(during.status, during.stderr).toBe(0);
  const n = Number(WRITING_LINE.exec(during.stdout)?.[1]?.replace(/,/g, ''));
  expect(n, during.stdout).toBeGreaterThan(0);
  expect(n).toBeLessThanOrEqual(80);
  expect(listTree(b).length).toBeLessThan(80);

  // Every answer until the join is done counts each file once: never more files than there are
  // (it said 96 of 80 once, a join's writes and a peer's change naming the same files).
  const e2 = await ScriptedEditor.socket(sock, { name: 'status check' });
  let most = 0;
  let done = false;
  void exited.then(() => (done = true));
  try {
    await e2.init();
    while (!done) {
      most = Math.max(most, (await e2.conn.sendRequest(P.SessionStatus.type, undefined)).writing);
      await new Promise((r) => setTimeout(r, 20));
    }
  } finally {
    e2.close();
  }
  expect(most).toBeLessThanOrEqual(80);
  expect(await exited).toBe(0);
  const after = chorus(['status', b]);
  expect(after.status, after.stderr).toBe(0);
  expect(after.stdout).not.toMatch(/^writing/m);
  const json = chorus(['status', b, '--json']);
  expect(json.status, json.stderr).toBe(0);
  expect((JSON.parse(json.stdout) as { writing: number }).writing).toBe(0);
  expect(listTree(b)).toHaveLength(80);
}, 180_000);
