// Every method of the editor protocol against a real daemon on a real socket, with valid and
// invalid input; after each bad input, nothing changed and the daemon still serves.
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import * as P from '@chorus/protocol';
import type { Daemon } from '../../daemon/src/daemon.js';
import { startDaemon } from '../support/in-process.js';
import { tempProject, waitForFile } from '../support/project-dir.js';
import { ScriptedEditor } from '../support/scripted-editor.js';
import { rawFrames } from '../support/raw-frames.js';

let dir: string;
let daemon: Daemon;
const editors: ScriptedEditor[] = [];

async function editor(opts: ConstructorParameters<typeof Object>[0] = {}): Promise<ScriptedEditor> {
  const e = await ScriptedEditor.socket(daemon.project.socketPath, opts as object);
  editors.push(e);
  await e.init();
  return e;
}

async function rpcError(p: Promise<unknown>): Promise<{ code: number; message: string }> {
  try {
    await p;
  } catch (e) {
    return e as { code: number; message: string };
  }
  throw new Error('expected the request to fail');
}

beforeEach(async () => {
  dir = tempProject({ 'a.txt': 'hello\nworld\n', 'src/b.ts': 'export {};\n', 'bin.dat': '' });
  fs.writeFileSync(path.join(dir, 'bin.dat'), Buffer.from([0, 1, 2, 255]));
  daemon = await startDaemon(dir);
});

afterEach(async () => {
  for (const e of editors.splice(0)) e.close();
  await daemon.stop();
});

describe('initialize', () => {
  it('negotiates the first encoding the daemon supports and says who the editor is', async () => {
    const e = await ScriptedEditor.socket(daemon.project.socketPath);
    editors.push(e);
    const r = await e.conn.sendRequest(P.Initialize.type, { protocolVersion: P.PROTOCOL_VERSION, positionEncodings: ['latin-1', 'utf-8', 'utf-16'] });
    expect(r.positionEncoding).toBe('utf-8');
    expect(r.root).toBe(dir);
    expect(r.peer.name).toBe('tester');
    expect(r.peer.color).toMatch(/^#[0-9a-f]{6}$/);
    expect(r.serverInfo.name).toBe('chorus');
  });

  it('defaults to utf-16 when the client offers nothing it knows', async () => {
    const e = await ScriptedEditor.socket(daemon.project.socketPath);
    editors.push(e);
    const r = await e.conn.sendRequest(P.Initialize.type, { protocolVersion: P.PROTOCOL_VERSION, positionEncodings: ['ucs-2'] });
    expect(r.positionEncoding).toBe('utf-16');
  });

  it('refuses an unsupported protocol version loudly', async () => {
    const e = await ScriptedEditor.socket(daemon.project.socketPath);
    editors.push(e);
    const err = await rpcError(e.conn.sendRequest(P.Initialize.type, { protocolVersion: 99 }));
    expect(err.code).toBe(P.ErrorCodes.UnsupportedProtocolVersion);
    expect(err.message).toMatch(/protocol version 1.*99.*update chorus/);
  });

  it('refuses other requests before initialize', async () => {
    const e = await ScriptedEditor.socket(daemon.project.socketPath);
    editors.push(e);
    const err = await rpcError(e.raw(P.BufferOpen.method, { path: 'a.txt' }));
    expect(err.code).toBe(P.ErrorCodes.NotInitialized);
  });
});

describe('buffer/open', () => {
  it('answers with the file content, for relative and absolute paths', async () => {
    const e = await editor();
    expect(await e.open('a.txt')).toBe('hello\nworld\n');
    const r = await e.conn.sendRequest(P.BufferOpen.type, { path: path.join(dir, 'src', 'b.ts') });
    expect(r).toEqual({ path: 'src/b.ts', content: 'export {};\n' });
  });

  it('refuses paths outside the project and reserved folders', async () => {
    const e = await editor();
    for (const p of ['../outside.txt', '/etc/passwd', '.chorus/identity.json', '.git/config', 'a\0b']) {
      const err = await rpcError(e.raw(P.BufferOpen.method, { path: p }));
      expect(err.code, p).toBe(P.ErrorCodes.PathOutsideProject);
    }
    expect(fs.existsSync(path.join(dir, '..', 'outside.txt'))).toBe(false);
  });

  it('refuses a path through a symbolic link that leaves the project', async () => {
    const outside = tempProject({ 'secret.txt': 'no' });
    fs.symlinkSync(outside, path.join(dir, 'link'));
    const e = await editor();
    const err = await rpcError(e.raw(P.BufferOpen.method, { path: 'link/secret.txt' }));
    expect(err.code).toBe(P.ErrorCodes.PathOutsideProject);
  });

  it('says a missing file is missing, and creates it when content is given', async () => {
    const e = await editor();
    const err = await rpcError(e.raw(P.BufferOpen.method, { path: 'new.txt' }));
    expect(err.code).toBe(P.ErrorCodes.FileNotFound);
    expect(await e.open('new.txt', 'fresh\n')).toBe('fresh\n');
    await waitForFile(path.join(dir, 'new.txt'), (t) => t === 'fresh\n', 'the new file on disk');
  });

  it('refuses binary files', async () => {
    const e = await editor();
    const err = await rpcError(e.raw(P.BufferOpen.method, { path: 'bin.dat' }));
    expect(err.code).toBe(P.ErrorCodes.FileNotEditable);
    expect(err.message).toMatch(/binary/);
  });

  it('merges differing content as an edit by the opening editor, which others receive', async () => {
    const a = await editor();
    const b = await editor();
    await a.open('a.txt');
    expect(await b.open('a.txt', 'hello\nthere\nworld\n')).toBe('hello\nthere\nworld\n');
    await a.waitFor(() => a.text('a.txt') === 'hello\nthere\nworld\n', 'the merged content on A');
  });

  it('validates params', async () => {
    const e = await editor();
    const err = await rpcError(e.raw(P.BufferOpen.method, { path: 42 }));
    expect(err.code).toBe(P.ErrorCodes.InvalidParams);
    expect(err.message).toMatch(/invalid params for buffer\/open: path:/);
  });
});

describe('buffer/edit and buffer/didChange', () => {
  it('sends an edit to the other editors and to the file', async () => {
    const a = await editor();
    const b = await editor({ encoding: 'utf-8' } as object);
    await a.open('a.txt');
    await b.open('a.txt');
    await a.edit('a.txt', 5, 5, ', dear');
    await b.waitFor(() => b.text('a.txt') === 'hello, dear\nworld\n', 'the edit on B');
    await waitForFile(path.join(dir, 'a.txt'), (t) => t === 'hello, dear\nworld\n', 'the edit on disk');
    const note = b.notes.find((n) => n.method === P.BufferDidChange.method)!;
    expect(note.params).toEqual({ path: 'a.txt', revision: 0, changes: [{ range: { start: { line: 0, character: 5 }, end: { line: 0, character: 5 } }, text: ', dear' }] });
    expect(a.notes.filter((n) => n.method === P.BufferDidChange.method)).toHaveLength(0);
  });

  it('applies several changes in order, each to the result of the previous', async () => {
    const a = await editor();
    await a.open('a.txt');
    await a.raw(P.BufferEdit.method, {
      path: 'a.txt',
      revision: 0,
      changes: [
        { range: { start: { line: 0, character: 0 }, end: { line: 0, character: 5 } }, text: 'HELLO' },
        { range: { start: { line: 0, character: 0 }, end: { line: 0, character: 1 } }, text: 'J' },
      ],
    });
    await waitForFile(path.join(dir, 'a.txt'), (t) => t === 'JELLO\nworld\n', 'both changes on disk');
  });

  const bad: Array<[string, unknown, number, RegExp]> = [
    ['a position past the end of a line', { line: 0, character: 6 }, P.ErrorCodes.PositionOutOfRange, /past the end of line 0/],
    ['a line past the end of the document', { line: 7, character: 0 }, P.ErrorCodes.PositionOutOfRange, /line 7 is past the end/],
    ['a negative character', { line: 0, character: -1 }, P.ErrorCodes.InvalidParams, /character/],
  ];
  for (const [what, pos, code, message] of bad) {
    it(`refuses ${what}, changes nothing, and keeps serving`, async () => {
      const a = await editor();
      const b = await editor();
      await a.open('a.txt');
      await b.open('a.txt');
      const err = await rpcError(a.raw(P.BufferEdit.method, { path: 'a.txt', revision: 0, changes: [{ range: { start: pos, end: pos }, text: 'x' }] }));
      expect(err.code).toBe(code);
      expect(err.message).toMatch(message);
      // B can still edit and A (after re-opening, as the spec says) sees exactly B's edit.
      await b.edit('a.txt', 0, 0, '>');
      expect(await a.open('a.txt')).toBe('>hello\nworld\n');
    });
  }

  it('refuses a range that splits a surrogate pair (utf-16) or a multi-byte character (utf-8)', async () => {
    fs.writeFileSync(path.join(dir, 'emoji.txt'), 'a😀b\n');
    const u16 = await editor();
    const u8 = await editor({ encoding: 'utf-8' } as object);
    await u16.open('emoji.txt');
    await u8.open('emoji.txt');
    const e1 = await rpcError(u16.raw(P.BufferEdit.method, { path: 'emoji.txt', revision: 0, changes: [{ range: { start: { line: 0, character: 2 }, end: { line: 0, character: 2 } }, text: 'x' }] }));
    expect(e1.code).toBe(P.ErrorCodes.PositionOutOfRange);
    expect(e1.message).toMatch(/surrogate pair/);
    const e2 = await rpcError(u8.raw(P.BufferEdit.method, { path: 'emoji.txt', revision: 0, changes: [{ range: { start: { line: 0, character: 3 }, end: { line: 0, character: 3 } }, text: 'x' }] }));
    expect(e2.code).toBe(P.ErrorCodes.PositionOutOfRange);
    expect(e2.message).toMatch(/inside a multi-byte character/);
    const e3 = await rpcError(u16.raw(P.BufferEdit.method, { path: 'emoji.txt', revision: 0, changes: [{ range: { start: { line: 0, character: 0 }, end: { line: 0, character: 0 } }, text: '\ud800' }] }));
    expect(e3.message).toMatch(/lone UTF-16 surrogate/);
    // The same for a whole text (an open's content) and for a path (a trial: `lone\ud800.txt`).
    const e4 = await rpcError(u16.raw(P.BufferOpen.method, { path: 'new.txt', content: 'a\udc00' }));
    expect(e4.message).toMatch(/content contains a lone UTF-16 surrogate/);
    const e5 = await rpcError(u16.raw(P.BufferOpen.method, { path: 'lone\ud800.txt', content: 'a' }));
    expect(e5.message).toMatch(/lone UTF-16 surrogate/);
    expect(fs.existsSync(path.join(dir, 'new.txt'))).toBe(false);
    expect(fs.readdirSync(dir).filter((f) => f.startsWith('lone'))).toEqual([]);
    expect(await (await editor()).open('emoji.txt')).toBe('a😀b\n');
  });

  it('refuses edits to a buffer that is not open', async () => {
    const a = await editor();
    const err = await rpcError(a.raw(P.BufferEdit.method, { path: 'a.txt', revision: 0, changes: [] }));
    expect(err.code).toBe(P.ErrorCodes.BufferNotOpen);
    expect(err.message).toMatch(/call buffer\/open first/);
  });

  it('refuses a revision the daemon never sent', async () => {
    const a = await editor();
    await a.open('a.txt');
    const err = await rpcError(a.raw(P.BufferEdit.method, { path: 'a.txt', revision: 5, changes: [] }));
    expect(err.code).toBe(P.ErrorCodes.InvalidParams);
    expect(err.message).toMatch(/re-open the buffer/);
  });
});

describe('buffer/close, session/status, workspace/files, shutdown', () => {
  it('stops sending changes for a closed buffer', async () => {
    const a = await editor();
    const b = await editor();
    await a.open('a.txt');
    await b.open('a.txt');
    await b.conn.sendRequest(P.BufferClose.type, { path: 'a.txt' });
    await a.edit('a.txt', 0, 0, 'x');
    await a.open('src/b.ts');
    expect(b.notes.filter((n) => n.method === P.BufferDidChange.method)).toHaveLength(0);
    const err = await rpcError(b.raw(P.BufferClose.method, { path: 'a.txt' }));
    expect(err.code).toBe(P.ErrorCodes.BufferNotOpen);
  });

  it('reports buffers, editors and the pid', async () => {
    const a = await editor({ name: 'alpha' } as object);
    await a.open('a.txt');
    const st = await a.conn.sendRequest(P.SessionStatus.type, undefined);
    expect(st.pid).toBe(process.pid);
    expect(st.root).toBe(dir);
    expect(st.buffers).toEqual([{ path: 'a.txt', length: 12, editors: 1 }]);
    expect(st.editors).toEqual([{ id: a.initResult!.editorId, name: 'alpha', positionEncoding: 'utf-16' }]);
    expect(st.peers).toEqual([]);
  });

  it('lists files that have been seen', async () => {
    const a = await editor();
    await a.open('a.txt');
    const r = await a.conn.sendRequest(P.WorkspaceFiles.type, undefined);
    expect(r.files.map((f) => f.path)).toContain('a.txt');
  });

  it('closes the editor\'s buffers on shutdown', async () => {
    const a = await editor();
    await a.open('a.txt');
    await a.conn.sendRequest(P.Shutdown.type, undefined);
    const st = await (await editor()).conn.sendRequest(P.SessionStatus.type, undefined);
    expect(st.buffers).toEqual([]);
  });
});

describe('malformed input on the wire', () => {
  function rawSocket(): Promise<{ send(body: string, header?: string): void; next(): Promise<any>; socket: net.Socket }> {
    return new Promise((resolve, reject) => {
      const socket = net.connect(daemon.project.socketPath, () => resolve({ socket, ...rawFrames(socket, socket) }));
      socket.once('error', reject);
    });
  }

  it('answers garbage, non-JSON-RPC bodies and unknown methods with errors, and keeps the connection', async () => {
    const c = await rawSocket();
    c.send('{"this is not json');
    expect((await c.next()).error).toMatchObject({ code: P.ErrorCodes.ParseError, message: expect.stringMatching(/could not parse/) });
    c.send('[1,2,3]');
    expect((await c.next()).error.code).toBe(P.ErrorCodes.InvalidRequest);
    c.send('{"jsonrpc":"2.0","id":7}');
    expect(await c.next()).toMatchObject({ id: 7, error: { code: P.ErrorCodes.InvalidRequest } });
    c.send(JSON.stringify({ jsonrpc: '2.0', id: 8, method: 'initialize', params: { protocolVersion: 1 } }));
    expect((await c.next()).result.positionEncoding).toBe('utf-16');
    c.send(JSON.stringify({ jsonrpc: '2.0', id: 9, method: 'no/such', params: {} }));
    expect(await c.next()).toMatchObject({ id: 9, error: { code: P.ErrorCodes.MethodNotFound } });
    // Regression: a request without params used to be refused (the token was taken for params).
    c.send(JSON.stringify({ jsonrpc: '2.0', id: 10, method: 'session/status' }));
    expect((await c.next()).result.pid).toBe(process.pid);
    c.socket.destroy();
  });

  it('keeps serving others when an editor disconnects in the middle of a request', async () => {
    const c = await rawSocket();
    c.send(JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'initialize', params: { protocolVersion: 1 } }));
    await c.next();
    const body = JSON.stringify({ jsonrpc: '2.0', id: 2, method: 'buffer/open', params: { path: 'a.txt' } });
    c.socket.write(`Content-Length: ${body.length}\r\n\r\n${body.slice(0, 20)}`);
    c.socket.destroy();
    const e = await editor();
    expect(await e.open('a.txt')).toBe('hello\nworld\n');
  });
});
