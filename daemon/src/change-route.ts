/**
 * The route every change to a file's text takes through the daemon, in one place and in order.
 *
 *   editor `buffer/edit` ─┐                      (EditorBuffers: positions → op, revision rule)
 *   undo / redo ──────────┤
 *   a peer's raw change ──┼─▶ Workspace ─▶ TextEvent (the change record: file, op, before/after,
 *   an edit in the folder ┘   (CRDT; the raw change      origin, and the raw change when made here)
 *                              is in .chorus/state          │
 *                              before anything else)        ▼
 *                                                     ChangeRoute.route:
 *                                                       1. peers   — a change made here, to every linked peer
 *                                                       2. undo    — own edits become steps, others' rebase them
 *                                                       3. editors — `buffer/didChange` to every editor holding the
 *                                                                    file, but not back to the one that made it
 *                                                       4. disk    — the file's text to the folder once typing pauses
 *
 * Storage is step 0 and happens inside the Workspace call, before the record exists: a peer's
 * change that does nothing visible yet (waiting for its dependencies) must be stored too, and an
 * edit is acknowledged only once it is (decision 004). Peers come first so the keystroke leaves
 * the machine before this daemon spends time on its own editors and disk. The index of files
 * has its own route (the Workspace's `files` event); see docs/decisions/034-one-change-route.md.
 */
import type { RawChange } from './workspace/text-doc.js';
import type { TextEvent, Workspace } from './workspace/workspace.js';
import { tracePoint } from './trace-points.js';

/** An editor connection as the route sees it (EditorBuffers). */
export interface ChangeSink {
  /** A change to the shared text: forward it, unless the editor made it. */
  take(change: TextEvent): void;
}

/** Where the route hands a change on; each step is one call. */
export interface RouteSteps {
  /** Send a raw change made here to every linked peer (no-op outside a session). */
  peers(fileId: string, raw: RawChange): void;
  undo: { observe(change: TextEvent): void };
  /** Write the file's text to the folder soon (no-op in view mode); `origin`: who changed it. */
  disk: { schedule(fileId: string, origin: TextEvent['origin']): void };
}

export class ChangeRoute {
  /** The editors connected now, in the order they connected. */
  private readonly editors = new Set<ChangeSink>();

  constructor(
    workspace: Workspace,
    private readonly steps: RouteSteps,
  ) {
    workspace.on('text', (change) => this.route(change));
  }

  /** An editor connected: it gets every change from now on. */
  addEditor(editor: ChangeSink): void {
    this.editors.add(editor);
  }

  removeEditor(editor: ChangeSink): void {
    this.editors.delete(editor);
  }

  /** Hand one change on, in order (see the file header). */
  route(change: TextEvent): void {
    tracePoint('route');
    if (change.raw) this.steps.peers(change.fileId, change.raw);
    this.steps.undo.observe(change);
    for (const editor of this.editors) editor.take(change);
    this.steps.disk.schedule(change.fileId, change.origin);
  }
}
