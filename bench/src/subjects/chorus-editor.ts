// A minimal scripted editor for the benchmark: speaks the Chorus editor protocol (JSON-RPC 2.0,
// LSP framing, `utf-16` positions) straight over the daemon's Unix socket
// `<project>/.chorus/daemon.sock` (what `chorus connect` bridges to stdio), keeps its copy of one
// open buffer and follows the revision rule (apply a `buffer/didChange` only when its `revision`
// equals the number of edits we sent, else drop it and wait for the transformed replacement).
//
// Edits are pipelined like a real editor's: `edit` sends a `buffer/edit` and returns at once; the
// answers are counted (`inflight`) so the caller can apply back-pressure, and a refused edit is
// kept in `error` (the run then fails: nothing is faked).

import net from 'node:net';
import { join } from 'node:path';
import { ArrivalCounter } from '../harness.js';
import type { Keystroke } from '../traces.js';

/** An LSP position (UTF-16 code units, as the bench's editors negotiate). */
export interface Pos { line: number; character: number }
/** One change of `buffer/edit` / `buffer/didChange`. */
export interface Change { range: { start: Pos; end: Pos }; text: string }

/** UTF-16 offset → position (lines split on `\n`). */
export function positionAt(text: string, offset: number): Pos {
  let line = 0, start = 0;
  for (let i = text.indexOf('\n'); i !== -1 && i < offset; i = text.indexOf('\n', i + 1)) { line++; start = i + 1; }
  return { line, character: offset - start };
}

/** Position → UTF-16 offset. */
export function offsetAt(text: string, pos: Pos): number {
  let off = 0;
  for (let l = 0; l < pos.line; l++) {
    const i = text.indexOf('\n', off);
    if (i === -1) throw new Error(`line ${pos.line} is past the end of the buffer`);
    off = i + 1;
  }
  return off + pos.character;
}

function applyChanges(text: string, changes: Change[]): string {
  for (const c of changes) {
    const a = offsetAt(text, c.range.start), b = offsetAt(text, c.range.end);
    text = text.slice(0, a) + c.text + text.slice(b);
  }
  return text;
}

export class RpcError extends Error {
  constructor(readonly method: string, readonly code: number, message: string) { super(`${method}: ${message} (${code})`); }
}

export class BenchEditor {
  /** The open buffer's text as this editor shows it. */
  text = '';
  path = '';
  /** buffer/edit sent (editorRevision) and buffer/didChange applied (daemonRevision) for `path`. */
  editorRevision = 0;
  daemonRevision = 0;
  /** buffer/didChange dropped under the revision rule. */
  dropped = 0;
  /** buffer/edit requests not answered yet. */
  inflight = 0;
  /** The first refused buffer/edit, if any. */
  error?: Error;
  /** Called after each applied buffer/didChange with the new text. */
  onText: (text: string) => void = () => {};
  /** Called when `inflight` goes down. */
  onAnswer: () => void = () => {};
  /** When set, every message from the daemon is kept here (debugging). */
  trace?: any[];
  private nextId = 1;
  private pending = new Map<number, { method: string; resolve: (v: any) => void; reject: (e: Error) => void }>();
  private buf: Buffer = Buffer.alloc(0);
  private closed = false;

  private constructor(private readonly sock: net.Socket, readonly dir: string) {
    sock.on('data', (d: Buffer) => this.onData(d));
    sock.on('close', () => {
      this.closed = true;
      for (const p of this.pending.values()) p.reject(new Error(`the daemon of ${dir} closed the connection`));
      this.pending.clear();
    });
    sock.on('error', () => {});
  }

  static async connect(dir: string, name = 'bench'): Promise<BenchEditor> {
    const sock = await new Promise<net.Socket>((resolve, reject) => {
      const s = net.connect(join(dir, '.chorus', 'daemon.sock'));
      s.once('connect', () => { s.off('error', reject); resolve(s); });
      s.once('error', reject);
    });
    sock.setNoDelay?.(true);
    const ed = new BenchEditor(sock, dir);
    const init = await ed.request('initialize', { protocolVersion: 1, clientInfo: { name }, positionEncodings: ['utf-16'] });
    if (init.positionEncoding !== 'utf-16') throw new Error(`daemon chose ${init.positionEncoding}, not utf-16`);
    return ed;
  }

  private onData(d: Buffer): void {
    this.buf = this.buf.length ? Buffer.concat([this.buf, d]) : d;
    for (;;) {
      const h = this.buf.indexOf('\r\n\r\n');
      if (h === -1) return;
      const m = /Content-Length: *(\d+)/i.exec(this.buf.toString('latin1', 0, h));
      if (!m) throw new Error(`bad frame header from the daemon: ${this.buf.toString('latin1', 0, h)}`);
      const len = Number(m[1]);
      if (this.buf.length < h + 4 + len) return;
      const msg = JSON.parse(this.buf.toString('utf8', h + 4, h + 4 + len));
      this.buf = this.buf.subarray(h + 4 + len);
      this.onMessage(msg);
    }
  }

  private onMessage(msg: any): void {
    if (msg.id !== undefined && msg.method === undefined) {
      const p = this.pending.get(msg.id);
      if (!p) return;
      this.pending.delete(msg.id);
      if (msg.error) p.reject(new RpcError(p.method, msg.error.code, msg.error.message));
      else p.resolve(msg.result);
      return;
    }
    if (this.trace) this.trace.push(msg);
    if (msg.method === 'buffer/didChange' && msg.params.path === this.path) {
      if (msg.params.revision === this.editorRevision) {
        this.text = applyChanges(this.text, msg.params.changes);
        this.daemonRevision++;
        this.onText(this.text);
      } else {
        this.dropped++;
      }
    }
    if (msg.id !== undefined) this.send({ jsonrpc: '2.0', id: msg.id, result: null });
  }

  private send(obj: unknown): void {
    const body = Buffer.from(JSON.stringify(obj), 'utf8');
    this.sock.write(Buffer.concat([Buffer.from(`Content-Length: ${body.length}\r\n\r\n`, 'latin1'), body]));
  }

  request(method: string, params?: unknown, timeoutMs = 120_000): Promise<any> {
    if (this.closed) return Promise.reject(new Error(`the daemon of ${this.dir} is gone`));
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      const t = setTimeout(() => { this.pending.delete(id); reject(new Error(`${method} to ${this.dir} timed out after ${timeoutMs} ms`)); }, timeoutMs);
      this.pending.set(id, { method, resolve: (v) => { clearTimeout(t); resolve(v); }, reject: (e) => { clearTimeout(t); reject(e); } });
      this.send(params === undefined ? { jsonrpc: '2.0', id, method } : { jsonrpc: '2.0', id, method, params });
    });
  }

  async open(path: string): Promise<string> {
    const r = await this.request('buffer/open', { path });
    this.path = path;
    this.text = r.content;
    this.editorRevision = 0;
    this.daemonRevision = 0;
    return this.text;
  }

  /** Types one keystroke (UTF-16 offsets against `text`) as one pipelined buffer/edit. */
  edit(k: Keystroke): void {
    const start = positionAt(this.text, k.pos);
    const end = k.del === 0 ? start : positionAt(this.text, k.pos + k.del);
    this.text = this.text.slice(0, k.pos) + k.insert + this.text.slice(k.pos + k.del);
    const revision = this.daemonRevision;
    this.editorRevision++;
    this.inflight++;
    this.request('buffer/edit', { path: this.path, revision, changes: [{ range: { start, end }, text: k.insert }] }).then(
      () => { this.inflight--; this.onAnswer(); },
      (e: Error) => { this.inflight--; this.error ??= e; this.onAnswer(); },
    );
  }

  status(): Promise<any> { return this.request('session/status', undefined, 30_000); }

  close(): void {
    this.closed = true;
    this.sock.end();
    this.sock.destroy();
  }
}

/**
 * Count each receiving editor's keystrokes as its text changes (ArrivalCounter): `arrived[r]` is
 * receiver r's count; at each new arrival `onArrival(r, n)` runs, then `after` (a subject's
 * back-pressure check). The counter's `typed` is the sender's to call.
 */
export function countArrivals(receivers: BenchEditor[], startText: string, after?: () => void): { counter: ArrivalCounter; arrived: number[]; onArrival: (r: number, count: number) => void } {
  const counter = new ArrivalCounter(receivers.length, startText);
  const arrived = new Array<number>(receivers.length).fill(0);
  const out = { counter, arrived, onArrival: (_r: number, _count: number): void => undefined };
  receivers.forEach((ed, r) => {
    ed.onText = (text) => {
      const n = counter.seen(r, text);
      if (n <= arrived[r]!) return;
      arrived[r] = n;
      out.onArrival(r, n);
      after?.();
    };
  });
  return out;
}
