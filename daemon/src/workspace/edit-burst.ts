/**
 * A burst of edits from one editor to one file: staged on the document's text as they arrive
 * (TextDoc.stage) and committed as ONE change (one Automerge change, one log write, one message
 * to each peer, one `text` event) once the burst ends. Editors that type faster than a daemon
 * turns one edit into a change (a paste, a macro, a replayed trace, a client catching up after a
 * stall) then cost one change per burst, not per keystroke; a lone keystroke is committed one
 * turn of the event loop after it arrived (decision 115).
 *
 * This module only keeps the burst's bookkeeping and decides when it ends; the Workspace commits.
 */
import type { EditorOrigin } from './workspace.js';
import { soon } from '../timers.js';
import type { Rope } from '../text/rope.js';

/** A burst is committed once this many edits are staged, however fast they keep coming. */
export const MAX_BURST_EDITS = 256;
/** ... or once its first edit is this old (ms), so a steady stream still reaches peers promptly. */
export const MAX_BURST_MS = 10;

// The burst is checked on the next turn (`soon`: after the I/O callbacks of this one), so edits
// already read from the socket are staged first.

export class EditBurst {
  /** The origin the committed change carries: the first edit's undo stop, the last edit's id. */
  readonly origin: EditorOrigin;
  /** How many edits were staged. */
  count = 0;
  private readonly waiters: Array<{ resolve(): void; reject(e: unknown): void }> = [];
  private readonly started = performance.now();
  /** `count` when the end check was last scheduled. */
  private seen = 0;
  private scheduled = false;

  /**
   * `before`: the file's text before the first edit. `commit` is called (once) when the burst
   * ends by itself; the Workspace may also commit it earlier (anything else touching the file).
   */
  constructor(
    readonly fileId: string,
    readonly before: Rope,
    origin: EditorOrigin,
    private readonly commit: () => void,
  ) {
    this.origin = { ...origin };
  }

  /** Can an edit from `origin` to `fileId` join this burst (same editor and file, no undo stop, room left)? */
  accepts(fileId: string, origin: EditorOrigin): boolean {
    return (
      fileId === this.fileId &&
      origin.editorId === this.origin.editorId &&
      origin.undoStop !== true &&
      this.hasRoom()
    );
  }

  /** Under both limits (MAX_BURST_EDITS, MAX_BURST_MS)? */
  private hasRoom(): boolean {
    return this.count < MAX_BURST_EDITS && performance.now() - this.started < MAX_BURST_MS;
  }

  /** One more edit staged; the promise settles when the burst is committed (or refused). */
  add(origin: EditorOrigin): Promise<void> {
    this.count++;
    if (origin.editId !== undefined) this.origin.editId = origin.editId;
    const done = new Promise<void>((resolve, reject) => this.waiters.push({ resolve, reject }));
    if (!this.scheduled) {
      this.scheduled = true;
      this.seen = this.count;
      // Scheduled once the current callback is over: the editor connection queues the turn that
      // handles its next message there (vscode-jsonrpc, one message per turn), so the check runs
      // after it. Were it otherwise, bursts would only be shorter, never wrong.
      queueMicrotask(() => soon(this.check));
    }
    return done;
  }

  /**
   * Ends the burst once a turn of the event loop staged nothing new: the editor's queue ran dry
   * (the check runs after the turn's message, see `add`). A lone keystroke is committed one turn
   * after it arrived.
   */
  private readonly check = (): void => {
    if (this.done) return;
    if (this.count !== this.seen && this.hasRoom()) {
      this.seen = this.count;
      soon(this.check);
      return;
    }
    this.commit();
  };

  private done = false;

  /** The burst was committed: answer every edit in it. */
  settled(error?: unknown): void {
    this.done = true;
    for (const w of this.waiters) {
      if (error === undefined) w.resolve();
      else w.reject(error);
    }
  }

  /** A promise that settles after the burst's edits are answered (to keep answers in order). */
  whenSettled(): Promise<void> {
    if (this.done) return Promise.resolve();
    return new Promise<void>((resolve) => this.waiters.push({ resolve, reject: () => resolve() }));
  }
}
