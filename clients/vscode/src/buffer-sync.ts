/**
 * Buffer sync: keeps each shared VS Code document and the daemon's text in step, following the
 * protocol's revision rule (protocol/README.md). Nothing here transforms or merges text: local
 * changes go out as they happen, remote changes are applied when their revision says they are
 * current and dropped otherwise (the daemon sends a transformed replacement).
 *
 * Per document the module keeps a *shadow*: the text the daemon would have if it had applied
 * exactly what this editor applied. While a buffer is open the document's text equals the
 * shadow; when VS Code makes them differ on its own (a CRLF document turns an inserted `\n` into
 * `\r\n`), the difference goes out as this editor's edit, so every peer ends with the same text.
 */
import type * as P from '@chorus/protocol';
import * as M from '@chorus/protocol';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import { isDaemonAnswer, messageOf, request } from './errors.js';
import { applyChanges, changesBetween, fromReported, replacementsBetween, type Replacement } from './positions.js';
import { fileOf, projectPathOf } from './project.js';
import type { Vscode, vscode } from './vscode-api.js';

/** The requests buffer sync sends (a `MessageConnection` fits). */
export interface Rpc {
  sendRequest<R>(type: { method: string }, params: unknown): Promise<R>;
}

/** Where a shared buffer stands. */
export type BufferStatus = 'opening' | 'open' | 'offline' | 'failed';

interface Applying {
  /** The document version our WorkspaceEdit produces; the change event with it is our echo. */
  version: number;
  /** The shadow once it is applied. */
  shadow: string;
  /** Whether it applies a buffer/didChange (counts towards daemonRevision). */
  remote: boolean;
  /** What it replaces, to tell its echo from the person's typing that got the same version. */
  replacements: Replacement[];
}

/**
 * A WorkspaceEdit VS Code has not answered yet, and the document changes seen meanwhile. VS Code
 * checks the document's version before it applies one, but to apply it VS Code first resolves the
 * file's model, and that can reload the file from disk (git checkout): the edit then lands on the
 * reloaded text at positions meant for the text before (seen in code-server 4.100.3; decision
 * 133). Such an edit is taken back once VS Code answers.
 */
interface Outstanding {
  /** Its echo (at the version it expects) came: it landed where it was meant to. */
  echoed: boolean;
  /** Changes other than that echo seen while it was out. */
  others: number;
  /** The document's text after the last of them. */
  textNow?: string;
  /** The document's text before the last of them (our edit, if it landed late). */
  beforeLast?: string;
}

/** What buffer sync reads of a `TextDocumentContentChangeEvent`. */
type ChangeEventEntry = { rangeOffset: number; rangeLength: number; text: string };

/** One shared document. */
export class SharedBuffer {
  status: BufferStatus = 'opening';
  /** Project path as the daemon spells it. */
  path: string;
  shadow: string;
  editorRevision = 0;
  daemonRevision = 0;
  /** The text last in step with the daemon: what `base` carries on a re-open. */
  base: string | undefined;
  private baseSeq = 0;
  /**
   * Each unacknowledged edit by its sequence number (= editorRevision after it): its id and the
   * shadow after it, sent as `pending` with the next open.
   */
  readonly inflight = new Map<number, { id: string; text: string }>();
  applying: Applying | undefined;
  /** The WorkspaceEdit VS Code has not answered yet, if any (kept across a re-open). */
  outstanding: Outstanding | undefined;
  /** Remote changes are applied one at a time, in arrival order. */
  queue: Promise<void> = Promise.resolve();
  /** Bumped on every (re-)open: answers to older requests are ignored. */
  epoch = 0;
  dropped = 0;
  /** Renames told and not yet followed into the new path's document. */
  moving = 0;
  /** Its document was closed while it moved: it goes on in the new path's document all the same. */
  detached = false;

  constructor(
    /** The document it is shared through; a rename moves the buffer to the new path's document. */
    public doc: vscode.TextDocument,
    path: string,
  ) {
    this.path = path;
    this.shadow = doc.getText();
  }

  /** An edit named `id` went out: remember the text after it, for `base` and `pending`. */
  sent(id: string): number {
    this.editorRevision++;
    this.inflight.set(this.editorRevision, { id, text: this.shadow });
    return this.editorRevision;
  }

  /** The daemon acknowledged edit `seq`: the text after it is in step. */
  acknowledged(seq: number): void {
    const after = this.inflight.get(seq);
    this.inflight.delete(seq);
    if (after !== undefined && seq > this.baseSeq) {
      this.base = after.text;
      this.baseSeq = seq;
    }
  }

  /** `text` is what the daemon merges from now: nothing sent before it is pending any more. */
  mergedAt(text: string): void {
    this.base = text;
    this.baseSeq = this.editorRevision;
    this.inflight.clear();
  }

  /** The edits sent after `base` and never answered, oldest first (`pending` of buffer/open). */
  pending(): Array<{ id: string; text: string }> {
    return [...this.inflight].filter(([seq]) => seq > this.baseSeq).sort(([a], [b]) => a - b).map(([, e]) => e);
  }

  /** Everything sent has been processed and the daemon's change applied: in step now. */
  inStep(): void {
    this.base = this.shadow;
    this.baseSeq = this.editorRevision;
    this.inflight.clear();
  }

  /** Counters back to 0 after an open answered with `content`. */
  reset(content: string): void {
    this.editorRevision = 0;
    this.daemonRevision = 0;
    this.baseSeq = 0;
    this.inflight.clear();
    this.shadow = content;
    this.base = content;
  }
}

export interface BufferSyncOptions {
  /** A message for the person (errors they can act on). */
  warn(message: string): void;
  /** Debug log. */
  log(message: string): void;
  /** The person typed in a shared buffer (follow mode stops). */
  onLocalEdit?(buffer: SharedBuffer): void;
  /**
   * A buffer followed its renamed file into `moved.to`, the document of its new path (the editors
   * showing `moved.from` move there). `replaced`: the unsaved text of a document that had the new
   * path open and whose file the rename replaced.
   */
  onMoved?(moved: Moved): void;
}

/** A buffer that followed its file from one path (and document) to another. */
export interface Moved {
  fromPath: string;
  toPath: string;
  from: vscode.TextDocument;
  to: vscode.TextDocument;
  replaced?: string;
}

/** All shared documents of one project, and the traffic that keeps them in step. */
export class BufferSync {
  private readonly buffers = new Map<string, SharedBuffer>();
  private rpc: Rpc | undefined;
  /** An undo stop goes with the next edit (the cursor moved or time passed since the last). */
  private undoStop = true;
  /** Edit ids: random per extension host, then a counter (unique across daemon restarts). */
  private readonly editPrefix = `vscode-${randomBytes(6).toString('hex')}-`;
  private editCount = 0;
  /** Where the caret is after our last local edit, and when it was made. */
  private lastEdit: { buffer: SharedBuffer; end: P.Position; at: number } | undefined;
  /** Documents (by URI) a renamed buffer is moving into: not shared on their own meanwhile. */
  private readonly arriving = new Set<string>();
  /** Documents (by URI) a buffer moved out of: their file was renamed away, they are not shared again. */
  private readonly movedAway = new Set<string>();

  constructor(
    private readonly vs: Vscode,
    readonly root: string,
    private readonly opts: BufferSyncOptions,
  ) {}

  /** The shared buffer of a document, if it is shared. */
  get(doc: vscode.TextDocument): SharedBuffer | undefined {
    return this.buffers.get(doc.uri.toString());
  }

  /** The shared buffer for a project path. */
  byPath(path: string): SharedBuffer | undefined {
    for (const b of this.buffers.values()) if (b.path === path) return b;
    return undefined;
  }

  all(): SharedBuffer[] {
    return [...this.buffers.values()];
  }

  /** The project path of a document, or undefined when it is not part of the project. */
  pathOf(doc: vscode.TextDocument): string | undefined {
    return doc.isUntitled ? undefined : projectPathOf(this.root, doc.uri);
  }

  /** A connection is up (re-open everything) or gone (buffers stay editable, marked offline). */
  setConnection(rpc: Rpc | undefined): void {
    this.rpc = rpc;
    for (const b of this.buffers.values()) {
      if (rpc) this.open(b);
      else {
        b.status = 'offline';
        b.applying = undefined;
      }
    }
  }

  /** Start sharing a document (when it opens, or when the connection comes up). */
  track(doc: vscode.TextDocument): SharedBuffer | undefined {
    const existing = this.get(doc);
    if (existing) return existing;
    const path = this.pathOf(doc);
    if (path === undefined) return undefined;
    const key = doc.uri.toString();
    // The document a renamed buffer is moving into is that buffer's; and the one it left (still
    // known to VS Code until it disposes it) is not re-shared, which would make the file again.
    if (this.arriving.has(key) || (this.movedAway.has(key) && !fs.existsSync(doc.uri.fsPath))) return undefined;
    const b = new SharedBuffer(doc, path);
    // A document just read from its file sends base = content: the shared text wins wherever it
    // differs (the file may be older than the shared text). One changed before it was shared
    // sends the file's bytes, so only those unsaved changes are merged.
    b.base = doc.isDirty ? readFile(doc.uri.fsPath) : doc.getText();
    this.buffers.set(doc.uri.toString(), b);
    if (this.rpc) this.open(b);
    else b.status = 'offline';
    return b;
  }

  /** The document was closed: stop sharing it. */
  async untrack(doc: vscode.TextDocument): Promise<void> {
    this.movedAway.delete(doc.uri.toString());
    const b = this.get(doc);
    if (!b) return;
    this.buffers.delete(doc.uri.toString());
    if (b.moving > 0 && this.pathOf(doc) !== b.path) {
      // Closed while its file's rename is being followed (VS Code's explorer renamed it and
      // replaced the tab itself): the buffer goes on in the new path's document.
      b.detached = true;
      this.opts.log(`${doc.uri.fsPath} closed in VS Code while its buffer moves to ${b.path}`);
      return;
    }
    b.epoch++;
    this.opts.log(`${b.path} closed in VS Code; not shared from here any more`);
    if (this.rpc && b.status === 'open') await request(this.rpc, M.BufferClose.type, { path: b.path }).catch(() => undefined);
  }

  /**
   * The daemon kept the person's own version of project file `path` aside and the session's is
   * in the folder now (session/notice with `kept`): a buffer of it whose open was refused (a
   * read-only member's own file) opens again with its text as `base`, so the daemon merges
   * nothing of it and the document takes the session's text as an edit (undo brings the
   * person's back). A buffer that follows gets that text by buffer/didChange already.
   */
  takeSessionText(path: string): void {
    for (const b of this.buffers.values()) {
      if (b.path !== path || b.status !== 'failed') continue;
      b.base = b.doc.getText();
      this.open(b);
    }
  }

  /** `buffer/open` with the document's text (and `base`); adopt the daemon's merged answer. */
  open(b: SharedBuffer): void {
    const rpc = this.rpc;
    if (!rpc) return;
    b.status = 'opening';
    b.applying = undefined;
    const epoch = ++b.epoch;
    const sent = b.doc.getText();
    const params: P.ParamsOf<typeof M.BufferOpen> = { path: b.path, content: sent };
    if (b.base !== undefined) {
      params.base = b.base;
      // Unanswered edits may have been applied before the connection went: the daemon knows.
      const pending = b.pending().slice(-64);
      if (pending.length) params.pending = pending;
    }
    request<P.ResultOf<typeof M.BufferOpen>>(rpc, M.BufferOpen.type, params).then(
      (r) => {
        // In the remote-change queue: changes that arrive meanwhile apply after the answer.
        b.queue = b.queue.then(() => this.adopt(b, epoch, sent, r)).catch((e: unknown) => this.opts.log(`opening ${b.path}: ${messageOf(e)}`));
      },
      (e: unknown) => {
        if (b.epoch !== epoch) return;
        // The connection went under the request (the daemon stopped, or Chorus: Reconnect
        // replaced the connection): not a refusal. The next connection opens it again; the
        // person hears once that the daemon went, never per file (decision 189).
        if (this.rpc !== rpc || !isDaemonAnswer(e)) {
          this.opts.log(`opening ${b.path}: no answer, the connection went (${messageOf(e)}); opened again on the next one`);
          return;
        }
        b.status = 'failed';
        this.opts.warn(`Chorus cannot share ${b.path}: ${M.visibleBidi(e.message)}`);
      },
    );
  }

  /** Take the daemon's answer to buffer/open: the document becomes the shared text. */
  private async adopt(b: SharedBuffer, epoch: number, sent: string, r: P.ResultOf<typeof M.BufferOpen>): Promise<void> {
    if (b.epoch !== epoch || this.get(b.doc) !== b) return;
    if (b.doc.getText() !== sent) {
      // Typed while the open was out: open again; `sent` is what the daemon merged.
      b.mergedAt(sent);
      this.open(b);
      return;
    }
    b.path = r.path;
    b.reset(r.content);
    // Still 'opening' while the answer is applied: typing meanwhile is not sent against a
    // shadow the document does not hold yet.
    if (r.content !== sent && !(await this.applyToDocument(b, replacementsBetween(sent, r.content), r.content, false))) {
      if (b.epoch !== epoch) return;
      b.mergedAt(sent); // the person typed first: merge that typing into the answer
      this.open(b);
      return;
    }
    if (b.epoch !== epoch) return;
    b.status = 'open';
    this.reconcile(b);
  }

  /** A `workspace.onDidChangeTextDocument` event. */
  onDidChange(e: vscode.TextDocumentChangeEvent): void {
    const b = this.get(e.document);
    if (!b || e.contentChanges.length === 0) return;
    const a = b.applying;
    const o = b.outstanding;
    const echo = a !== undefined && e.document.version === a.version && isEcho(e.contentChanges, a.replacements);
    if (o && echo) o.echoed = true;
    else if (o) {
      o.others++;
      o.beforeLast = o.textNow;
      o.textNow = e.document.getText();
    }
    if (echo) {
      // Our own WorkspaceEdit coming back: already counted, never sent.
      b.applying = undefined;
      b.shadow = a.shadow;
      if (a.remote) {
        b.daemonRevision++;
        b.inStep();
      }
      this.reconcile(b);
      return;
    }
    if (b.status !== 'open') return; // sent with the next (re-)open, merged against `base`
    if (e.reason === undefined && !e.document.isDirty && readFile(e.document.uri.fsPath) === e.document.getText()) {
      // VS Code reloaded the document from its file (git checkout, another tool): the daemon
      // watches the folder and brings that change in itself. Sending it too would apply it
      // twice, so take the shared text instead; what the file changed arrives as buffer/didChange.
      this.opts.log(`${b.path} was reloaded from disk; taking the shared text`);
      b.mergedAt(e.document.getText());
      this.open(b);
      return;
    }
    const before = b.shadow;
    const { text, changes } = fromReported(before, e.contentChanges);
    b.shadow = text;
    if (this.lengthDrifted(b)) {
      // VS Code reported the changes in an order we did not expect: send what really changed.
      b.shadow = e.document.getText();
      this.send(b, changesBetween(before, b.shadow));
    } else this.send(b, changes);
    const c = changes.length === 1 ? changes[0] : undefined;
    this.lastEdit = c ? { buffer: b, end: endOf(c), at: Date.now() } : undefined;
    this.opts.onLocalEdit?.(b);
  }

  /**
   * The selection moved. Typing moves it too, to where the edit ended; anywhere else (a click,
   * an arrow key, a second cursor) means the next edit starts a new undo step, as in VS Code.
   */
  selectionMoved(doc: vscode.TextDocument, selections: readonly { active: P.Position; isEmpty: boolean }[]): void {
    const last = this.lastEdit;
    const only = selections.length === 1 ? selections[0] : undefined;
    if (last && last.buffer === this.get(doc) && only?.isEmpty && only.active.line === last.end.line && only.active.character === last.end.character) return;
    this.undoStop = true;
  }

  /** Send changes made on the shadow (already applied to it). */
  private send(b: SharedBuffer, changes: P.TextChange[]): void {
    const rpc = this.rpc;
    if (!rpc || changes.length === 0) return;
    const id = `${this.editPrefix}${++this.editCount}`;
    const params: P.ParamsOf<typeof M.BufferEdit> = { path: b.path, revision: b.daemonRevision, changes, id };
    // A pause of a second also ends a step (the daemon's own rule for editors without marks).
    if (this.undoStop || !this.lastEdit || Date.now() - this.lastEdit.at > 1000) params.undoStop = true;
    this.undoStop = false;
    const seq = b.sent(id);
    const epoch = b.epoch;
    request(rpc, M.BufferEdit.type, params).then(
      () => {
        if (b.epoch === epoch) b.acknowledged(seq);
      },
      (e: unknown) => {
        if (b.epoch !== epoch || this.rpc !== rpc) return;
        // Not an answer: the connection failed under the request (the daemon died, EPIPE) before
        // the extension heard it close. The edit stays pending; the re-open on the next
        // connection carries it (`pending`), as for edits typed while offline.
        if (!isDaemonAnswer(e)) return;
        // Nothing changed in the shared text, but the document has the edit: re-open, merging
        // what this editor did since the last text in step. An answered edit is not pending.
        b.inflight.delete(seq);
        this.opts.log(`edit to ${b.path} refused (${messageOf(e)}); re-opening`);
        this.open(b);
      },
    );
  }

  /** A `buffer/didChange` notification. */
  onRemoteChange(params: P.ParamsOf<typeof M.BufferDidChange>): void {
    const b = this.byPath(params.path);
    if (!b) return;
    b.queue = b.queue.then(() => this.applyRemote(b, params)).catch((e: unknown) => this.opts.log(`applying a change to ${b.path}: ${messageOf(e)}`));
  }

  /**
   * A `buffer/didRename`: the file of a buffer open here was renamed or moved. The daemon keeps
   * the buffer open under the new path with the same counters, so from now on its edits name the
   * new path (the old one is still taken for edits already out). The document follows in the
   * buffer's queue: VS Code's document of the new path takes this one's text, unsaved typing and
   * all, and the buffer continues in it (decision 040). A file not open here is not ours to follow.
   */
  renamed(from: string, to: string): void {
    const b = this.byPath(from);
    if (!b) return;
    const there = this.byPath(to);
    if (there && there !== b && there.doc.getText() === b.doc.getText()) {
      // The new path is open here with this very text: VS Code moved the document itself (a
      // rename in its explorer, an extension's `renameFile`) and shares it under `to` already.
      // That buffer goes on; this one stops without buffer/close, which the daemon would take
      // for `to`. Its tabs, if VS Code left any, move. An open buffer is opened again: were
      // `to` a file the rename replaced, the daemon's counters for `to` are this one's now.
      this.buffers.delete(b.doc.uri.toString());
      b.epoch++;
      this.movedAway.add(b.doc.uri.toString());
      if (there.status === 'open') this.open(there);
      this.opts.log(`${from} was renamed to ${to}, which is open here already; going on there`);
      this.opts.onMoved?.({ fromPath: from, toPath: to, from: b.doc, to: there.doc });
      return;
    }
    if (there && there !== b) {
      // The file moved over one open here: the daemon's buffer for `to` is this one now, so the
      // other document stops being shared (no buffer/close: that would close this one).
      this.buffers.delete(there.doc.uri.toString());
      there.epoch++;
    }
    b.path = to;
    b.moving++;
    const arriving = this.uri(to).toString();
    this.arriving.add(arriving);
    // An open crossed the rename (a reconnection): the daemon takes it for a new file at `from`
    // and its answer would stand for this buffer. Open again under `to`; the older answer is
    // ignored (its epoch is past).
    if (b.status === 'opening') this.open(b);
    b.queue = b.queue
      .then(() => this.follow(b, from))
      .catch((e: unknown) => this.opts.log(`following ${from} to ${b.path}: ${messageOf(e)}`))
      .finally(() => {
        this.arriving.delete(arriving);
        b.moving--;
      });
  }

  /** The `file:` URI of a project path. */
  private uri(projectPath: string): vscode.Uri {
    return this.vs.Uri.file(fileOf(this.root, projectPath));
  }

  /** Move buffer `b` (renamed from `from`) into the document of its path now. */
  private async follow(b: SharedBuffer, from: string): Promise<void> {
    const to = b.path; // the latest name: a second rename meanwhile is followed at once
    const old = b.doc;
    const oldKey = old.uri.toString();
    const uri = this.uri(to);
    const key = uri.toString();
    const ours = () => this.buffers.get(oldKey) === b || b.detached;
    if (oldKey === key || !ours()) return; // there already, or closed meanwhile
    this.arriving.add(key);
    let doc: vscode.TextDocument | undefined;
    let replaced: string | undefined;
    try {
      doc = this.vs.workspace.textDocuments.find((d) => d.uri.toString() === key && !d.isClosed);
      // The new path was open here with unsaved text of the file the rename replaced: kept aside.
      if (doc?.isDirty && doc.getText() !== old.getText()) replaced = doc.getText();
      if (!doc) {
        // A peer's rename reaches the folder a moment after the daemon tells of it.
        if (!(await appears(uri.fsPath, 10_000))) throw new Error(`${to} did not appear in the folder`);
        doc = await this.vs.workspace.openTextDocument(uri);
      }
      // The new document takes the old one's text, typing that lands meanwhile included.
      for (let i = 0; i < 10 && doc.getText() !== old.getText(); i++) {
        const edit = new this.vs.WorkspaceEdit();
        for (const r of replacementsBetween(doc.getText(), old.getText())) edit.replace(uri, new this.vs.Range(doc.positionAt(r.from), doc.positionAt(r.to)), r.text);
        await this.vs.workspace.applyEdit(edit);
      }
      if (doc.getText() !== old.getText()) throw new Error(`${to} kept changing`);
      if (!ours()) return;
      // From here on the buffer is this document's: same text, shadow and counters.
      if (this.buffers.get(oldKey) === b) this.buffers.delete(oldKey);
      b.doc = doc;
      this.buffers.set(key, b);
      this.movedAway.add(oldKey);
      this.opts.log(`${from} was renamed to ${to}; following it`);
    } catch (e) {
      if (b.detached) {
        // Its document is closed, and it has no other: it is closed at the daemon too.
        this.opts.log(`${from} was renamed to ${to} and closed here; not shared from here any more (${messageOf(e)})`);
        b.epoch++;
        if (this.rpc && b.status === 'open') void request(this.rpc, M.BufferClose.type, { path: to }).catch(() => undefined);
        return;
      }
      // The buffer goes on under its new path in the old document.
      this.opts.log(`${from} was renamed to ${to}, but its document stays: ${messageOf(e)}`);
      doc = undefined;
    } finally {
      this.arriving.delete(key);
      b.detached = false;
    }
    this.opts.onMoved?.({ fromPath: from, toPath: to, from: old, to: doc ?? old, ...(replaced === undefined ? {} : { replaced }) });
  }

  private async applyRemote(b: SharedBuffer, params: P.ParamsOf<typeof M.BufferDidChange>): Promise<void> {
    if (b.status !== 'open') return;
    if (params.revision !== b.editorRevision) {
      b.dropped++;
      return;
    }
    let result: { text: string; replacements: Replacement[] };
    try {
      result = applyChanges(b.shadow, params.changes);
    } catch (e) {
      this.opts.log(`a change to ${b.path} does not fit (${messageOf(e)}); re-opening`);
      this.open(b);
      return;
    }
    const applied = await this.applyToDocument(b, result.replacements, result.text, true);
    if (!applied && b.status === 'open' && b.editorRevision === params.revision) {
      // Not stale, yet VS Code refused the edit (the document is read-only or being closed).
      this.open(b);
    }
  }

  /**
   * Apply replacements (made on the shadow, which equals the document) as one WorkspaceEdit.
   * Resolves false when VS Code refused it: it does when the document changed since (the person
   * typed first); that typing has gone out, so a remote change is stale and dropped.
   */
  private async applyToDocument(b: SharedBuffer, replacements: Replacement[], shadowAfter: string, remote: boolean): Promise<boolean> {
    const doc = b.doc;
    if (replacements.length === 0) {
      b.shadow = shadowAfter;
      if (remote) {
        b.daemonRevision++;
        b.inStep();
      }
      return true;
    }
    const edit = new this.vs.WorkspaceEdit();
    for (const r of replacements) edit.replace(doc.uri, new this.vs.Range(doc.positionAt(r.from), doc.positionAt(r.to)), r.text);
    const version = doc.version;
    b.applying = { version: version + 1, shadow: shadowAfter, remote, replacements };
    const outstanding: Outstanding = { echoed: false, others: 0 };
    b.outstanding = outstanding;
    let ok: boolean;
    try {
      ok = await this.vs.workspace.applyEdit(edit);
    } finally {
      if (b.outstanding === outstanding) b.outstanding = undefined;
    }
    const before = outstanding.beforeLast;
    if (ok && !outstanding.echoed && outstanding.others >= 2 && before !== undefined) {
      // Applied, no echo, yet the document changed twice: the second change was our edit,
      // landing on what the first one made (decision 133). Nothing of it may stay.
      await this.revert(b, before);
      return false;
    }
    if (b.applying?.version === version + 1) {
      // No echo arrived (refused, or nothing changed in VS Code's eyes).
      b.applying = undefined;
      if (ok && doc.version === version) {
        b.shadow = shadowAfter;
        if (remote) {
          b.daemonRevision++;
          b.inStep();
        }
        this.reconcile(b);
      }
    }
    return ok;
  }

  /**
   * Take back our WorkspaceEdit that VS Code applied on `before`, text it was not made for: the
   * document gets `before` back. The change that came first stands (a reload re-opened the buffer;
   * typing went out), and the daemon's change comes again, with the open's answer or as a
   * transformed replacement.
   */
  private async revert(b: SharedBuffer, before: string): Promise<void> {
    this.opts.log(`${b.path}: a change from the daemon landed after the document changed under it; taking it back`);
    // The shadow stays as it is: were the buffer open, `reconcile` sends the difference.
    if (!(await this.applyToDocument(b, replacementsBetween(b.doc.getText(), before), b.shadow, false))) this.opts.log(`${b.path}: VS Code refused to take back that change`);
  }

  /**
   * When the document's text is not the shadow (VS Code normalised line breaks, or an edit was
   * refused), send the difference as this editor's edit: every peer gets the document's text.
   */
  private reconcile(b: SharedBuffer): void {
    if (b.status !== 'open') return;
    const text = b.doc.getText();
    if (text === b.shadow) return;
    const changes = changesBetween(b.shadow, text);
    this.opts.log(`${b.path}: the document differs from the shared text (${changes.length} change(s), e.g. line breaks); sending it`);
    b.shadow = text;
    this.send(b, changes);
  }

  private lengthDrifted(b: SharedBuffer): boolean {
    const doc = b.doc;
    const end = doc.lineAt(doc.lineCount - 1).range.end;
    return doc.offsetAt(end) !== b.shadow.length;
  }

  /** Own-edit undo (`buffer/undo`) or redo; resolves whether anything was undone. */
  async undo(doc: vscode.TextDocument, redo = false): Promise<boolean> {
    const b = this.get(doc);
    if (!b || !this.rpc || b.status !== 'open') return false;
    this.undoStop = true;
    const def = redo ? M.BufferRedo : M.BufferUndo;
    const r = await request<{ applied: boolean }>(this.rpc, def.type, { path: b.path });
    return r.applied;
  }
}

/**
 * Whether VS Code's change list is our WorkspaceEdit coming back: the same replacements (VS Code
 * lists them end first, and may have turned line breaks into the document's).
 */
function isEcho(changes: readonly ChangeEventEntry[], ours: readonly Replacement[]): boolean {
  if (changes.length !== ours.length) return false;
  const sorted = [...changes].sort((x, y) => x.rangeOffset - y.rangeOffset);
  const lf = (t: string) => t.replace(/\r\n?/g, '\n');
  return sorted.every((c, i) => c.rangeOffset === ours[i]!.from && c.rangeLength === ours[i]!.to - ours[i]!.from && lf(c.text) === lf(ours[i]!.text));
}

/** Where the caret ends after a change: past its inserted text. */
function endOf(c: P.TextChange): P.Position {
  const lines = c.text.split('\n');
  const last = lines[lines.length - 1]!;
  return lines.length === 1 ? { line: c.range.start.line, character: c.range.start.character + last.length } : { line: c.range.start.line + lines.length - 1, character: last.replace(/\r$/, '').length };
}

/** Whether `file` exists within `ms` milliseconds. */
async function appears(file: string, ms: number): Promise<boolean> {
  for (const end = Date.now() + ms; !fs.existsSync(file); ) {
    if (Date.now() > end) return false;
    await new Promise((r) => setTimeout(r, 50));
  }
  return true;
}

function readFile(file: string): string | undefined {
  try {
    return fs.readFileSync(file, 'utf8');
  } catch {
    return undefined;
  }
}

export { messageOf };
