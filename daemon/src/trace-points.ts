/**
 * Named points on the keystroke path, for seeing where a keystroke's latency goes, stage by stage,
 * across both daemons (`npm run bench:keystroke -- --trace`; decision 211). Off unless a platform
 * installs a recorder: the daemon does when `CHORUS_TRACE_DIR` is set (node-platform.ts), and then
 * each point costs one clock read and one array slot; off, one call that returns.
 *
 * The points, in the order a keystroke meets them (typing daemon, then each receiving daemon):
 * - `editor-in`: bytes from an editor's socket (editor/frame-guard.ts);
 * - `request`: a request's handler runs, vscode-jsonrpc having read it and the editor's earlier
 *   messages having run (editor/rpc-edge.ts);
 * - `edit-staged`: the edit is on the document's text, staged for its change (workspace.ts);
 * - `change-made`: the burst is one Automerge change (workspace.ts `settle`);
 * - `change-stored`: the change is in the document's log (workspace.ts), so it may be acknowledged;
 * - `route`: the change record enters the change route (change-route.ts);
 * - `peer-out`: a sealed message goes to a peer's link (net/secure.ts);
 * - `peer-in`: a sealed message arrives from a peer's link (net/secure.ts);
 * - `change-checked`: a peer's changes passed the checks of sync/change-check.ts;
 * - `change-applied`: they are in the document (workspace.ts `applyRemote`);
 * - `editor-out`: a message is written to an editor's socket (editor/frame-writer.ts).
 * Points without a keystroke (a ping, a presence message) are recorded too; the reader groups them
 * by time (bench/src/trace-table.ts).
 */
export type TracePoint =
  | 'editor-in'
  | 'request'
  | 'edit-staged'
  | 'change-made'
  | 'change-stored'
  | 'route'
  | 'peer-out'
  | 'peer-in'
  | 'change-checked'
  | 'change-applied'
  | 'editor-out';

/** Takes one point as it is passed (the recorder reads the clock). */
export type TraceRecorder = (point: TracePoint) => void;

let recorder: TraceRecorder | undefined;

/** Record `point` now, if a recorder is installed. */
export function tracePoint(point: TracePoint): void {
  recorder?.(point);
}

/** Install the recorder every later point goes to (undefined: off). */
export function useTraceRecorder(r: TraceRecorder | undefined): void {
  recorder = r;
}
