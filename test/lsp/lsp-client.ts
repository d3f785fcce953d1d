/**
 * A scripted LSP client for the `chorus lsp` tests: spawns the real server over stdio, keeps
 * each open document's text and version like an editor, and answers workspace/applyEdit the
 * way a strict client does (refused when the version moved; else applied and echoed back as a
 * didChange). A test can hold answers back, refuse them, or send anything raw.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import { pathToFileURL } from 'node:url';
import path from 'node:path';
import { createMessageConnection, StreamMessageReader, StreamMessageWriter, type MessageConnection } from 'vscode-jsonrpc/node';
import { CLI } from '../support/paths.js';
import { offsetAt, positionAt, type Encoding } from '../support/scripted-editor.js';

export interface Doc {
  uri: string;
  text: string;
  version: number;
}

interface TextEdit {
  range: { start: { line: number; character: number }; end: { line: number; character: number } };
  newText: string;
}

export type ApplyPolicy = 'apply' | 'refuse' | 'hold';

export class LspClient {
  readonly docs = new Map<string, Doc>();
  readonly messages: Array<{ type: number; message: string }> = [];
  readonly diagnostics = new Map<string, any[]>();
  readonly applyEdits: Array<{ uri: string; version: number; edits: TextEdit[] }> = [];
  readonly progress: any[] = [];
  stderr = '';
  policy: ApplyPolicy = 'apply';
  /** Edits held back by the 'hold' policy, to answer with `release`. */
  private held: Array<() => void> = [];
  /**
   * Like eglot, which tells the server the person's typing only once Emacs is idle: `edit`
   * changes the document at once, and its didChange is sent after the client next answers an
   * applyEdit (refused, as its version has moved), or by `sendLate`.
   */
  lateChanges = false;
  private unsent: Array<() => Promise<void>> = [];
  /** Run as an applyEdit arrives, before it is answered (a key the person types just then). */
  beforeAnswering?: () => void;
  encoding: Encoding = 'utf-16';
  initResult: any;

  private constructor(
    readonly proc: ChildProcess,
    readonly conn: MessageConnection,
    readonly root: string,
  ) {}

  /**
   * `chorus lsp --dir root`; with `dir: false`, plain `chorus lsp` run in `root` (as an editor
   * configured to start it for every file does), which finds the project itself.
   */
  static start(root: string, opts: { dir?: boolean } = {}): LspClient {
    const args = opts.dir === false ? [CLI, 'lsp'] : [CLI, 'lsp', '--dir', root];
    const proc = spawn(process.execPath, args, { stdio: ['pipe', 'pipe', 'pipe'], cwd: root });
    const conn = createMessageConnection(new StreamMessageReader(proc.stdout!), new StreamMessageWriter(proc.stdin!));
    const c = new LspClient(proc, conn, root);
    proc.stderr!.on('data', (d) => (c.stderr += String(d)));
    conn.onNotification('window/showMessage', (p: any) => void c.messages.push(p));
    conn.onNotification('window/logMessage', (p: any) => void (c.stderr += `log: ${p.message}\n`));
    proc.on('exit', (code, signal) => (c.stderr += `exited: ${code ?? signal}\n`));
    conn.onNotification('textDocument/publishDiagnostics', (p: any) => void c.diagnostics.set(p.uri, p.diagnostics));
    conn.onNotification('$/progress', (p: any) => void c.progress.push(p.value));
    conn.onNotification(() => undefined);
    conn.onRequest('window/workDoneProgress/create', () => null);
    conn.onRequest('workspace/applyEdit', (p: any) => c.onApplyEdit(p));
    conn.listen();
    return c;
  }

  async initialize(caps: Record<string, unknown> = {}): Promise<any> {
    this.initResult = await this.conn.sendRequest('initialize', {
      processId: process.pid,
      rootUri: pathToFileURL(this.root).href,
      clientInfo: { name: 'scripted-lsp' },
      capabilities: { workspace: { applyEdit: true, workspaceEdit: { documentChanges: true } }, window: { workDoneProgress: true }, ...caps },
    });
    this.encoding = this.initResult.capabilities.positionEncoding ?? 'utf-16';
    await this.conn.sendNotification('initialized', {});
    return this.initResult;
  }

  uri(file: string): string {
    return pathToFileURL(path.join(this.root, file)).href;
  }

  async open(file: string, text: string, version = 1): Promise<Doc> {
    const doc = { uri: this.uri(file), text, version };
    this.docs.set(doc.uri, doc);
    await this.conn.sendNotification('textDocument/didOpen', { textDocument: { uri: doc.uri, languageId: 'plaintext', version, text } });
    return doc;
  }

  doc(file: string): Doc {
    const d = this.docs.get(this.uri(file));
    if (!d) throw new Error(`${file} is not open in the scripted LSP client`);
    return d;
  }

  /** Type: replace [from, to) (UTF-16 offsets) with `text`, bump the version by `step`, send it. */
  async edit(file: string, from: number, to: number, text: string, step = 1): Promise<void> {
    const d = this.doc(file);
    const range = { start: positionAt(d.text, from, this.encoding), end: positionAt(d.text, to, this.encoding) };
    d.text = d.text.slice(0, from) + text + d.text.slice(to);
    d.version += step;
    const params = { textDocument: { uri: d.uri, version: d.version }, contentChanges: [{ range, text }] };
    const send = () => this.conn.sendNotification('textDocument/didChange', params);
    if (this.lateChanges) this.unsent.push(send);
    else await send();
  }

  /** Send the didChanges `lateChanges` kept back. */
  async sendLate(): Promise<void> {
    for (const send of this.unsent.splice(0)) await send();
  }

  /** Replace the whole text with a full-text change (no range). */
  async replaceAll(file: string, text: string): Promise<void> {
    const d = this.doc(file);
    d.text = text;
    d.version++;
    await this.conn.sendNotification('textDocument/didChange', { textDocument: { uri: d.uri, version: d.version }, contentChanges: [{ text }] });
  }

  async close(file: string): Promise<void> {
    const d = this.doc(file);
    this.docs.delete(d.uri);
    await this.conn.sendNotification('textDocument/didClose', { textDocument: { uri: d.uri } });
  }

  private onApplyEdit(p: any): Promise<{ applied: boolean }> | { applied: boolean } {
    const change = p.edit.documentChanges[0];
    this.applyEdits.push({ uri: change.textDocument.uri, version: change.textDocument.version, edits: change.edits });
    this.beforeAnswering?.();
    const answer = () => this.apply(change);
    // The answer goes first (it is returned now), the typing it was refused for right after.
    if (this.unsent.length) setTimeout(() => void this.sendLate(), 10);
    if (this.policy === 'refuse') return { applied: false };
    if (this.policy === 'hold') return new Promise((resolve) => this.held.push(() => resolve(answer())));
    return answer();
  }

  /**
   * Save `file` as an LSP editor does: textDocument/willSaveWaitUntil when the server asks for it
   * (`whileWaiting` runs once it is sent), the edits it answers applied (echoed as a didChange)
   * unless the document changed meanwhile (VS Code drops them then), the document's text written
   * into the file, then didSave. Returns the edits answered.
   */
  async save(file: string, whileWaiting?: () => void): Promise<TextEdit[]> {
    const d = this.doc(file);
    let edits: TextEdit[] = [];
    if (this.initResult?.capabilities?.textDocumentSync?.willSaveWaitUntil) {
      const version = d.version;
      const answer = this.conn.sendRequest('textDocument/willSaveWaitUntil', { textDocument: { uri: d.uri }, reason: 1 }) as Promise<TextEdit[] | null>;
      whileWaiting?.();
      edits = (await answer) ?? [];
      if (edits.length) this.apply({ textDocument: { uri: d.uri, version }, edits });
    }
    fs.writeFileSync(path.join(this.root, file), d.text);
    await this.conn.sendNotification('textDocument/didSave', { textDocument: { uri: d.uri } });
    return edits;
  }

  /** Apply one TextDocumentEdit as a strict client does, echoing it as a didChange. */
  private apply(change: { textDocument: { uri: string; version: number }; edits: TextEdit[] }): { applied: boolean } {
    const d = this.docs.get(change.textDocument.uri);
    if (!d || d.version !== change.textDocument.version) return { applied: false };
    // Ranges refer to the original text: apply from the last to the first, each stays valid.
    const sorted = [...change.edits].map((e, i) => ({ e, i })).sort((a, b) => offsetAt(d.text, b.e.range.start, this.encoding) - offsetAt(d.text, a.e.range.start, this.encoding) || b.i - a.i);
    const contentChanges = [];
    for (const { e } of sorted) {
      const a = offsetAt(d.text, e.range.start, this.encoding);
      const b = offsetAt(d.text, e.range.end, this.encoding);
      d.text = d.text.slice(0, a) + e.newText + d.text.slice(b);
      contentChanges.push({ range: e.range, text: e.newText });
    }
    d.version++;
    void this.conn.sendNotification('textDocument/didChange', { textDocument: { uri: d.uri, version: d.version }, contentChanges });
    return { applied: true };
  }

  /** Answer every held applyEdit now (applying those whose version still matches). */
  release(): void {
    for (const r of this.held.splice(0)) r();
  }

  get heldCount(): number {
    return this.held.length;
  }

  request(method: string, params: unknown): Promise<any> {
    return this.conn.sendRequest(method, params);
  }

  /**
   * `chorus stop` the daemon of `dir` (failing with its stderr if it fails), then wait until the
   * server has said so (its daemon was stopped with `chorus stop`).
   */
  async stopDaemon(dir: string, ms = 20000): Promise<void> {
    const stop = spawnSync(process.execPath, [CLI, 'stop', dir], { encoding: 'utf8', timeout: 20000 });
    if (stop.status !== 0) throw new Error(`chorus stop ${dir} exited ${stop.status}: ${stop.stderr}`);
    const end = Date.now() + ms;
    while (!this.messages.some((m) => m.message.includes('was stopped with `chorus stop`'))) {
      if (Date.now() > end) throw new Error(`the server never said its daemon was stopped; stderr: ${this.stderr}`);
      await new Promise((r) => setTimeout(r, 20));
    }
  }

  /** Write raw bytes to the server's stdin (bad frames). */
  raw(bytes: string): void {
    this.proc.stdin!.write(bytes);
  }

  async stop(): Promise<void> {
    if (this.proc.exitCode !== null) return;
    const exited = new Promise((r) => this.proc.once('exit', r));
    await Promise.race([this.conn.sendRequest('shutdown').then(() => this.conn.sendNotification('exit')), new Promise((r) => setTimeout(r, 2000))]).catch(() => undefined);
    await Promise.race([exited, new Promise((r) => setTimeout(r, 3000))]);
    if (this.proc.exitCode === null) this.proc.kill('SIGKILL');
    this.conn.dispose();
  }
}
