// Pins a user-trial fault (decision 176): `chorus stop` of a daemon in a large session with three
// other peers said "the daemon (pid …) did not stop within 10 s and was killed" and exited 1. Its
// stop rescanned the whole index once per closing peer link and snapshotted every document.
// Now: a daemon with several peers and many files stops (exit 0, nothing killed), with the edit it
// acknowledged on disk; and a daemon that cannot stop (here: frozen with SIGSTOP) is killed with a
// message that says what that means for the person's work, and the edit is there at the next start.
import fs from 'node:fs';
import path from 'node:path';
import { expect, it } from 'vitest';
import { chorus, daemonsFor, joinedPair, shareCode, stopAfterEach } from '../support/cli.js';
import { tempDir } from '../support/project-dir.js';
import { ScriptedEditor } from '../support/scripted-editor.js';

const used = stopAfterEach();

/** A project of `n` small files. */
function manyFiles(n: number): Record<string, string> {
  const files: Record<string, string> = {};
  for (let i = 0; i < n; i++) files[`src/f${i}.txt`] = `file ${i}\n`;
  return files;
}

/** Open `file` in the daemon of `dir` and make one edit there; resolves once the daemon acknowledged it. */
async function acknowledgedEdit(dir: string, file: string, text: string): Promise<ScriptedEditor> {
  const e = await ScriptedEditor.socket(path.join(dir, '.chorus', 'daemon.sock'), { name: 'ed' });
  await e.init();
  await e.open(file);
  await e.edit(file, 0, 0, text);
  return e;
}

it('stops a daemon linked to three peers in a session of many files: exit 0, not killed, the acknowledged edit on disk', { timeout: 300_000 }, async () => {
  const { a, b } = joinedPair(manyFiles(50), used);
  const code = shareCode(a);
  for (const name of ['c', 'd']) {
    const dir = path.join(tempDir(), name);
    used.push(dir);
    const join = chorus(['join', code, dir, '--host', '127.0.0.1']);
    expect(join.status, join.stderr).toBe(0);
  }
  const e = await acknowledgedEdit(b, 'src/f7.txt', 'kept: ');

  const stop = chorus(['stop', b]);
  e.close();
  expect(stop.status, stop.stderr).toBe(0);
  expect(stop.stderr).not.toMatch(/killed|ended at once/);
  expect(daemonsFor(b)).toEqual([]);
  expect(fs.readFileSync(path.join(b, 'src', 'f7.txt'), 'utf8')).toBe('kept: file 7\n');
});

it('a daemon that cannot stop is ended with a message saying no acknowledged edit is lost, and the edit is there at the next start', { timeout: 120_000 }, async () => {
  const { b } = joinedPair(manyFiles(20), used);
  const e = await acknowledgedEdit(b, 'src/f3.txt', 'kept: ');
  const [pid] = daemonsFor(b);
  // Frozen: it cannot act on the SIGTERM, as a daemon stuck in native code could not.
  process.kill(pid!, 'SIGSTOP');
  const stop = chorus(['stop', b]);
  e.close();
  expect(stop.status).not.toBe(0);
  expect(stop.stderr).toContain(`did not finish stopping within 10 s, so it was ended at once`);
  expect(stop.stderr).toContain('No acknowledged edit is lost');
  expect(stop.stderr).toContain('when the daemon next starts');
  expect(daemonsFor(b)).toEqual([]);

  const { editor, proc } = ScriptedEditor.connect(b, { name: 'again' });
  try {
    await editor.init();
    await editor.open('src/f3.txt');
    expect(editor.text('src/f3.txt')).toBe('kept: file 3\n');
  } finally {
    editor.close();
    proc.kill();
  }
});
