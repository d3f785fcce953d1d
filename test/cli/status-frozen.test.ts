// Trial s55a F1: `chorus status` against a daemon that is stopped (`kill -STOP`, as a suspended
// terminal or a laptop's lid leaves it) printed nothing and never returned: the socket accepts,
// and nothing answers. It now says after a few seconds that the daemon has not answered, that it
// is stopped and how to resume or end it, goes on waiting, and answers as usual once it can.
import { spawn } from 'node:child_process';
import { expect, it } from 'vitest';
import { chorus, daemonsFor, frozenAfterEach, shareCode, stopAfterEach, waitUntil } from '../support/cli.js';
import { CLI } from '../support/paths.js';
import { tempProject } from '../support/project-dir.js';

const used = stopAfterEach();
const { freeze, thaw } = frozenAfterEach();

/** `chorus ARGS` running in the background: what it has printed so far, and its exit code once it ends. */
function running(args: string[]): { out: () => string; err: () => string; exited: Promise<number | null> } {
  const child = spawn(process.execPath, [CLI, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr.on('data', (d: Buffer) => (err += d.toString()));
  return { out: () => out, err: () => err, exited: new Promise((r) => child.on('exit', (code) => r(code))) };
}

it('chorus status against a stopped daemon says so within seconds, how to resume or end it, and answers once it is resumed', async () => {
  const dir = tempProject({ 'a.txt': 'a\n' });
  used.push(dir);
  shareCode(dir);
  const st = chorus(['status', dir, '--json']);
  expect(st.status, st.stderr).toBe(0);
  const pid = (JSON.parse(st.stdout) as { pid: number }).pid;
  freeze(pid);

  const { out, err, exited } = running(['status', dir]);
  await waitUntil('status to say the daemon does not answer', () => /has not answered/.test(err()), 30_000);
  expect(err()).toContain(`(pid ${pid}) has not answered for 5 s: it is stopped`);
  expect(err()).toContain(`kill -CONT ${pid}`);
  expect(err()).toContain(`chorus stop ${dir}`);
  expect(out()).toBe('');

  thaw(pid);
  expect(await exited).toBe(0);
  expect(out()).toMatch(/^project /m);
}, 60_000);

// The same trial's note: the other commands that ask a running daemon. `share` on a stopped
// daemon waited silent; `start` said "started the daemon" over it (its socket still accepts), with
// no pid, and nothing had started.
it('chorus share waiting on a stopped daemon says so and shares once it is resumed; chorus start says it started nothing', async () => {
  const dir = tempProject({ 'a.txt': 'a\n' });
  used.push(dir);
  shareCode(dir);
  const pid = (JSON.parse(chorus(['status', dir, '--json']).stdout) as { pid: number }).pid;
  freeze(pid);

  const started = chorus(['start', dir]);
  expect(started.status).toBe(1);
  expect(started.stderr).toContain('nothing was started');
  expect(started.stderr).toContain(`(pid ${pid}) has not answered for 5 s: it is stopped`);
  expect(started.stderr).toContain(`kill -CONT ${pid}`);
  expect(started.stderr).not.toMatch(/started the daemon/);
  expect(daemonsFor(dir)).toEqual([pid]);

  const { out, err, exited } = running(['share', dir]);
  await waitUntil('share to say the daemon does not answer', () => /has not answered/.test(err()), 30_000);
  expect(err()).toContain(`share: the daemon for ${dir} (pid ${pid}) has not answered for 5 s: it is stopped`);
  expect(err()).toContain(`kill -CONT ${pid}`);
  expect(out()).toBe('');

  thaw(pid);
  expect(await exited).toBe(0);
  expect(out()).toMatch(/^Sharing /m);
}, 90_000);
