// Unit tests of two pieces of the keystroke path: the change route's order, and the editor
// frame writer (one socket write per message).
import { EventEmitter } from 'node:events';
import net from 'node:net';
import { describe, expect, it } from 'vitest';
import { ChangeRoute } from '../../daemon/src/change-route.js';
import { Rope } from '../../daemon/src/text/rope.js';
import { FrameWriter } from '../../daemon/src/editor/frame-writer.js';
import type { TextEvent, Workspace, WorkspaceEvents } from '../../daemon/src/workspace/workspace.js';

const change = (origin: TextEvent['origin'], raw?: Uint8Array): TextEvent => ({
  fileId: 'f000000000000000000000001',
  path: 'a.txt',
  op: [1, 'x'],
  before: Rope.of('a'),
  after: Rope.of('ax'),
  origin,
  ...(raw ? { raw } : {}),
});

describe('ChangeRoute', () => {
  it('hands every text change to peers (only one made here), undo, editors, disk, in that order', () => {
    const ws = new EventEmitter<WorkspaceEvents>();
    const seen: string[] = [];
    const route = new ChangeRoute(ws as unknown as Workspace, {
      peers: (fileId) => seen.push(`peers ${fileId.slice(-1)}`),
      undo: { observe: (c) => seen.push(`undo ${c.origin.kind}`) },
      disk: { schedule: () => seen.push('disk') },
    });
    const editor = { take: (c: TextEvent) => seen.push(`editor ${c.origin.kind}`) };
    route.addEditor(editor);
    ws.emit('text', change({ kind: 'editor', editorId: 'e1' }, new Uint8Array([1])));
    expect(seen).toEqual(['peers 1', 'undo editor', 'editor editor', 'disk']);
    seen.length = 0;
    // a peer's change came with its peers already: it is not sent back out from here
    ws.emit('text', change({ kind: 'peer', peerId: 'p' }));
    expect(seen).toEqual(['undo peer', 'editor peer', 'disk']);
    seen.length = 0;
    route.removeEditor(editor);
    ws.emit('text', change({ kind: 'disk' }, new Uint8Array([2])));
    expect(seen).toEqual(['peers 1', 'undo disk', 'disk']);
  });
});

describe('FrameWriter', () => {
  // Pins the two-writes-per-message cost: vscode-jsonrpc's writer sent header and body apart.
  it('writes each message as one LSP frame in one socket write', async () => {
    const server = net.createServer();
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const port = (server.address() as net.AddressInfo).port;
    const received = new Promise<Buffer>((resolve) => {
      server.on('connection', (s) => {
        const chunks: Buffer[] = [];
        s.on('data', (d) => chunks.push(d));
        s.on('end', () => resolve(Buffer.concat(chunks)));
      });
    });
    const sock = net.connect(port, '127.0.0.1');
    await new Promise((r) => sock.once('connect', r));
    const writes: unknown[] = [];
    const original = sock.write.bind(sock);
    sock.write = ((chunk: unknown, ...rest: unknown[]) => (writes.push(chunk), original(chunk as never, ...(rest as never[])))) as never;
    const w = new FrameWriter(sock);
    const msgs = [
      { jsonrpc: '2.0', method: 'buffer/didChange', params: { path: 'ä.txt', revision: 3, changes: [] } },
      { jsonrpc: '2.0', id: 7, result: null },
    ];
    for (const m of msgs) await w.write(m as never);
    w.end();
    const all = (await received).toString('utf8');
    server.close();
    expect(writes).toHaveLength(2);
    const expected = msgs.map((m) => {
      const body = JSON.stringify(m);
      return `Content-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`;
    });
    expect(all).toBe(expected.join(''));
  });
});
