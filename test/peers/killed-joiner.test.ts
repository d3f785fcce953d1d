// A member whose daemon died while its join was under way, with no goodbye (trial s47, 2 of 2:
// `chorus join` interrupted while connecting or receiving the file list; the daemon it started is
// given 1.5 s to stop, and one busy with a large index is killed before it says so). Its peers
// listed it as "reconnecting (unreachable for now)" for ten minutes, in every `chorus status`,
// though editors had said it left. A member that has never been in step with this daemon since it
// said in its hello that it was joining is forgotten when its link goes: it is no member yet
// (decision 161's goodbye, for a joiner that could not say it). A real sharing daemon in this
// process, whose messages to the joiner are dropped so that the join cannot finish, and a real
// joining daemon started by `chorus join`, killed.
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, expect, it } from 'vitest';
import type { PeerNetwork } from '../../daemon/src/sync/replicator.js';
import { daemonsFor, stopAfterEach, waitUntil } from '../support/cli.js';
import { startDaemon } from '../support/in-process.js';
import { CLI } from '../support/paths.js';
import { tempDir, tempProject } from '../support/project-dir.js';

const used = stopAfterEach();
const children: ChildProcess[] = [];
afterEach(() => {
  for (const c of children.splice(0)) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
});

/** The replicator's network with everything it sends dropped: a peer joining this daemon never gets the session. */
function sendingNothing(net: PeerNetwork): PeerNetwork {
  return {
    on: ((event: 'peer-up' | 'peer-down' | 'message', fn: (...args: never[]) => void) => (net.on as (e: string, f: (...args: never[]) => void) => unknown).call(net, event, fn)) as PeerNetwork['on'],
    send: () => true,
    broadcast: () => 0,
    isMember: (id: string) => net.isMember?.(id) ?? false,
  };
}

/** `chorus join` of `code` into a new folder, as `name`, in the background. */
function joining(code: string, name: string): { b: string; join: ChildProcess } {
  const b = tempDir();
  used.push(b);
  const join = spawn(process.execPath, [CLI, 'join', code, b, '--host', '127.0.0.1', '--name', name], { stdio: 'ignore' });
  children.push(join);
  return { b, join };
}

it('a member killed while its join was under way is not listed as coming back (no goodbye could say so)', async () => {
  const A = await startDaemon(tempProject({ 'a.txt': 'the session\n' }), 'alice', { wrapNetwork: sendingNothing });
  try {
    const code = await A.share({ host: '127.0.0.1', webrtc: false });
    const { b, join } = joining(code, 'Carol');
    await waitUntil('the joiner linked to the sharer', () => A.session.peers().some((p) => p.state === 'connected'));
    const [pid] = daemonsFor(b);
    expect(pid).toBeDefined();
    process.kill(pid!, 'SIGKILL');
    // The join says its daemon died, and keeps the daemon's log in the temp folder: removed here.
    await new Promise((r) => (join.exitCode === null ? join.on('exit', r) : r(undefined)));
    for (const f of fs.readdirSync(os.tmpdir())) if (f.startsWith(`chorus-${path.basename(b)}-`) && f.endsWith('.log')) fs.rmSync(path.join(os.tmpdir(), f));
    // Before the fix: [{ name: 'Carol', state: 'reconnecting' }] for ten minutes.
    await waitUntil('the sharer to forget the killed joiner', () => A.session.peers().length === 0, 20_000).catch(() => undefined);
    expect(A.session.peers().map((p) => `${p.name} ${p.state}`)).toEqual([]);
  } finally {
    await A.stop();
  }
});

it('a member whose link drops after its join is in is still listed as coming back', async () => {
  const A = await startDaemon(tempProject({ 'a.txt': 'the session\n' }), 'alice');
  try {
    const code = await A.share({ host: '127.0.0.1', webrtc: false });
    const { b, join } = joining(code, 'Dave');
    const joined = new Promise<number | null>((r) => join.on('exit', r));
    expect(await joined).toBe(0);
    const [pid] = daemonsFor(b);
    expect(pid).toBeDefined();
    process.kill(pid!, 'SIGKILL');
    await waitUntil('the sharer to see the link go', () => A.session.peers().some((p) => p.state !== 'connected'));
    await new Promise((r) => setTimeout(r, 2000));
    expect(A.session.peers().map((p) => `${p.name} ${p.state}`)).toEqual(['Dave reconnecting']);
  } finally {
    await A.stop();
  }
});
