// Pins a user-trial fault (decision 195): `chorus daemon . &` then `chorus stop .` 0.1 s later
// said "no daemon running for …; nothing to stop" (exit 4), or, in a folder with no `.chorus/`
// yet, that it "is not a Chorus project", and the daemon then served. A daemon started by hand
// was visible nowhere until it took the lock; decision 183's record was written only by
// ensureDaemon.
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { afterEach, expect, it } from 'vitest';
import { chorus, daemonsFor, stopAfterEach, waitUntil } from '../support/cli.js';
import { CLI } from '../support/paths.js';
import { tempProject } from '../support/project-dir.js';

const used = stopAfterEach();
const children: ChildProcess[] = [];
afterEach(() => {
  for (const c of children.splice(0)) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
});

/** `chorus daemon dir` in the foreground, as a person runs it in a terminal (with `&`). */
function foregroundDaemon(dir: string, env: NodeJS.ProcessEnv): { proc: ChildProcess; stderr: () => string; exited: Promise<void> } {
  const proc = spawn(process.execPath, [CLI, 'daemon', dir], { stdio: ['ignore', 'ignore', 'pipe'], env });
  children.push(proc);
  let stderr = '';
  proc.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
  const exited = new Promise<void>((r) => proc.once('exit', () => r()));
  return { proc, stderr: () => stderr, exited };
}

it('`chorus stop` in the moment a `chorus daemon` run by hand is starting stops it, and it stays stopped', async () => {
  const d = tempProject({ 'a.txt': 'a\n' });
  fs.mkdirSync(path.join(d, '.chorus'));
  used.push(d);
  // The start waits before it takes the lock (a test-only delay), so the stop always lands there.
  const daemon = foregroundDaemon(d, { ...process.env, CHORUS_TEST_START_DELAY_MS: '4000' });
  await waitUntil('the daemon starting', () => daemon.stderr().includes('before taking the lock (CHORUS_TEST_START_DELAY_MS)'));

  const stop = chorus(['stop', d]);
  expect(stop.stderr).toMatch(/stopped the daemon for .* \(pid \d+, which was starting\)/);
  expect(stop.status, stop.stderr).toBe(0);
  await daemon.exited;
  expect(daemonsFor(d)).toEqual([]);
  expect(fs.existsSync(path.join(d, '.chorus', 'stopped'))).toBe(true);
  // It never served: no socket left, and its record of starting is gone with it.
  expect(fs.existsSync(path.join(d, '.chorus', 'daemon.sock'))).toBe(false);
  expect(fs.existsSync(path.join(d, '.chorus', 'daemon.starting'))).toBe(false);
});

it('`chorus stop` right after `chorus daemon` in a folder with no .chorus/ yet stops it instead of calling the folder no project', async () => {
  const d = tempProject({ 'a.txt': 'a\n' });
  used.push(d);
  expect(fs.existsSync(path.join(d, '.chorus'))).toBe(false);
  const daemon = foregroundDaemon(d, { ...process.env, CHORUS_TEST_START_DELAY_MS: '4000' });
  // At once, as the trial did: the daemon may still be loading (no `.chorus/`, no record yet)
  // or already waiting to take the lock; either way it is found.
  const stop = chorus(['stop', d]);
  expect(stop.stderr).not.toMatch(/not a Chorus project/);
  expect(stop.stderr).toMatch(/stopped the daemon for .* \(pid \d+, which was starting\)/);
  expect(stop.status, stop.stderr).toBe(0);
  await daemon.exited;
  expect(daemonsFor(d)).toEqual([]);
  expect(fs.existsSync(path.join(d, '.chorus', 'daemon.sock'))).toBe(false);
});

it('a `chorus daemon` that took the lock removes its record of starting; `chorus stop` finds it by its lock', async () => {
  const d = tempProject({ 'a.txt': 'a\n' });
  used.push(d);
  const daemon = foregroundDaemon(d, process.env);
  await waitUntil('the daemon serving', () => fs.existsSync(path.join(d, '.chorus', 'daemon.sock')) && daemon.stderr().includes('serving'));
  await waitUntil('its record of starting removed', () => !fs.existsSync(path.join(d, '.chorus', 'daemon.starting')));
  const stop = chorus(['stop', d]);
  expect(stop.status, stop.stderr).toBe(0);
  expect(stop.stderr).not.toMatch(/which was starting/);
  await daemon.exited;
});
