// Decision 228 at the level of two Workspaces speaking the sync protocol: a joining folder's own
// index changes stay on the joiner until the join releases them, and then reach the sharer in one
// sync message, already settled, so the sharer never has the joiner's file at the session's path.
import * as A from '@automerge/automerge/next';
import { expect, it } from 'vitest';
import { INDEX_DOC_ID } from '../../daemon/src/workspace/file-index.js';
import type { Workspace } from '../../daemon/src/workspace/workspace.js';
import { bytes, DISK, peer } from '../support/index-peers.js';

/** Run the sync protocol for the index between two workspaces until neither has anything to say; `seen`: the id at notes.txt on the sharer after each message it takes. */
function syncUntilQuiet(sharer: Workspace, joiner: Workspace, states: { s: A.SyncState; j: A.SyncState }, seen: Array<string | undefined>): void {
  for (let round = 0; round < 20; round++) {
    const fromSharer = sharer.generateSync(INDEX_DOC_ID, states.s);
    states.s = fromSharer.state;
    if (fromSharer.message) states.j = joiner.receiveSync(INDEX_DOC_ID, states.j, fromSharer.message, { kind: 'peer', peerId: 'sharer' });
    const fromJoiner = joiner.generateSync(INDEX_DOC_ID, states.j);
    states.j = fromJoiner.state;
    if (fromJoiner.message) {
      states.s = sharer.receiveSync(INDEX_DOC_ID, states.s, fromJoiner.message, { kind: 'peer', peerId: 'joiner' });
      seen.push(sharer.index.idOf('notes.txt'));
    }
    if (!fromSharer.message && !fromJoiner.message) return;
  }
  throw new Error('the sync never went quiet');
}

it("a joiner holding its own changes back syncs the session's index in, shows the sharer nothing, and after release the sharer takes the settled end state at once", () => {
  for (const [s, j] of [['cd', 'ab'], ['ab', 'cd']]) {
    const sharer = peer(s!);
    const joiner = peer(j!);
    const theirs = sharer.ws.addFile('notes.txt', bytes('the session has this\n'), DISK);
    const mine = joiner.ws.addFile('notes.txt', bytes('this folder had this\n'), DISK);
    joiner.ws.addFile('own.txt', bytes('only here\n'), DISK);
    joiner.ws.holdOwnBack();
    expect(joiner.ws.withheld(INDEX_DOC_ID)).toBe(true);
    expect(joiner.ws.withheld(mine)).toBe(true);
    const states = { s: A.initSyncState(), j: A.initSyncState() };
    const seen: Array<string | undefined> = [];
    syncUntilQuiet(sharer.ws, joiner.ws, states, seen);
    // The joiner has the session's file; the sharer has nothing of the joiner's.
    expect(joiner.ws.index.entry(theirs)).toBeDefined();
    expect(joiner.ws.withheld(theirs)).toBe(false);
    expect(sharer.ws.index.entries().map(([id]) => id)).toEqual([theirs]);
    // The join settles the meeting, then releases.
    const met = joiner.ws.keepSessionVersions(new Set([mine]));
    expect(met).toMatchObject([{ path: 'notes.txt', kept: `notes (conflict ${mine.slice(1, 7)}).txt` }]);
    joiner.ws.releaseOwn();
    expect(joiner.ws.withheld(INDEX_DOC_ID)).toBe(false);
    expect(joiner.ws.withheld(mine)).toBe(false);
    seen.length = 0;
    syncUntilQuiet(sharer.ws, joiner.ws, states, seen);
    // Every state the sharer was in had the session's file at its path.
    expect(seen.length).toBeGreaterThan(0);
    expect(new Set(seen)).toEqual(new Set([theirs]));
    expect(sharer.ws.index.idOf('notes.txt')).toBe(theirs);
    expect(sharer.ws.index.idOf(`notes (conflict ${mine.slice(1, 7)}).txt`)).toBe(mine);
    expect(sharer.ws.index.idOf('own.txt')).toBeDefined();
    expect(sharer.ws.index.heads.sort()).toEqual(joiner.ws.index.heads.sort());
  }
});
