// Beyond eight peers each daemon keeps a bounded number of links (a ring with power-of-two
// chords) and relays live changes and presence: everyone still gets everything.
import { afterAll, expect, it } from 'vitest';
import * as P from '@chorus/protocol';
import type { Daemon } from '../../daemon/src/daemon.js';
import { FULL_MESH_UP_TO, meshNeighbours } from '../../daemon/src/net/overlay.js';
import { startDaemon } from '../support/in-process.js';
import { tempProject } from '../support/project-dir.js';
import type { ScriptedEditor } from '../support/scripted-editor.js';
import { converged, editorsOn, stopAll, typeRandomly } from './peer-helpers.js';

const F = 'notes.md';
const N = 10;
let daemons: Daemon[] = [];
let editors: ScriptedEditor[] = [];
afterAll(async () => ([daemons, editors] = await stopAll(daemons, editors)));

it('the ring relation is symmetric, bounded and full below the threshold', () => {
  const ids = Array.from({ length: 12 }, (_, i) => `p${String(i).padStart(2, '0')}`);
  for (const id of ids) {
    const mine = meshNeighbours(id, ids);
    expect(mine.size).toBeLessThanOrEqual(2 * Math.ceil(Math.log2(ids.length)));
    for (const other of mine) expect(meshNeighbours(other, ids).has(id)).toBe(true);
  }
  const few = ids.slice(0, FULL_MESH_UP_TO);
  expect(meshNeighbours(few[0]!, few).size).toBe(FULL_MESH_UP_TO - 1);
});

it(`${N} daemons: bounded links, and edits and cursors still reach everyone`, async () => {
  daemons = [await startDaemon(tempProject({ [F]: '# big session\n' }), 'p0')];
  for (let i = 1; i < N; i++) daemons.push(await startDaemon(tempProject(), `p${i}`));
  const code = await daemons[0]!.share({ host: '127.0.0.1', webrtc: false });
  for (const d of daemons.slice(1)) await d.join(code, { disk: true, host: '127.0.0.1', webrtc: false }, () => undefined);
  const linked = (d: Daemon) => d.session.peers().filter((p) => p.state === 'connected').length;
  const ids = daemons.map((d) => d.identity.id);
  const bound = meshNeighbours(ids[0]!, ids).size;
  // Once membership has spread, every daemon keeps only its mesh neighbours.
  const end = Date.now() + 60_000;
  while (!daemons.every((d) => linked(d) === meshNeighbours(d.identity.id, ids).size)) {
    if (Date.now() > end) throw new Error(`links did not settle: ${daemons.map(linked).join(' ')}`);
    await new Promise((r) => setTimeout(r, 200));
  }
  expect(Math.max(...daemons.map(linked))).toBeLessThan(N - 1);
  expect(bound).toBeLessThan(N - 1);
  editors = await editorsOn(daemons, F);
  await typeRandomly(editors, F, 300, 21);
  await converged(daemons, editors, F);
  // A cursor crosses the mesh to a daemon it has no link to.
  const far = daemons.findIndex((d) => !meshNeighbours(ids[0]!, ids).has(d.identity.id) && d !== daemons[0]);
  expect(far).toBeGreaterThan(0);
  editors[0]!.conn.sendNotification(P.CursorSet.type, { path: F, selections: [{ anchor: { line: 0, character: 2 }, head: { line: 0, character: 2 } }] });
  await editors[far]!.waitFor(() => editors[far]!.notes.some((n) => n.method === P.CursorDidChange.method && n.params.peer.name === 'p0'), 'p0\'s cursor on a daemon it is not linked to');
}, 240_000);
