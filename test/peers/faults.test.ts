// Faults at the link and process level: links dropped mid-typing, a 2/3 partition that heals,
// the sharer leaving for good, a peer killed with SIGKILL and restarted. Every surviving replica
// and file ends identical, and every acknowledged keystroke is in it.
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { afterEach, expect, it } from 'vitest';
import type { Daemon } from '../../daemon/src/daemon.js';
import { joinAll, startDaemon } from '../support/in-process.js';
import { CLI } from '../support/paths.js';
import { tempProject, waitForFile } from '../support/project-dir.js';
import { ScriptedEditor } from '../support/scripted-editor.js';
import { converged, editorsOn, stopAll, typeRandomly } from './peer-helpers.js';

const F = 'notes.md';
let daemons: Daemon[] = [];
let editors: ScriptedEditor[] = [];
afterEach(async () => ([daemons, editors] = await stopAll(daemons, editors)));

async function mesh(n: number): Promise<void> {
  daemons = [await startDaemon(tempProject({ [F]: 'start\n' }), 'p0')];
  for (let i = 1; i < n; i++) daemons.push(await startDaemon(tempProject(), `p${i}`));
  await joinAll(daemons[0]!, daemons.slice(1), { webrtc: false });
  editors = await editorsOn(daemons, F);
}

/**
 * Each marker typed by its editor (after the random typing, which also deletes), once
 * acknowledged, must be in the final text.
 */
async function typeMarkers(prefix: string, count: number): Promise<string[]> {
  const markers: string[] = [];
  for (let i = 0; i < count; i++) {
    const e = editors[i % editors.length]!;
    const m = `<${prefix}${i}>`;
    await e.edit(F, 0, 0, m);
    markers.push(m);
  }
  return markers;
}

it('links dropped again and again while everyone types', async () => {
  await mesh(3);
  const net = daemons.map((d) => d.session.network!);
  let drops = 0;
  const dropper = setInterval(() => {
    const a = drops % 3;
    net[a]!.dropLinks(daemons[(a + 1) % 3]!.identity.id, 'test drop');
    drops++;
  }, 40);
  try {
    await typeRandomly(editors, F, 300, 5);
    const markers = await typeMarkers('d', 30);
    clearInterval(dropper);
    const text = await converged(daemons, editors, F);
    for (const m of markers) expect(text).toContain(m);
    expect(drops).toBeGreaterThan(5);
  } finally {
    clearInterval(dropper);
  }
});

it('a partition splits five peers 2/3, both sides keep typing, and it heals', async () => {
  await mesh(5);
  const ids = daemons.map((d) => d.identity.id);
  const left = [0, 1];
  const right = [2, 3, 4];
  for (const i of left) daemons[i]!.session.network!.partition(right.map((j) => ids[j]!));
  for (const j of right) daemons[j]!.session.network!.partition(left.map((i) => ids[i]!));
  await typeRandomly(editors, F, 200, 9);
  const markers = await typeMarkers('p', 40);
  // Each side converges on its own, without the other's typing.
  const leftText = await converged(left.map((i) => daemons[i]!), left.map((i) => editors[i]!), F);
  const rightText = await converged(right.map((i) => daemons[i]!), right.map((i) => editors[i]!), F);
  expect(leftText).not.toBe(rightText);
  for (const d of daemons) d.session.network!.heal();
  const text = await converged(daemons, editors, F);
  for (const m of markers) expect(text).toContain(m);
});

it('the sharer leaves for good and the others carry on together', async () => {
  await mesh(4);
  for (const d of daemons) await editors[0]!.waitFor(() => d.session.peers().filter((p) => p.state === 'connected').length === 3, 'a full mesh');
  editors[0]!.close();
  await daemons[0]!.stop();
  const rest = daemons.slice(1);
  const restEditors = editors.slice(1);
  editors = restEditors;
  daemons = rest;
  await typeRandomly(restEditors, F, 200, 13);
  const markers = await typeMarkers('s', 30);
  const text = await converged(rest, restEditors, F);
  for (const m of markers) expect(text).toContain(m);
});

it('a peer killed with SIGKILL restarts, rejoins on its own and catches up, losing nothing it acknowledged', async () => {
  const A = await startDaemon(tempProject({ [F]: 'start\n' }), 'host');
  daemons = [A];
  const code = await A.share({ host: '127.0.0.1', webrtc: false });
  const dirB = tempProject();
  const join = spawn(process.execPath, [CLI, 'join', code, dirB, '--host', '127.0.0.1', '--no-webrtc', '--json'], { stdio: ['ignore', 'pipe', 'pipe'] });
  await new Promise<void>((resolve, reject) => join.on('exit', (c) => (c === 0 ? resolve() : reject(new Error(`join exited ${c}`)))));
  try {
    const eb = await ScriptedEditor.socket(path.join(dirB, '.chorus', 'daemon.sock'));
    await eb.init();
    await eb.open(F);
    const ea = (await editorsOn([A], F))[0]!;
    editors = [ea];
    // B types; every acknowledged edit is on B's disk state, so it survives the kill.
    const acked: string[] = [];
    for (let i = 0; i < 60; i++) {
      await eb.edit(F, eb.text(F).length, eb.text(F).length, `b${i};`);
      acked.push(`b${i};`);
    }
    const pid = JSON.parse(fs.readFileSync(path.join(dirB, '.chorus', 'daemon.lock'), 'utf8')).pid as number;
    process.kill(pid, 'SIGKILL');
    eb.close();
    // A types on while B is down.
    for (let i = 0; i < 40; i++) await ea.edit(F, 0, 0, `a${i};`);
    const restarted = spawn(process.execPath, [CLI, 'daemon', dirB], { stdio: 'ignore' });
    try {
      const want = () => A.workspace.text(A.workspace.index.idOf(F)!);
      await waitForFile(path.join(dirB, F), (t) => t === want() && acked.every((m) => t.includes(m)), 'B to rejoin and catch up', 60000);
      expect(want()).toContain('a39;');
    } finally {
      restarted.kill('SIGTERM');
      await new Promise((r) => restarted.on('exit', r));
    }
  } finally {
    spawn(process.execPath, [CLI, 'stop', dirB], { stdio: 'ignore' });
  }
});
