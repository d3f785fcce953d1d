// The concurrent trace friendsforever (two people typing at once) replayed through two real
// daemons: each agent types through its own daemon's editor protocol, and the live link between
// the daemons is held back and released so that every transaction is typed on exactly the
// document its `parents` name. Both daemons, editors and files must end at endContent.
import { afterAll, expect, it } from 'vitest';
import type { Daemon } from '../../daemon/src/daemon.js';
import { HeldNetwork } from '../support/held-network.js';
import { joinAll, startDaemon } from '../support/in-process.js';
import { tempProject } from '../support/project-dir.js';
import type { ScriptedEditor } from '../support/scripted-editor.js';
import { loadConcurrentTrace } from '../support/traces.js';
import { converged, editorsOn, stopAll } from './peer-helpers.js';

const F = 'doc.txt';
let daemons: Daemon[] = [];
let editors: ScriptedEditor[] = [];
afterAll(async () => ([daemons, editors] = await stopAll(daemons, editors)));

it('friendsforever ends at endContent on both peers', async () => {
  const trace = loadConcurrentTrace('friendsforever');
  expect(trace.numAgents).toBe(2);
  const rep = [new HeldNetwork(), new HeldNetwork()];
  daemons = [await startDaemon(tempProject({ [F]: '' }), 'agent0', { wrapNetwork: rep[0]!.wrap }), await startDaemon(tempProject(), 'agent1', { wrapNetwork: rep[1]!.wrap })];
  await joinAll(daemons[0]!, [daemons[1]!], { webrtc: false });
  editors = await editorsOn(daemons, F, 0);
  const peerOf = (i: number) => daemons[1 - i]!.identity.id;
  // Changes each daemon has taken in from its peer (every patch of the trace changes the text).
  const received = [0, 0];
  daemons.forEach((d, i) => d.workspace.on('text', (e) => e.origin.kind === 'peer' && received[i]!++));
  rep[0]!.hold(peerOf(0));
  rep[1]!.hold(peerOf(1));

  // Vector clocks: how many of each agent's transactions every transaction has seen.
  const clocks: number[][] = [];
  const seq = [0, 0]; // each agent's transactions typed so far
  const delivered = [0, 0]; // of agent i's transactions, how many the other daemon has received
  for (let t = 0; t < trace.txns.length; t++) {
    const txn = trace.txns[t]!;
    const clock = [0, 0];
    for (const p of txn.parents) for (const a of [0, 1]) clock[a] = Math.max(clock[a]!, clocks[p]![a]!);
    const a = txn.agent;
    const b = 1 - a;
    // The parents must include all of this agent's earlier transactions, and a prefix of the other's.
    expect(clock[a]).toBe(seq[a]);
    // Deliver exactly the other agent's transactions the parents name.
    const need = clock[b]! - delivered[b]!;
    expect(need).toBeGreaterThanOrEqual(0);
    if (need > 0) {
      const before = editors[a]!.text(F);
      expect(rep[b]!.release(peerOf(b), need)).toBe(need);
      delivered[b] = clock[b]!;
      const ed = editors[a]!;
      const ws = daemons[a]!.workspace;
      const id = ws.index.idOf(F)!;
      await ed.waitFor(() => received[a] === delivered[b] && ed.text(F) === ws.text(id), `agent ${a} to receive ${need} change(s) (text was ${before.length} chars)`);
    }
    for (const [pos, del, ins] of txn.patches) await editors[a]!.edit(F, pos, pos + del, ins);
    seq[a]!++;
    clock[a] = seq[a]!;
    clocks.push(clock);
  }
  rep[0]!.release(peerOf(0));
  rep[1]!.release(peerOf(1));
  const text = await converged(daemons, editors, F, 120000);
  expect(text).toBe(trace.endContent);
}, 600_000);
