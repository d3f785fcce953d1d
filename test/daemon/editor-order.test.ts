// An editor that pipelines (sends without waiting, as the protocol allows) is served in the order
// it sent, and its answers come in that order (decision 187); errors the JSON-RPC library made
// ("Unhandled method nope") are said in Chorus's words. A raw socket client, as a script written
// from the spec would be, against a real daemon.
import net from 'node:net';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import * as P from '@chorus/protocol';
import type { Daemon } from '../../daemon/src/daemon.js';
import { VERSION } from '../../daemon/src/version.js';
import { logsOf, startDaemon } from '../support/in-process.js';
import { tempProject } from '../support/project-dir.js';
import { rawFrames, type RawFrames } from '../support/raw-frames.js';

let dir: string;
let daemon: Daemon;
const sockets: net.Socket[] = [];

beforeEach(async () => {
  dir = tempProject({ 'a.txt': 'hello\n' });
  daemon = await startDaemon(dir);
});

afterEach(async () => {
  for (const s of sockets.splice(0)) s.destroy();
  await daemon.stop();
});


async function connect(): Promise<{ socket: net.Socket; frames: RawFrames }> {
  const socket = net.connect(daemon.project.socketPath);
  sockets.push(socket);
  await new Promise<void>((resolve, reject) => socket.once('connect', resolve).once('error', reject));
  return { socket, frames: rawFrames(socket, socket) };
}

/** One frame with LSP base framing. */
function frame(msg: object): string {
  const body = JSON.stringify({ jsonrpc: '2.0', ...msg });
  return `Content-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`;
}

const init = { id: 0, method: P.Initialize.method, params: { protocolVersion: P.PROTOCOL_VERSION } };

/** The next `n` answers (messages with an id), skipping the daemon's notifications. */
async function answers(frames: RawFrames, n: number): Promise<any[]> {
  const out: any[] = [];
  while (out.length < n) {
    const m = await frames.next();
    if ('id' in m && !('method' in m)) out.push(m);
  }
  return out;
}

/**
 * Connect, send `msgs` in one write (pipelined, as a script would), and give every answer, as
 * they came: one per message with an id.
 */
async function pipelined(...msgs: object[]): Promise<any[]> {
  const { socket, frames } = await connect();
  socket.write(msgs.map(frame).join(''));
  return answers(frames, msgs.filter((m) => 'id' in m).length);
}

const at = (line: number, character: number) => ({ start: { line, character }, end: { line, character } });
const edit = (id: number, path: string, revision: number, range: ReturnType<typeof at>, text: string, undoStop = false) => ({
  id,
  method: P.BufferEdit.method,
  params: { path, revision, undoStop, changes: [{ range, text }] },
});

describe('pipelined requests', () => {
  // The bug: buffer/edit ran while the buffer/open of a new file still waited, was refused with
  // "not open in this editor", and was answered before the open.
  it('an edit sent right behind the open of a new file, in one write, lands on it; answers in order', async () => {
    const got = await pipelined(init, { id: 1, method: P.BufferOpen.method, params: { path: 'new.txt', content: 'abc' } }, edit(2, 'new.txt', 0, at(0, 3), 'd'), { id: 3, method: P.SessionStatus.method });
    expect(got.map((m) => m.id)).toEqual([0, 1, 2, 3]);
    expect(got.map((m) => m.error)).toEqual([undefined, undefined, undefined, undefined]);
    expect(got[1].result.content).toBe('abc');
    expect(got[3].result.buffers).toContainEqual(expect.objectContaining({ path: 'new.txt' }));
    expect(daemon.workspace.text(daemon.workspace.index.idOf('new.txt')!)).toBe('abcd');
  });

  // And the undo, run while that edit was still staged (not yet in the undo history), took back
  // the step before it (the open's text) at that step's positions.
  it('open, edit and undo pipelined in one write: the undo takes back the edit', async () => {
    const got = await pipelined(
      init,
      { id: 1, method: P.BufferOpen.method, params: { path: 'sub/new.txt', content: 'one\n' } },
      edit(2, 'sub/new.txt', 0, at(1, 0), 'two\n', true),
      { id: 3, method: P.BufferUndo.method, params: { path: 'sub/new.txt' } },
      { id: 4, method: P.BufferClose.method, params: { path: 'sub/new.txt' } },
    );
    expect(got.map((m) => m.id)).toEqual([0, 1, 2, 3, 4]);
    expect(got.map((m) => m.error)).toEqual([undefined, undefined, undefined, undefined, undefined]);
    expect(got[3].result).toEqual({ applied: true });
    expect(daemon.workspace.text(daemon.workspace.index.idOf('sub/new.txt')!)).toBe('one\n');
  });

  // Trial s53 (F1): a script sent its edits and hung up; the connection's end closed its buffers
  // at once, before the library had handed on the edits it had read, and all but the first were
  // refused (299 of 300 lost), each logged as "only that answer was lost".
  it('an editor that sends its edits and hangs up at once has every edit taken in, and the log says only answers were lost', async () => {
    const { socket, frames } = await connect();
    socket.write(frame(init) + frame({ id: 1, method: P.BufferOpen.method, params: { path: 'a.txt' } }));
    const [, opened] = await answers(frames, 2);
    expect(opened.result.content).toBe('hello\n');
    const typed = Array.from({ length: 300 }, (_, i) => `k${i} `);
    let column = 0;
    const edits = typed.map((t, i) => {
      const e = edit(10 + i, 'a.txt', 0, at(1, column), t);
      column += t.length;
      return frame(e);
    });
    socket.end(edits.join(''));
    const id = daemon.workspace.index.idOf('a.txt')!;
    const want = 'hello\n' + typed.join('');
    for (let i = 0; i < 600 && daemon.workspace.text(id) !== want; i++) await new Promise((r) => setTimeout(r, 50));
    expect(daemon.workspace.text(id)).toBe(want);
    const gone = logsOf(daemon).filter((l) => l.includes('left before'));
    expect(gone.length).toBeLessThanOrEqual(1);
    for (const l of gone) expect(l).toContain('only those answers were lost: what it sent was taken in');
    expect(logsOf(daemon).filter((l) => l.includes('not open'))).toEqual([]);
  });

  it('a refused request in the middle keeps its place: answers still in order, later ones still served', async () => {
    const got = await pipelined(
      init,
      { id: 1, method: P.BufferOpen.method, params: { path: 'b.txt', content: '' } },
      edit(2, 'b.txt', 0, at(0, 0), 'x'),
      { id: 3, method: P.BufferOpen.method, params: { path: 'missing.txt' } },
      edit(4, 'b.txt', 0, at(0, 1), 'x'),
      edit(5, 'b.txt', 0, at(9, 0), 'y'),
      edit(6, 'b.txt', 0, at(0, 2), 'x'),
    );
    expect(got.map((m) => m.id)).toEqual([0, 1, 2, 3, 4, 5, 6]);
    expect(got.map((m) => m.error?.code)).toEqual([undefined, undefined, undefined, P.ErrorCodes.FileNotFound, undefined, P.ErrorCodes.PositionOutOfRange, undefined]);
    expect(daemon.workspace.text(daemon.workspace.index.idOf('b.txt')!)).toBe('xxx');
  });

  it('a cursor sent right behind the open of a new file is taken, not refused', async () => {
    await pipelined(
      init,
      { id: 1, method: P.BufferOpen.method, params: { path: 'c.txt', content: 'abc' } },
      { method: P.CursorSet.method, params: { path: 'c.txt', selections: [{ anchor: { line: 0, character: 1 }, head: { line: 0, character: 1 } }] } },
      { id: 2, method: P.SessionStatus.method },
    );
    expect(logsOf(daemon).filter((l) => l.includes('refused'))).toEqual([]);
  });
});

describe('errors in Chorus words', () => {
  it('an unknown method is answered -32601 naming it, this daemon and what to do; the daemon keeps serving', async () => {
    const got = await pipelined(init, { id: 1, method: 'nope', params: {} }, { method: 'nope/notify', params: {} }, { id: 2, method: P.SessionStatus.method });
    expect(got.map((m) => m.id)).toEqual([0, 1, 2]);
    expect(got[1].error.code).toBe(P.ErrorCodes.MethodNotFound);
    expect(got[1].error.message).not.toMatch(/Unhandled method/);
    expect(got[1].error.message).toContain('"nope"');
    expect(got[1].error.message).toContain(`chorus ${VERSION}, protocol version ${P.PROTOCOL_VERSION}`);
    expect(got[1].error.message).toMatch(/update the plugin or chorus/);
    expect(got[2].result.root).toBe(dir);
    expect(logsOf(daemon).some((l) => l.includes('"nope/notify"'))).toBe(true);
  });

  it('a request before initialize says to send initialize first', async () => {
    const [got] = await pipelined({ id: 1, method: P.BufferOpen.method, params: { path: 'a.txt' } });
    expect(got.error.code).toBe(P.ErrorCodes.NotInitialized);
    expect(got.error.message).toMatch(/send initialize first .*then buffer\/open/);
  });

  it("follow/start with one's own peer id or name says one cannot follow oneself", async () => {
    const { socket, frames } = await connect();
    socket.write(frame(init));
    const [hello] = await answers(frames, 1);
    const self: P.PeerInfo = hello.result.peer;
    const follow = (id: number, peer: string) => frame({ id, method: P.FollowStart.method, params: { peer } });
    socket.write(follow(1, self.id) + follow(2, self.name) + follow(3, 'zelda'));
    const got = await answers(frames, 3);
    for (const m of got.slice(0, 2)) {
      expect(m.error.code).toBe(P.ErrorCodes.InvalidParams);
      expect(m.error.message).toMatch(/is you \(tester.*cannot follow oneself/);
      expect(m.error.message).not.toMatch(/nobody called/);
    }
    expect(got[2].error.code).toBe(P.ErrorCodes.PeerNotFound);
  });
});

describe('unreadable frames among pipelined requests', () => {
  it('one with an id is answered in its place, after the open before it', async () => {
    const got = await pipelined(
      init,
      { id: 1, method: P.BufferOpen.method, params: { path: 'd.txt', content: 'abc' } },
      { id: 2, method: 7 },
      { id: 3, method: P.BufferClose.method, params: { path: 'd.txt' } },
    );
    expect(got.map((m) => m.id)).toEqual([0, 1, 2, 3]);
    expect(got[2].error).toEqual({ code: P.ErrorCodes.InvalidRequest, message: '"method" must be a string' });
    expect(got[3].error).toBeUndefined();
  });

  it('a client sending the stand-in method itself is told it is unknown', async () => {
    const got = await pipelined(init, { id: 1, method: '$/chorus/unreadableMessage', params: {} });
    expect(got[1].error.code).toBe(P.ErrorCodes.MethodNotFound);
  });
});
