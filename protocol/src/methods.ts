/**
 * Every method of the Chorus editor protocol, declared once. The daemon, the tests and the VS
 * Code client import these; the Lua and Elisp method tables are generated from them
 * (`npm run generate -w @chorus/protocol`). Renaming a method here breaks every user at build time.
 */
import { z } from 'zod';
import { notification, request } from './define.js';
import { PeerInfo, Position, PositionEncoding, ProjectPath, Range, RelayUrl, Selection, TextChange } from './types.js';

const uint = z.number().int().nonnegative();
const Empty = z.object({}).strict().nullish();
const Null = z.null();

// ---- lifecycle ------------------------------------------------------------------------------

export const Initialize = request(
  'initialize',
  'editorToDaemon',
  'First request on a connection. Negotiates the protocol version and the position encoding, and tells the editor who it is in the session.',
  () => z.object({
    /** The protocol version the client speaks; must equal the daemon's. */
    protocolVersion: z.number().int(),
    /** The editor or script, for logs and for other people's views. */
    clientInfo: z.object({ name: z.string().max(200), version: z.string().max(100).optional() }).optional(),
    /** Encodings the client can use, most preferred first. Default: `["utf-16"]`. */
    positionEncodings: z.array(z.string()).optional(),
    /**
     * The editor may write its buffers into their files itself without `buffer/save` first (a
     * language server whose client sends no willSaveWaitUntil, as Neovim 0.7's). A content of a
     * file that is exactly such an editor's buffer, short of others' changes still on their way
     * to it, is then taken for its save, not for an outside edit (decision 276). Default false.
     */
    savesItself: z.boolean().optional(),
  }),
  () => z.object({
    /** The protocol version in use. */
    protocolVersion: z.number().int(),
    /** The position encoding every position on this connection uses, both ways. */
    positionEncoding: PositionEncoding,
    serverInfo: z.object({ name: z.string(), version: z.string() }),
    /** Absolute path of the project root; paths from the daemon are relative to it. */
    root: z.string(),
    /** This daemon's peer, which is how others see this editor's person. */
    peer: PeerInfo,
    /** Id of this editor connection, unique within the daemon. */
    editorId: z.string(),
  }),
);

export const Shutdown = request(
  'shutdown',
  'editorToDaemon',
  'The editor is going away; the daemon closes its buffers. The daemon itself keeps running for other editors and peers.',
  () => Empty,
  () => Null,
);

// ---- buffers --------------------------------------------------------------------------------

/** An editor's name for one of its edits (`buffer/edit` `id`). */
const EditId = z.string().min(1).max(128);

export const BufferOpen = request(
  'buffer/open',
  'editorToDaemon',
  'Start editing a file. The daemon answers with its content; both revision counters start at 0. If `content` is given and differs, it is merged into the shared text as an edit by this editor (what an editor does on reconnect) and the answer carries the merged result, which the editor adopts.',
  () => z.object({
    path: ProjectPath,
    /** The editor\'s current text of the buffer, if it has one (reconnect, or a file it created). */
    content: z.string().optional(),
    /**
     * With `content`: the text the editor last had in step with the daemon (before its unsent
     * typing). Then only the editor's own changes since `base` are merged, and changes others
     * made meanwhile are kept. Without it (a first open), the editor is taken to have started
     * from the file as the folder last held it (empty where the folder never had it: a new
     * buffer), and only what it changed since is merged.
     */
    base: z.string().optional(),
    /**
     * With `base`: the edits sent after `base` that were never answered (the connection went),
     * oldest first, each with its `id` and the editor's text right after it. The daemon keeps
     * the ids of edits it applied, across a crash, and merges from the text after the newest of
     * these it had applied (else from `base`), so an edit applied just before the connection
     * went is not applied twice.
     */
    pending: z.array(z.object({ id: EditId, text: z.string() })).max(64).optional(),
  }),
  () => z.object({
    /** Path relative to the project root (a path through a symbolic link: the file it names). */
    path: z.string(),
    /** The text the editor must show now. */
    content: z.string(),
    /**
     * False when the file is not shared: it is ignored (`.gitignore`, `.chorus/ignore`), so it
     * stays on this machine. The editor then edits it as a plain local file, shows that it is
     * not shared, and sends no buffer/edit for it. Absent means shared.
     */
    shared: z.boolean().optional(),
    /** With `shared: false`: why, in words for the person. */
    notShared: z.string().optional(),
  }),
);

export const BufferEdit = request(
  'buffer/edit',
  'editorToDaemon',
  'The editor changed an open buffer. `revision` is the number of buffer/didChange the editor has applied to this buffer since it opened it. The daemon transforms the edit against changes the editor had not seen yet.',
  () => z.object({
    path: ProjectPath,
    /** The editor\'s daemonRevision: buffer/didChange notifications applied for this buffer. */
    revision: uint,
    /** The changes, applied in order, each to the result of the previous. */
    changes: z.array(TextChange).max(100000),
    /**
     * Marks this edit as the start of a new undo step for `buffer/undo`. Without it the edit joins
     * this editor's current step in the buffer, unless 1 s or more passed since its previous edit
     * there (protocol/README.md, "Undo steps").
     */
    undoStop: z.boolean().optional(),
    /**
     * The editor's name for this edit, unique among its edits (a random prefix per editor process
     * and a counter does). Named edits can be asked about after a lost connection: `pending` of
     * buffer/open.
     */
    id: EditId.optional(),
  }),
  () => Null,
);

export const BufferClose = request(
  'buffer/close',
  'editorToDaemon',
  'The editor stopped editing the buffer; no more buffer/didChange for it.',
  () => z.object({ path: ProjectPath }),
  () => Null,
);

export const BufferSave = request(
  'buffer/save',
  'editorToDaemon',
  "Write an open buffer's file now, with the shared text (every edit this editor sent before this request, and others' changes it may not have been sent yet), and answer once it is on disk. An editor's save (`:w`, Ctrl+S) asks this instead of writing its buffer itself: a buffer that lacks a peer's change on its way to it, written by the editor, is a change of the file, and taking it in doubled the editor's last typing or undid the peer's change (decision 222). Refused for a buffer that is not shared (an ignored file, view mode) and for a read-only member's buffer: the editor writes that one itself, as a local file. An editor that must write the file itself after (VS Code) sends `hold: true`: the daemon's own writes of the buffer's later changes wait (at most 2 s), so the file stays the text written; then, right before its own write, `writes` with the SHA-256 (hex) of the UTF-8 text it writes, which is answered at once and writes nothing: that text, found in the folder within a few seconds, is the editor's own document, not a change of the file (decision 255). A `writes` counts from the moment it arrives, even while this editor's earlier messages still wait their turn (a daemon resumed after a suspension; decision 271). With `hold`, `revision` (as a buffer/edit carries it: the buffer/didChange this editor has applied) has the file written with exactly the text the editor has then, without the changes still on their way to it, which the editor holds back until it has written the file: so the file and its document are one text however fast others type (decision 273); the shared text follows once the hold ends.",
  () => z.object({ path: ProjectPath, hold: z.boolean().optional(), writes: z.string().regex(/^[0-9a-f]{64}$/).optional(), revision: uint.optional() }),
  () => Null,
);

export const BufferDidChange = notification(
  'buffer/didChange',
  'daemonToEditor',
  'The buffer changed elsewhere (another editor, a peer, the disk). Apply it only when `revision` equals the number of buffer/edit you have sent for this buffer; otherwise drop it: a transformed replacement follows.',
  () => z.object({
    path: z.string(),
    /** How many of this editor\'s buffer/edit the daemon had processed when it made this change. */
    revision: uint,
    changes: z.array(TextChange),
  }),
);

export const BufferDidRename = notification(
  'buffer/didRename',
  'daemonToEditor',
  'A file this editor has open was renamed or moved (by a peer, another tool or a git checkout). Keep the buffer open under `to` (same text, same revision counters); buffer/edit sent with `from` before this arrived still lands in it.',
  () => z.object({
    from: z.string(),
    to: z.string(),
  }),
);

export const BufferUndo = request(
  'buffer/undo',
  'editorToDaemon',
  'Undo this editor\'s last undo step in the buffer, never anyone else\'s edits. The result reaches every editor (this one too) as buffer/didChange.',
  () => z.object({ path: ProjectPath }),
  () => z.object({ /** False when there was nothing to undo. */ applied: z.boolean() }),
);

export const BufferRedo = request(
  'buffer/redo',
  'editorToDaemon',
  'Redo the step the last buffer/undo of this editor undid.',
  () => z.object({ path: ProjectPath }),
  () => z.object({ /** False when there was nothing to redo. */ applied: z.boolean() }),
);

// ---- session --------------------------------------------------------------------------------

const PeerStatus = PeerInfo.extend({
  /** How this daemon reaches the peer. */
  path: z.enum(['webrtc', 'websocket', 'relay', 'self']).optional(),
  state: z.string().optional(),
  /** Round-trip time in milliseconds, when measured. */
  rttMs: z.number().optional(),
  /**
   * Files whose changes are still being exchanged with this peer, either way (a link up after
   * time apart, a join): not level with it yet. Absent when none.
   */
  syncing: uint.optional(),
  /**
   * Why links with this peer are refused, while they are and it is not linked (its daemon runs
   * another Chorus version, or holds another session's secret). Absent otherwise.
   */
  refused: z.string().max(1000).optional(),
});

export const SessionStatus = request(
  'session/status',
  'editorToDaemon',
  'What the daemon is doing: its project, version, buffers, editors and peers.',
  () => Empty,
  () => z.object({
    root: z.string(),
    version: z.string(),
    pid: z.number().int(),
    protocolVersion: z.number().int(),
    peer: PeerInfo,
    buffers: z.array(z.object({ path: z.string(), length: uint, editors: uint })),
    editors: z.array(z.object({ id: z.string(), name: z.string(), positionEncoding: PositionEncoding })),
    peers: z.array(PeerStatus),
    /**
     * Files waiting to be written into the folder with their content here (a join, a peer's change
     * of many files): counted when the change arrives, down as each is written; 0 when none.
     */
    writing: uint,
    /**
     * Files of the project not written into the folder yet because their content has not arrived
     * from a peer (each is written when it does); 0 when none.
     */
    waitingForContent: uint,
    /**
     * What the daemon found wrong as it started, in words a person can act on (the log has the
     * same lines): saved state found damaged and set aside (the session file, so this folder left
     * its session; the identity; a document's saved changes). At most 20; absent when none.
     */
    problems: z.array(z.string().max(2000)).max(20).optional(),
    /** The session this project belongs to, if it is shared or joined. */
    session: z.object({
      code: z.string().optional(),
      role: z.enum(['host', 'guest']),
      /** This member holds only the read-only secret: it cannot write, nor give a code that can. */
      readOnly: z.boolean(),
      /** Where this daemon listens for peers (`ws://host:port`), once the session is up. */
      listening: z.array(z.string()).optional(),
      /** The relay this session uses, if any. */
      relay: RelayUrl.optional(),
      /**
       * With `relay`, once the session runs: whether this daemon is connected to the relay now,
       * and if not, why its last attempt failed (it keeps retrying), in words.
       */
      relayState: z.object({ connected: z.boolean(), problem: z.string().max(1000).optional() }).optional(),
      /** false: links stay WebSocket (or the relay), never WebRTC. */
      webrtc: z.boolean().optional(),
      /** false: view mode (joined with `disk: false`): nothing is written to this folder; files live in the editors only. */
      disk: z.boolean().optional(),
      /**
       * Set while this session is not started yet: `joining`, a join asked for waits for the
       * daemon to finish taking in the folder; `rejoining`, the daemon has just started and
       * connects to its saved session once it has taken in the folder. Absent once it runs.
       */
      starting: z.enum(['joining', 'rejoining']).optional(),
    }).nullable(),
    /**
     * Where the daemon's memory goes, in bytes (for `bench:memory` and bug reports): the process's
     * resident set, the V8 heap, memory outside it (`external`, which holds `arrayBuffers` and the
     * CRDT's WebAssembly memory `wasm`), and what the workspace holds.
     */
    memory: z.object({
      rss: uint,
      heapUsed: uint,
      heapTotal: uint,
      external: uint,
      arrayBuffers: uint,
      /** Automerge's WebAssembly linear memory; it grows and never shrinks while the process runs. */
      wasm: uint,
      /** Files in the index; text documents this daemon holds (in memory or saved), and those in memory now. */
      files: uint,
      docsHeld: uint,
      docsLoaded: uint,
    }).optional(),
  }),
);

export const SessionShare = request(
  'session/share',
  'editorToDaemon',
  'Share this project: the daemon starts listening for peers and answers with a join code.',
  () => z.object({
    host: z.string().optional(),
    port: z.number().int().min(0).max(65535).optional(),
    relay: RelayUrl.optional(),
    /** Guests joining with the code can read but not write. */
    readOnly: z.boolean().optional(),
    /** false: never upgrade links to WebRTC data channels (WebSocket/relay only). */
    webrtc: z.boolean().optional(),
    /**
     * The name others see for this person (a label beside their cursor): replaces the daemon's
     * and is kept for the project, so later starts keep it. The daemon refuses, with InvalidParams
     * and nothing changed, an empty name, one longer than 200 characters, or one holding control
     * or bidirectional characters (daemon/src/presence/person-name.ts, decision 178).
     */
    name: z.string().optional(),
  }).nullish(),
  () => z.object({
    code: z.string(),
    /** The code lets guests read but not write (asked for, or all this member may give). */
    readOnly: z.boolean().optional(),
    /**
     * Params that took no effect because the folder is already shared with other values
     * (`host`, `port`, `relay`, `webrtc` apply when sharing starts); absent when none.
     */
    ignored: z.array(z.enum(['host', 'port', 'relay', 'webrtc'])).optional(),
    /** What a person should know about this share, in words (e.g. it starts apart from an old session); absent when nothing. */
    notices: z.array(z.string()).optional(),
  }),
);

export const SessionJoin = request(
  'session/join',
  'editorToDaemon',
  'Join a shared session with a join code; answers once the first sync has finished.',
  () => z.object({
    code: z.string().min(1),
    /** false: view mode, nothing is written to this folder; files are fetched when opened. */
    disk: z.boolean().optional(),
    /** Where this daemon listens for other peers (default all interfaces, any port). */
    host: z.string().optional(),
    port: z.number().int().min(0).max(65535).optional(),
    /** false: never upgrade links to WebRTC data channels (WebSocket/relay only). */
    webrtc: z.boolean().optional(),
    /**
     * The name others see for this person (a label beside their cursor): replaces the daemon's
     * and is kept for the project, so later starts keep it. The daemon refuses, with InvalidParams
     * and nothing changed, an empty name, one longer than 200 characters, or one holding control
     * or bidirectional characters (daemon/src/presence/person-name.ts, decision 178).
     */
    name: z.string().optional(),
  }),
  () => z.object({
    files: uint,
    bytes: uint,
    /**
     * Files whose content no connected peer could send (each said it lacks it); absent when none.
     * Each is written when its content comes: a peer that has it connects, or the file changes.
     */
    waiting: uint.optional(),
    /**
     * What happened to files on the way that the person should know, in words: e.g. a file this
     * folder and the session both had, with different content, kept twice (the other version as
     * `name (conflict <tag>).ext`). Absent when nothing; at most 50 (the daemon's log has all).
     */
    notices: z.array(z.string()).optional(),
  }),
);

export const SessionProgress = notification(
  'session/progress',
  'daemonToEditor',
  'Progress of a long operation (the first sync after joining), sent to the editor that asked for it.',
  () => z.object({
    phase: z.enum(['connecting', 'syncing', 'writing', 'done']),
    files: uint,
    filesTotal: uint,
    bytes: uint,
    bytesTotal: uint,
  }),
);

export const SessionNotice = notification(
  'session/notice',
  'daemonToEditor',
  'Something the person must know that the daemon did to their files, sent to every editor of this daemon: that it kept a copy of their own version of a file before writing the session\'s over it (a read-only member\'s change or own new file), and that a version of a file made or changed on two peers at once (or a file made where a peer made a folder) was moved aside as a conflict copy, `name (conflict …)` (a warning naming both paths, without `path`; a burst, as a join settling many, is one notice with the count). Also, to one editor only, once per method per connection: that the daemon dropped a notification of that editor with invalid params (no `path`; `type` is `warning`). `type` as in LSP\'s window/showMessage; `message` says what happened, where their version is and what to do; `path` the project file it is about; `kept` where the copy is, relative to the project folder (`.chorus/kept/...`). A buffer open on `path` is brought to the session\'s text by buffer/didChange as usual.',
  () => z.object({
    type: z.enum(['error', 'warning', 'info']),
    message: z.string(),
    path: z.string().optional(),
    kept: z.string().optional(),
  }),
);

// ---- workspace ------------------------------------------------------------------------------

export const WorkspaceFiles = request(
  'workspace/files',
  'editorToDaemon',
  'The files of the project.',
  () => Empty,
  () => z.object({ files: z.array(z.object({ path: z.string(), size: uint, binary: z.boolean() })) }),
);

export const WorkspaceDidChange = notification(
  'workspace/didChange',
  'daemonToEditor',
  'Files were created, deleted or renamed.',
  () => z.object({
    created: z.array(z.string()).optional(),
    deleted: z.array(z.string()).optional(),
    renamed: z.array(z.object({ from: z.string(), to: z.string() })).optional(),
  }),
);

// ---- presence -------------------------------------------------------------------------------

export const CursorSet = notification(
  'cursor/set',
  'editorToDaemon',
  'The editor\'s selections in a buffer changed.',
  () => z.object({ path: ProjectPath, selections: z.array(Selection).max(1000) }),
);

export const ViewportSet = notification(
  'viewport/set',
  'editorToDaemon',
  'The visible part of a buffer changed.',
  () => z.object({ path: ProjectPath, range: Range }),
);

export const CursorDidChange = notification(
  'cursor/didChange',
  'daemonToEditor',
  'Someone\'s selections (and viewport) moved; positions are in this editor\'s encoding. An empty selection list means they left the file.',
  () => z.object({ peer: PeerInfo, path: z.string(), selections: z.array(Selection), viewport: Range.optional() }),
);

/** Why someone is in the session's list (peer/didJoin `reason`). */
export const JoinReason = z.enum(['joined', 'back']);

export const PeerDidJoin = notification(
  'peer/didJoin',
  'daemonToEditor',
  "Someone is in the session's list who was not. `reason`: `joined`, new to this daemon (a member that just joined, or one met for the first time); `back`, a member it had before: one gone (peer/didLeave) and heard again, or, after this daemon restarted, a member that was in the session already (its link says it is not joining). Absent (older daemons): take it as `joined`.",
  () => z.object({ peer: PeerInfo, reason: JoinReason.optional() }),
);
/** Why a peer is gone from the list (peer/didLeave `reason`). */
export const LeaveReason = z.enum(['left', 'unreachable']);

export const PeerDidLeave = notification(
  'peer/didLeave',
  'daemonToEditor',
  "Someone is gone from the session's list. `reason`: `left`, it said goodbye (its daemon stopped, or it left the session); `unreachable`, nothing was heard from it for 10 s without a goodbye (its connection, or a relay between you, dropped): it is back, with a peer/didJoin, when it is heard again. Absent (older daemons): take it as `left`.",
  () => z.object({ peer: PeerInfo, reason: LeaveReason.optional() }),
);

// ---- follow ---------------------------------------------------------------------------------

export const FollowStart = request(
  'follow/start',
  'editorToDaemon',
  'Follow a peer (by id or name): the daemon sends follow/reveal whenever they move.',
  () => z.object({ peer: z.string().min(1) }),
  () => z.object({ peer: PeerInfo }),
);
export const FollowStop = request('follow/stop', 'editorToDaemon', 'Stop following.', () => Empty, () => Null);
export const FollowReveal = notification(
  'follow/reveal',
  'daemonToEditor',
  'The followed peer moved: open `path` and show `range`.',
  () => z.object({ peer: PeerInfo, path: z.string(), range: Range }),
);
export const FollowDidStop = notification(
  'follow/didStop',
  'daemonToEditor',
  'Following ended (the editor typed, asked to stop, or the peer left).',
  () => z.object({ reason: z.enum(['requested', 'typed', 'peerLeft']) }),
);

// ---- extension data -------------------------------------------------------------------------

const Namespace = z.string().regex(/^[A-Za-z0-9_.-]{1,64}$/, 'namespace must be 1-64 letters, digits, dots, dashes or underscores');
const Key = z.string().min(1).max(256);

export const DataSet = request(
  'data/set',
  'editorToDaemon',
  'Store a JSON value under namespace/key, replicated to every peer and kept across restarts. `null` deletes it.',
  () => z.object({ namespace: Namespace, key: Key, value: z.json() }),
  () => Null,
);
export const DataGet = request(
  'data/get',
  'editorToDaemon',
  'Read one value, or every key of a namespace when `key` is omitted.',
  () => z.object({ namespace: Namespace, key: Key.optional() }),
  () => z.object({ value: z.json().optional(), entries: z.record(z.string(), z.json()).optional() }),
);
export const DataDidChange = notification(
  'data/didChange',
  'daemonToEditor',
  'A replicated value changed (here or on a peer).',
  () => z.object({ namespace: z.string(), key: z.string(), value: z.json() }),
);
export const MessageBroadcast = request(
  'message/broadcast',
  'editorToDaemon',
  'Send an ephemeral message to every other editor of every peer. Not stored.',
  () => z.object({ namespace: Namespace, payload: z.json() }),
  () => Null,
);
export const MessageDidReceive = notification(
  'message/didReceive',
  'daemonToEditor',
  'An ephemeral message from another editor.',
  () => z.object({ namespace: z.string(), payload: z.json(), peer: PeerInfo }),
);

/** Every method, in the order the spec lists them. */
export const allMethods = [
  Initialize, Shutdown,
  BufferOpen, BufferEdit, BufferClose, BufferSave, BufferDidChange, BufferDidRename, BufferUndo, BufferRedo,
  SessionStatus, SessionShare, SessionJoin, SessionProgress, SessionNotice,
  WorkspaceFiles, WorkspaceDidChange,
  CursorSet, ViewportSet, CursorDidChange, PeerDidJoin, PeerDidLeave,
  FollowStart, FollowStop, FollowReveal, FollowDidStop,
  DataSet, DataGet, DataDidChange, MessageBroadcast, MessageDidReceive,
] as const;

export { Position };
