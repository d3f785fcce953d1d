// Real daemons on loopback, joined with a real join code, over real WebSocket and WebRTC links:
// edits from editors on each converge on all editors, CRDTs and files.
import { afterEach, expect, it } from 'vitest';
import type { Daemon } from '../../daemon/src/daemon.js';
import { joinAll, logsOf, startDaemon } from '../support/in-process.js';
import { tempProject } from '../support/project-dir.js';
import type { ScriptedEditor } from '../support/scripted-editor.js';
import { converged, editorsOn, readFile, stopAll, typeRandomly } from './peer-helpers.js';

const F = 'notes.md';
let daemons: Daemon[] = [];
let editors: ScriptedEditor[] = [];
afterEach(async () => ([daemons, editors] = await stopAll(daemons, editors)));

async function session(n: number, webrtc: boolean): Promise<void> {
  daemons = [await startDaemon(tempProject({ [F]: '# shared\n', 'src/a.ts': 'export const a = 1;\n' }), 'p0')];
  for (let i = 1; i < n; i++) daemons.push(await startDaemon(tempProject(), `p${i}`));
  await joinAll(daemons[0]!, daemons.slice(1), { webrtc });
  editors = await editorsOn(daemons, F);
}

it('two daemons over WebRTC: concurrent typing converges everywhere', async () => {
  await session(2, true);
  const net = daemons[0]!.session.network!;
  await editors[0]!.waitFor(() => net.peers().some((p) => p.path === 'webrtc'), 'the link to upgrade to WebRTC');
  await typeRandomly(editors, F, 400, 1);
  await converged(daemons, editors, F);
  expect(readFileCount(daemons[1]!)).toBe(2);
});

it('five daemons over WebSocket: a full mesh, and everyone converges', async () => {
  await session(5, false);
  for (const d of daemons) await editors[0]!.waitFor(() => d.session.peers().filter((p) => p.state === 'connected').length === 4, `${d.identity.name} to reach everyone`);
  await typeRandomly(editors, F, 500, 2);
  await converged(daemons, editors, F);
});

function readFileCount(d: Daemon): number {
  return d.workspace.index.entries().length;
}

// Regression: a file edited (so live) before sharing made the joiner wait its full timeout for
// the blob of the file's original content, which the host no longer had.
it('a file edited before sharing reaches a joiner at once', async () => {
  const dir = tempProject({ 'a.txt': 'original\n', 'b.txt': 'plain\n' });
  let host = await startDaemon(dir, 'host');
  const e = (await editorsOn([host], 'a.txt', 0))[0]!;
  await e.edit('a.txt', 0, 0, 'edited ');
  e.close();
  await host.stop();
  host = await startDaemon(dir, 'host');
  const guest = await startDaemon(tempProject(), 'guest');
  daemons = [host, guest];
  const started = Date.now();
  const r = await guest.join(await host.share({ host: '127.0.0.1', webrtc: false }), { disk: true, host: '127.0.0.1' }, () => undefined);
  expect(Date.now() - started).toBeLessThan(30_000); // the join timeout is 60 s: this is about not hitting it
  expect(r.files).toBe(2);
  expect(readFile(guest, 'a.txt')).toBe('edited original\n');
  expect(readFile(guest, 'b.txt')).toBe('plain\n');
});

it('a long history reaches a new peer as one saved document, then stays live', async () => {
  const host = await startDaemon(tempProject({ 'long.txt': '' }), 'host');
  daemons = [host];
  const e = (await editorsOn([host], 'long.txt', 0))[0]!;
  editors = [e];
  // One answered edit at a time: each is its own change (pipelined edits would be committed as
  // a few bursts, decision 115, and make a short history).
  for (let i = 0; i < 6000; i++) {
    const t = e.text('long.txt');
    await e.edit('long.txt', t.length, t.length, i % 60 === 59 ? '\n' : 'x');
  }
  const guest = await startDaemon(tempProject(), 'guest');
  daemons.push(guest);
  await guest.join(await host.share({ host: '127.0.0.1', webrtc: false }), { disk: true, host: '127.0.0.1' }, () => undefined);
  expect(logsOf(host).some((l) => /as one saved document/.test(l))).toBe(true);
  // Taken whole, within the bound of decision 192 (held until the index named it, decision 193).
  expect(logsOf(guest).filter((l) => /refused snapshot|dropped .* held/.test(l))).toEqual([]);
  expect(readFile(guest, 'long.txt')).toBe(e.text('long.txt'));
  const g = (await editorsOn([guest], 'long.txt', 0))[0]!;
  editors.push(g);
  await g.edit('long.txt', 0, 0, 'guest: ');
  await converged(daemons, editors, 'long.txt');
});
