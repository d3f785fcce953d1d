// Three peers, a scripted editor on each (each in its own position encoding): cursors, follow,
// own-edit undo with interleaved remote edits, extension data and messages.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as P from '@chorus/protocol';
import type { Daemon } from '../../daemon/src/daemon.js';
import { joinAll, logsOf, startDaemon } from '../support/in-process.js';
import { tempProject } from '../support/project-dir.js';
import { ScriptedEditor } from '../support/scripted-editor.js';

let A: Daemon, B: Daemon, C: Daemon;
let ea: ScriptedEditor, eb: ScriptedEditor, ec: ScriptedEditor;
const F = 'f.txt';

beforeAll(async () => {
  A = await startDaemon(tempProject({ [F]: 'añb😀c\nline two\n', 'g.txt': 'other file\n' }), 'alice');
  B = await startDaemon(tempProject(), 'bob');
  C = await startDaemon(tempProject(), 'carol');
  await joinAll(A, [B, C], { webrtc: false });
  ea = await ScriptedEditor.socket(A.project.socketPath, { encoding: 'utf-16', name: 'ea' });
  eb = await ScriptedEditor.socket(B.project.socketPath, { encoding: 'utf-8', name: 'eb' });
  ec = await ScriptedEditor.socket(C.project.socketPath, { encoding: 'utf-32', name: 'ec' });
  for (const e of [ea, eb, ec]) {
    await e.init();
    await e.open(F);
  }
});

afterAll(async () => {
  for (const e of [ea, eb, ec]) e.close();
  await Promise.all([A, B, C].map((d) => d.stop()));
});

const notes = (e: ScriptedEditor, method: string) => e.notes.filter((n) => n.method === method).map((n) => n.params);
const allEqual = async (text: string, what: string) => {
  for (const e of [ea, eb, ec]) await e.waitFor(() => e.text(F) === text, `${what} on ${e.encoding}`);
};

describe('presence', () => {
  it('announces who joins and who leaves', async () => {
    const D = await startDaemon(tempProject(), 'dave');
    await D.join(await A.share({}), { disk: true, host: '127.0.0.1', webrtc: false }, () => undefined);
    await ea.waitFor(() => notes(ea, P.PeerDidJoin.method).some((p) => p.peer.name === 'dave'), 'peer/didJoin for dave');
    const st = await ea.conn.sendRequest(P.SessionStatus.type, undefined);
    expect(st.peers.map((p) => p.name).sort()).toEqual(['bob', 'carol', 'dave']);
    await D.stop();
    await ea.waitFor(() => notes(ea, P.PeerDidLeave.method).some((p) => p.peer.name === 'dave'), 'peer/didLeave for dave');
    // It said goodbye: left, not out of reach.
    expect(notes(ea, P.PeerDidLeave.method).filter((p) => p.peer.name === 'dave').map((p) => p.reason)).toEqual(['left']);
  });

  it('delivers a selection to every other editor in its own encoding, with the name and colour', async () => {
    // "añb😀c": select from after "añ" to after "😀" (UTF-16 offsets 2..5).
    ea.conn.sendNotification(P.CursorSet.type, { path: F, selections: [{ anchor: { line: 0, character: 2 }, head: { line: 0, character: 5 } }] });
    const expected: Record<string, { anchor: number; head: number }> = { 'utf-8': { anchor: 3, head: 8 }, 'utf-32': { anchor: 2, head: 4 } };
    for (const e of [eb, ec]) {
      await e.waitFor(
        () => notes(e, P.CursorDidChange.method).some((p) => p.peer.name === 'alice' && p.selections[0]?.anchor.character === expected[e.encoding]!.anchor && p.selections[0]?.head.character === expected[e.encoding]!.head),
        `alice's selection on ${e.encoding}`,
      );
      const last = notes(e, P.CursorDidChange.method).filter((p) => p.peer.name === 'alice').at(-1)!;
      expect(last.peer.color).toMatch(/^#[0-9a-f]{6}$/);
      expect(last.path).toBe(F);
    }
    expect(notes(ea, P.CursorDidChange.method).filter((p) => p.peer.name === 'alice')).toEqual([]);
  });

  it('keeps a remote cursor on its character while others type before it', async () => {
    await eb.edit(F, 0, 0, '>>> ');
    await allEqual('>>> añb😀c\nline two\n', 'the insert');
    // The next heartbeat re-resolves alice's cursor: it moved 4 characters right.
    await ec.waitFor(() => notes(ec, P.CursorDidChange.method).some((p) => p.peer.name === 'alice' && p.selections[0]?.anchor.character === 6), 'the shifted cursor on C');
  });

  it('takes a stale cursor (sent before a remote change reached the editor) at the nearest place, without an error', async () => {
    // Line 1 is "line two" (8 characters). An editor that has not yet seen a peer shorten it
    // sends its cursor where its own text has one: past the daemon's line end, and past its last line.
    ea.conn.sendNotification(P.CursorSet.type, { path: F, selections: [{ anchor: { line: 1, character: 3 }, head: { line: 1, character: 40 } }] });
    await eb.waitFor(
      () => notes(eb, P.CursorDidChange.method).some((p) => p.peer.name === 'alice' && p.selections[0]?.anchor.line === 1 && p.selections[0]?.anchor.character === 3 && p.selections[0]?.head.line === 1 && p.selections[0]?.head.character === 8),
      'alice\'s selection, its head at the end of line 1',
    );
    ea.conn.sendNotification(P.CursorSet.type, { path: F, selections: [{ anchor: { line: 9, character: 2 }, head: { line: 9, character: 2 } }] });
    await eb.waitFor(
      () => notes(eb, P.CursorDidChange.method).some((p) => p.peer.name === 'alice' && p.selections[0]?.head.line === 2 && p.selections[0]?.head.character === 0),
      'alice\'s cursor at the end of the text',
    );
    expect(logsOf(A).filter((l) => /past the end/.test(l))).toEqual([]);
  });

  it('refuses malformed presence from a peer and keeps going', async () => {
    A.session.replicator!.sendEphemeral('presence', { clock: 'nope', editors: 42 });
    await eb.waitFor(() => logsOf(B).some((l) => l.includes('refused presence')), 'the refusal in B\'s log');
    ea.conn.sendNotification(P.CursorSet.type, { path: F, selections: [{ anchor: { line: 1, character: 0 }, head: { line: 1, character: 4 } }] });
    await eb.waitFor(() => notes(eb, P.CursorDidChange.method).some((p) => p.peer.name === 'alice' && p.selections[0]?.anchor.line === 1), 'a good cursor after the bad one');
  });
});

describe('follow mode', () => {
  it('reveals where the followed person goes, across files, and stops when the follower types', async () => {
    const r = await eb.conn.sendRequest(P.FollowStart.type, { peer: 'alice' });
    expect(r.peer.name).toBe('alice');
    await ea.open('g.txt');
    ea.conn.sendNotification(P.CursorSet.type, { path: 'g.txt', selections: [{ anchor: { line: 0, character: 6 }, head: { line: 0, character: 6 } }] });
    await eb.waitFor(() => notes(eb, P.FollowReveal.method).some((p) => p.path === 'g.txt' && p.range.start.character === 6), 'follow/reveal of g.txt');
    await eb.edit(F, 0, 0, '#');
    await eb.waitFor(() => notes(eb, P.FollowDidStop.method).some((p) => p.reason === 'typed'), 'follow/didStop typed');
    await allEqual('#>>> añb😀c\nline two\n', 'the follower\'s edit');
  });

  it('says clearly when the peer is not there', async () => {
    await expect(eb.conn.sendRequest(P.FollowStart.type, { peer: 'zelda' })).rejects.toMatchObject({ code: P.ErrorCodes.PeerNotFound, message: expect.stringMatching(/nobody called "zelda"/) });
  });
});

describe('own-edit undo', () => {
  it('undoes only the caller\'s text, keeping what others typed inside it; redo brings it back', async () => {
    const base = ea.text(F);
    await ea.edit(F, 0, 0, 'hello world ', { undoStop: true });
    await allEqual('hello world ' + base, 'alice typing');
    await eb.edit(F, 3, 3, 'XX'); // inside alice's text
    await allEqual('helXXlo world ' + base, 'bob typing inside it');
    await ec.edit(F, ec.text(F).length, ec.text(F).length, 'tail'); // elsewhere
    await allEqual('helXXlo world ' + base + 'tail', 'carol typing at the end');
    expect((await ea.conn.sendRequest(P.BufferUndo.type, { path: F })).applied).toBe(true);
    await allEqual('XX' + base + 'tail', 'the undo');
    expect((await ea.conn.sendRequest(P.BufferRedo.type, { path: F })).applied).toBe(true);
    await allEqual('helXXlo world ' + base + 'tail', 'the redo');
  });

  it('puts deleted text back where its neighbours are now', async () => {
    const t = ea.text(F);
    const at = t.indexOf('line two');
    await ea.edit(F, at, at + 4, '', { undoStop: true }); // delete "line"
    const deleted = t.slice(0, at) + t.slice(at + 4);
    await allEqual(deleted, 'alice deleting');
    await ec.edit(F, 0, 0, 'C:');
    await allEqual('C:' + deleted, 'carol typing before it');
    await ea.conn.sendRequest(P.BufferUndo.type, { path: F });
    await allEqual('C:' + t, 'the undo of the delete');
  });

  it('has nothing to undo for an editor that made no edits', async () => {
    const other = await ScriptedEditor.socket(A.project.socketPath);
    await other.init();
    await other.open(F);
    expect((await other.conn.sendRequest(P.BufferUndo.type, { path: F })).applied).toBe(false);
    other.close();
  });
});

describe('extension data and messages', () => {
  it('replicates namespaced values to every peer', async () => {
    await ea.conn.sendRequest(P.DataSet.type, { namespace: 'tests', key: 'status', value: { running: true, n: 3 } });
    for (const e of [eb, ec]) await e.waitFor(() => notes(e, P.DataDidChange.method).some((p) => p.namespace === 'tests' && p.value?.n === 3), `data on ${e.encoding}`);
    expect(await ec.conn.sendRequest(P.DataGet.type, { namespace: 'tests', key: 'status' })).toEqual({ value: { running: true, n: 3 } });
    expect(await ec.conn.sendRequest(P.DataGet.type, { namespace: 'tests' })).toEqual({ entries: { status: { running: true, n: 3 } } });
  });

  it('refuses oversized values and bad namespaces', async () => {
    await expect(ea.conn.sendRequest(P.DataSet.type, { namespace: 'tests', key: 'big', value: 'x'.repeat(70_000) })).rejects.toMatchObject({ code: P.ErrorCodes.TooLarge });
    await expect(ea.raw(P.DataSet.method, { namespace: 'no spaces', key: 'k', value: 1 })).rejects.toMatchObject({ code: P.ErrorCodes.InvalidParams });
    await expect(ea.raw(P.MessageBroadcast.method, { namespace: 'chat', payload: 'y'.repeat(70_000) })).rejects.toMatchObject({ code: P.ErrorCodes.TooLarge });
  });

  it('delivers ephemeral messages to every other editor, not back to the sender', async () => {
    await eb.conn.sendRequest(P.MessageBroadcast.type, { namespace: 'chat', payload: { text: 'hi all' } });
    for (const e of [ea, ec]) await e.waitFor(() => notes(e, P.MessageDidReceive.method).some((p) => p.payload?.text === 'hi all' && p.peer.name === 'bob'), `the message on ${e.encoding}`);
    expect(notes(eb, P.MessageDidReceive.method)).toEqual([]);
  });
});

describe('leaving', () => {
  it('tells everyone when a peer leaves, and its cursor goes', async () => {
    ec.conn.sendNotification(P.CursorSet.type, { path: F, selections: [{ anchor: { line: 0, character: 1 }, head: { line: 0, character: 1 } }] });
    await ea.waitFor(() => notes(ea, P.CursorDidChange.method).some((p) => p.peer.name === 'carol'), 'carol\'s cursor on A');
    ec.close();
    await C.stop();
    await ea.waitFor(() => notes(ea, P.PeerDidLeave.method).some((p) => p.peer.name === 'carol'), 'peer/didLeave for carol');
    const last = notes(ea, P.CursorDidChange.method).filter((p) => p.peer.name === 'carol').at(-1)!;
    expect(last.selections).toEqual([]);
  });
});
