/**
 * A scripted editor for tests: speaks the editor protocol over a real socket (or over the stdio
 * of `chorus connect`), keeps its own copy of each open buffer, and follows the revision rule.
 * It can hold incoming notifications back for a while, so its edits cross the daemon's in flight.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import net from 'node:net';
import * as P from '@chorus/protocol';
import { createMessageConnection, StreamMessageReader, StreamMessageWriter, type MessageConnection } from 'vscode-jsonrpc/node';
import { CLI } from './paths.js';

export type Encoding = 'utf-8' | 'utf-16' | 'utf-32';

interface Buf {
  text: string;
  editorRevision: number;
  daemonRevision: number;
}

const enc = new TextEncoder();

/** Offset (UTF-16) → {line, character} in `encoding`. */
export function positionAt(text: string, offset: number, encoding: Encoding): P.Position {
  let line = 0;
  let start = 0;
  for (let i = text.indexOf('\n'); i !== -1 && i < offset; i = text.indexOf('\n', i + 1)) {
    line++;
    start = i + 1;
  }
  const lineText = text.slice(start, offset);
  const character = encoding === 'utf-16' ? lineText.length : encoding === 'utf-8' ? enc.encode(lineText).length : [...lineText].length;
  return { line, character };
}

/** {line, character} in `encoding` → offset (UTF-16). */
export function offsetAt(text: string, pos: P.Position, encoding: Encoding): number {
  let off = 0;
  for (let l = 0; l < pos.line; l++) off = text.indexOf('\n', off) + 1;
  if (encoding === 'utf-16') return off + pos.character;
  let units = 0;
  let i = off;
  while (units < pos.character) {
    const cp = text.codePointAt(i)!;
    units += encoding === 'utf-32' ? 1 : enc.encode(String.fromCodePoint(cp)).length;
    i += cp > 0xffff ? 2 : 1;
  }
  return i;
}

export function applyWire(text: string, changes: P.TextChange[], encoding: Encoding): string {
  for (const c of changes) {
    const a = offsetAt(text, c.range.start, encoding);
    const b = offsetAt(text, c.range.end, encoding);
    text = text.slice(0, a) + c.text + text.slice(b);
  }
  return text;
}

export interface ScriptedEditorOptions {
  name?: string;
  encoding?: Encoding;
  /** Hold each incoming notification back by up to this many ms (order kept). */
  maxDelayMs?: number;
  /** Deterministic randomness for the delays. */
  random?: () => number;
  /** Keep every notification in `notes` (default true; long trace replays turn it off). */
  keepNotes?: boolean;
  /** Move a buffer to its new path on `buffer/didRename`, as the editors do (default false). */
  followRenames?: boolean;
}

export class ScriptedEditor {
  readonly conn: MessageConnection;
  readonly buffers = new Map<string, Buf>();
  readonly notes: Array<{ method: string; params: any }> = [];
  dropped = 0;
  encoding: Encoding;
  initResult?: P.ResultOf<typeof P.Initialize>;
  private queue: Promise<void> = Promise.resolve();
  private closed = false;

  private constructor(
    readable: NodeJS.ReadableStream,
    writable: NodeJS.WritableStream,
    private readonly opts: ScriptedEditorOptions,
    private readonly onClose: () => void,
  ) {
    this.encoding = opts.encoding ?? 'utf-16';
    this.conn = createMessageConnection(new StreamMessageReader(readable), new StreamMessageWriter(writable));
    this.conn.onNotification((method: string, params: any) => {
      const delay = opts.maxDelayMs ? Math.floor((opts.random ?? Math.random)() * opts.maxDelayMs) : 0;
      this.queue = this.queue.then(async () => {
        if (delay) await new Promise((r) => setTimeout(r, delay));
        this.receive(method, params);
      });
    });
    this.conn.onClose(() => (this.closed = true));
    this.conn.listen();
  }

  /** Connect straight to a daemon's socket. */
  static async socket(socketPath: string, opts: ScriptedEditorOptions = {}): Promise<ScriptedEditor> {
    const s = await new Promise<net.Socket>((resolve, reject) => {
      const c = net.connect(socketPath, () => resolve(c));
      c.once('error', reject);
    });
    return new ScriptedEditor(s, s, opts, () => s.destroy());
  }

  /** Connect the way editors that spawn a process do: `chorus connect dir`. */
  static connect(dir: string, opts: ScriptedEditorOptions = {}): { editor: ScriptedEditor; proc: ChildProcess } {
    const proc = spawn(process.execPath, [CLI, 'connect', dir], { stdio: ['pipe', 'pipe', 'pipe'] });
    const editor = new ScriptedEditor(proc.stdout!, proc.stdin!, opts, () => proc.kill());
    return { editor, proc };
  }

  private receive(method: string, params: any): void {
    if (this.opts.keepNotes !== false) this.notes.push({ method, params });
    if (method === P.BufferDidRename.method && this.opts.followRenames) {
      const b = this.buffers.get(params.from);
      if (b && params.from !== params.to) {
        this.buffers.set(params.to, b);
        this.buffers.delete(params.from);
      }
      return;
    }
    if (method !== P.BufferDidChange.method) return;
    const b = this.buffers.get(params.path);
    if (!b) return;
    if (params.revision === b.editorRevision) {
      b.text = applyWire(b.text, params.changes, this.encoding);
      b.daemonRevision++;
    } else this.dropped++;
  }

  async init(): Promise<P.ResultOf<typeof P.Initialize>> {
    this.initResult = await this.conn.sendRequest(P.Initialize.type, {
      protocolVersion: P.PROTOCOL_VERSION,
      clientInfo: { name: this.opts.name ?? 'scripted' },
      positionEncodings: [this.encoding],
    });
    this.encoding = this.initResult.positionEncoding;
    return this.initResult;
  }

  async open(path: string, content?: string, base?: string): Promise<string> {
    const r = await this.conn.sendRequest(P.BufferOpen.type, { path, ...(content === undefined ? {} : { content }), ...(base === undefined ? {} : { base }) });
    this.buffers.set(r.path, { text: r.content, editorRevision: 0, daemonRevision: 0 });
    return r.content;
  }

  text(path: string): string {
    const b = this.buffers.get(path);
    if (!b) throw new Error(`${path} is not open in this scripted editor`);
    return b.text;
  }

  /**
   * Replace [from, to) (UTF-16 offsets in this editor's text) with `text`, locally at once, and
   * send it. Returns the request's promise (await it or not: unawaited edits pipeline).
   */
  edit(path: string, from: number, to: number, text: string, extra: { undoStop?: boolean; id?: string } = {}): Promise<null> {
    const b = this.buffers.get(path)!;
    const change = { range: { start: positionAt(b.text, from, this.encoding), end: positionAt(b.text, to, this.encoding) }, text };
    b.text = b.text.slice(0, from) + text + b.text.slice(to);
    const revision = b.daemonRevision;
    b.editorRevision++;
    return this.conn.sendRequest(P.BufferEdit.type, { path, revision, changes: [change], ...extra });
  }

  /** Send raw params (for bad-input tests); local state is not touched. */
  raw(method: string, params: unknown): Promise<unknown> {
    return this.conn.sendRequest(method, params);
  }

  /** Wait until every held-back notification has been handled. */
  async settle(): Promise<void> {
    let q;
    do {
      q = this.queue;
      await q;
    } while (q !== this.queue);
  }

  async waitFor(pred: () => boolean, what: string, ms = 30000): Promise<void> {
    const end = Date.now() + ms;
    while (!pred()) {
      if (Date.now() > end) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
      if (this.closed) throw new Error(`connection closed while waiting for ${what}`);
      await new Promise((r) => setTimeout(r, 5));
    }
  }

  close(): void {
    this.conn.dispose();
    this.onClose();
  }
}
