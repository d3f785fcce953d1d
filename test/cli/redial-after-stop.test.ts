// Trial s51, F3 (a laptop lid): a member whose daemon was paused (`kill -STOP`) long enough for
// the others to give it up, and whose first dials after it resumed failed (its daemon was busy:
// the handshakes timed out), never linked again until `chorus stop` + `chorus start`: no member
// dialled a member it had had no news of for 20 s (overlay.ts ALIVE_MS). Here the failed dials
// come from the other daemon being paused in turn. Real daemons, run by the built CLI.
import fs from 'node:fs';
import path from 'node:path';
import { expect, it } from 'vitest';
import { chorus, daemonsFor, shareCode, stopAfterEach, waitUntil } from '../support/cli.js';
import { tempDir, tempProject } from '../support/project-dir.js';

const used = stopAfterEach();

/** The state `chorus status --json` of `dir` gives peer `name` (undefined when not listed). */
function stateOf(dir: string, name: string): string | undefined {
  const r = chorus(['status', dir, '--json']);
  expect(r.status, r.stderr).toBe(0);
  const peers = (JSON.parse(r.stdout) as { peers: Array<{ name: string; state?: string }> }).peers;
  return peers.find((p) => p.name === name)?.state;
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

it('two members each paused in turn, for longer than the others wait for news, link again by themselves', { timeout: 300_000 }, async () => {
  const a = tempProject({ 'a.txt': 'a\n' });
  used.push(a);
  const code = shareCode(a, ['--no-webrtc', '--name', 'Alice']);
  const b = path.join(tempDir(), 'b');
  used.push(b);
  const join = chorus(['join', code, b, '--host', '127.0.0.1', '--no-webrtc', '--name', 'Carol']);
  expect(join.status, join.stderr).toBe(0);
  await waitUntil('Alice and Carol linked', () => stateOf(a, 'Carol') === 'connected' && stateOf(b, 'Alice') === 'connected');
  const [pa] = daemonsFor(a);
  const [pb] = daemonsFor(b);
  expect(pa).toBeDefined();
  expect(pb).toBeDefined();

  const paused = new Set<number>();
  const pause = (pid: number) => (process.kill(pid, 'SIGSTOP'), paused.add(pid));
  const resume = (pid: number) => (process.kill(pid, 'SIGCONT'), paused.delete(pid));
  try {
    // Carol's daemon paused: Alice finds the link dead after 10 s of silence, and 20 s later has
    // had no news of Carol for ALIVE_MS.
    pause(pb!);
    await sleep(35_000);
    expect(stateOf(a, 'Carol')).toBe('reconnecting');
    // Carol resumes while Alice's daemon is paused: every dial of Carol's connects and then its
    // handshake times out ("Opening handshake has timed out", as in the trial), for longer than
    // ALIVE_MS too.
    pause(pa!);
    resume(pb!);
    await sleep(30_000);
    resume(pa!);
  } finally {
    for (const pid of paused) process.kill(pid, 'SIGCONT');
  }
  expect(fs.readFileSync(path.join(b, '.chorus', 'daemon.log'), 'utf8')).toMatch(/Opening handshake has timed out/);

  // Before the fix neither dialled the other again: "reconnecting" for as long as they ran.
  await waitUntil('Alice and Carol linked again', () => stateOf(a, 'Carol') === 'connected' && stateOf(b, 'Alice') === 'connected', 60_000);
  // And the session works again: a file made on Carol's side arrives on Alice's.
  fs.writeFileSync(path.join(b, 'after.txt'), 'made after the pauses\n');
  await waitUntil("Carol's new file on Alice's side", () => fs.existsSync(path.join(a, 'after.txt')) && fs.readFileSync(path.join(a, 'after.txt'), 'utf8') === 'made after the pauses\n');
});
