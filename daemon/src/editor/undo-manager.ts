/**
 * Keeps an UndoHistory per editor and file, fed every text change by the change route
 * (change-route.ts): an editor's own edits become undo steps, everyone else's changes rebase them.
 */
import type { TextEvent, Workspace } from '../workspace/workspace.js';
import { GapMarks } from './gap-marks.js';
import { RECENT_OWN_MS, UndoHistory } from './undo-history.js';

/**
 * A peer's change deleted this much of an editor's recent typing at once (code units): told
 * (`ownTextRemoved`). Less is everyday editing together: fixing a typo in what someone just typed.
 */
export const OWN_TEXT_REMOVED_MIN = 8;

/** A peer's change removed an editor's recent typing (see UndoManager's `ownTextRemoved`). */
export interface OwnTextRemoved {
  editorId: string;
  fileId: string;
  peerId: string;
  /** UTF-16 code units of the editor's typing of the last RECENT_OWN_MS that the change deleted. */
  removed: number;
  /** The file's text before the change. */
  before: string;
}

export class UndoManager {
  private histories = new Map<string, Map<string, UndoHistory>>();
  /** Per file, where others' deleted text stood (decision 266); kept only while it has histories. */
  private gapMarks = new Map<string, GapMarks>();

  /**
   * `ownTextRemoved`: a peer's change deleted at least OWN_TEXT_REMOVED_MIN code units of what an
   * editor here typed in the last RECENT_OWN_MS (a `git stash` or checkout on the peer's machine
   * while this person typed: a trial, the typing gone from every member and nobody told).
   */
  constructor(
    private readonly workspace: Workspace,
    private readonly ownTextRemoved?: (r: OwnTextRemoved) => void,
  ) {}

  private forFile(fileId: string): Map<string, UndoHistory> {
    let m = this.histories.get(fileId);
    if (!m) this.histories.set(fileId, (m = new Map()));
    return m;
  }

  /** A change to a file's text (the route's undo step). */
  observe(e: TextEvent): void {
    const { origin } = e;
    const own = origin.kind === 'editor' || origin.kind === 'undo' ? origin.editorId : undefined;
    const by = own !== undefined ? `editor ${own}` : origin.kind === 'peer' ? `peer ${origin.peerId}` : origin.kind;
    const histories = this.forFile(e.fileId);
    if (origin.kind === 'editor' && !histories.has(origin.editorId)) histories.set(origin.editorId, new UndoHistory());
    let marks = this.gapMarks.get(e.fileId);
    if (!marks && histories.size > 0) this.gapMarks.set(e.fileId, (marks = new GapMarks()));
    for (const [editorId, h] of histories) {
      if (editorId !== own) {
        const removed = h.rebase(e.op, by, marks, origin.kind === 'peer' && this.ownTextRemoved !== undefined);
        if (origin.kind === 'peer' && removed >= OWN_TEXT_REMOVED_MIN) this.ownTextRemoved?.({ editorId, fileId: e.fileId, peerId: origin.peerId, removed, before: e.before.toString() });
      } else if (origin.kind === 'editor') h.recordOwn(e.op, e.before, origin.undoStop === true);
      // The editor's own undo or redo is no change to rebase its history through: `step`
      // records it with `applied` (decision 197).
    }
    marks?.change(e.op, by);
  }

  /** Undo (or redo) the editor's last step in a file; false when there is none. */
  step(editorId: string, fileId: string, undo: boolean): boolean {
    // This editor's edits still staged (a burst: an edit pipelined right before the undo) become
    // a change first, so their step is in the history: read before, the undo took back the step
    // before them, at positions of the text before them.
    this.workspace.settle();
    const h = this.histories.get(fileId)?.get(editorId);
    const op = undo ? h?.takeUndo() : h?.takeRedo();
    if (!h || !op) return false;
    const before = this.workspace.text(fileId);
    try {
      this.workspace.edit(fileId, op, { kind: 'undo', editorId });
    } catch (e) {
      // Refused (the member is read-only now, the log could not be written): the step was not
      // taken back, so it stays the next one to take. Nothing else ran meanwhile (this is
      // synchronous), so it is still valid for the current text.
      h.putBack(op, undo);
      throw e;
    }
    h.applied(op, before, undo);
    return true;
  }

  /** The editor went away: its history goes with it. */
  forget(editorId: string): void {
    for (const [fileId, m] of this.histories) {
      m.delete(editorId);
      if (m.size === 0) this.gapMarks.delete(fileId);
    }
  }
}
