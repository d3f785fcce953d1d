/**
 * One document shared between an LSP client and the daemon: the revision rule of
 * protocol/README.md carried across a second hop (docs/decisions/050-lsp-two-hop-sync.md).
 *
 * Toward the daemon the bridge is an ordinary editor: `daemonText` is its buffer, with the two
 * counters of the revision rule. Toward the LSP client it keeps
 * - `shadow`: the client's text at `version`, exactly (every content change is applied to it);
 * - at most one `inflight` workspace/applyEdit, with the text it was made for and the text the
 *   client will have once it applies it (`target`);
 * - `queue`: daemon changes not yet sent to the client, on top of `target` (or `shadow`).
 * Invariant: daemonText = queue applied to (inflight ? target : shadow) once the user's changes
 * held back while an edit is in flight are resolved.
 *
 * A client change while an edit is in flight is held back until it is clear whether it is the
 * edit coming back (the shadow reaches `target`, possibly after several pieces), the edit coming
 * back late at stale positions after the person's typing (a client that skips the version check),
 * or the person typing before the edit arrived (the client answers applied:false, or answered
 * true but its text never reached `target` within a grace period). Then the person's part goes
 * to the daemon, and the client gets the edit transformed past it (or a correction). An echo is
 * judged by the text it leaves, never by its shape: `target` but for the editor's final line
 * break settles it too, and a text nothing explains is resynchronised when the grace period
 * ends, never held for ever (decision 185). No I/O happens here: the caller supplies a
 * {@link SyncPort}.
 */
import { randomBytes } from 'node:crypto';
import { applyOp, composeOps, isNoop, opToSplices, transformOp, type TextOp } from '../text/text-op.js';
import { diffToOp } from '../text/diff-op.js';
import { toOffset, toPosition, type Encoding, type LineChar } from '../text/positions.js';
import { changesToOp, opToChanges, type WireChange } from '../editor/wire.js';
import { contentChangeToOp, onlyFinalLineBreakDiffers, onlyLineBreaksDiffer, opToTextEdits, textEditsToOp } from './text-edits.js';
import type { TextDocumentContentChangeEvent, TextEdit } from 'vscode-languageserver';

/** What a document needs from the outside world. */
export interface SyncPort {
  /**
   * Send `buffer/edit` named `id` to the daemon; resolves true once the daemon has it, false
   * when it failed (failures are the port's to report). Returns undefined when it was not sent
   * (no daemon). Never throws.
   */
  edit(revision: number, changes: WireChange[], id: string): Promise<boolean> | undefined;
  /** Send the caret (after the person's own edit) to the daemon as `cursor/set`. */
  caret(position: LineChar): void;
  /** Push `workspace/applyEdit` with one versioned TextDocumentEdit; resolves to `applied`. */
  applyEdit(version: number, edits: TextEdit[]): Promise<boolean>;
  /** The document can no longer be kept in step: tell the person. */
  outOfStep(message: string): void;
  /** Tell the person something they should check (a sentence without the "Chorus: " prefix). */
  notice?(message: string): void;
  /** Each decision, for diagnosing a client (`CHORUS_LSP_TRACE=file`). */
  trace?(event: string): void;
}

interface Inflight {
  op: TextOp;
  /** The client text the edit was made for (at `version`). */
  base: string;
  /** The client text once the edit is applied. */
  target: string;
  version: number;
  /** The TextEdits as sent (positions in `base`). */
  edits: TextEdit[];
  /** The client's changes since the edit was sent, composed, on `base`. */
  held: TextOp;
  /** For each point in the held changes: what the client would show had it applied the edit there, at stale positions. */
  late: Array<{ held: TextOp; result: string | undefined }>;
  /** The client answered; `applied` is what it said. */
  answered: boolean;
  applied: boolean;
  timer?: NodeJS.Timeout;
}

/**
 * How long to wait after an `applied: true` answer for the edit's echo (a debouncing client
 * sends it later, possibly in pieces) before concluding the client skipped it (Neovim 0.7
 * answers true even when its version check skipped the edit). The person's typing in that
 * window waits with it; this happens only when their typing crossed our edit.
 */
const ECHO_GRACE_MS = 750;
/**
 * The same for an edit sent for version 0, which Neovim 0.7 never checks: it applies it, maybe
 * late and after the person's typing, so the echo is surely coming and is waited for longer. A
 * text that still explains nothing then is resynchronised (decision 185), never held for ever.
 */
const UNCHECKED_ECHO_GRACE_MS = 3000;
/** A client that never answers is taken to have answered `applied: true`. */
const ANSWER_TIMEOUT_MS = 10_000;
/** Consecutive refusals of the same edit at an unchanged version before giving up. */
const MAX_REFUSALS = 5;
/** The protocol's limit on `pending` of buffer/open. */
const MAX_PENDING = 64;

/** Edit ids (`id` of buffer/edit): random per `chorus lsp` process, then a counter. */
const editPrefix = `lsp-${randomBytes(6).toString('hex')}-`;
let editCount = 0;

export class DocumentSync {
  shadow: string;
  version: number;
  daemonText: string;
  private editorRevision = 0;
  private daemonRevision = 0;
  /** The daemon-side text when nothing of ours was unprocessed: the base for a re-open. */
  private inStep: string;
  /** buffer/edit requests not answered yet; `lost`: one was not sent (no daemon) or failed. */
  private unacked = 0;
  private lost = false;
  /**
   * Our edits sent (on this connection) since `inStep`, by editorRevision, each with its id and
   * `daemonText` right after it: `pending` of a re-open, so that one the daemon applied just
   * before the connection went is not merged again (the daemon merges from the newest of them it
   * applied). No daemon change sits between or after them: applying one moves `inStep`.
   */
  private sent: Array<{ seq: number; id: string; text: string }> = [];
  /** Bumped by a re-open: answers from the old connection no longer count. */
  private session = 0;
  private inflight: Inflight | undefined;
  private queue: TextOp = [];
  private refusals = 0;
  private broken = false;
  private closed = false;

  /**
   * @param clientText what the client showed at `version` (its didOpen text)
   * @param daemonText the daemon's answer to buffer/open; the difference goes to the client
   */
  constructor(
    public path: string,
    readonly uri: string,
    readonly encoding: Encoding,
    clientText: string,
    version: number,
    daemonText: string,
    private readonly port: SyncPort,
  ) {
    this.shadow = clientText;
    this.version = version;
    this.daemonText = daemonText;
    this.inStep = daemonText;
    this.queue = diffToOp(clientText, daemonText);
  }

  /** Begin pushing the daemon's text to the client (after replaying changes made while opening). */
  start(): void {
    this.flush();
  }

  // ---- from the client -----------------------------------------------------------------------

  /**
   * A `textDocument/didChange`: its content changes in order, then the new version. Throws the
   * daemon's Failure for a change that does not fit the text (the document is then out of step).
   */
  clientChanged(changes: TextDocumentContentChangeEvent[], version: number): void {
    if (this.broken || this.closed) return;
    for (const change of changes) {
      let op: TextOp;
      try {
        op = contentChangeToOp(this.shadow, change, this.encoding);
      } catch (e) {
        this.markOutOfStep(`a change from the editor does not fit its own text (${(e as Error).message})`);
        throw e;
      }
      const before = this.shadow;
      this.shadow = applyOp(before, op);
      this.port.trace?.(`didChange version ${version}: ${JSON.stringify(op)}`);
      const f = this.inflight;
      if (!f) {
        this.userEdit(op);
        continue;
      }
      // The edit came back whole: whatever follows in this notification is the person's.
      if (this.shadow === f.target) {
        this.port.trace?.(`echo of the edit for version ${f.version} complete`);
        this.settle(f);
        continue;
      }
      // The edit came back after the person's typing: a client that does not check the version
      // (Neovim 0.7 skips the check for version 0) applied it, at the positions as sent, to
      // the text it had by then — possibly in pieces.
      if (!isNoop(f.held)) f.late.push({ held: f.held, result: this.staleResult(f, before) });
      const late = f.late.find((l) => l.result === this.shadow);
      if (late) {
        this.port.trace?.(`the edit for version ${f.version} came back after the person's typing`);
        f.held = late.held;
        this.crossed(f, true);
        continue;
      }
      f.held = composeOps(f.held, op);
      this.port.trace?.(`held ${JSON.stringify(op)} while the edit for version ${f.version} is in flight`);
    }
    this.version = version;
    if (this.inflight) this.echoNormalised(this.inflight);
    this.flush();
  }

  // ---- from the daemon -----------------------------------------------------------------------

  /** A `buffer/didChange` for this buffer (the revision rule decides whether it applies). */
  daemonChanged(revision: number, changes: WireChange[]): void {
    if (revision !== this.editorRevision) return; // made before our latest edit: a replacement follows
    const op = changesToOp(this.daemonText, changes, this.encoding);
    this.port.trace?.(`buffer/didChange ${JSON.stringify(op)}`);
    this.daemonText = applyOp(this.daemonText, op);
    this.daemonRevision++;
    // The daemon counted every edit we sent before it made this change (the revision says so):
    // in step, answered or not (an edit it refused puts the document out of step anyway).
    if (!this.lost) this.setInStep();
    this.queue = composeOps(this.queue, op);
    this.flush();
  }

  /**
   * What to send with buffer/open after reconnecting: our text, the text last in step, and the
   * edits sent since that the daemon may have applied without our knowing (`pending`).
   */
  reopenParams(): { text: string; base: string; pending?: Array<{ id: string; text: string }> } {
    const pending = this.sent.slice(-MAX_PENDING).map(({ id, text }) => ({ id, text }));
    return { text: this.daemonText, base: this.inStep, ...(pending.length ? { pending } : {}) };
  }

  /** Re-opened on a new connection with `daemonText` the shared text now: start over there. */
  reopened(daemonText: string): void {
    this.session++;
    this.queue = composeOps(this.queue, diffToOp(this.daemonText, daemonText));
    this.daemonText = daemonText;
    this.setInStep();
    this.editorRevision = 0;
    this.daemonRevision = 0;
    this.unacked = 0;
    this.lost = false;
    this.flush();
  }

  /** Everything sent has been processed: the daemon's text is ours (the base of a re-open). */
  private noteInStep(): void {
    if (this.unacked === 0 && !this.lost) this.setInStep();
  }

  /** The daemon has `daemonText`: the base of a re-open; nothing sent before it is pending. */
  private setInStep(): void {
    this.inStep = this.daemonText;
    this.sent = [];
  }

  /** Where a daemon-side position is in the client's text (for presence), clamped to it. */
  toClientPosition(pos: LineChar): LineChar | undefined {
    try {
      const off = Math.min(toOffset(this.daemonText, pos, this.encoding), this.shadow.length);
      return toPosition(this.shadow, off, this.encoding);
    } catch {
      return undefined;
    }
  }

  /** Where a client position is in the daemon's text, clamped to it; throws for a bad position. */
  toDaemonPosition(pos: LineChar): LineChar {
    const off = Math.min(toOffset(this.shadow, pos, this.encoding), this.daemonText.length);
    return toPosition(this.daemonText, off, this.encoding);
  }

  /**
   * The client closed the document: whatever it typed that is still held back is resolved and
   * sent (nothing the person typed is lost); our unsent changes are dropped, the daemon has them.
   */
  close(): void {
    const f = this.inflight;
    if (f) this.resolve(f);
    this.closed = true;
    this.queue = [];
  }

  // ---- internals -----------------------------------------------------------------------------

  /** The person's change `op`, made on the client text that the queue applies to. */
  private userEdit(op: TextOp): void {
    if (isNoop(op)) return;
    // Daemon changes not yet sent happened first: they stay left of the person's at a tie.
    const rebased = transformOp(op, this.queue, 'right');
    this.queue = transformOp(this.queue, op, 'left');
    this.toDaemon(rebased);
  }

  private toDaemon(op: TextOp): void {
    if (isNoop(op)) return;
    this.port.trace?.(`buffer/edit ${JSON.stringify(op)}`);
    const before = this.daemonText;
    this.daemonText = applyOp(before, op);
    const revision = this.daemonRevision;
    const seq = ++this.editorRevision;
    const id = `${editPrefix}${++editCount}`;
    const sending = this.port.edit(revision, opToChanges(before, op, this.encoding), id);
    if (!sending) {
      this.lost = true; // not sent: the re-open's text carries it
    } else {
      this.unacked++;
      this.sent.push({ seq, id, text: this.daemonText });
      const session = this.session;
      void sending.then((ok) => {
        if (session !== this.session) return; // from before a re-open
        this.unacked--;
        if (!ok) this.lost = true;
        else {
          // Applied: the daemon merges from the newest applied edit, so older ones can go.
          if (!this.lost) this.sent = this.sent.filter((e) => e.seq >= seq);
          this.noteInStep();
        }
      });
    }
    // The caret ends where the last change ended (splices are in the evolving text): LSP tells
    // a server nothing else about the cursor.
    const last = opToSplices(op).pop();
    if (last) this.port.caret(toPosition(this.daemonText, Math.min(last.at + last.ins.length, this.daemonText.length), this.encoding));
  }

  /**
   * Whether the client's text is the edit's result but for a final line break, the client
   * having said it applied the edit: the echo in an editor that keeps (or drops) the file's
   * final line break, such as Neovim echoing an insert after the last line break as an insert
   * of "\n…" at the end of the line before (decision 185). The edit is settled and the line
   * break becomes the person's edit, so the daemon's text matches what the client shows.
   */
  private echoNormalised(f: Inflight): boolean {
    if (!f.answered || !f.applied || this.shadow === f.base || !onlyFinalLineBreakDiffers(f.target, this.shadow)) return false;
    this.port.trace?.(`echo of the edit for version ${f.version} complete, the final line break as the client keeps it`);
    this.settle(f);
    this.userEdit(diffToOp(f.target, this.shadow));
    return true;
  }

  /** The client applied our edit (its text reached the target). */
  private settle(f: Inflight): void {
    clearTimeout(f.timer);
    this.inflight = undefined;
    this.refusals = 0;
  }

  /**
   * Decide what the client did with an edit it answered (or never will): applied, or not, and
   * what the person typed meanwhile. Their typing goes to the daemon; an edit not applied is
   * transformed past it and queued to be sent again.
   */
  private resolve(f: Inflight): void {
    if (this.inflight !== f) return;
    clearTimeout(f.timer);
    this.inflight = undefined;
    const current = this.shadow;
    // The client's text never passed through the target (that would have settled the edit), so
    // it did not apply it, whatever it answered (Neovim 0.7 answers applied:true when its
    // version check skipped the edit) — unless it applied it and normalised the result: a
    // client that cannot drop a buffer's final line break adds one back.
    const applied = f.answered && f.applied && onlyLineBreaksDiffer(f.target, current) && !onlyLineBreaksDiffer(f.base, current);
    this.port.trace?.(`resolved the edit for version ${f.version} (answered ${f.answered ? f.applied : 'no'}): ${applied ? 'applied, normalised' : 'not applied'}; held ${JSON.stringify(f.held)}`);
    if (applied) {
      this.refusals = 0;
      // The client's normalisation becomes its edit, so the daemon's text matches what it shows.
      this.userEdit(diffToOp(f.target, current));
      return;
    }
    // An edit for version 0 that the client said it applied, yet its text is neither the edit's
    // result nor what its changes and a late application explain, after a long wait: the client
    // applied it (Neovim 0.7 never skips version 0) in a form not recognised. Resynchronise
    // (decision 185): the client's text is taken as the person's and shared as it is, and they
    // are told. (For a checked version the client may well have skipped it: that reading follows.)
    if (f.answered && f.applied && f.version === 0) {
      this.refusals = 0;
      this.settle(f);
      this.userEdit(diffToOp(f.target, current));
      const line = current.slice(0, Math.max(0, firstDifference(f.target, current))).split('\n').length;
      this.port.notice?.(
        `${this.path}: your editor reported Chorus's last change to it in a form Chorus could not match, so the text your editor shows was taken as yours and shared as it is (nothing of yours was changed). Check ${this.path} around line ${line}: if someone else's change looks misplaced or missing there, put it right by hand.`,
      );
      return;
    }
    if (isNoop(f.held)) this.refusals++;
    else this.refusals = 0;
    this.crossed(f);
  }

  /**
   * The person's held changes were made on `base`, before our edit: send them to the daemon
   * transformed past it (the daemon's edit happened first and stays left at a tie, as in the
   * daemon's own revision rule), and queue what takes the client to the same text: our edit
   * transformed past them or, when the client applied ours late at stale positions
   * (`lateEcho`), the difference between what it shows and that.
   */
  private crossed(f: Inflight, lateEcho = false): void {
    const theirs = transformOp(f.held, f.op, 'right'); // on target
    const rebased = transformOp(theirs, this.queue, 'right');
    const queueAfter = transformOp(this.queue, theirs, 'left');
    const toClient = lateEcho ? diffToOp(this.shadow, applyOp(f.target, theirs)) : transformOp(f.op, f.held, 'left');
    this.inflight = undefined;
    clearTimeout(f.timer);
    this.queue = composeOps(toClient, queueAfter);
    this.toDaemon(rebased);
  }

  /** What the client shows if it applied the edit's TextEdits, as sent, to `text`; undefined if they do not fit. */
  private staleResult(f: Inflight, text: string): string | undefined {
    try {
      return applyOp(text, textEditsToOp(text, f.edits, this.encoding));
    } catch {
      return undefined;
    }
  }

  private answered(f: Inflight, applied: boolean): void {
    this.port.trace?.(`answer for version ${f.version}: applied ${applied}${this.inflight !== f ? ' (already settled)' : ''}`);
    if (this.inflight !== f) return; // settled already, or superseded
    f.answered = true;
    f.applied = applied;
    clearTimeout(f.timer);
    if (!applied) {
      this.resolve(f);
      if (this.refusals >= MAX_REFUSALS) {
        // The usual cause is an editor that asks before applying a server's edits (eglot does,
        // by default): each peer's keystroke then waits for a yes, and a no is a refusal.
        this.markOutOfStep(
          `the editor refused Chorus's changes ${MAX_REFUSALS} times in a row (an editor that asks before applying a language server's edits must apply Chorus's without asking: in Emacs eglot, (setq eglot-confirm-server-initiated-edits nil))`,
        );
        return;
      }
      // A refusal with no change from the client in between: give it a moment before retrying.
      if (this.refusals > 0) setTimeout(() => this.flush(), 50 * 2 ** this.refusals).unref();
      else this.flush();
      return;
    }
    if (this.echoNormalised(f)) return this.flush();
    // Version 0 is never checked by Neovim 0.7: `true` is the truth there, the echo will come
    // (later than most); still, a text it never explains is resynchronised, not held for ever.
    f.timer = setTimeout(
      () => {
        this.resolve(f);
        this.flush();
      },
      f.version === 0 ? UNCHECKED_ECHO_GRACE_MS : ECHO_GRACE_MS,
    );
    f.timer.unref();
  }

  /** Send the queued daemon changes to the client, unless an edit is still in flight. */
  private flush(): void {
    if (this.inflight || this.broken || this.closed || isNoop(this.queue)) return;
    const op = this.queue;
    this.queue = [];
    const edits = opToTextEdits(this.shadow, op, this.encoding);
    const f: Inflight = { op, edits, base: this.shadow, target: applyOp(this.shadow, op), version: this.version, held: [], late: [], answered: false, applied: false };
    this.inflight = f;
    this.port.trace?.(`applyEdit for version ${this.version}: ${JSON.stringify(op)}`);
    f.timer = setTimeout(() => this.answered(f, true), ANSWER_TIMEOUT_MS);
    f.timer.unref();
    this.port.applyEdit(this.version, edits).then(
      (applied) => this.answered(f, applied),
      () => this.answered(f, false),
    );
  }

  /** Stop syncing this document and tell the person why (reopening it starts afresh). */
  markOutOfStep(reason: string): void {
    if (this.broken) return;
    this.broken = true;
    if (this.inflight) clearTimeout(this.inflight.timer);
    this.inflight = undefined;
    this.port.outOfStep(`${this.path}: ${reason}. Chorus stopped syncing this file; close it and open it again to get back in step.`);
  }
}

/** The offset of the first code unit where `a` and `b` differ (the shorter's length if one starts the other). */
function firstDifference(a: string, b: string): number {
  let i = 0;
  while (i < a.length && i < b.length && a[i] === b[i]) i++;
  return i;
}
