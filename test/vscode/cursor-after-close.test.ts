/**
 * The VS Code extension's cursor after a tab closes, against a fake of the vscode API and a fake
 * connection. Pins a user trial: after each close, rename and delete in VS Code the daemon logged
 * "cursor/set refused: X is not open in this editor; call buffer/open first": the extension, its
 * cursor moving to another tab, cleared its cursor in the file it had just closed (buffer/close
 * sent already), which the daemon no longer had open for it.
 */
import path from 'node:path';
import * as P from '@chorus/protocol';
import { expect, it } from 'vitest';
import { ChorusClient } from '../../clients/vscode/src/client.js';
import { FakeRpc, FakeVscode, flush, Position, Selection } from './fake-vscode.js';

const root = '/work/project';

/** A fake connection that records notifications too. */
class RecordingRpc extends FakeRpc {
  readonly notified: Array<{ method: string; params: any }> = [];
  sendNotification(type: { method: string }, params: unknown): Promise<void> {
    this.notified.push({ method: type.method, params });
    return Promise.resolve();
  }
}

it('closing a tab sends no cursor for the closed file; moving between open tabs still clears the one left', async () => {
  const vs = new FakeVscode();
  const window: Record<string, unknown> = { ...(vs.api as any).window, visibleTextEditors: [], activeTextEditor: undefined };
  const api = { ...vs.api, window } as never;
  const client = new ChorusClient(api, root, { cli: () => ({ command: 'false', args: [] }), delays: () => [], showNames: () => false, log: () => undefined, version: '0', onState: () => undefined });
  const rpc = new RecordingRpc();
  rpc.handlers[P.BufferOpen.method] = (p) => ({ path: p.path, content: p.content });
  Object.defineProperty(client, 'rpc', { get: () => rpc });
  client.sync.setConnection(rpc);
  const editorOf = (doc: unknown) => ({ document: doc, selections: [new Selection(new Position(0, 1), new Position(0, 1))], visibleRanges: [] });
  const cursorMoves = async () => {
    client.onCursorMoved();
    await new Promise((r) => setTimeout(r, 120)); // past the 50 ms the extension gathers moves for
    await flush();
  };
  const cursors = () => rpc.notified.filter((n) => n.method === P.CursorSet.method).map((n) => `${n.params.path}:${n.params.selections.length}`);
  try {
    const del = vs.document(path.join(root, 'del.txt'), 'delete me\n');
    const keep = vs.document(path.join(root, 'keep.txt'), 'keep\n');
    const other = vs.document(path.join(root, 'other.txt'), 'other\n');
    for (const d of [del, keep, other]) client.sync.track(d as never);
    await flush();
    expect(client.sync.byPath('del.txt')?.status).toBe('open');
    window.activeTextEditor = editorOf(del);
    await cursorMoves();
    expect(cursors()).toEqual(['del.txt:1']);
    // Between two open tabs: the cursor leaves keep.txt's peers' view (an empty cursor there).
    window.activeTextEditor = editorOf(keep);
    await cursorMoves();
    window.activeTextEditor = editorOf(other);
    await cursorMoves();
    expect(cursors()).toEqual(['del.txt:1', 'del.txt:0', 'keep.txt:1', 'keep.txt:0', 'other.txt:1']);
    // del.txt's tab is gone (closed, or its file deleted in the Explorer), then the cursor moves.
    window.activeTextEditor = editorOf(del);
    await cursorMoves();
    rpc.notified.length = 0;
    del.isClosed = true;
    await client.sync.untrack(del as never);
    window.activeTextEditor = editorOf(keep);
    await cursorMoves();
    expect(rpc.of(P.BufferClose.method)).toEqual([{ path: 'del.txt' }]);
    expect(cursors()).toEqual(['keep.txt:1']);
  } finally {
    client.dispose();
  }
});
