// A client written from protocol/README.md and methods.md alone: `node:net`, framing by hand, no
// JSON-RPC library and nothing from protocol/src, as an editor in another language would be
// written. Three such clients (one per position encoding) open a file with CRLF lines and an
// astral character, edit it (one insert splitting a \r\n pair, as the spec's example does),
// follow each other's edits by the revision rule, and end with the text the spec predicts, on
// disk too. If the spec and the daemon part ways, this fails.
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import type { Daemon } from '../../daemon/src/daemon.js';
import { startDaemon } from '../support/in-process.js';
import { tempProject, waitForFile } from '../support/project-dir.js';

type Json = any; // eslint-disable-line @typescript-eslint/no-explicit-any
type Encoding = 'utf-8' | 'utf-16' | 'utf-32';
interface Pos { line: number; character: number }

/** The UTF-16 offset (a JavaScript string index) of `pos` in `text`, counting as the spec says. */
function offsetOf(text: string, pos: Pos, enc: Encoding): number {
  let start = 0;
  for (let l = 0; l < pos.line; l++) start = text.indexOf('\n', start) + 1; // `line` counts \n only
  let off = start;
  for (let n = 0; n < pos.character; ) {
    const cp = text.codePointAt(off)!;
    const units = cp > 0xffff ? 2 : 1;
    n += enc === 'utf-16' ? units : enc === 'utf-32' ? 1 : Buffer.byteLength(String.fromCodePoint(cp));
    off += units;
  }
  return off;
}

/** One editor connection: framing by the spec's table, requests, notifications, one buffer. */
class SpecClient {
  private buf = Buffer.alloc(0);
  private nextId = 1;
  private waiting = new Map<number, (m: Json) => void>();
  readonly notifications: Json[] = [];
  text = '';
  editorRevision = 0;
  daemonRevision = 0;
  dropped = 0;
  private constructor(private readonly socket: net.Socket, readonly enc: Encoding) {
    socket.on('data', (d) => this.read(d));
  }

  static async connect(socketPath: string, enc: Encoding): Promise<SpecClient> {
    const socket = net.connect(socketPath);
    await new Promise<void>((resolve, reject) => socket.once('connect', resolve).once('error', reject));
    const c = new SpecClient(socket, enc);
    const r = await c.request('initialize', { protocolVersion: 1, clientInfo: { name: `spec-${enc}` }, positionEncodings: [enc] });
    expect(r.result.positionEncoding).toBe(enc);
    return c;
  }

  private read(d: Buffer): void {
    this.buf = Buffer.concat([this.buf, d]);
    for (;;) {
      const end = this.buf.indexOf('\r\n\r\n');
      if (end === -1) return;
      const length = Number(/^Content-Length: (\d+)$/m.exec(this.buf.subarray(0, end).toString('latin1').replace(/\r/g, ''))![1]);
      if (this.buf.length < end + 4 + length) return;
      const msg = JSON.parse(this.buf.subarray(end + 4, end + 4 + length).toString('utf8'));
      this.buf = this.buf.subarray(end + 4 + length);
      if ('id' in msg && !('method' in msg)) this.waiting.get(msg.id)?.(msg);
      else this.onNotification(msg);
    }
  }

  private send(msg: Json): void {
    const body = Buffer.from(JSON.stringify({ jsonrpc: '2.0', ...msg }), 'utf8');
    this.socket.write(Buffer.concat([Buffer.from(`Content-Length: ${body.length}\r\n\r\n`, 'ascii'), body]));
  }

  request(method: string, params: Json): Promise<Json> {
    const id = this.nextId++;
    this.send({ id, method, params });
    return new Promise((resolve) => this.waiting.set(id, resolve));
  }

  /** The revision rule: apply a buffer/didChange only when its revision equals editorRevision. */
  private onNotification(msg: Json): void {
    this.notifications.push(msg);
    if (msg.method !== 'buffer/didChange') return;
    if (msg.params.revision !== this.editorRevision) return void this.dropped++;
    for (const ch of msg.params.changes) this.apply(ch);
    this.daemonRevision++;
  }

  private apply(ch: { range: { start: Pos; end: Pos }; text: string }): void {
    const from = offsetOf(this.text, ch.range.start, this.enc);
    const to = offsetOf(this.text, ch.range.end, this.enc);
    this.text = this.text.slice(0, from) + ch.text + this.text.slice(to);
  }

  async open(p: string): Promise<void> {
    const r = await this.request('buffer/open', { path: p });
    this.text = r.result.content;
    this.editorRevision = this.daemonRevision = 0;
  }

  /** Type `text` at `at`: applied locally at once, sent with revision = daemonRevision. */
  edit(p: string, at: Pos, text: string): Promise<Json> {
    const change = { range: { start: at, end: at }, text };
    this.apply(change);
    const answer = this.request('buffer/edit', { path: p, revision: this.daemonRevision, changes: [change], undoStop: true, id: `spec-${this.enc}-${this.editorRevision}` });
    this.editorRevision++;
    return answer;
  }

  async until(pred: () => boolean, what: string): Promise<void> {
    const end = Date.now() + 20_000;
    while (!pred()) {
      if (Date.now() > end) throw new Error(`${this.enc}: timed out waiting for ${what}; text ${JSON.stringify(this.text)}`);
      await new Promise((r) => setTimeout(r, 20));
    }
  }

  close(): void {
    this.socket.destroy();
  }
}

let dir: string;
let daemon: Daemon;
const clients: SpecClient[] = [];

beforeAll(async () => {
  dir = tempProject({ 'a.txt': 'a😀b\r\nc\n' });
  daemon = await startDaemon(dir);
});

afterAll(async () => {
  for (const c of clients.splice(0)) c.close();
  await daemon.stop();
});

it('clients written from the spec alone open, edit (splitting a \\r\\n) and follow each other in every position encoding', async () => {
  const [u8, u16, u32] = await Promise.all((['utf-8', 'utf-16', 'utf-32'] as const).map((e) => SpecClient.connect(daemon.project.socketPath, e)));
  clients.push(u8!, u16!, u32!);
  for (const c of clients) await c.open('a.txt');
  expect(u8!.text).toBe('a😀b\r\nc\n');

  // The spec's position table: the end of line 0 (between \r and \n) is 0:7 in utf-8.
  expect((await u8!.edit('a.txt', { line: 0, character: 7 }, 'X')).error).toBeUndefined();
  await u32!.until(() => u32!.text === 'a😀b\rX\nc\n', 'the split CRLF');
  await u16!.until(() => u16!.text === 'a😀b\rX\nc\n', 'the split CRLF');
  const seen16 = u16!.notifications.find((n) => n.method === 'buffer/didChange');
  const seen32 = u32!.notifications.find((n) => n.method === 'buffer/didChange');
  expect(seen16.params.changes[0].range.start).toEqual({ line: 0, character: 5 });
  expect(seen32.params.changes[0].range.start).toEqual({ line: 0, character: 4 });
  await waitForFile(path.join(dir, 'a.txt'), (t) => t === 'a😀b\rX\nc\n', 'the split CRLF on disk');

  // Before `b` is 0:2 in utf-32; the others get it as 0:5 (utf-8) and 0:3 (utf-16).
  expect((await u32!.edit('a.txt', { line: 0, character: 2 }, '!')).error).toBeUndefined();
  const want = 'a😀!b\rX\nc\n';
  for (const c of [u8!, u16!]) await c.until(() => c.text === want, 'the edit from utf-32');
  expect(u32!.text).toBe(want);
  await waitForFile(path.join(dir, 'a.txt'), (t) => t === want, 'the second edit on disk');

  // Refused as the table says: inside 😀 (utf-8 0:3, utf-16 0:2); nothing changed.
  expect((await u8!.request('buffer/edit', { path: 'a.txt', revision: u8!.daemonRevision, changes: [{ range: { start: { line: 0, character: 3 }, end: { line: 0, character: 3 } }, text: '?' }] })).error.code).toBe(-31994);
  expect((await u16!.request('buffer/edit', { path: 'a.txt', revision: u16!.daemonRevision, changes: [{ range: { start: { line: 0, character: 2 }, end: { line: 0, character: 2 } }, text: '?' }] })).error.code).toBe(-31994);
  // Past the end of line 0 (now a😀!b\rX: 8 units in utf-16).
  expect((await u16!.request('buffer/edit', { path: 'a.txt', revision: u16!.daemonRevision, changes: [{ range: { start: { line: 0, character: 8 }, end: { line: 0, character: 8 } }, text: '?' }] })).error.code).toBe(-31994);
  expect(fs.readFileSync(path.join(dir, 'a.txt'), 'utf8')).toBe(want);
  expect(clients.map((c) => c.dropped)).toEqual([0, 0, 0]);
});

it('crossing edits follow the worked example: the stale change is dropped, its replacement applied', async () => {
  fs.writeFileSync(path.join(dir, 'b.txt'), 'abc');
  const [e, other] = [clients[1]!, clients[2]!];
  await e.open('b.txt');
  await other.open('b.txt');
  // `other` inserts X at the start while `e` types Z at the end, neither having seen the other's.
  const x = other.edit('b.txt', { line: 0, character: 0 }, 'X');
  const z = e.edit('b.txt', { line: 0, character: 3 }, 'Z');
  expect([(await x).error, (await z).error]).toEqual([undefined, undefined]);
  for (const c of [e, other]) await c.until(() => c.text === 'XabcZ', 'the crossing to settle');
});
