// One process of the socket floor (subjects/socket-floor.ts): what a keystroke costs a Node
// process that only moves it, over the sockets a Chorus daemon uses and nothing else. It serves
// one editor on `<dir>/.chorus/daemon.sock` (LSP framing, JSON-RPC: `initialize` and
// `buffer/open` get canned answers, `buffer/edit` is answered and its changes sent on), and links
// to the other process over a loopback WebSocket (the `ws` package, as the daemons). No CRDT, no
// encryption, no storage, no disk: the part of a daemon's per-keystroke cost that two processes
// and three sockets cost by themselves. With more processes (the N-peer floor), every `b` links
// to `a`, and `a` sends each keystroke to each of them, as a typing daemon does in a full mesh.
//
// With `--crdt`, the CRDT floor: the same, plus the raw Automerge floor's own calls on the way
// (`a`: the edit made one change with `change` + `splice` + `getLastLocalChange`, its bytes sent
// to each `b` before the editor is answered, as a daemon's change route does; `b`: the bytes
// applied with `applyChanges`, its patches sent to the editor as `buffer/didChange`). What a
// daemon per person that keeps the text in Automerge must do at the least for one keystroke,
// before encryption, checks, storage, undo or disk: the latency floor of that design here.
//
// Usage: node relay-process.js a DIR TEXT_FILE [--crdt]       (prints the WebSocket port it listens on)
//        node relay-process.js b DIR TEXT_FILE PORT [--crdt]  (connects to a's port)

import { mkdirSync, readFileSync } from 'node:fs';
import net from 'node:net';
import { join } from 'node:path';
import * as A2 from '@automerge/automerge';
import { WebSocket, WebSocketServer } from 'ws';
import { offsetAt, positionAt, type Change } from './subjects/chorus-editor.js';

const crdt = process.argv.includes('--crdt');
const [role, dir, textFile, port] = process.argv.slice(2).filter((a) => a !== '--crdt') as [string, string, string, string | undefined];
const text = readFileSync(textFile, 'utf8');
const am = A2.next;
interface Shared { text: string }
/**
 * The CRDT floor's document: the same first change in every process (a fixed actor, time 0), so
 * `a`'s changes apply at `b`. `mirror` is the text as the editor has it.
 */
let doc = crdt ? am.change(am.init<Shared>({ actor: '0f100f' }), { time: 0 }, (d) => { d.text = text; }) : undefined;
let mirror = text;
/** The path the editor opened (the floors serve one buffer). */
let openPath = 'doc.txt';
let editor: net.Socket | undefined;
/** a: every b linked to it (one with 2 processes, N−1 for the N-peer floor); b: its link to a. */
const peers: WebSocket[] = [];

function send(sock: net.Socket, msg: unknown): void {
  const body = Buffer.from(JSON.stringify(msg), 'utf8');
  sock.write(Buffer.concat([Buffer.from(`Content-Length: ${body.length}\r\n\r\n`, 'latin1'), body]));
}

function serve(sock: net.Socket): void {
  editor = sock;
  let buf: Buffer = Buffer.alloc(0);
  sock.on('error', () => undefined);
  sock.on('data', (d: Buffer) => {
    buf = buf.length ? Buffer.concat([buf, d]) : d;
    for (;;) {
      const h = buf.indexOf('\r\n\r\n');
      if (h === -1) return;
      const len = Number(/Content-Length: *(\d+)/i.exec(buf.toString('latin1', 0, h))![1]);
      if (buf.length < h + 4 + len) return;
      const m = JSON.parse(buf.toString('utf8', h + 4, h + 4 + len));
      buf = buf.subarray(h + 4 + len);
      if (m.id === undefined || m.method === undefined) continue;
      if (m.method === 'initialize') send(sock, { jsonrpc: '2.0', id: m.id, result: { protocolVersion: 1, positionEncoding: 'utf-16' } });
      else if (m.method === 'buffer/open') (openPath = m.params.path), send(sock, { jsonrpc: '2.0', id: m.id, result: { path: m.params.path, content: text } });
      else if (crdt && m.method === 'buffer/edit') {
        const change = changeOf(m.params.changes);
        for (const peer of peers) peer.send(change, { binary: true });
        send(sock, { jsonrpc: '2.0', id: m.id, result: null });
      } else {
        send(sock, { jsonrpc: '2.0', id: m.id, result: null });
        if (m.method === 'buffer/edit') {
          const out = JSON.stringify({ path: m.params.path, changes: m.params.changes });
          for (const peer of peers) peer.send(out);
        }
      }
    }
  });
}

/** The CRDT floor, typing side: an editor's changes (one in practice) as one Automerge change. */
function changeOf(changes: Change[]): Uint8Array {
  doc = am.change(doc!, (d) => {
    for (const c of changes) {
      const at = offsetAt(mirror, c.range.start);
      const del = offsetAt(mirror, c.range.end) - at;
      am.splice(d, ['text'], at, del, c.text);
      mirror = mirror.slice(0, at) + c.text + mirror.slice(at + del);
    }
  });
  return am.getLastLocalChange(doc)!;
}

/** The CRDT floor, receiving side: a change applied, its patches as the editor's changes. */
function patchesOf(change: Uint8Array): Change[] {
  const out: Change[] = [];
  doc = am.applyChanges(doc!, [change], {
    patchCallback: (patches) => {
      for (const p of patches) {
        if (p.path[0] !== 'text' || typeof p.path[1] !== 'number') continue;
        const at = p.path[1];
        const del = p.action === 'del' ? (p.length ?? 1) : 0;
        const ins = p.action === 'splice' ? p.value : '';
        out.push({ range: { start: positionAt(mirror, at), end: positionAt(mirror, at + del) }, text: ins });
        mirror = mirror.slice(0, at) + ins + mirror.slice(at + del);
      }
    },
  })[0];
  return out;
}

function fromPeer(data: unknown): void {
  if (crdt) {
    const changes = patchesOf(new Uint8Array(data as Buffer));
    if (editor && changes.length) send(editor, { jsonrpc: '2.0', method: 'buffer/didChange', params: { path: openPath, revision: 0, changes } });
    return;
  }
  const { path, changes } = JSON.parse(String(data));
  if (editor) send(editor, { jsonrpc: '2.0', method: 'buffer/didChange', params: { path, revision: 0, changes } });
}

mkdirSync(join(dir, '.chorus'), { recursive: true });
net.createServer(serve).listen(join(dir, '.chorus', 'daemon.sock'));
if (role === 'a') {
  const wss = new WebSocketServer({ host: '127.0.0.1', port: 0, perMessageDeflate: false });
  wss.on('connection', (ws) => {
    peers.push(ws);
    ws.on('message', fromPeer);
  });
  wss.on('listening', () => process.stdout.write(`${(wss.address() as { port: number }).port}\n`));
} else {
  const peer = new WebSocket(`ws://127.0.0.1:${port}`, { perMessageDeflate: false });
  peers.push(peer);
  peer.on('message', fromPeer);
  peer.on('open', () => process.stdout.write('linked\n'));
}
