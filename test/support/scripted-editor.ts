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
  doc: EditorText;
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

/**
 * An editor buffer's text as its lines plus where each starts (UTF-16 offsets), updated edit by
 * edit. A long trace replay then converts positions by a binary search and edits one line,
 * instead of scanning and copying the whole text for each keystroke (which made this harness,
 * not the daemon, the largest cost of test/daemon/traces). Deliberately separate from the
 * daemon's own LineIndex: the editor model must not share the code it checks.
 */
export class EditorText {
  /** The lines, without their '\n'. */
  private lines: string[];
  /** Where each line starts. */
  private starts: number[];
  private joined: string | undefined;

  constructor(text: string) {
    this.lines = text.split('\n');
    this.starts = [];
    let at = 0;
    for (const line of this.lines) {
      this.starts.push(at);
      at += line.length + 1;
    }
    this.joined = text;
  }

  get text(): string {
    return (this.joined ??= this.lines.join('\n'));
  }

  /** The line holding UTF-16 offset `off`: the number of newlines before it. */
  private lineOf(off: number): number {
    let lo = 0;
    let hi = this.starts.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if (this.starts[mid]! <= off) lo = mid;
      else hi = mid - 1;
    }
    return lo;
  }

  /** positionAt(this.text, offset, encoding). */
  positionAt(offset: number, encoding: Encoding): P.Position {
    const line = this.lineOf(offset);
    const lineText = this.lines[line]!.slice(0, offset - this.starts[line]!);
    const character = encoding === 'utf-16' ? lineText.length : encoding === 'utf-8' ? enc.encode(lineText).length : [...lineText].length;
    return { line, character };
  }

  /** offsetAt(this.text, pos, encoding). */
  offsetAt(pos: P.Position, encoding: Encoding): number {
    const line = this.lines[pos.line];
    // Past the last line: what offsetAt does there (the daemon never sends such a position).
    if (line === undefined) return offsetAt(this.text, pos, encoding);
    return this.starts[pos.line]! + offsetAt(line, { line: 0, character: pos.character }, encoding);
  }

  /** Replace [from, to) (UTF-16 offsets) with `text`. */
  replace(from: number, to: number, text: string): void {
    const first = this.lineOf(from);
    const last = this.lineOf(to);
    const made = (this.lines[first]!.slice(0, from - this.starts[first]!) + text + this.lines[last]!.slice(to - this.starts[last]!)).split('\n');
    const starts: number[] = [];
    let at = this.starts[first]!;
    for (const line of made) {
      starts.push(at);
      at += line.length + 1;
    }
    const delta = text.length - (to - from);
    const after = this.starts.slice(last + 1);
    for (let i = 0; i < after.length; i++) after[i]! += delta;
    // concat, not splice(...made): a large paste would exceed the arguments limit.
    this.lines = this.lines.slice(0, first).concat(made, this.lines.slice(last + 1));
    this.starts = this.starts.slice(0, first).concat(starts, after);
    this.joined = undefined;
  }
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
  /** Say at initialize that it may write its buffers itself (`savesItself`, as chorus lsp does for Neovim 0.7). */
  savesItself?: boolean;
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
    const connect = () =>
      new Promise<net.Socket>((resolve, reject) => {
        const c = net.connect(socketPath, () => resolve(c));
        c.once('error', reject);
      });
    // A daemon's socket file appears at bind, a moment before it listens: a test that waited for
    // the file may connect in between on a loaded machine (ECONNREFUSED). Retried for a while,
    // as an editor plugin does; a daemon that never listens still fails the test.
    let s: net.Socket | undefined;
    for (const deadline = Date.now() + 10_000; !s; ) {
      try {
        s = await connect();
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code !== 'ECONNREFUSED' || Date.now() > deadline) throw e;
        await new Promise((r) => setTimeout(r, 100));
      }
    }
    return new ScriptedEditor(s, s, opts, () => s.destroy());
  }

  /** Connect the way editors that spawn a process do: `chorus connect dir` (with `env`, else this process's). */
  static connect(dir: string, opts: ScriptedEditorOptions = {}, env?: NodeJS.ProcessEnv): { editor: ScriptedEditor; proc: ChildProcess } {
    const proc = spawn(process.execPath, [CLI, 'connect', dir], { stdio: ['pipe', 'pipe', 'pipe'], ...(env ? { env } : {}) });
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
      for (const c of params.changes as P.TextChange[]) {
        b.doc.replace(b.doc.offsetAt(c.range.start, this.encoding), b.doc.offsetAt(c.range.end, this.encoding), c.text);
      }
      b.daemonRevision++;
    } else this.dropped++;
  }

  async init(): Promise<P.ResultOf<typeof P.Initialize>> {
    this.initResult = await this.conn.sendRequest(P.Initialize.type, {
      protocolVersion: P.PROTOCOL_VERSION,
      clientInfo: { name: this.opts.name ?? 'scripted' },
      positionEncodings: [this.encoding],
      ...(this.opts.savesItself ? { savesItself: true } : {}),
    });
    this.encoding = this.initResult.positionEncoding;
    return this.initResult;
  }

  async open(path: string, content?: string, base?: string): Promise<string> {
    const r = await this.conn.sendRequest(P.BufferOpen.type, { path, ...(content === undefined ? {} : { content }), ...(base === undefined ? {} : { base }) });
    this.buffers.set(r.path, { doc: new EditorText(r.content), editorRevision: 0, daemonRevision: 0 });
    return r.content;
  }

  /** The paths of the buffers open in this editor (as renames it followed left them). */
  paths(): string[] {
    return [...this.buffers.keys()];
  }

  /** The daemon's changes to `path` this editor has applied (its `revision` in buffer/edit). */
  revision(path: string): number {
    const b = this.buffers.get(path);
    if (!b) throw new Error(`${path} is not open in this scripted editor`);
    return b.daemonRevision;
  }

  text(path: string): string {
    const b = this.buffers.get(path);
    if (!b) throw new Error(`${path} is not open in this scripted editor`);
    return b.doc.text;
  }

  /**
   * Replace [from, to) (UTF-16 offsets in this editor's text) with `text`, locally at once, and
   * send it. Returns the request's promise (await it or not: unawaited edits pipeline).
   */
  edit(path: string, from: number, to: number, text: string, extra: { undoStop?: boolean; id?: string } = {}): Promise<null> {
    const b = this.buffers.get(path)!;
    const change = { range: { start: b.doc.positionAt(from, this.encoding), end: b.doc.positionAt(to, this.encoding) }, text };
    b.doc.replace(from, to, text);
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
