// The editor socket's message reader (editor/frame-reader.ts): whole messages, in order, whatever
// the chunking; a body that is not a JSON-RPC message is an error event and the next one is read;
// a frame over the limit or a header that is not LSP framing stops everything after it, once; the
// socket's close reaches the connection. The whole connection is covered in
// test/peers/hostile.test.ts ("low: bad framing") and every editor test.
import { EventEmitter } from 'node:events';
import { describe, expect, it } from 'vitest';
import type { Message } from 'vscode-jsonrpc/node';
import { FrameReader, MAX_EDITOR_FRAME } from '../../daemon/src/editor/frame-reader.js';
import { BadFrame, decodeMessage } from '../../daemon/src/editor/rpc-edge.js';

const frame = (body: string) => `Content-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`;

function reading() {
  const socket = new EventEmitter();
  const violations: string[] = [];
  const reader = new FrameReader(socket, decodeMessage, (why) => violations.push(why));
  const messages: Message[] = [];
  const errors: unknown[] = [];
  let closed = 0;
  reader.onError((e) => errors.push(e));
  reader.onClose(() => closed++);
  const listening = reader.listen((m) => messages.push(m));
  const send = (s: string) => socket.emit('data', Buffer.from(s, 'utf8'));
  return { socket, reader, violations, messages, errors, listening, send, closed: () => closed };
}

describe('FrameReader', () => {
  it('reads whole messages in order however they are cut into chunks', () => {
    const bodies = ['{"jsonrpc":"2.0","id":1,"method":"a"}', '{"jsonrpc":"2.0","method":"ü→b","params":{"t":"中\\n"}}', '{"jsonrpc":"2.0","id":2,"result":null}'];
    const text = bodies.map(frame).join('');
    const bytes = Buffer.from(text, 'utf8');
    for (const cut of [1, 2, 7, 23, bytes.length]) {
      const r = reading();
      // Cut the bytes, not the characters: a multi-byte character may straddle two chunks.
      for (let at = 0; at < bytes.length; at += cut) r.socket.emit('data', bytes.subarray(at, at + cut));
      expect(r.messages, `chunks of ${cut} bytes`).toEqual(bodies.map((b) => JSON.parse(b)));
      expect(r.violations).toEqual([]);
      expect(r.errors).toEqual([]);
    }
  });

  it('a body that is not a JSON-RPC message is an error the connection answers; the next message is read', () => {
    const r = reading();
    r.send(frame('{not json') + frame('{"jsonrpc":"1.0","id":7}') + frame('') + frame('{"jsonrpc":"2.0","id":3,"method":"ok"}'));
    expect(r.errors).toHaveLength(3);
    expect(r.errors.every((e) => e instanceof BadFrame)).toBe(true);
    expect((r.errors[1] as BadFrame).id).toBe(7);
    expect(r.messages).toEqual([{ jsonrpc: '2.0', id: 3, method: 'ok' }]);
    expect(r.violations).toEqual([]);
  });

  it('a header without a valid Content-Length stops everything after it, once', () => {
    const r = reading();
    r.send(frame('{"jsonrpc":"2.0","method":"ok"}'));
    r.send('Content-Type: x\r\n\r\n{}');
    r.send(frame('{"jsonrpc":"2.0","method":"after"}'));
    expect(r.messages).toEqual([{ jsonrpc: '2.0', method: 'ok' }]);
    expect(r.violations).toHaveLength(1);
    expect(r.violations[0]).toMatch(/Content-Length/);
  });

  it('a frame over the limit is refused before any of it is held', () => {
    const r = reading();
    r.send(`Content-Length: ${MAX_EDITOR_FRAME + 1}\r\n\r\n{"jsonrpc"`);
    r.send('x'.repeat(1000));
    expect(r.messages).toEqual([]);
    expect(r.violations).toHaveLength(1);
    expect(r.violations[0]).toMatch(/over the .*-byte limit/);
  });

  it('a header longer than 1 KiB with no end is refused', () => {
    const r = reading();
    r.send('X'.repeat(600));
    r.send('X'.repeat(600));
    expect(r.violations[0]).toMatch(/longer than 1 KiB/);
    r.send('\r\n\r\n');
    expect(r.violations).toHaveLength(1);
  });

  it('the socket is read only once the connection listens; close reaches it; disposed, it hears nothing', () => {
    const socket = new EventEmitter();
    const reader = new FrameReader(socket, decodeMessage, () => undefined);
    expect(socket.listenerCount('data')).toBe(0);
    const seen: Message[] = [];
    let closed = 0;
    reader.onClose(() => closed++);
    const l = reader.listen((m) => seen.push(m));
    expect(socket.listenerCount('data')).toBe(1);
    socket.emit('data', Buffer.from(frame('{"jsonrpc":"2.0","method":"one"}')));
    socket.emit('close');
    expect(closed).toBe(1);
    l.dispose();
    socket.emit('data', Buffer.from(frame('{"jsonrpc":"2.0","method":"two"}')));
    expect(seen).toEqual([{ jsonrpc: '2.0', method: 'one' }]);
    expect(socket.listenerCount('data')).toBe(0);
  });

  it('a connection whose handler throws hears it as an error; reading goes on', () => {
    const socket = new EventEmitter();
    const reader = new FrameReader(socket, decodeMessage, () => undefined);
    const errors: unknown[] = [];
    reader.onError((e) => errors.push(e));
    const seen: string[] = [];
    reader.listen((m) => {
      seen.push((m as unknown as { method: string }).method);
      if (seen.length === 1) throw new Error('handler failed');
    });
    socket.emit('data', Buffer.from(frame('{"jsonrpc":"2.0","method":"a"}') + frame('{"jsonrpc":"2.0","method":"b"}')));
    expect(seen).toEqual(['a', 'b']);
    expect(errors).toHaveLength(1);
  });
});
