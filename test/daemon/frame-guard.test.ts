// The editor socket's framing guard (editor/frame-guard.ts) as the JSON-RPC reader's stream:
// bytes pass unchanged and in order whatever the chunking, a frame over the limit or a header
// that is not LSP framing stops everything after it, and the socket's end and close reach the
// reader. The whole connection is covered in test/peers/hostile.test.ts ("low: bad framing").
import { EventEmitter } from 'node:events';
import { describe, expect, it } from 'vitest';
import { FrameGuard, MAX_EDITOR_FRAME } from '../../daemon/src/editor/frame-guard.js';

const frame = (body: string) => `Content-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`;

function guarded() {
  const socket = new EventEmitter();
  const violations: string[] = [];
  const guard = new FrameGuard(socket, (why) => violations.push(why));
  const seen: Buffer[] = [];
  const listener = guard.onData((d) => seen.push(Buffer.from(d)));
  const send = (s: string) => socket.emit('data', Buffer.from(s, 'utf8'));
  return { socket, guard, violations, seen, listener, send, passed: () => Buffer.concat(seen).toString('utf8') };
}

describe('FrameGuard', () => {
  it('passes frames through unchanged however they are cut into chunks', () => {
    const text = frame('{"jsonrpc":"2.0","id":1,"method":"a"}') + frame('{"jsonrpc":"2.0","method":"ü→b"}') + frame('{}');
    for (const cut of [1, 2, 7, 23, text.length]) {
      const g = guarded();
      for (let at = 0; at < text.length; at += cut) g.send(text.slice(at, at + cut));
      expect(g.passed()).toBe(text);
      expect(g.violations).toEqual([]);
    }
  });

  it('follows the framing through headers cut anywhere, their end too: still in step after', () => {
    const g = guarded();
    const text = [1, 2, 3].map((i) => frame(`{"jsonrpc":"2.0","method":"m${i}","params":"${'x'.repeat(500)}"}`)).join('');
    for (const ch of text) g.send(ch); // every \r\n\r\n straddles chunks
    expect(g.violations).toEqual([]);
    expect(g.passed()).toBe(text);
    g.send(`Content-Length: ${MAX_EDITOR_FRAME + 1}\r\n\r\n{`);
    expect(g.violations).toHaveLength(1);
    expect(g.violations[0]).toMatch(/over the .*-byte limit/);
  });

  it('a header without a valid Content-Length stops everything after it, once', () => {
    const g = guarded();
    g.send(frame('{"ok":1}'));
    g.send('Content-Type: x\r\n\r\n{}');
    g.send(frame('{"after":1}'));
    expect(g.passed()).toBe(frame('{"ok":1}'));
    expect(g.violations).toHaveLength(1);
    expect(g.violations[0]).toMatch(/Content-Length/);
  });

  it('other header fields, in any case and order, pass; a bare \\n is refused in the chunk it arrives in', () => {
    const g = guarded();
    const ok = 'content-type: application/vscode-jsonrpc; charset=utf-8\r\nCONTENT-LENGTH: 2\r\n\r\n{}';
    g.send(ok);
    expect(g.violations).toEqual([]);
    g.send('Content-Length: 2\n');
    expect(g.passed()).toBe(ok);
    expect(g.violations).toHaveLength(1);
    expect(g.violations[0]).toMatch(/\\n alone/);
  });

  it('a frame over the limit is refused before any of it is passed on', () => {
    const g = guarded();
    g.send(`Content-Length: ${MAX_EDITOR_FRAME + 1}\r\n\r\n{"jsonrpc"`);
    expect(g.passed()).toBe('');
    expect(g.violations[0]).toMatch(/over the .*-byte limit/);
  });

  it('a header of 1 KiB before its ending passes however it is cut; one byte more is refused', () => {
    const header = (n: number) => `Content-Length: 2\r\nX-Pad: ${'p'.repeat(n - 'Content-Length: 2\r\nX-Pad: '.length)}\r\n\r\n{}`;
    const ok = header(1024); // 1,024 bytes, then the ending \r\n\r\n
    for (const cut of [1, 1023, 1024, 1025, 1026, 1027, 1028, ok.length]) {
      const g = guarded();
      for (let at = 0; at < ok.length; at += cut) g.send(ok.slice(at, at + cut));
      expect([g.violations, g.passed()]).toEqual([[], ok]);
    }
    const g = guarded();
    g.send(header(1025));
    expect(g.violations[0]).toMatch(/longer than 1 KiB/);
  });

  it('a header longer than 1 KiB with no end is refused', () => {
    const g = guarded();
    g.send('X'.repeat(600));
    g.send('X'.repeat(600));
    expect(g.violations[0]).toMatch(/longer than 1 KiB/);
    g.send('\r\n\r\n');
    expect(g.violations).toHaveLength(1);
  });

  it('the socket flows only once the reader listens; end and close reach the reader; a disposed listener hears nothing', () => {
    const socket = new EventEmitter();
    const guard = new FrameGuard(socket, () => undefined);
    expect(socket.listenerCount('data')).toBe(0);
    const seen: string[] = [];
    const l = guard.onData((d) => seen.push(Buffer.from(d).toString()));
    expect(socket.listenerCount('data')).toBe(1);
    const events: string[] = [];
    guard.onEnd(() => events.push('end'));
    guard.onClose(() => events.push('close'));
    socket.emit('data', Buffer.from(frame('{}')));
    l.dispose();
    socket.emit('data', Buffer.from(frame('{}')));
    socket.emit('end');
    socket.emit('close');
    expect(seen).toEqual([frame('{}')]);
    expect(events).toEqual(['end', 'close']);
  });
});
