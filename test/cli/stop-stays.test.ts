// Pins a user-trial fault: `chorus stop` with an editor attached was undone within seconds, the
// editor's automatic reconnect (`chorus connect`) starting the daemon again. Now the bridge says
// why it went (exit code StoppedByCommand), `chorus connect --reconnect` does not start a daemon
// stopped that way, and anything that asks for the daemon (a plain `connect`) starts it as before;
// a daemon killed is brought back by `--reconnect` as before (decision 174).
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import * as P from '@chorus/protocol';
import { expect, it } from 'vitest';
import { chorus, daemonsFor, stopAfterEach, waitUntil } from '../support/cli.js';
import { CLI } from '../support/paths.js';
import { tempProject } from '../support/project-dir.js';

const used = stopAfterEach();

/**
 * `chorus connect` as an editor spawns it, with its exit code and stderr once it exits.
 * `attached` resolves once the daemon has answered through it: the bridge is past starting the
 * daemon (a daemon killed before that is "ended … while starting", not "lost").
 */
function bridge(dir: string, extra: string[] = [], env: NodeJS.ProcessEnv = process.env): { proc: ChildProcess; exited: Promise<{ code: number | null; stderr: string }>; attached: () => Promise<void> } {
  const proc = spawn(process.execPath, [CLI, 'connect', ...extra, dir], { stdio: ['pipe', 'pipe', 'pipe'], env });
  let stderr = '';
  proc.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
  let stdout = '';
  proc.stdout!.on('data', (d: Buffer) => (stdout += d.toString()));
  const exited = new Promise<{ code: number | null; stderr: string }>((r) => proc.once('exit', (code) => r({ code, stderr })));
  const attached = async () => {
    // Any request gets an answer (here "method not found"), and only a connected bridge relays one.
    const body = JSON.stringify({ jsonrpc: '2.0', id: 'probe', method: 'test/probe' });
    proc.stdin!.write(`Content-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`);
    await waitUntil('an answer through the bridge', () => stdout.includes('"probe"'));
  };
  return { proc, exited, attached };
}

/** A project folder (stopped after the test) whose daemon an editor's `chorus connect` started and is attached to. */
async function attachedProject(): Promise<{ d: string; first: ReturnType<typeof bridge> }> {
  const d = tempProject({ 'a.txt': 'a\n' });
  fs.mkdirSync(path.join(d, '.chorus'));
  used.push(d);
  const first = bridge(d);
  await waitUntil('the daemon started by connect', () => daemonsFor(d).length === 1 && fs.existsSync(path.join(d, '.chorus', 'daemon.sock')));
  await first.attached();
  return { d, first };
}

it('an editor attached when `chorus stop` runs hears why, and its automatic reconnect does not start the daemon again', async () => {
  const { d, first } = await attachedProject();

  const stop = chorus(['stop', d]);
  expect(stop.status, stop.stderr).toBe(0);
  expect(stop.stderr).toContain('stay offline until you reconnect one');
  const gone = await first.exited;
  expect(gone.code).toBe(P.ExitCodes.StoppedByCommand);
  expect(gone.stderr).toContain(`the daemon for ${d} was stopped with \`chorus stop\``);

  // The editor's retry: refused, nothing started, a message that says what to do.
  const retry = bridge(d, ['--reconnect']);
  const refused = await retry.exited;
  expect(refused.code).toBe(P.ExitCodes.StoppedByCommand);
  expect(refused.stderr).toMatch(/was stopped with `chorus stop`; not starting it again on its own/);
  await new Promise((r) => setTimeout(r, 500));
  expect(daemonsFor(d)).toEqual([]);
  // `chorus status` says why nothing runs and how to start it again (a trial: it said only
  // "start one with `chorus daemon`", a foreground command, and nothing of the stop).
  const status = chorus(['status', d]);
  expect(status.status).toBe(P.ExitCodes.NotRunning);
  expect(status.stderr).toContain(`no daemon running for ${d}: it was stopped with \`chorus stop\`, and editors attached to it stay offline until you reconnect one; start it with \`chorus start ${d}\` (or open the project in an editor with Chorus)`);

  // The person asks (an editor opened anew, or its reconnect command): started as before, and
  // from then on a kill is brought back by the automatic reconnect as before.
  const asked = bridge(d);
  await waitUntil('the daemon started again when asked', () => daemonsFor(d).length === 1 && fs.existsSync(path.join(d, '.chorus', 'daemon.sock')));
  await waitUntil('the stop mark removed by the new daemon', () => !fs.existsSync(path.join(d, '.chorus', 'stopped')));
  // Killed only once the editor is attached: what is checked is how an attached editor hears it.
  await asked.attached();
  const [pid] = daemonsFor(d);
  process.kill(pid!, 'SIGKILL');
  const lost = await asked.exited;
  expect(lost.code).toBe(P.ExitCodes.Failed);
  expect(lost.stderr).toMatch(/went away|lost the daemon/);
  const back = bridge(d, ['--reconnect']);
  await waitUntil('the killed daemon started again by the automatic reconnect', () => daemonsFor(d).some((p) => p !== pid) && fs.existsSync(path.join(d, '.chorus', 'daemon.sock')));
  back.proc.stdin!.end();
  expect((await back.exited).code).toBe(0);
});

it('`chorus stop` right after an editor restarted a killed daemon stops the one starting, and it stays stopped', async () => {
  // Decision 183: the restarted daemon takes the dead one's stale lock over only a moment after it
  // starts, and `chorus stop` in that moment said "no daemon running… nothing to stop" (exit 4);
  // the person then found a daemon running. The start waits here before it takes the lock (a
  // test-only delay), so the stop always lands in that moment.
  const { d, first } = await attachedProject();
  const [killed] = daemonsFor(d);
  process.kill(killed!, 'SIGKILL');
  expect((await first.exited).code).toBe(P.ExitCodes.Failed);

  // The editor's automatic reconnect starts a daemon again, as after any kill.
  const log = path.join(d, '.chorus', 'daemon.log');
  const restart = bridge(d, ['--reconnect'], { ...process.env, CHORUS_TEST_START_DELAY_MS: '4000' });
  await waitUntil('the new daemon starting', () => fs.existsSync(log) && fs.readFileSync(log, 'utf8').includes('before taking the lock (CHORUS_TEST_START_DELAY_MS)'));

  const stop = chorus(['stop', d]);
  expect(stop.stderr).toMatch(/stopped the daemon for .* \(pid \d+, which was starting\)/);
  expect(stop.status, stop.stderr).toBe(0);
  expect(daemonsFor(d)).toEqual([]);
  expect(fs.existsSync(path.join(d, '.chorus', 'stopped'))).toBe(true);
  // The editor hears why, and its retries do not start it again.
  const restarted = await restart.exited;
  expect(restarted.code, restarted.stderr).toBe(P.ExitCodes.StoppedByCommand);
  expect(restarted.stderr).toContain(`the daemon for ${d} was stopped with \`chorus stop\``);
  await new Promise((r) => setTimeout(r, 500));
  expect(daemonsFor(d)).toEqual([]);
});

it('a share that starts a daemon stopped with `chorus stop` says that the editors attached then are still offline', async () => {
  // A trial: after `chorus stop`, a `chorus join` started the daemon again and said nothing; the
  // person's Neovim stayed offline (decision 174: it waits for its reconnect command).
  const { d, first } = await attachedProject();
  expect(chorus(['stop', d]).status).toBe(0);
  expect((await first.exited).code).toBe(P.ExitCodes.StoppedByCommand);
  const shared = chorus(['share', d, '--host', '127.0.0.1']);
  expect(shared.status, shared.stderr).toBe(0);
  expect(shared.stderr).toContain('Editors that were attached when this daemon was stopped with `chorus stop` are still offline: reconnect each one');
  // Said once: a share of the running daemon says nothing of it.
  const again = chorus(['share', d, '--host', '127.0.0.1']);
  expect(again.stderr).not.toContain('still offline');
});

it('`chorus start` starts a stopped daemon in the background; with no editor attached at the stop, nothing is said of offline editors', async () => {
  // A trial: after `chorus stop`, `status` offered only `chorus daemon` (the foreground) or an
  // editor as the way back, and a later share warned of offline editors though none had been.
  const d = tempProject({ 'a.txt': 'a\n' });
  used.push(d);
  expect(chorus(['share', d, '--host', '127.0.0.1']).status).toBe(0);
  const stop = chorus(['stop', d]);
  expect(stop.status, stop.stderr).toBe(0);
  expect(stop.stderr).toContain(`(\`chorus start ${d}\` starts it too)`);
  expect(JSON.parse(fs.readFileSync(path.join(d, '.chorus', 'stopped'), 'utf8'))).toMatchObject({ editors: 0 });
  const status = chorus(['status', d]);
  expect(status.status).toBe(P.ExitCodes.NotRunning);
  expect(status.stderr).toContain(`no daemon running for ${d}: it was stopped with \`chorus stop\`; start it with \`chorus start ${d}\``);
  expect(status.stderr).not.toContain('offline');

  const started = chorus(['start', d]);
  expect(started.status, started.stderr).toBe(0);
  expect(started.stderr).toMatch(new RegExp(`started the daemon for ${d.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')} \\(pid \\d+\\) in the background`));
  expect(started.stderr).not.toContain('offline');
  expect(daemonsFor(d)).toHaveLength(1);
  const running = chorus(['status', d, '--json']);
  expect(running.status, running.stderr).toBe(0);
  expect(JSON.parse(running.stdout).session).toBeTruthy(); // it rejoined the session it shared
  // Again: left as it is.
  const again = chorus(['start', d]);
  expect(again.status).toBe(0);
  expect(again.stderr).toContain(`the daemon for ${d} is already running (pid ${daemonsFor(d)[0]!})`);
  expect(daemonsFor(d)).toHaveLength(1);
});

it('`chorus start` after a stop with an editor attached says the editor is still offline; on a folder that is no project it starts nothing', async () => {
  const { d, first } = await attachedProject();
  expect(chorus(['stop', d]).status).toBe(0);
  expect((await first.exited).code).toBe(P.ExitCodes.StoppedByCommand);
  expect(JSON.parse(fs.readFileSync(path.join(d, '.chorus', 'stopped'), 'utf8'))).toMatchObject({ editors: 1 });
  const started = chorus(['start', d]);
  expect(started.status, started.stderr).toBe(0);
  expect(started.stderr).toContain('Editors that were attached when this daemon was stopped with `chorus stop` are still offline');

  const plain = tempProject({ 'b.txt': 'b\n' });
  used.push(plain);
  const refused = chorus(['start', plain]);
  expect(refused.status).not.toBe(0);
  expect(refused.stderr).toContain(`chorus: nothing was started: ${plain} is not a Chorus project (it has no .chorus/ folder); to make it one, share it with \`chorus share ${plain}\``);
  expect(fs.existsSync(path.join(plain, '.chorus'))).toBe(false);
  expect(daemonsFor(plain)).toEqual([]);
});
