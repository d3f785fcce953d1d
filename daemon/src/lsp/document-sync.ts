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
 *
 * A save (`textDocument/willSaveWaitUntil`, {@link DocumentSync.willSave}) has the daemon write
 * the shared text (`buffer/save`) and answers with the queue as TextEdits, so that the text the
 * client then writes is the text on disk (decision 222). Those edits are an edit in flight like
 * any other, answered `applied` already: the client applies them before it writes and echoes
 * them as a didChange, which settles them.
 */
import { randomBytes } from 'node:crypto';
import { applyOp, composeOps, isNoop, opToSplices, transformOffset, transformOp, type TextOp } from '../text/text-op.js';
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
  edit(revision: number, changes: WireChange[], id: string, undoStop: boolean): Promise<boolean> | undefined;
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
  /**
   * Send `buffer/save` to the daemon, after every buffer/edit sent so far; resolves true once the
   * daemon has written the shared text into the file, false when it refused (not shared, view
   * mode) or failed (failures are the port's to report). Returns undefined when it was not sent
   * (no daemon). Never throws. Without it, a save answers no edits.
   */
  save?(): Promise<boolean> | undefined;
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
  /**
   * Sent as the answer to willSaveWaitUntil, not by applyEdit: no answer comes (`applied` is
   * taken as said), and the client either applies the edits before it writes or, when its text
   * changed meanwhile, drops them (VS Code checks the version): never the unchecked version 0.
   */
  save?: boolean;
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
/** Consecutive refusals with no change from the client in between before giving up. */
const MAX_REFUSALS = 5;
/** The protocol's limit on `pending` of buffer/open. */
const MAX_PENDING = 64;
/**
 * How long a save (willSaveWaitUntil) waits for an edit in flight to settle and the daemon's
 * write, in all, before answering no edits: under the shortest wait a client gives the request
 * (eglot 0.5 s; Neovim 0.10 1 s; VS Code 1.5 s for all its save participants), after which the
 * client writes its own text and drops the answer.
 */
export const SAVE_WAIT_MS = 450;

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
  /**
   * The daemon connection went away and this document is not re-opened on a new one yet: the
   * person's changes are kept in `daemonText` and not sent, since a new daemon would refuse (or
   * misplace) an edit of a buffer whose buffer/open it has not answered, and that answer would
   * not contain it.
   */
  private detached = false;
  /** While detached, after `reopenParams`: the text sent with the re-open, and our changes since (on it). */
  private reopening: { text: string; since: TextOp } | undefined;
  private inflight: Inflight | undefined;
  private queue: TextOp = [];
  private refusals = 0;
  private broken = false;
  private closed = false;
  /** A save is under way: nothing is sent to the client, the queue goes with the save's answer. */
  private saving = false;
  /** Called (and dropped) each time the document may have become ready for a save's write. */
  private saveWaiters: Array<() => void> = [];

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
    // The client changed: its refusals so far were for typing, not an editor that will not
    // apply ours. Eglot tells its typing once Emacs is idle, after refusing the edit that typing
    // made stale, so the edit's `held` cannot show it (five such refusals in a row had the file
    // given up on while the person typed).
    this.refusals = 0;
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
    if (this.detached) return; // from before the re-open, whose answer has the text
    if (revision !== this.editorRevision) return; // made before our latest edit: a replacement follows
    const op = changesToOp(this.daemonText, changes, this.encoding);
    this.port.trace?.(`buffer/didChange ${JSON.stringify(op)}`);
    this.daemonText = applyOp(this.daemonText, op);
    if (this.ownEnd !== undefined) this.ownEnd = transformOffset(this.ownEnd, op);
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
    // Until the answer, what the person types (detached) is kept back and counted on top of this text.
    this.reopening = { text: this.daemonText, since: [] };
    return { text: this.daemonText, base: this.inStep, ...(pending.length ? { pending } : {}) };
  }

  /**
   * The daemon connection went away: nothing is sent for this document until it is re-opened
   * (`reopenParams`, then `reopened`) on a new one.
   */
  detach(): void {
    this.detached = true;
  }

  /**
   * Re-opened on a new connection with `daemonText` the shared text now (the merge of the text
   * sent with the re-open): start over there. What the person typed while the re-open was under
   * way is not in that answer: it goes to the daemon now, placed past the merge, and the client
   * gets the merge placed past it.
   */
  reopened(daemonText: string): void {
    const r = this.reopening ?? { text: this.daemonText, since: [] };
    this.reopening = undefined;
    this.detached = false;
    this.session++;
    const merged = diffToOp(r.text, daemonText); // on the text sent
    // The daemon's side happened first and stays left at a tie, as in userEdit.
    const ours = transformOp(r.since, merged, 'right'); // on daemonText
    this.queue = composeOps(this.queue, transformOp(merged, r.since, 'left'));
    this.daemonText = daemonText;
    this.ownEnd = undefined;
    this.setInStep();
    this.editorRevision = 0;
    this.daemonRevision = 0;
    this.unacked = 0;
    this.lost = false;
    this.toDaemon(ours);
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
    this.wakeSave();
  }

  /**
   * `textDocument/willSaveWaitUntil`: the client is about to write its text into the file. Waits
   * for an edit in flight to settle (the person's typing it held back then goes to the daemon),
   * has the daemon write the shared text (`port.save`, sent after every buffer/edit of ours), and
   * resolves to the TextEdits (positions in the client's text at `version`) that bring the client
   * to the daemon's text, accounted for as an edit in flight: the client applies them and writes
   * what the file holds already, and their echo settles them. Resolves to `[]` (the client writes
   * its own text, as before decision 222) when that takes over `ms` milliseconds, when the daemon
   * is not connected, refuses (a buffer that is not shared) or fails, when another save of this
   * document is under way, or when the document is closed or out of step. Never rejects.
   */
  async willSave(ms = SAVE_WAIT_MS): Promise<TextEdit[]> {
    if (this.saving || this.broken || this.closed || !this.port.save) return [];
    const deadline = Date.now() + ms;
    this.saving = true;
    try {
      while (this.inflight && !this.broken && !this.closed) {
        if (!(await this.waitForSaveWake(deadline - Date.now()))) {
          this.port.trace?.('save: the edit in flight did not settle in time; the client writes its own text');
          return [];
        }
      }
      if (this.broken || this.closed) return [];
      this.port.trace?.('buffer/save');
      const written = this.port.save();
      if (!written) return [];
      const ok = await beforeDeadline(written, deadline - Date.now());
      if (ok !== true || this.broken || this.closed || this.inflight) {
        this.port.trace?.(`save: ${ok === undefined ? 'no answer in time' : ok ? 'the document changed state meanwhile' : 'refused or failed'}; the client writes its own text`);
        return [];
      }
      const f = this.send(true);
      return f ? f.edits : [];
    } catch (e) {
      this.port.trace?.(`save failed: ${(e as Error).message}`);
      return [];
    } finally {
      this.saving = false;
      this.flush();
    }
  }

  // ---- internals -----------------------------------------------------------------------------

  /** Resolves true at the next wake-up of a save, false if none comes within `ms`. */
  private waitForSaveWake(ms: number): Promise<boolean> {
    if (ms <= 0) return Promise.resolve(false);
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.saveWaiters = this.saveWaiters.filter((w) => w !== wake);
        resolve(false);
      }, ms);
      const wake = () => {
        clearTimeout(timer);
        resolve(true);
      };
      this.saveWaiters.push(wake);
    });
  }

  /** The edit in flight may be gone (settled, resolved, or the document closed or out of step): a waiting save looks again. */
  private wakeSave(): void {
    for (const w of this.saveWaiters.splice(0)) w();
  }

  /** The person's change `op`, made on the client text that the queue applies to. */
  private userEdit(op: TextOp): void {
    if (isNoop(op)) return;
    // Daemon changes not yet sent happened first: they stay left of the person's at a tie.
    const rebased = transformOp(op, this.queue, 'right');
    this.queue = transformOp(this.queue, op, 'left');
    this.toDaemon(rebased);
  }

  /**
   * Where the person's last edit ended in `daemonText`, moved by others' changes since; undefined
   * before the first and after a re-open. LSP says nothing of an editor's own undo steps.
   */
  private ownEnd: number | undefined;

  /**
   * Does the person's edit `op` (on `daemonText`) begin a new own-edit undo step (`undoStop`)?
   * When it is not where their last edit ended, as an editor's own undo breaks at a move of the
   * cursor: without it, steady typing (a word every 0.6 s, others typing between) went into one
   * step, and `chorus.undo` took back 20 words typed over 12 s (trial s62 F2). The daemon also
   * ends a step at a 1 s pause (decision 006).
   */
  private startsStep(op: TextOp): boolean {
    const splices = opToSplices(op);
    const first = splices[0];
    const last = splices[splices.length - 1];
    if (!first || !last) return false;
    const away = this.ownEnd === undefined || this.ownEnd < first.at || this.ownEnd > first.at + first.del;
    this.ownEnd = last.at + last.ins.length;
    return away;
  }

  private toDaemon(op: TextOp): void {
    if (isNoop(op)) return;
    this.port.trace?.(`buffer/edit ${JSON.stringify(op)}`);
    const before = this.daemonText;
    this.daemonText = applyOp(before, op);
    if (this.detached) {
      // No connection this document is open on: the re-open carries it (see `reopened`).
      this.lost = true;
      if (this.reopening) this.reopening.since = composeOps(this.reopening.since, op);
      return;
    }
    const revision = this.daemonRevision;
    const seq = ++this.editorRevision;
    const id = `${editPrefix}${++editCount}`;
    const sending = this.port.edit(revision, opToChanges(before, op, this.encoding), id, this.startsStep(op));
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
    if (f.answered && f.applied && f.version === 0 && !f.save) {
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
          `the editor refused Chorus's changes ${MAX_REFUSALS} times in a row (an editor that asks before applying a language server's edits must apply Chorus's without asking, and one that tells the server your typing late refuses edits made meanwhile: in Emacs eglot, (setq eglot-confirm-server-initiated-edits nil) and eglot-send-changes-idle-time 0, as the README's eglot setup has them)`,
        );
        return;
      }
      // A refusal with no change from the client in between: give it a moment before retrying
      // (a save waiting for this edit goes on at once: its answer carries the retry).
      if (this.refusals > 0 && !this.saving) setTimeout(() => this.flush(), 50 * 2 ** this.refusals).unref();
      else this.flush();
      return;
    }
    if (this.echoNormalised(f)) return this.flush();
    this.awaitEcho(f);
  }

  /** `f` was answered applied: wait a grace period for its echo, then decide what the client did. */
  private awaitEcho(f: Inflight): void {
    // Version 0 is never checked by Neovim 0.7: `true` is the truth there, the echo will come
    // (later than most); still, a text it never explains is resynchronised, not held for ever.
    f.timer = setTimeout(
      () => {
        this.resolve(f);
        this.flush();
      },
      f.version === 0 && !f.save ? UNCHECKED_ECHO_GRACE_MS : ECHO_GRACE_MS,
    );
    f.timer.unref();
  }

  /**
   * Send the queued daemon changes to the client, unless an edit is still in flight. While a
   * save is under way nothing is sent (the save's answer carries the queue): the save is told
   * instead that the edit in flight may be gone.
   */
  private flush(): void {
    if (this.saving) return this.wakeSave();
    const f = this.send(false);
    if (!f) return;
    this.port.trace?.(`applyEdit for version ${f.version}: ${JSON.stringify(f.op)}`);
    f.timer = setTimeout(() => this.answered(f, true), ANSWER_TIMEOUT_MS);
    f.timer.unref();
    this.port.applyEdit(f.version, f.edits).then(
      (applied) => this.answered(f, applied),
      () => this.answered(f, false),
    );
  }

  /**
   * The queue, taken as the edit in flight (TextEdits on the client's text at `version`); none
   * when there is nothing to send or an edit is in flight already. `save`: it goes as the answer
   * to willSaveWaitUntil, which the client applies without answering: applied, its echo awaited.
   */
  private send(save: boolean): Inflight | undefined {
    if (this.inflight || this.broken || this.closed || isNoop(this.queue)) return undefined;
    const op = this.queue;
    this.queue = [];
    const edits = opToTextEdits(this.shadow, op, this.encoding);
    const f: Inflight = { op, edits, base: this.shadow, target: applyOp(this.shadow, op), version: this.version, held: [], late: [], answered: save, applied: save, save };
    this.inflight = f;
    if (save) {
      this.port.trace?.(`save answered with edits for version ${f.version}: ${JSON.stringify(op)}`);
      this.awaitEcho(f);
    }
    return f;
  }

  /** Stop syncing this document and tell the person why (reopening it starts afresh). */
  markOutOfStep(reason: string): void {
    if (this.broken) return;
    this.broken = true;
    if (this.inflight) clearTimeout(this.inflight.timer);
    this.inflight = undefined;
    this.wakeSave();
    this.port.outOfStep(`${this.path}: ${reason}. Chorus stopped syncing this file; close it and open it again to get back in step.`);
  }
}

/** What `p` resolves to if it does within `ms` milliseconds, else undefined (a rejection is `false`). */
export function beforeDeadline<T>(p: Promise<T>, ms: number): Promise<T | false | undefined> {
  if (ms <= 0) return Promise.resolve(undefined);
  return new Promise((resolve) => {
    const timer = setTimeout(() => resolve(undefined), ms);
    p.then(
      (v) => {
        clearTimeout(timer);
        resolve(v);
      },
      () => {
        clearTimeout(timer);
        resolve(false);
      },
    );
  });
}

/** The offset of the first code unit where `a` and `b` differ (the shorter's length if one starts the other). */
function firstDifference(a: string, b: string): number {
  let i = 0;
  while (i < a.length && i < b.length && a[i] === b[i]) i++;
  return i;
}
