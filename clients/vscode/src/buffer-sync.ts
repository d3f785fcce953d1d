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
import { createHash, randomBytes } from 'node:crypto';
import fs from 'node:fs';
import { isDaemonAnswer, messageOf, request } from './errors.js';
import { applyChangeLists, caretAfter, changesBetween, mapOffset, movedSince, fromReported, rebase, replacementsBetween, type Replacement } from './positions.js';
import { fileOf, projectPathOf } from './project.js';
import type { Vscode, vscode } from './vscode-api.js';

/** The requests buffer sync sends (a `MessageConnection` fits). */
export interface Rpc {
  sendRequest<R>(type: { method: string }, params: unknown): Promise<R>;
}

/**
 * Where a document stands with the daemon. `local`: the daemon answered that its file is not
 * shared (ignored, or this folder's own file in view mode): VS Code edits and saves it as any
 * file, and nothing of it (edits, cursor, save) goes to the daemon.
 */
export type BufferStatus = 'opening' | 'open' | 'offline' | 'failed' | 'local';

interface Applying {
  /** The document version our WorkspaceEdit produces; the change event with it is our echo. */
  version: number;
  /** The shadow once it is applied. */
  shadow: string;
  /** How many of the daemon's `buffer/didChange`s it applies (0: none); each counts towards daemonRevision. */
  remote: number;
  /** What it replaces, to tell its echo from the person's typing that got the same version. */
  replacements: Replacement[];
  /**
   * It goes through an editor (TextEditor.edit), which VS Code refuses when the document changed
   * first: a change event that looks like its echo is its echo only if VS Code then applies it.
   */
  viaEditor: boolean;
}

/** The daemon's changes waiting in a buffer's queue to be applied as one edit (onRemoteChange). */
interface RemoteBatch {
  changes: P.ParamsOf<typeof M.BufferDidChange>[];
  /** Its turn came: changes arriving now start a batch of their own. */
  begun: boolean;
  /** The queue as it stood with this batch last on it. */
  queued: Promise<void> | undefined;
}

/**
 * A change event that looked like the echo of our edit through an editor, while VS Code had not
 * answered that edit yet. The person's key typed at that very place with that very text (a space
 * at the line end both people typed) gets the same version and the same change: only VS Code's
 * answer tells them apart (applied: the echo; refused: the key). Until it comes, the document's
 * changes go on the shadow as usual (it is the same text either way) but are not sent, since
 * their revision depends on it.
 */
interface Unsure {
  /** The edit whose echo it may be. */
  applying: Applying;
  /** The change as the person's typing, on the shadow before it: sent if it was theirs. */
  key: P.TextChange[];
  /** Changes made after it, sent in order once the answer is in. */
  held: P.TextChange[][];
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

/**
 * A shared document VS Code saved as another file (decision 201): keys typed while VS Code
 * switches its tab to the copy still land in it; they are moved to the copy, never shared here.
 */
interface SavedAs {
  /** The copy's buffer. */
  to: SharedBuffer;
  /**
   * The offset in the source where the person's typing goes on: the end of the last change moved
   * (its caret). Undefined once VS Code or this module set the source's text back: the next
   * change typed there is taken to be at the caret.
   */
  at: number | undefined;
  /** Ends the redirection once the source document stays quiet. */
  timer: NodeJS.Timeout;
  /**
   * The edit setting the source's text back that VS Code is applying (by offset, in order): its
   * change is never typing, even when it lands on a key typed after it was made (VS Code can
   * apply an edit after a change it was not made for, decision 133).
   */
  setback: Replacement[] | undefined;
}

/**
 * A Save As's copy taking in the typing VS Code still put in the source (decision 201). A change
 * moved from the source goes to `at`, where the last one ended, placed as it was relative to the
 * source's caret: the source's text is set back after each key, so a diff of the two texts cannot
 * place it (a key typed after that went before the keys already moved).
 */
interface Intake {
  /**
   * The offset in the copy where the next moved change goes: after what was moved, before what
   * the person typed in the copy since (typed later, as the copy's tab was shown).
   */
  at: number;
  /** Moves, applied one at a time in the order typed, once the copy's tab is shown. */
  chain: Promise<void>;
  /** The move VS Code is applying: its change event is not the person's typing in the copy. */
  echo: MoveEcho | undefined;
}

/** A move of typing into a Save As's copy, sent to VS Code as one WorkspaceEdit. */
interface MoveEcho {
  /** What it replaces in the copy, by offset, in order. */
  replacements: Replacement[];
  /** Where the intake place is once it is applied. */
  end: number;
  /** It landed and the intake place and caret moved past it (on its change event or its answer). */
  landed: boolean;
}

/**
 * The document a renamed buffer moved out of, while VS Code still has it (its tab is replaced
 * next, rename.ts): keys typed there since the move are put into the new document, where they
 * were typed, past whatever that document took meanwhile (decision 265). Left alone, they were in
 * no shared document and went when the old tab closed (trial s58a F1: 11 of 14 renames).
 */
interface LeftBehind {
  /** The document it moved into (the buffer's, unless it moved on again). */
  into: vscode.TextDocument;
  /**
   * What `into` took since the move that the old document never saw (the others' changes, keys
   * typed in the new tab), each on the text after the ones before, from the text at the move.
   */
  others: Replacement[];
  /** The key VS Code is putting into `into`, and `others` once it is there. */
  echo: { edit: Replacement; others: Replacement[]; landed: boolean } | undefined;
  /** Keys forwarded one at a time, in the order typed. */
  chain: Promise<void>;
}

/** One change typed in a Save As's source, relative to its caret then (`SavedAs.at`). */
interface Move {
  /** Where it starts, from the caret (negative: before it). */
  rel: number;
  /** How many characters it replaces. */
  length: number;
  text: string;
}

/**
 * How long a shared document's edits are held when VS Code creates a file while it is active,
 * until that file's document opens. Under load (2 cores, other code-server tests beside) VS Code
 * took 2 s from creating a Save As's file to filling it; past the hold the typing went into the
 * source's file and the copy was not known for one.
 */
const SAVE_AS_HOLD_MS = 10_000;
/** How long after the created file's document opens its fill may take (VS Code fills it at once). */
const SAVE_AS_FILL_MS = 2000;
/** How long moves into a Save As's copy wait for its tab to be shown. */
const SAVE_AS_SHOW_MS = 3000;
/** How long a Save As asked for may wait for its file (the person choosing the name). */
const SAVE_AS_DIALOG_MS = 10 * 60_000;
/**
 * How long a rename VS Code makes itself (its explorer's F2) waits for the daemon to tell of it
 * (buffer/didRename, once it has taken the rename in from the folder).
 */
const RENAME_WAIT_MS = 10_000;
/** How long after its last redirected key a Save As's source stops sending typing to the copy. */
const SAVED_AS_QUIET_MS = 5000;
/**
 * How often a key moved to a Save As's copy is applied again when VS Code refuses it: it does when
 * the person typed in the copy first (the edit was made for the text before).
 */
const MOVE_ATTEMPTS = 50;
/**
 * How long a save waits for the daemon to write the shared text (buffer/save) and for the changes
 * it sent before that to reach the document. VS Code gives an extension's save participants
 * 1.5 s and stops asking one that overran three times; past this VS Code writes what it has.
 */
const SAVE_WAIT_MS = 1000;
/** How many more times a save asks the daemon to write when a peer's change came in during its write. */
const SAVE_ATTEMPTS = 2;
/**
 * How long a save first lets the daemon's changes already received (and one it sends again past
 * the person's last keys) go into the document: one edit usually, 15–200 ms; a busy code-server
 * took up to 2 s for one, and the save goes on without the rest then.
 */
const SAVE_CATCH_UP_MS = 400;
/**
 * How long the daemon's changes wait, after a save's participant is done, for VS Code to write the
 * document (its `onDidSaveTextDocument`): a failed save never says so. A busy code-server took up
 * to 2–3 s to write after the participant (decision 273); the daemon holds its writes as long.
 */
const SAVE_PAUSE_MS = 3000;

/** What buffer sync reads of a `TextDocumentContentChangeEvent`. */
type ChangeEventEntry = { rangeOffset: number; rangeLength: number; text: string };

/** One shared document. */
export class SharedBuffer {
  status: BufferStatus = 'opening';
  /** The person was told this document's file is not shared (status `local`): once is enough. */
  toldLocal = false;
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
  /** A change event that is our edit's echo or the person's identical key, until VS Code answers. */
  unsure: Unsure | undefined;
  /** The WorkspaceEdit VS Code has not answered yet, if any (kept across a re-open). */
  outstanding: Outstanding | undefined;
  /** Remote changes are applied in arrival order, a burst that waited at once (onRemoteChange). */
  queue: Promise<void> = Promise.resolve();
  /** The last batch of the daemon's changes put on `queue`; more join it until it begins. */
  incoming: RemoteBatch | undefined;
  /** A change of the daemon's was dropped (the person typed first), and it comes again once the daemon has their keys. */
  resendDue = false;
  /** The batch VS Code is applying now, if any (never rejects). */
  applyingRemote: Promise<void> | undefined;
  /** While a save is under way (BufferSync.willSave): the daemon's changes wait until it resolves. */
  paused: Promise<void> | undefined;
  /** Bumped on every (re-)open: answers to older requests are ignored. */
  epoch = 0;
  dropped = 0;
  /** Renames told and not yet followed into the new path's document. */
  moving = 0;
  /** Its document was closed while it moved: it goes on in the new path's document all the same. */
  detached = false;
  /**
   * Its document's changes are held, not sent: VS Code is about to create a file while it is the
   * active editor, which may be its Save As (decision 201). Sent on release, moved to the copy if so.
   */
  held = false;
  /** Its document opened empty and unmodified: a Save As fills it with the source's text next. */
  fresh = false;
  /**
   * It is a Save As's copy: where the person's caret is in it (after the typing of the Save As,
   * then after their typing in it), and `stale`, where the source's caret was before the Save As
   * dialog: VS Code puts that one back into the copy's tab when it replaces the source's, and
   * typing went on there, before the text typed meanwhile. Until `until` (ms since epoch), a caret
   * moved to `stale` is put back at `at`.
   */
  caret: { at: number; stale: number | undefined; until: number } | undefined;
  /** It was saved as `to`: typing VS Code still puts in this document goes there (decision 201). */
  savedAs: SavedAs | undefined;
  /** It is a Save As's copy: typing VS Code put in the source comes here. */
  intake: Intake | undefined;
  /**
   * Its shared text when the person asked for its Save As (Ctrl+Shift+S, BufferSync.saveAsBegins):
   * what that text goes back to once VS Code has copied it (typing as the dialog closed is the
   * copy's). Forgotten when a remote change arrives (taken back by its text, that would go too).
   */
  retractTo: { text: string; until: number } | undefined;
  /** Its caret (an offset) when a Save As of it began: the one VS Code gives the copy's tab. */
  caretBefore: number | undefined;
  /**
   * VS Code is writing it (a save): the daemon's changes wait until it has; calling this ends the
   * wait (BufferSync.willSave, didSave).
   */
  savePause: (() => void) | undefined;

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

  /**
   * Everything sent has been processed and the daemon's change applied: in step now, at `text`
   * (the shadow then; typing since that was held is not in step yet).
   */
  inStep(text = this.shadow): void {
    this.retractTo = undefined; // a remote change: taking typing back by its text would take that too
    this.base = text;
    this.baseSeq = this.editorRevision;
    this.inflight.clear();
  }

  /** Counters back to 0 after an open answered with `content`. */
  reset(content: string): void {
    this.editorRevision = 0;
    this.daemonRevision = 0;
    this.resendDue = false; // what was dropped before is in the content
    this.baseSeq = 0;
    this.inflight.clear();
    this.retractTo = undefined;
    this.shadow = content;
    this.base = content;
  }
}

export interface BufferSyncOptions {
  /** A message for the person (errors they can act on). */
  warn(message: string): void;
  /** A message for the person that needs nothing of them (a file kept on this machine). */
  info?(message: string): void;
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
  /** A buffer stopped following the session (status 'failed'), or follows it again. */
  onFollowing?(buffer: SharedBuffer): void;
  /** An edit went to the daemon; `answer` settles with its answer (AnswerWatch). */
  onEditSent?(answer: Promise<unknown>): void;
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
  /** The selections the extension itself last gave an editor (`placeSelections`), until VS Code reports them. */
  private placed: { doc: vscode.TextDocument; actives: string[] } | undefined;
  /** Documents (by URI) a renamed buffer is moving into: not shared on their own meanwhile. */
  private readonly arriving = new Set<string>();
  /** Documents (by URI) a buffer moved out of: their file was renamed away, they are not shared again. */
  private readonly movedAway = new Set<string>();
  /** When the person last typed in a shared document (or one a buffer moved out of), ms since epoch. */
  private lastTyped = 0;
  /** Documents (by URI) a buffer moved out of whose keys still go to it (see LeftBehind). */
  private readonly leftBehind = new Map<string, LeftBehind>();
  /** Files (by URI) VS Code is renaming itself (workspace.onWillRenameFiles): their new URI, until when. */
  private readonly renaming = new Map<string, { to: string; until: number }>();
  /**
   * Buffers (by their project path) whose document VS Code closed as it renamed its file itself,
   * until the daemon tells of that rename: no buffer/close went for them (see untrack).
   */
  private readonly renamedHere = new Map<string, { b: SharedBuffer; timer: NodeJS.Timeout }>();
  /** A file VS Code is creating (by URI) while `source` was the active editor: maybe its Save As. */
  private saving: { source: SharedBuffer; target: string; timer: NodeJS.Timeout } | undefined;

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

  /**
   * Chorus: Reconnect was asked for: each document the daemon refused to share (a read-only
   * session refused its typing) opens again with its text as `base` on the new connection, so the
   * daemon merges nothing of it and the document takes the session's text as one edit (undo
   * brings the person's back). Without this it was refused again, and showed nothing of the
   * others' changes for good (a trial; decision 234).
   */
  followAgain(): void {
    for (const b of this.buffers.values()) if (b.status === 'failed') b.base = b.doc.getText();
  }

  /** A connection is up (re-open everything) or gone (buffers stay editable, marked offline). */
  setConnection(rpc: Rpc | undefined): void {
    this.rpc = rpc;
    for (const b of this.buffers.values()) {
      if (rpc) this.open(b);
      else {
        this.setStatus(b, 'offline');
        b.applying = undefined;
      }
    }
  }

  /** VS Code is about to rename or move `files` itself (its explorer, an extension's WorkspaceEdit). */
  willRename(files: readonly { oldUri: vscode.Uri; newUri: vscode.Uri }[]): void {
    const now = Date.now();
    for (const [k, r] of this.renaming) if (r.until < now) this.renaming.delete(k);
    for (const f of files) this.renaming.set(f.oldUri.toString(), { to: f.newUri.toString(), until: now + RENAME_WAIT_MS });
  }

  /** The project path VS Code is renaming `doc`'s file to itself (a folder's rename included), if it is. */
  private renamingTo(doc: vscode.TextDocument): string | undefined {
    const key = doc.uri.toString();
    for (const [from, r] of this.renaming) {
      if (r.until < Date.now() || (key !== from && !key.startsWith(`${from}/`))) continue;
      return projectPathOf(this.root, this.vs.Uri.parse(r.to + key.slice(from.length)));
    }
    return undefined;
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
    // Shared again (a file at the old path once more): its typing is its own, not the renamed file's.
    this.leftBehind.delete(key);
    const b = new SharedBuffer(doc, path);
    b.fresh = doc.getText() === '' && !doc.isDirty;
    const s = this.saving;
    if (s?.target === key) {
      // The created file is open: a Save As fills it next; anything else, the hold ends soon.
      clearTimeout(s.timer);
      s.timer = setTimeout(() => this.release(), SAVE_AS_FILL_MS);
    }
    // A document just read from its file sends base = content: the shared text wins wherever it
    // differs (the file may be older than the shared text). One changed before it was shared
    // sends the file's bytes, so only those unsaved changes are merged.
    b.base = doc.isDirty ? readFile(doc.uri.fsPath) : doc.getText();
    this.buffers.set(doc.uri.toString(), b);
    if (this.rpc) this.open(b);
    else this.setStatus(b, 'offline');
    return b;
  }

  /** The document was closed: stop sharing it. */
  async untrack(doc: vscode.TextDocument): Promise<void> {
    this.movedAway.delete(doc.uri.toString());
    this.leftBehind.delete(doc.uri.toString());
    for (const [k, l] of this.leftBehind) if (l.into === doc) this.leftBehind.delete(k);
    const b = this.get(doc);
    if (!b) return;
    this.buffers.delete(doc.uri.toString());
    if (b.savedAs) clearTimeout(b.savedAs.timer);
    b.savedAs = undefined;
    if (this.saving?.source === b) this.release();
    if (b.moving > 0 && this.pathOf(doc) !== b.path) {
      // Closed while its file's rename is being followed (VS Code's explorer renamed it and
      // replaced the tab itself): the buffer goes on in the new path's document.
      b.detached = true;
      this.opts.log(`${doc.uri.fsPath} closed in VS Code while its buffer moves to ${b.path}`);
      return;
    }
    const to = this.renamingTo(doc);
    if (to !== undefined && b.status === 'open' && !this.renamedHere.has(b.path)) {
      // VS Code renamed its file itself and closes the old document (it may open the new one
      // first). The daemon moves its buffer to the new path when it takes the rename in, and may
      // have done so already, while opening the new path for the new document: a buffer/close of
      // the old path then closed the new path's buffer (old names lead to new ones), and the
      // document under the new name was shared no more (a trial: after a tab had followed a
      // rename, F2 in the explorer; the edits then refused, keys lost). So no buffer/close: the
      // buffer waits for the daemon's buffer/didRename (renamed), and is closed only if none comes.
      const timer = setTimeout(() => {
        if (this.renamedHere.get(b.path)?.b !== b) return;
        this.renamedHere.delete(b.path);
        b.epoch++;
        this.opts.log(`${b.path} was renamed to ${to} in VS Code, and the daemon told of no rename; closing ${b.path}`);
        if (this.rpc && b.status === 'open') void request(this.rpc, M.BufferClose.type, { path: b.path }).catch(() => undefined);
      }, RENAME_WAIT_MS);
      this.renamedHere.set(b.path, { b, timer });
      this.opts.log(`${b.path} closed in VS Code, which renames it to ${to}; its buffer goes there with the daemon`);
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
    this.setStatus(b, 'opening');
    b.applying = undefined;
    b.unsure = undefined; // what it held is in the content sent, merged against `base`
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
        this.setStatus(b, 'failed');
        // A read-only session refused the person's typing: the document keeps it, and follows
        // the session no more until Chorus: Reconnect (`followAgain`; decision 234).
        const stopped = (e as { code?: unknown }).code === M.ErrorCodes.ReadOnly ? ` ${b.path} no longer follows the session here: it keeps your text, and others' changes do not show in it. Saving writes your text to the file here until a writer changes the session's version, which then replaces it there and in this tab (yours is kept in .chorus/kept/). Run Chorus: Reconnect to show the session's text again and follow it (undo then brings your text back).` : '';
        const said = M.visibleBidi(e.message);
        this.opts.warn(`Chorus cannot share ${b.path}: ${said}${stopped && !said.endsWith('.') ? '.' : ''}${stopped}`);
      },
    );
  }

  /** Take the daemon's answer to buffer/open: the document becomes the shared text. */
  private async adopt(b: SharedBuffer, epoch: number, sent: string, r: P.ResultOf<typeof M.BufferOpen>): Promise<void> {
    if (b.epoch !== epoch || this.get(b.doc) !== b) return;
    if (r.shared === false) {
      // An ignored file (a .env, a log): kept on this machine. Said once per document, as the
      // other editors say it (a trial: VS Code said nothing, and sent every keystroke of a .env
      // to be refused, then opened it again).
      b.path = r.path;
      this.setStatus(b, 'local');
      if (!b.toldLocal) this.opts.info?.(`Chorus: ${M.visibleBidi(r.notShared ?? `${r.path} is not shared`)}`);
      b.toldLocal = true;
      return;
    }
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
    if (r.content !== sent && !(await this.applyToDocument(b, replacementsBetween(sent, r.content), r.content, 0))) {
      if (b.epoch !== epoch) return;
      b.mergedAt(sent); // the person typed first: merge that typing into the answer
      this.open(b);
      return;
    }
    if (b.epoch !== epoch) return;
    this.setStatus(b, 'open');
    this.reconcile(b);
  }

  /** Every change of a buffer's status goes here: leaving or entering 'failed' is told (onFollowing). */
  private setStatus(b: SharedBuffer, status: BufferStatus): void {
    const was = b.status;
    b.status = status;
    if ((was === 'failed') !== (status === 'failed')) this.opts.onFollowing?.(b);
  }

  /** Whether `doc` is a shared document that does not follow the session (its typing refused). */
  notFollowing(doc: vscode.TextDocument): boolean {
    return this.get(doc)?.status === 'failed';
  }

  /**
   * VS Code is about to create `files` (workspace.onWillCreateFiles) while `active` is the active
   * editor's document. VS Code's Save As creates the new file empty, opens it and copies the
   * source's text into it, and keys typed meanwhile land in the source: its edits are held until
   * the copy is filled (they are in the copy then, and never go to the source's file) or, for any
   * other new file, until SAVE_AS_FILL_MS after its document opened (SAVE_AS_HOLD_MS at most), then
   * sent (decision 201).
   */
  willCreate(files: readonly vscode.Uri[], active: vscode.TextDocument | undefined): void {
    const source = active && this.get(active);
    const target = files.find((u) => projectPathOf(this.root, u) !== undefined);
    if (!source || source.status !== 'open' || !target) return;
    this.release();
    source.held = true;
    // Without Ctrl+Shift+S (File > Save As) the caret now stands for the one before the dialog.
    if (!source.retractTo) source.caretBefore = this.caretOf(source);
    this.saving = { source, target: target.toString(), timer: setTimeout(() => this.release(), SAVE_AS_HOLD_MS) };
  }

  /**
   * VS Code is about to write shared `doc` (Ctrl+S, Save All, auto save): the daemon writes the
   * shared text first (`buffer/save`, answered once the file holds it, with every edit sent before
   * it), and the changes it sent before answering are applied to the document, so what VS Code
   * then writes is that same text (decision 222). Written by VS Code from a document that lacked
   * a peer's change still on its way here, the file was taken in as a change of it: the peer's
   * change undone, or the person's last typing doubled. Resolves within SAVE_WAIT_MS whatever
   * happens (an older daemon without the method, a failed write, no answer): VS Code then writes
   * its document, as before. Undefined for a document not shared here (VS Code just writes it).
   *
   * From the daemon's write until VS Code's, the file and the document must stay that one text:
   * VS Code refuses to write over a file that changed on disk since it read it unless the file
   * holds exactly its text ("The content of the file is newer", with Overwrite; decision 255).
   * So from the save on, the daemon's changes wait in the buffer's queue until VS Code has
   * written (`didSave`, or SAVE_PAUSE_MS); the daemon writes the text the document has, given
   * by the daemon's changes it has applied (`revision`, decision 273), not the shared text, and
   * holds its own writes of the file meanwhile (`hold`); and it is told the hash of the text
   * VS Code writes (`writes`), which it then never takes in as a change. Waiting instead for
   * the document to take every change the daemon wrote took most of a second while a peer
   * typed, and VS Code wrote over the file meanwhile (trial s60 F1: 6 of 10 saves).
   */
  willSave(doc: vscode.TextDocument): Promise<void> | undefined {
    const b = this.get(doc);
    const rpc = this.rpc;
    // A Save As in progress has its own route (decision 201); an offline buffer is VS Code's to write.
    if (!b || !rpc || b.status !== 'open' || b.held || b.savedAs) return undefined;
    /** How far the save got: which wait ran out, if one does, says where the time went. */
    let stage: 'applying' | 'asked' | 'answered' = 'applying';
    let over = false;
    /** The daemon is told the text VS Code writes next, if all of it is the daemon's or went out as edits. */
    const declare = (): void => {
      writing();
      const text = doc.getText();
      if (text !== b.shadow || b.unsure || b.status !== 'open') return;
      const writes = createHash('sha256').update(text, 'utf8').digest('hex');
      void request(rpc, M.BufferSave.type, { path: b.path, writes }).catch(() => undefined);
    };
    /** Has the daemon write the document's text as it is now (it has every edit sent before). */
    const write = () => request(rpc, M.BufferSave.type, { path: b.path, hold: true, revision: b.daemonRevision });
    let writing = (): void => undefined;
    const written = (async () => {
      // The daemon's changes already here go in first (one edit, SAVE_CATCH_UP_MS at most), and
      // one dropped because the person typed first, which comes again once the daemon has their
      // keys (the revision rule; decision 222's case), so that what VS Code writes is as new as it
      // can be; then they wait, and one VS Code is applying still lands: the document is then
      // what VS Code writes.
      b.savePause?.();
      const until = Date.now() + SAVE_CATCH_UP_MS;
      const caughtUp = () => Promise.race([b.queue, new Promise((r) => setTimeout(r, Math.max(0, until - Date.now())))]);
      await caughtUp();
      while (b.resendDue && !over && Date.now() < until) {
        await new Promise((r) => setTimeout(r, 10));
        await caughtUp();
      }
      writing = this.pauseRemote(b);
      await b.applyingRemote;
      if (over) return;
      for (let attempt = 0; ; attempt++) {
        stage = 'asked';
        await write();
        stage = 'answered';
        if (over) return;
        const onDisk = readFile(doc.uri.fsPath);
        if (onDisk === undefined || onDisk === doc.getText() || attempt >= SAVE_ATTEMPTS) break;
        // The person typed while the daemon wrote: asked again, with that typing.
      }
      declare();
    })().catch((e: unknown) => this.opts.log(`${b.path}: the daemon did not write it before VS Code's save (${messageOf(e)}); VS Code writes its text`));
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<void>((resolve) => {
      timer = setTimeout(() => {
        over = true;
        // VS Code writes its text now, as it is: said, so that a text lacking a peer's latest
        // keys deletes none of them.
        declare();
        // Which wait ran out says where the time went (a trial read the daemon's answers in 4–47
        // ms while this said the daemon had not answered: the document was still taking a burst).
        const why = {
          applying: `VS Code was still applying a change from the daemon after ${SAVE_WAIT_MS} ms`,
          asked: `no answer to buffer/save within ${SAVE_WAIT_MS} ms`,
          answered: `the daemon wrote it, but the document went on changing for ${SAVE_WAIT_MS} ms`,
        }[stage];
        this.opts.log(`${b.path}: ${why}; VS Code writes its text`);
        resolve();
      }, SAVE_WAIT_MS);
    });
    return Promise.race([written, late]).finally(() => clearTimeout(timer));
  }

  /**
   * Hold the daemon's changes to `b` from now on (they wait in its queue; one VS Code is applying
   * now lands) until VS Code has written its document (`didSave`) or SAVE_PAUSE_MS pass, and
   * end a save's hold before. Returns what starts the bound again: VS Code writes once the
   * extension's part is done, which can itself take most of a second.
   */
  private pauseRemote(b: SharedBuffer): () => void {
    b.savePause?.();
    const release = (): void => {
      clearTimeout(timer);
      if (b.savePause === release) {
        b.savePause = undefined;
        b.paused = undefined;
      }
      resolve();
    };
    let resolve!: () => void;
    b.paused = new Promise<void>((r) => (resolve = r));
    let timer = setTimeout(release, SAVE_PAUSE_MS);
    b.savePause = release;
    return () => {
      if (b.savePause !== release) return;
      clearTimeout(timer);
      timer = setTimeout(release, SAVE_PAUSE_MS);
    };
  }

  /** VS Code wrote shared `doc` (a save): the daemon's changes held meanwhile (`willSave`) go on. */
  didSave(doc: vscode.TextDocument): void {
    this.get(doc)?.savePause?.();
  }

  /**
   * The person asked for the Save As of `doc` (Ctrl+Shift+S in a shared editor, which then runs
   * VS Code's own Save As): its shared text now is what it keeps if the Save As happens.
   */
  saveAsBegins(doc: vscode.TextDocument | undefined): void {
    const b = doc && this.get(doc);
    if (b?.status !== 'open') return;
    b.retractTo = { text: b.shadow, until: Date.now() + SAVE_AS_DIALOG_MS };
    b.caretBefore = this.caretOf(b);
  }

  /** No Save As came of the file being created: the held edits go out. */
  private release(): void {
    const s = this.saving;
    if (!s) return;
    this.saving = undefined;
    clearTimeout(s.timer);
    s.source.held = false;
    s.source.retractTo = undefined;
    this.reconcile(s.source);
  }

  /** One WorkspaceEdit of `doc` making `replacements` (by offset on its text now, in order). */
  private editOf(doc: vscode.TextDocument, replacements: readonly Replacement[]): vscode.WorkspaceEdit {
    const edit = new this.vs.WorkspaceEdit();
    for (const r of replacements) edit.replace(doc.uri, new this.vs.Range(doc.positionAt(r.from), doc.positionAt(r.to)), r.text);
    return edit;
  }

  /**
   * `b`, opened empty, got its first text from VS Code (no reason given). When that text is the
   * document being saved as b's file, this is its Save As: the source's held typing is in the copy
   * and is dropped from the source, typing VS Code still puts there moves to the copy, and the
   * copy is shared once VS Code has saved it (the daemon takes the file in itself: sent as an
   * edit too, it would be in the file twice). Returns whether it was.
   */
  private filled(b: SharedBuffer, e: vscode.TextDocumentChangeEvent): boolean {
    const s = this.saving;
    const text = e.document.getText();
    if (!s || s.target !== b.doc.uri.toString() || e.reason !== undefined || text === '' || s.source.doc.getText() !== text) return false;
    clearTimeout(s.timer);
    this.saving = undefined;
    const x = s.source;
    x.held = false;
    const mark = x.retractTo && x.retractTo.until > Date.now() ? x.retractTo.text : undefined;
    if (mark !== undefined && mark !== x.shadow && x.status === 'open') {
      // Typed as the dialog closed, before VS Code began: in the copy now (VS Code copied it, and
      // reverts the source), so taken back from the source's file.
      const before = x.shadow;
      x.shadow = mark;
      this.opts.log(`${x.path}: typing made as its Save As began goes to the copy only; taken back here`);
      this.send(x, changesBetween(before, x.shadow));
    }
    x.retractTo = undefined;
    const editor = this.editorOf(x);
    const caret = this.caretOf(x) ?? text.length;
    x.savedAs = { to: b, at: caret, timer: this.quiet(x), setback: undefined };
    b.caret = { at: caret, stale: x.caretBefore, until: Date.now() + SAVED_AS_QUIET_MS };
    let shown: Promise<unknown> = Promise.resolve();
    if (editor && this.vs.window.activeTextEditor === editor) {
      // The copy's tab now, with the caret where the person is: VS Code replaces the source's tab
      // only after saving the copy and reverting the source, and keys typed until then land in the
      // source (typed after the revert, they made it modified, and VS Code asked whether to save).
      const at = b.doc.positionAt(caret);
      shown = Promise.resolve(this.vs.window.showTextDocument(b.doc, { viewColumn: editor.viewColumn, preserveFocus: false, preview: false, selection: new this.vs.Range(at, at) })).catch((err: unknown) =>
        this.opts.log(`showing ${b.path}: ${messageOf(err)}`),
      );
    }
    // Keys moved before the tab shows would be before the caret it is shown with, and the person's
    // next keys before them; moved after, they go where the caret is and it moves past them.
    b.intake = { at: caret, chain: Promise.race([shown, new Promise((r) => setTimeout(r, SAVE_AS_SHOW_MS))]).then(() => undefined), echo: undefined };
    this.opts.log(`${x.path} was saved as ${b.path}; typing in it goes to ${b.path} while VS Code switches the tab`);
    b.epoch++;
    this.setStatus(b, 'opening');
    b.queue = b.queue
      .then(async () => {
        // What VS Code saved into it: the copied text, or with keys typed in the copy before the
        // save. The daemon takes that in from the folder; what the document has since is merged.
        const saved = (await written(b.doc.uri.fsPath, 5000)) ?? text;
        if (this.get(b.doc) !== b) return;
        b.mergedAt(saved);
        this.open(b);
      })
      .catch((err: unknown) => this.opts.log(`sharing ${b.path}: ${messageOf(err)}`));
    return true;
  }

  /** The visible editor showing `b`'s document, if any. */
  private editorOf(b: SharedBuffer): vscode.TextEditor | undefined {
    return this.vs.window.visibleTextEditors.find((ed) => ed.document === b.doc);
  }

  /** The caret's offset in `b`'s document, if an editor shows it. */
  private caretOf(b: SharedBuffer): number | undefined {
    const editor = this.editorOf(b);
    return editor ? b.doc.offsetAt(editor.selection.active) : undefined;
  }

  /** The timer that ends `x`'s redirection to its copy once it is quiet. */
  private quiet(x: SharedBuffer): NodeJS.Timeout {
    return setTimeout(() => {
      x.savedAs = undefined;
      if (this.get(x.doc) !== x || x.doc.getText() === x.shadow) return;
      // Still open, with typing that went to the copy: it gets back what it had.
      x.queue = x.queue.then(() => this.applyToDocument(x, replacementsBetween(x.doc.getText(), x.shadow), x.shadow, 0).then(() => undefined)).catch((err: unknown) => this.opts.log(`${x.path}: ${messageOf(err)}`));
    }, SAVED_AS_QUIET_MS);
  }

  /** A change in the source of a Save As: moved to the copy, at the place it has there. */
  private moveToCopy(x: SharedBuffer, s: SavedAs, e: vscode.TextDocumentChangeEvent): void {
    clearTimeout(s.timer);
    s.timer = this.quiet(x);
    const now = e.document.getText();
    if (s.setback && isEcho(e.contentChanges, s.setback)) {
      // Our own setting back, landed on a key typed after it was made (under load): taken for
      // typing, it was moved to the copy as a deletion of keys moved there before ("hello\nACD…",
      // B lost). The key stays here until the next setting back (queued by its own change).
      this.opts.log(`${x.path}: its text set back after a key typed in it; the key is in ${s.to.path} already`);
      if (now === x.shadow) s.at = undefined;
      else if (s.at !== undefined) s.at = shifted(s.at, s.setback);
      return;
    }
    // VS Code reverting the source to its file after the Save As, or this module putting its
    // shared text back (below): nothing typed. Where the caret is then, the next key says. A
    // change leaving the document modified is typing, even if its text is the file's: the
    // source's own saving (below) may have written a key typed during it.
    if (now === x.shadow || (!e.document.isDirty && readFile(e.document.uri.fsPath) === now)) {
      s.at = undefined;
      return;
    }
    this.opts.log(`${x.path}: typing after its Save As moves to ${s.to.path}`);
    // VS Code lists a change's replacements from the end backwards, each on the text before it.
    const changes = [...e.contentChanges].sort((p, q) => p.rangeOffset - q.rangeOffset);
    const caret = s.at ?? changes[0]!.rangeOffset;
    let grown = 0;
    for (const c of changes.slice(0, -1)) grown += c.text.length - c.rangeLength;
    const last = changes[changes.length - 1]!;
    s.at = last.rangeOffset + grown + last.text.length;
    this.take(
      s.to,
      changes.map((c) => ({ rel: c.rangeOffset - caret, length: c.rangeLength, text: c.text })),
      s.at - caret,
    );
    // The source gets its shared text back, saved: VS Code asks whether to save a modified
    // document whose tab it replaces, and saving it would write the typing into its file.
    x.queue = x.queue
      .then(async () => {
        if (this.get(x.doc) !== x || x.doc.getText() === x.shadow) return;
        const setback = replacementsBetween(x.doc.getText(), x.shadow);
        const edit = this.editOf(x.doc, setback);
        s.setback = setback;
        let ok: boolean;
        try {
          ok = await this.vs.workspace.applyEdit(edit);
        } finally {
          if (s.setback === setback) s.setback = undefined;
        }
        if (ok && x.doc.getText() === x.shadow) await x.doc.save();
      })
      .catch((err: unknown) => this.opts.log(`${x.path}: ${messageOf(err)}`));
  }

  /**
   * Put a change moved from a Save As's source into its copy `t`, at the copy's intake place
   * (`moves` relative to it, `advance` how far the place moves past it). VS Code refuses the edit
   * when the person typed in the copy first, so it is made again on the text then, until it lands:
   * dropped, the key was lost (3 of 6 code-server runs under load, a key typed every 150 ms).
   */
  private take(t: SharedBuffer, moves: readonly Move[], advance: number): void {
    const intake = t.intake;
    if (!intake) return;
    intake.chain = intake.chain
      .then(async () => {
        for (let attempt = 1; ; attempt++) {
          if (this.get(t.doc) !== t || t.intake !== intake) {
            this.opts.warn(`Chorus could not put ${JSON.stringify(moves.map((m) => m.text).join(''))}, typed during the Save As, into ${t.path}: it was closed first. Open it and type that again.`);
            return;
          }
          const doc = t.doc;
          const length = doc.getText().length;
          const at = intake.at;
          const clamp = (n: number) => Math.max(0, Math.min(length, n));
          const replacements = moves.map((m) => ({ from: clamp(at + m.rel), to: clamp(at + m.rel + m.length), text: m.text }));
          const edit = this.editOf(doc, replacements);
          const echo: MoveEcho = { replacements, end: Math.max(0, at + advance), landed: false };
          intake.echo = echo;
          const ok = await this.vs.workspace.applyEdit(edit);
          // Its change event comes before the answer: the place moved with it. Else it moves now,
          // and the event, when it comes, is still known as this move's.
          if (ok) return this.moved(t, intake, echo);
          if (intake.echo === echo) intake.echo = undefined;
          if (attempt === MOVE_ATTEMPTS) {
            this.opts.warn(`Chorus could not put ${JSON.stringify(moves.map((m) => m.text).join(''))}, typed during the Save As, into ${t.path}: VS Code turned it down ${MOVE_ATTEMPTS} times. Type that again there.`);
            return;
          }
          this.opts.log(`${t.path}: typing in it came before a key moved from the Save As's source; putting that key in again`);
        }
      })
      .catch((err: unknown) => this.opts.log(`moving typing to ${t.path}: ${messageOf(err)}`));
  }

  /**
   * A change in a Save As's copy `t`: one of its own moves landing (`intake.echo`), or the person
   * typing in it. Either way the intake place and the person's caret follow.
   */
  private intakeChanged(t: SharedBuffer, intake: Intake, e: vscode.TextDocumentChangeEvent, remote: boolean): void {
    const echo = intake.echo;
    // By its replacements, not only its version: VS Code may apply it after a key typed in the
    // copy (decision 133), and taken for typing it moved the person's caret bookkeeping twice.
    if (echo && isEcho(e.contentChanges, echo.replacements)) {
      intake.echo = undefined;
      this.moved(t, intake, echo);
      return;
    }
    // Typed in the copy, so after what was moved (the tab was shown): the place moves only with
    // text before it.
    for (const c of [...e.contentChanges].sort((p, q) => q.rangeOffset - p.rangeOffset)) {
      if (c.rangeOffset >= intake.at) continue;
      intake.at = c.rangeOffset + c.rangeLength <= intake.at ? intake.at + c.text.length - c.rangeLength : c.rangeOffset + c.text.length;
    }
    const typed = e.contentChanges.length === 1 ? e.contentChanges[0] : undefined;
    // Typed in: the caret is after it.
    if (t.caret && !remote) t.caret.at = typed ? typed.rangeOffset + typed.text.length : e.document.getText().length;
  }

  /** A move into a Save As's copy landed: the intake place, and the caret if it was there, go past it. */
  private moved(t: SharedBuffer, intake: Intake, echo: MoveEcho): void {
    if (echo.landed) return;
    echo.landed = true;
    intake.at = echo.end;
    const c = t.caret;
    if (!c) return;
    // The person's caret was where the moved text went (the copy's tab was shown there, and
    // nothing was typed in it since): it goes past it, as if typed there. Further on (typed in
    // the copy since, later), VS Code moves it along itself.
    const from = echo.replacements[echo.replacements.length - 1]!.from;
    const delta = echo.replacements.reduce((n, r) => n + r.text.length - (r.to - r.from), 0);
    if (c.at === from) {
      c.at = echo.end;
      this.placeCaret(t);
    } else if (c.at > from) c.at += delta;
  }

  private placeCaret(t: SharedBuffer): void {
    const c = t.caret;
    const editor = this.editorOf(t);
    if (!c || c.until < Date.now() || !editor || (editor.selection.isEmpty && t.doc.offsetAt(editor.selection.active) === c.at)) return;
    this.opts.log(`${t.path}: caret to ${c.at}, after the typing of its Save As`);
    const at = t.doc.positionAt(Math.min(c.at, t.doc.getText().length));
    this.placeSelections(editor, [new this.vs.Selection(at, at)]);
  }

  /** A `workspace.onDidChangeTextDocument` event. */
  onDidChange(e: vscode.TextDocumentChangeEvent): void {
    if (e.contentChanges.length > 0 && this.leftBehind.size > 0) {
      for (const l of this.leftBehind.values()) if (l.into === e.document) this.intoChanged(l, e);
      const left = this.leftBehind.get(e.document.uri.toString());
      if (left) this.forward(left, e);
    }
    const b = this.get(e.document);
    if (!b || e.contentChanges.length === 0) return;
    const a = b.applying;
    const o = b.outstanding;
    const echo = a !== undefined && e.document.version === a.version && isEcho(e.contentChanges, a.replacements);
    if (b.intake) this.intakeChanged(b, b.intake, e, echo);
    if (o && echo) o.echoed = true;
    else if (o) {
      o.others++;
      o.beforeLast = o.textNow;
      o.textNow = e.document.getText();
    }
    if (echo && a.viaEditor) {
      // Our edit through an editor, or the person's key at its place with its text: the same
      // text either way, so the shadow takes it now; VS Code's answer says which (settle).
      b.applying = undefined;
      b.unsure = { applying: a, key: fromReported(b.shadow, e.contentChanges).changes, held: [] };

      b.shadow = a.shadow;
      this.reconcile(b);
      return;
    }
    if (echo) {
      // Our own WorkspaceEdit coming back: already counted, never sent.
      b.applying = undefined;
      b.shadow = a.shadow;
      if (a.remote) {
        b.daemonRevision += a.remote;
        b.inStep();
      }
      this.reconcile(b);
      return;
    }
    if (b.fresh) {
      b.fresh = false;
      if (this.filled(b, e)) return;
    }
    if (b.savedAs) return this.moveToCopy(b, b.savedAs, e);
    if (b.held) return; // sent on release, or in the copy
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
    this.typed(b, changes);
    this.opts.onLocalEdit?.(b);
  }

  /** The person typed `changes` in `b`: the caret is at their end (one change), and selectionMoved compares with it. */
  private typed(b: SharedBuffer, changes: readonly P.TextChange[]): void {
    this.lastTyped = Date.now();
    const c = changes.length === 1 ? changes[0] : undefined;
    this.lastEdit = c ? { buffer: b, end: endOf(c), at: Date.now() } : undefined;
  }

  /**
   * The selection moved. Typing moves it too, to where the edit ended; anywhere else (a click,
   * an arrow key, a second cursor) means the next edit starts a new undo step, as in VS Code.
   */
  selectionMoved(doc: vscode.TextDocument, selections: readonly { active: P.Position; isEmpty: boolean }[], kind: vscode.TextEditorSelectionChangeKind | undefined): void {
    const last = this.lastEdit;
    const only = selections.length === 1 ? selections[0] : undefined;
    const b = this.get(doc);
    if (b?.caret && b.caret.until >= Date.now() && only?.isEmpty && b.caret.stale !== undefined && b.caret.stale !== b.caret.at && doc.offsetAt(new this.vs.Position(only.active.line, only.active.character)) === b.caret.stale) {
      this.placeCaret(b); // VS Code's stale caret for a Save As's copy (see SharedBuffer.caret)
      return;
    }
    // Not the person's move: VS Code reports no kind when the caret moved with the text (a peer's
    // insertion before it), and the extension placed these selections itself (a peer's insertion
    // at the caret, kept after it). The person is still where they typed: typing on stays one
    // undo step (a trial: one Ctrl+Z left part of a word typed while two others typed at that
    // line's end, 2 of 3).
    const placed = this.placed;
    const ours = placed !== undefined && placed.doc === doc && placed.actives.join() === selections.map((s) => `${s.active.line}:${s.active.character}`).join();
    if (ours) this.placed = undefined;
    if (kind === undefined || ours) {
      if (last && last.buffer === b && only?.isEmpty) last.end = { line: only.active.line, character: only.active.character };
      return;
    }
    // The caret after a change VS Code has not yet said was ours or the person's key (settle):
    // the person's typing, or our text at the caret, neither a jump (a trial: a space typed
    // so stayed after one Ctrl+Z).
    const unsureKey = b?.unsure?.key.length === 1 ? b.unsure.key[0] : undefined;
    const key = unsureKey && endOf(unsureKey);
    if (key && only?.isEmpty && only.active.line === key.line && only.active.character === key.character) return;
    if (last && last.buffer === b && only?.isEmpty && only.active.line === last.end.line && only.active.character === last.end.character) return;
    this.undoStop = true;
  }

  /** Give `editor` these selections, and know them for ours when VS Code reports them (selectionMoved). */
  private placeSelections(editor: vscode.TextEditor, selections: vscode.Selection[]): void {
    this.placed = { doc: editor.document, actives: selections.map((s) => `${s.active.line}:${s.active.character}`) };
    editor.selections = selections;
  }

  /** Send changes made on the shadow (already applied to it). */
  private send(b: SharedBuffer, changes: P.TextChange[]): void {
    const rpc = this.rpc;
    if (!rpc || changes.length === 0) return;
    if (b.unsure) {
      // Its revision depends on VS Code's answer to the edit it follows (settle sends it).
      b.unsure.held.push(changes);
      return;
    }
    const id = `${this.editPrefix}${++this.editCount}`;
    const params: P.ParamsOf<typeof M.BufferEdit> = { path: b.path, revision: b.daemonRevision, changes, id };
    // A pause of a second also ends a step (the daemon's own rule for editors without marks), and
    // so does typing in another document.
    if (this.undoStop || !this.lastEdit || this.lastEdit.buffer !== b || Date.now() - this.lastEdit.at > 1000) params.undoStop = true;
    this.undoStop = false;
    const seq = b.sent(id);
    const epoch = b.epoch;
    const answer = request(rpc, M.BufferEdit.type, params);
    this.opts.onEditSent?.(answer);
    answer.then(
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
    // Changes that arrive while the one before is still being applied (a WorkspaceEdit takes
    // VS Code 50–700 ms while the person types: trial s60 F1) wait together and go in as one
    // edit, so the document catches up in one round trip instead of one per peer's key. One
    // arriving after something else was queued (a save's pause, an open's answer) waits for it.
    const waiting = b.incoming;
    if (waiting && !waiting.begun && b.queue === waiting.queued) {
      waiting.changes.push(params);
      return;
    }
    const batch: RemoteBatch = { changes: [params], begun: false, queued: undefined };
    b.incoming = batch;
    b.queue = batch.queued = b.queue
      .then(async () => {
        // A save holds them until VS Code has written its document (willSave).
        while (b.paused) await b.paused;
        batch.begun = true;
        const applying = this.applyRemote(b, batch.changes).catch((e: unknown) => this.opts.log(`applying a change to ${b.path}: ${messageOf(e)}`));
        b.applyingRemote = applying;
        await applying;
        if (b.applyingRemote === applying) b.applyingRemote = undefined;
      });
  }

  /**
   * A `buffer/didRename`: the file of a buffer open here was renamed or moved. The daemon keeps
   * the buffer open under the new path with the same counters, so from now on its edits name the
   * new path (the old one is still taken for edits already out). The document follows in the
   * buffer's queue: VS Code's document of the new path takes this one's text, unsaved typing and
   * all, and the buffer continues in it (decision 040). A file not open here is not ours to follow.
   */
  renamed(from: string, to: string): void {
    const here = this.renamedHere.get(from);
    if (here) {
      // VS Code renamed it itself and closed its document (untrack): the new path's document, if
      // open, is shared under `to` already. An open buffer there is opened again: the daemon's
      // counters for `to` are the old buffer's now, when it moved it after answering that open.
      this.renamedHere.delete(from);
      clearTimeout(here.timer);
      here.b.epoch++;
      const there = this.byPath(to);
      if (there?.status === 'open') this.open(there);
      this.opts.log(`${from} was renamed to ${to} in VS Code, which moved its document itself; going on there`);
      return;
    }
    const b = this.byPath(from);
    if (!b) return;
    const there = this.byPath(to);
    // VS Code's own rename: its new document goes on, even if typed in since (its text differs).
    if (there && there !== b && (there.doc.getText() === b.doc.getText() || this.renamingTo(b.doc) === to)) {
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
        await this.vs.workspace.applyEdit(this.editOf(doc, replacementsBetween(doc.getText(), old.getText())));
      }
      if (doc.getText() !== old.getText()) throw new Error(`${to} kept changing`);
      if (!ours()) return;
      // From here on the buffer is this document's: same text, shadow and counters.
      if (this.buffers.get(oldKey) === b) this.buffers.delete(oldKey);
      b.doc = doc;
      this.buffers.set(key, b);
      this.movedAway.add(oldKey);
      // Its tab is still open, and the person may be typing in it until rename.ts replaces it.
      if (!old.isClosed) this.leftBehind.set(oldKey, { into: doc, others: [], echo: undefined, chain: Promise.resolve() });
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

  /** Whether the person typed in a shared document within the last `ms`. */
  typedWithin(ms: number): boolean {
    return Date.now() - this.lastTyped < ms;
  }

  /**
   * Once every key typed so far in `from`, a document a buffer moved out of, is in the new one:
   * where an offset of `from` (its caret) is in the new document now. The identity when nothing
   * typed in `from` goes anywhere (its tab is gone, or it was never left behind).
   */
  async settled(from: vscode.TextDocument): Promise<(offset: number) => number> {
    const left = this.leftBehind.get(from.uri.toString());
    if (!left) return (offset) => offset;
    // Keys typed while waiting join the chain: wait for those too.
    for (let chain = left.chain; ; chain = left.chain) {
      await chain;
      if (chain === left.chain) break;
    }
    const others = [...left.others];
    return (offset) => others.reduce((p, o) => mapOffset(p, o, true), offset);
  }

  /** A change in a document a buffer moved out of (`l`): the person's keys go to the new one. */
  private forward(l: LeftBehind, e: vscode.TextDocumentChangeEvent): void {
    // Unmodified after it: VS Code reverting it as its tab closes (rename.ts), or reloading it.
    if (!e.document.isDirty) return;
    // VS Code lists an event's changes from the end backwards, each on the text before it, so
    // each applies as well to the result of the ones before.
    const typed = [...e.contentChanges].sort((p, q) => q.rangeOffset - p.rangeOffset).map((c) => ({ from: c.rangeOffset, to: c.rangeOffset + c.rangeLength, text: c.text }));
    this.lastTyped = Date.now();
    const name = projectPathOf(this.root, e.document.uri) ?? e.document.uri.fsPath;
    this.opts.log(`${name}: typed after its buffer moved to ${this.pathOf(l.into) ?? l.into.uri.fsPath}; putting it there`);
    l.chain = l.chain
      .then(async () => {
        for (const t of typed) {
          for (let attempt = 1; ; attempt++) {
            if (l.into.isClosed) {
              this.opts.warn(`Chorus could not put ${JSON.stringify(t.text)}, typed in ${name} after it was renamed, into the renamed file: it was closed first. Type that again there.`);
              return;
            }
            const r = rebase([t], l.others);
            const echo = { edit: r.typed[0]!, others: r.others, landed: false };
            l.echo = echo;
            const ok = await this.vs.workspace.applyEdit(this.editOf(l.into, [echo.edit]));
            // Its change event comes before the answer, and took `others` on (intoChanged).
            if (ok) {
              if (!echo.landed) {
                echo.landed = true;
                l.others = echo.others;
              }
              this.caretPast(l.into, echo.edit);
              break;
            }
            if (l.echo === echo) l.echo = undefined;
            if (attempt === MOVE_ATTEMPTS) {
              this.opts.warn(`Chorus could not put ${JSON.stringify(t.text)}, typed in ${name} after it was renamed, into the renamed file: VS Code turned it down ${MOVE_ATTEMPTS} times. Type that again there.`);
              return;
            }
          }
        }
      })
      .catch((err: unknown) => this.opts.log(`forwarding typing from ${name}: ${messageOf(err)}`));
  }

  /** A change in the document `l` forwards into: a forwarded key landing, or anything else it took. */
  private intoChanged(l: LeftBehind, e: vscode.TextDocumentChangeEvent): void {
    const echo = l.echo;
    if (echo && isEcho(e.contentChanges, [echo.edit])) {
      l.echo = undefined;
      if (!echo.landed) {
        echo.landed = true;
        l.others = echo.others;
      }
      return;
    }
    for (const c of [...e.contentChanges].sort((p, q) => q.rangeOffset - p.rangeOffset)) l.others.push({ from: c.rangeOffset, to: c.rangeOffset + c.rangeLength, text: c.text });
  }

  /** A forwarded key landed at the caret of an editor of `doc` (the new tab, shown): the caret goes past it, as if typed there. */
  private caretPast(doc: vscode.TextDocument, r: Replacement): void {
    const editor = this.vs.window.visibleTextEditors.find((ed) => ed.document === doc);
    if (!editor || editor.selections.length !== 1 || !editor.selection.isEmpty || doc.offsetAt(editor.selection.active) !== r.from) return;
    const at = doc.positionAt(r.from + r.text.length);
    this.placeSelections(editor, [new this.vs.Selection(at, at)]);
  }

  /** The daemon's changes `all` (in the order sent), as one edit of the document. */
  private async applyRemote(b: SharedBuffer, all: readonly P.ParamsOf<typeof M.BufferDidChange>[]): Promise<void> {
    if (b.status !== 'open') return;
    // Made before the daemon had the person's latest edit: it sends them again past that edit.
    // (Revisions only grow, so the fresh ones are the last.)
    const fresh = all.filter((p) => p.revision === b.editorRevision);
    b.dropped += all.length - fresh.length;
    if (fresh.length === 0) {
      b.resendDue = true;
      return;
    }
    b.resendDue = false;
    const revision = fresh[0]!.revision;
    let result: { text: string; replacements: Replacement[] };
    try {
      result = applyChangeLists(b.shadow, fresh.map((p) => p.changes));
    } catch (e) {
      this.opts.log(`a change to ${b.path} does not fit (${messageOf(e)}); re-opening`);
      this.open(b);
      return;
    }
    const applied = await this.applyToDocument(b, result.replacements, result.text, fresh.length);
    if (!applied && b.status === 'open' && b.editorRevision === revision) {
      // Not stale, yet VS Code refused the edit (the document is read-only or being closed).
      this.open(b);
    }
  }

  /**
   * Apply replacements (made on the shadow, which equals the document) as one WorkspaceEdit.
   * Resolves false when VS Code refused it: it does when the document changed since (the person
   * typed first); that typing has gone out, so a remote change is stale and dropped.
   */
  private async applyToDocument(b: SharedBuffer, replacements: Replacement[], shadowAfter: string, remote: number): Promise<boolean> {
    const doc = b.doc;
    if (replacements.length === 0) {
      b.shadow = shadowAfter;
      if (remote) {
        b.daemonRevision += remote;
        b.inStep();
      }
      return true;
    }
    const edit = this.editOf(doc, replacements);
    const version = doc.version;
    const applying: Applying = { version: version + 1, shadow: shadowAfter, remote, replacements, viaEditor: false };
    b.applying = applying;
    const outstanding: Outstanding = { echoed: false, others: 0 };
    b.outstanding = outstanding;
    let ok: boolean | undefined;
    try {
      // An editor closed under the edit rejects it: the document may still be open, so as before.
      const viaEditor = this.editInEditor(b, replacements);
      applying.viaEditor = viaEditor !== undefined;
      ok = await (viaEditor ? viaEditor.then((applied) => applied, () => this.vs.workspace.applyEdit(edit)) : this.vs.workspace.applyEdit(edit));
    } finally {
      if (b.outstanding === outstanding) b.outstanding = undefined;
      if (ok === undefined && b.unsure?.applying === applying) {
        // No answer from VS Code (it threw): which the change was cannot be told, and what was
        // typed after it is held. A re-open sends the document's text against the last text in
        // step, so the daemon merges every key held, whichever it was.
        b.unsure = undefined;
        this.open(b);
      }
    }
    if (b.unsure?.applying === applying) this.settle(b, b.unsure, ok);
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
          b.daemonRevision += remote;
          b.inStep();
        }
        this.reconcile(b);
      }
    }
    return ok;
  }

  /**
   * VS Code answered the edit whose echo `u`'s change event looked like: applied, it was the echo
   * (the daemon's change counts, in step at the text it made); refused, it was the person's key,
   * which goes out first, and the daemon sends its change again past it (the revision rule). Then
   * what was typed after it goes out, in order.
   */
  private settle(b: SharedBuffer, u: Unsure, applied: boolean): void {
    b.unsure = undefined;
    if (applied) {
      if (u.applying.remote) {
        b.daemonRevision += u.applying.remote;
        b.inStep(u.applying.shadow);
      }
    } else {
      this.opts.log(`${b.path}: a key typed where a change from the daemon was going, with its very text, came first; sending it`);
      this.send(b, u.key);
      // The caret is after it, unless keys typed since (held) moved it on.
      if (u.held.length === 0) this.typed(b, u.key);
      this.opts.onLocalEdit?.(b);
    }
    for (const changes of u.held) this.send(b, changes);
  }

  /**
   * Apply `replacements` (offsets in `b`'s document's text as the extension knows it) through an
   * editor that shows the document: VS Code refuses such an edit (resolves false) when the document changed
   * since, because TextEditor.edit carries the document's version, which a WorkspaceEdit does not.
   * A WorkspaceEdit landed after the person's next key, at offsets meant for the text before it,
   * was then sent back as the person's typing, and its taking back could be refused: lines
   * doubled or garbled on every peer (a trial, 11 of 21 runs with both people typing; decision
   * 225). Refused, the change is dropped, and the daemon sends it again past the person's key (the
   * revision rule). Undefined when no editor shows it: nobody types in it, and the caller uses
   * a WorkspaceEdit. Each such change is a step of its own in VS Code's own undo, as a
   * WorkspaceEdit's was.
   */
  private editInEditor(b: SharedBuffer, replacements: readonly Replacement[]): Thenable<boolean> | undefined {
    const editor = this.editorOf(b);
    if (!editor) return undefined;
    // A caret (or a selection's end) where others' text is inserted stays before it (caretAfter).
    const version = b.doc.version;
    const ends = editor.selections.map((s) => [b.doc.offsetAt(s.anchor), b.doc.offsetAt(s.active)] as const);
    const atInsertion = replacements.some((r) => r.from === r.to && r.text !== '' && ends.some(([anchor, active]) => r.from === anchor || r.from === active));
    return editor
      .edit(
        (eb) => {
          for (const r of replacements) eb.replace(new this.vs.Range(b.doc.positionAt(r.from), b.doc.positionAt(r.to)), r.text);
        },
        { undoStopBefore: true, undoStopAfter: true },
      )
      .then((applied) => {
        // Only right after this very edit (a key typed since has moved the caret itself), and
        // only carets VS Code moved with the text: one the person moved meanwhile (an arrow
        // key, a click) stays where they put it, not put back where it was.
        if (applied && atInsertion && b.doc.version === version + 1 && !movedSince(editor.selections.map((s) => b.doc.offsetAt(s.active)), ends.map(([, active]) => active), replacements)) {
          const at = (offset: number) => b.doc.positionAt(caretAfter(offset, replacements));
          this.placeSelections(editor, ends.map(([anchor, active]) => new this.vs.Selection(at(anchor), at(active))));
        }
        return applied;
      });
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
    if (!(await this.applyToDocument(b, replacementsBetween(b.doc.getText(), before), b.shadow, 0))) this.opts.log(`${b.path}: VS Code refused to take back that change`);
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

/** Offset `at` after `replacements` (by offset on the text before them, in order): moved with text before it. */
function shifted(at: number, replacements: readonly Replacement[]): number {
  let out = at;
  for (const r of replacements) {
    if (r.from >= at) break;
    out = r.to <= at ? out + r.text.length - (r.to - r.from) : out - (at - r.from) + r.text.length;
  }
  return out;
}

/** Where the caret ends after a change: past its inserted text. */
function endOf(c: P.TextChange): P.Position {
  const lines = c.text.split('\n');
  const last = lines[lines.length - 1]!;
  return lines.length === 1 ? { line: c.range.start.line, character: c.range.start.character + last.length } : { line: c.range.start.line + lines.length - 1, character: last.replace(/\r$/, '').length };
}

/** The first value `look` gives other than undefined, asking every 50 ms for up to `ms` ms. */
async function poll<T>(look: () => T | undefined, ms: number): Promise<T | undefined> {
  for (const end = Date.now() + ms; ; ) {
    const v = look();
    if (v !== undefined) return v;
    if (Date.now() > end) return undefined;
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** The text of `file` once it has any (VS Code's Save As creates it empty first), waiting up to `ms` ms. */
function written(file: string, ms: number): Promise<string | undefined> {
  return poll(() => readFile(file) || undefined, ms);
}

/** Whether `file` exists within `ms` milliseconds. */
async function appears(file: string, ms: number): Promise<boolean> {
  return (await poll(() => fs.existsSync(file) || undefined, ms)) === true;
}

function readFile(file: string): string | undefined {
  try {
    return fs.readFileSync(file, 'utf8');
  } catch {
    return undefined;
  }
}

export { messageOf };

