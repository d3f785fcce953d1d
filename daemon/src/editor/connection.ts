/**
 * One editor connection: JSON-RPC over a socket, each protocol method bound to a service in one
 * line. Wire types stop here: handlers get validated params, sessions get internal values.
 */
import type { Socket } from 'node:net';
import * as P from '@chorus/protocol';
import { createMessageConnection, ReadableStreamMessageReader, ResponseError } from 'vscode-jsonrpc/node';
import { EDITOR_GONE, FrameWriter } from './frame-writer.js';
import { answerBadFrame, CountingReader, logInternalErrors, onNotification, onRequest, onUnknown, orderedDecoder, type Binding } from './rpc-edge.js';
import { MessageOrder } from './request-order.js';
import { FrameGuard } from './frame-guard.js';
import type { EditorClient, EditorBuffers } from './editor-buffers.js';
import { EditorCollaboration, type Collaboration, type Notify } from './editor-collaboration.js';
import type { Encoding } from '../text/positions.js';
import { Failure } from '../errors.js';

/** What a connection needs from the daemon. */
export interface EditorServices {
  version: string;
  root: string;
  peer: P.PeerInfo;
  log(msg: string): void;
  newSession(client: EditorClient): EditorBuffers;
  endSession(session: EditorBuffers): void;
  collaboration: Collaboration;
  status(): P.ResultOf<typeof P.SessionStatus>;
  files(): P.ResultOf<typeof P.WorkspaceFiles>;
  share(opts: { host?: string; port?: number; relay?: string; readOnly?: boolean; webrtc?: boolean; name?: string }): Promise<P.ResultOf<typeof P.SessionShare>>;
  join(code: string, opts: { disk: boolean; host?: string; port?: number; webrtc?: boolean; name?: string }, progress: (p: P.ParamsOf<typeof P.SessionProgress>) => void): Promise<P.ResultOf<typeof P.SessionJoin>>;
}

/** Params with optional fields left out rather than `undefined` (exactOptionalPropertyTypes-safe). */
function dropUndefined<T extends object>(o: T): { [K in keyof T]: Exclude<T[K], undefined> } {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as never;
}

/**
 * The longest a take-in of the folder waits for an editor's messages read so far to be handed
 * on (EditorClient.caughtUp): a few turns of the event loop as a rule; a bound for a connection
 * whose library holds a message back.
 */
const CAUGHT_UP_MS = 2000;

const SUPPORTED: Encoding[] = ['utf-16', 'utf-8', 'utf-32'];

function negotiate(offered: string[] | undefined): Encoding {
  for (const enc of offered ?? []) if ((SUPPORTED as string[]).includes(enc)) return enc as Encoding;
  return 'utf-16';
}

export function serveEditor(socket: Socket, services: EditorServices): void {
  const writer = new FrameWriter(socket);
  // Framing is checked before the reader buffers anything: broken or oversized frames end the
  // connection with a message rather than holding it or leaving it out of step.
  const guard = new FrameGuard(socket, (reason) => {
    services.log(`closing an editor connection: ${reason}`);
    void writer
      .write({ jsonrpc: '2.0', id: null, error: { code: P.ErrorCodes.InvalidRequest, message: reason } } as never)
      .catch(() => undefined)
      .finally(() => socket.end());
  });
  const reader = new CountingReader(new ReadableStreamMessageReader(guard, { charset: 'utf-8', contentTypeDecoder: orderedDecoder }));
  // Answers to an editor that has just left (a `chorus status` that timed out, an editor that
  // typed and quit at once) fail to be written: only those answers are lost, the messages ran
  // (see onClose below), and the library's wording would say nothing of that. Said once.
  let goneSaid = false;
  const conn = createMessageConnection(reader, writer, {
    error: (m) => {
      if (!m.includes(EDITOR_GONE)) services.log(m);
      else if (!goneSaid) {
        goneSaid = true;
        services.log('an editor left before its answers were written; only those answers were lost: what it sent was taken in');
      }
    },
    warn: () => undefined,
    info: () => undefined,
    log: () => undefined,
  });
  conn.onError(([error]) => answerBadFrame(writer, error));

  // A notification to an editor that has just gone away is simply lost, never an error. One to a
  // socket known closed is not even sent: vscode-jsonrpc logs every failed send ("Sending
  // notification failed."), and the daemon, stopping, closes editors' sockets before the presence
  // and peers it tells them of are gone (a `chorus stop` logged that line once per notification).
  const notify: Notify = (def, params) => {
    if (socket.destroyed || !socket.writable) return;
    void conn.sendNotification(def.method, params).catch(() => undefined);
  };
  const order = new MessageOrder();
  const session = services.newSession({
    bufferDidChange: (path, revision, changes) => notify(P.BufferDidChange, { path, revision, changes }),
    workspaceDidChange: (change) => notify(P.WorkspaceDidChange, change),
    bufferDidRename: (from, to) => notify(P.BufferDidRename, { from, to }),
    // Up to what it has sent so far (a count taken now): an editor typing on is not waited for.
    caughtUp: () => order.handedOn(reader.read, 100, CAUGHT_UP_MS),
  });
  const collab = new EditorCollaboration(session, services.collaboration, notify);
  const gate = (method: string) => {
    if (!session.initialized && method !== P.Initialize.method) {
      throw new ResponseError(P.ErrorCodes.NotInitialized, `this connection sent ${method} before initialize; send initialize first (with protocolVersion ${P.PROTOCOL_VERSION}), then ${method}`);
    }
  };
  const log = (msg: string) => services.log(`editor ${session.id} (${session.name}): ${msg}`);
  logInternalErrors(conn, log);
  // Every message of this editor runs and is answered in the order it was sent (decision 187).
  const b: Binding = { conn, order, gate, log };

  onRequest(b, P.Initialize, (p) => {
    if (p.protocolVersion !== P.PROTOCOL_VERSION) {
      throw new ResponseError(
        P.ErrorCodes.UnsupportedProtocolVersion,
        `this daemon (chorus ${services.version}) speaks protocol version ${P.PROTOCOL_VERSION}, the editor plugin speaks ${p.protocolVersion}; update ${p.protocolVersion < P.PROTOCOL_VERSION ? 'the plugin' : 'chorus'}`,
      );
    }
    session.encoding = negotiate(p.positionEncodings);
    session.name = p.clientInfo?.name ?? 'editor';
    session.savesItself = p.savesItself === true;
    session.initialized = true;
    return { protocolVersion: P.PROTOCOL_VERSION, positionEncoding: session.encoding, serverInfo: { name: 'chorus', version: services.version }, root: services.root, peer: services.peer, editorId: session.id };
  });
  onRequest(b, P.Shutdown, () => (session.dispose(), null));
  onRequest(b, P.BufferOpen, (p) => session.open(p.path, p.content, p.base, p.pending));
  // Applied when the handler returns; answered once saved, so typing is never held for storage.
  onRequest(b, P.BufferEdit, (p) => session.edit(p.path, p.revision, p.changes, p.undoStop ?? false, p.id).then(() => null), 'applied');
  onRequest(b, P.BufferClose, (p) => {
    collab.closing(p.path);
    session.close(p.path);
    return null;
  });
  // Answered once the file is written: the editor's save is done when this answers. A declared
  // write (VS Code's save of its own text) is known on arrival: VS Code has written the file by
  // then, and the folder's take-in of it must not wait behind this editor's earlier messages
  // (decision 271).
  onRequest(
    b,
    P.BufferSave,
    (p) => session.save(p.path, { hold: p.hold ?? false, writes: p.writes, revision: p.revision }).then(() => null),
    'ordered',
    (p) => (p.writes === undefined ? undefined : session.declareWrite(p.path, p.writes)),
  );
  onRequest(b, P.SessionStatus, () => services.status());
  onRequest(b, P.WorkspaceFiles, () => services.files());
  onRequest(b, P.SessionShare, (p) => services.share(dropUndefined(p ?? {})));
  // A join waits for the first sync (seconds): the editor keeps typing and asking meanwhile.
  onRequest(
    b,
    P.SessionJoin,
    (p) => services.join(p.code, dropUndefined({ disk: p.disk ?? true, host: p.host, port: p.port, webrtc: p.webrtc, name: p.name }), (progress) => notify(P.SessionProgress, progress)),
    'detached',
  );
  // A notification cannot be answered: an invalid one is told to this editor once per method
  // (its plugin has a bug its author should see), and only logged after that (decision 191).
  const told = new Set<string>();
  const invalid = (method: string, problem: string) => {
    if (told.has(method)) return;
    told.add(method);
    notify(P.SessionNotice, {
      type: 'warning',
      message: `${problem}. Chorus ignored that notification (a notification gets no answer): the editor plugin sent something the protocol does not allow; please report it to the plugin's author. Further invalid ${method} notifications on this connection are only logged (.chorus/daemon.log).`,
    });
  };
  // A cursor for a file the editor does not have open (closed, renamed or deleted just before it
  // arrived) is dropped, and the log says so in words, not as a refused protocol method.
  const unlessClosed = (what: string, path: string, f: () => void) => {
    try {
      f();
    } catch (e) {
      if (!(e instanceof Failure) || e.kind !== 'notOpen') throw e;
      log(`its ${what} in ${path} was ignored: that file is not open in this editor (closed, renamed or deleted just before, or never opened)`);
    }
  };
  onNotification(b, P.CursorSet, (p) => unlessClosed('cursor', p.path, () => collab.setCursor(p.path, p.selections)), invalid);
  onNotification(b, P.ViewportSet, (p) => unlessClosed('visible range', p.path, () => collab.setViewport(p.path, p.range)), invalid);
  onRequest(b, P.BufferUndo, (p) => ({ applied: collab.undo(p.path, true) }));
  onRequest(b, P.BufferRedo, (p) => ({ applied: collab.undo(p.path, false) }));
  onRequest(b, P.FollowStart, (p) => ({ peer: collab.follow(p.peer) }));
  onRequest(b, P.FollowStop, () => (collab.unfollow(), null));
  onRequest(b, P.DataSet, (p) => (collab.dataSet(p.namespace, p.key, p.value), null));
  onRequest(b, P.DataGet, (p) => collab.dataGet(p.namespace, p.key) as never);
  onRequest(b, P.MessageBroadcast, (p) => (collab.broadcast(p.namespace, p.payload), null));
  onUnknown(b, `chorus ${services.version}, protocol version ${P.PROTOCOL_VERSION}`);

  // What the editor sent before it left still runs before its buffers close: vscode-jsonrpc hands
  // on the messages it has read one per turn, after the close. An editor that types and quits at
  // once (or a script that sends its edits and hangs up) sent those keystrokes, and they are the
  // person's work; ended at once, its buffers refused all but the first (trial s53, F1: 299 of
  // 300 pipelined edits lost, each logged as only an answer lost).
  conn.onClose(() => {
    void b.order.settled(() => reader.read).then(() => {
      collab.dispose();
      services.endSession(session);
    });
  });
  conn.listen();
}
