/**
 * The composition root: one daemon for one project folder. Builds the workspace, the disk side,
 * the editor server and the session (peers), and answers what editors ask of the daemon as a whole.
 */
import { EventEmitter } from 'node:events';
import fs from 'node:fs';
import { z } from 'zod';
import path from 'node:path';
import type * as P from '@chorus/protocol';
import { PROTOCOL_VERSION } from '@chorus/protocol';
import { ChangeRoute } from './change-route.js';
import { DiskLedger } from './disk/disk-ledger.js';
import { readBytes } from './disk/files.js';
import { becameProject } from './disk/nested-projects.js';
import { FolderSync } from './disk/folder-sync.js';
import { inWords } from './disk/folder-writer.js';
import { WriteBack } from './disk/write-back.js';
import type { Collaboration } from './editor/editor-collaboration.js';
import { RecentRenames } from './editor/recent-renames.js';
import { EditorBuffers, type EditorClient } from './editor/editor-buffers.js';
import { UndoManager, type OwnTextRemoved } from './editor/undo-manager.js';
import { carryPresence, Presence, type PeerView } from './presence/presence.js';
import type { PeerNetwork, Replicator } from './sync/replicator.js';
import { DATA_DOC_ID, ExtensionData } from './workspace/extension-data.js';
import { listenForEditors, type EditorServer } from './editor/editor-server.js';
import { Failure } from './errors.js';
import { colorFor, loadIdentity, saveIdentity, type Identity } from './identity.js';
import { colorApart } from './presence/colors.js';
import { nameProblem } from './presence/person-name.js';
import { logLine } from './log-line.js';
import { MALFORMED_LINES_PER_MINUTE, QuietLog } from './quiet-log.js';
import { useNodePlatform } from './node-platform.js';
import { acquireLock, releaseLock } from './lifecycle/lock.js';
import { clearStopMark, noteEditorsAtStop } from './lifecycle/stop-mark.js';
import { CLI_CLIENT } from './lifecycle/rpc-client.js';
import { socketAnswers } from './lifecycle/daemon-process.js';
import { deletedCopyHolds } from './lifecycle/kept-copies.js';
import { Project, tooBroad } from './project.js';
import { configKeys, loadSession, setAsideDamagedSession, type SessionConfig } from './session/session-file.js';
import { decodeJoinCode, isReadOnly } from './net/join-code.js';
import { NO_NAME_YET, SessionManager, type JoinOptions, type JoinProgress, type JoinResult, type ShareOptions, type ShareResult } from './session/session-manager.js';
import { testTimings } from './session/test-timings.js';
import { VERSION } from './version.js';
import { processMemory } from './memory-report.js';
import { runActor } from './workspace/actors.js';
import { BACK_WORDS, COPY_NOTICE_WINDOW_MS, CopyNotices } from './editor/copy-notices.js';
import { settleMemory } from './lifecycle/settle-memory.js';
import { FsBlobStore } from './workspace/fs-blob-store.js';
import { Storage } from './workspace/storage.js';
import { Workspace } from './workspace/workspace.js';
import type { Timer } from './timers.js';

const MESSAGE_TOPIC = 'message';

/** A peer's change that removed an editor's typing is told once per editor and file in this long (a checkout's changes come in a burst). */
const REMOVED_NOTICE_MS = 5000;
/** How long a stopping daemon waits for leaving the session before it saves its state and exits anyway (ms; `chorus stop` waits 10 s in all). */
const LEAVE_BOUND_MS = 3000;
/**
 * How long an editor's save that it writes itself (VS Code, `buffer/save` with `hold`) holds the
 * daemon's own writes of the file, from the save and again from its `writes` (decision 255):
 * VS Code writes once the extension's part is done, which a busy code-server took up to 2–3 s to
 * follow (decision 273). A write that lands ends the hold at once.
 */
const EDITOR_SAVE_HOLD_MS = 3000;
const MessageBody = z.object({ namespace: z.string().max(64), payload: z.unknown() });

interface LocalMessage {
  namespace: string;
  payload: unknown;
  peer: PeerView;
  fromEditor?: string;
}

export interface DaemonOptions {
  dir: string;
  name?: string;
  log?: (msg: string) => void;
  /**
   * Wraps the network the replicator speaks through, in every session this daemon starts. For
   * tests: a fault-injecting decorator (test/support/held-network.ts). Default: the overlay itself.
   */
  wrapNetwork?: (net: PeerNetwork) => PeerNetwork;
  /**
   * Started for a view-mode join (`chorus join --no-disk`): the folder is not read or watched
   * until a share or a join that writes to disk asks for it. Without this, the start-up scan
   * took the folder's own files in, and the view-mode join shared them with every peer.
   */
  view?: boolean;
}

/**
 * A project file's bytes for an editor's open, never through a symbolic link: its target may be
 * outside the project (issue 10, item 5), and the folder scan never shares links either. Undefined
 * when nothing is there; Failure for a folder, or a path under a file (see Workspace.refuseClash).
 */
async function readProjectFile(project: Project, rel: string): Promise<Uint8Array | undefined> {
  const abs = project.absolute(rel);
  const st = await fs.promises.lstat(abs).catch(() => undefined);
  if (st?.isSymbolicLink()) throw new Failure('notEditable', `${rel} is a symbolic link; Chorus never follows links in the project (their target may be outside it), so it is not shared or edited`);
  if (st?.isDirectory()) throw new Failure('invalid', `${rel} is a folder; open a file inside it`);
  if (st && !st.isFile()) return undefined;
  if (!st) {
    // Not there: a file on its way would make it a folder everywhere (see Workspace.refuseClash).
    const parts = rel.split('/');
    for (let n = parts.length - 1; n > 0; n--) {
      const above = await fs.promises.lstat(project.absolute(parts.slice(0, n).join('/'))).catch(() => undefined);
      if (!above) continue;
      if (above.isDirectory()) break;
      throw new Failure('invalid', `${parts.slice(0, n).join('/')} is a file, so ${rel} cannot be made inside it; check the path`);
    }
  }
  return readBytes(abs);
}

/** A share or join that may name the person (session/share and session/join `name`). */
interface Named {
  name?: string;
}

type SessionStatus = NonNullable<P.ResultOf<typeof P.SessionStatus>['session']>;

/** What `status` says of a session from its settings (where it listens is added once it does). */
function sessionStatus(config: SessionConfig): SessionStatus {
  return {
    role: config.role,
    readOnly: configKeys(config).writer === undefined,
    ...(config.relayUrl ? { relay: config.relayUrl } : {}),
    webrtc: config.webrtc !== false,
    ...(config.disk === false ? { disk: false } : {}),
  };
}

/** What `status` says of a join asked for, until its session starts; undefined for a code that is no code (the join says why). */
function joinAsked(code: string, disk: boolean): SessionStatus | undefined {
  const readOnly = codeIsReadOnly(code);
  return readOnly === undefined ? undefined : { role: 'guest', readOnly, ...(disk ? {} : { disk: false }), starting: 'joining' };
}

/** Is `code` a read-only join code? Undefined for one that does not decode: the join says why. */
function codeIsReadOnly(code: string): boolean | undefined {
  try {
    return isReadOnly(decodeJoinCode(code));
  } catch {
    return undefined;
  }
}

export class AlreadyRunning extends Error {
  constructor(
    readonly pid: number,
    root: string,
  ) {
    super(`a chorus daemon (pid ${pid}) is already running for ${root}`);
  }
}

export class Daemon {
  private sessions = new Map<string, EditorBuffers>();
  private nextEditor = 1;
  private server!: EditorServer;
  private stopping: Promise<void> | undefined;
  /** Take the folder in and watch it (not done at start in view mode: DaemonOptions.view). */
  private openFolder: () => Promise<void> = () => Promise.resolve();
  /** The folder is not read (view mode): set at start for `--view`, cleared by `openFolder`. */
  private folderState = { closed: false };
  /** Settles once the folder is taken in and any saved session resumed. */
  private ready: Promise<void> = Promise.resolve();
  /** What the daemon found wrong as it started (see Daemon.start); shown by `status`. */
  private problems: string[] = [];
  /**
   * The session `status` names before it has started (SessionStatus `starting`): the saved one
   * while the daemon, just started, takes in the folder before it rejoins, or the one a join
   * asked for while that waits. A status said "not shared" meanwhile (a user trial).
   */
  private pending: SessionStatus | undefined;
  readonly session: SessionManager;
  readonly folder: FolderSync;
  readonly presence: Presence;
  readonly data: ExtensionData;
  private readonly messages = new EventEmitter<{ message: [LocalMessage]; notice: [P.ParamsOf<typeof P.SessionNotice>] }>();
  private readonly copyNotices = new CopyNotices((message) => this.messages.emit('notice', { type: 'warning', message }));
  /** Messages refused from members, logged a few a minute per member: each one logged let a member fill the disk (there is no log rotation). */
  private readonly peerRefusals = new QuietLog((m) => this.log(m), 60_000, MALFORMED_LINES_PER_MINUTE);
  private readonly backNotices = new CopyNotices((message) => this.messages.emit('notice', { type: 'info', message }), COPY_NOTICE_WINDOW_MS, BACK_WORDS);
  private readonly collaboration: Collaboration;
  /** Where every change to a file's text goes, in order (change-route.ts). */
  private readonly route: ChangeRoute;
  /** Where renamed files went, for editors that re-open after missing a rename. */
  private readonly renames: RecentRenames;

  private constructor(
    readonly project: Project,
    readonly identity: Identity,
    readonly workspace: Workspace,
    readonly writeBack: WriteBack,
    storage: Storage,
    readonly log: (msg: string) => void,
    /** This run's Automerge actor (actors.ts), the workspace's too. */
    actor: string,
    wrapNetwork?: (net: PeerNetwork) => PeerNetwork,
  ) {
    this.messages.setMaxListeners(0);
    // A test may shorten the grace before "left" is told (test-timings.ts).
    this.presence = new Presence(identity, workspace, log, testTimings().leaveGraceMs);
    this.data = new ExtensionData(storage, actor);
    this.session = new SessionManager(project, identity, workspace, writeBack, log, new Map([[DATA_DOC_ID, this.data]]), wrapNetwork);
    this.folder = new FolderSync(project, workspace, writeBack, log);
    // A read-only member's own folder changes, which are not shared, are said to its editors too.
    this.folder.onTell = (message) => this.messages.emit('notice', { type: 'warning', message });
    this.session.peerName = (id) => this.presence.peers().find((p) => p.id === id)?.name ?? this.presence.lastKnown(id)?.name;
    this.folder.editorsCaughtUp = () => Promise.all([...this.sessions.values()].map((s) => s.caughtUp())).then(() => undefined);
    // An editor's write of its own buffer, undeclared, is known by its text (decision 276).
    this.writeBack.editorTexts = (id) => [...this.sessions.values()].flatMap((s) => s.heldTexts(id));
    // View mode (join --no-disk): the folder is neither read nor watched.
    this.session.on('replicator', () => void (this.session.session?.disk === false ? this.folder.stop() : undefined));
    const undo = new UndoManager(workspace, (r) => void this.ownTextRemoved(r));
    this.renames = new RecentRenames(workspace);
    this.route = new ChangeRoute(workspace, {
      peers: (fileId, raw) => this.session.replicator?.sendLive(fileId, raw),
      undo,
      disk: writeBack,
    });
    this.collaboration = {
      workspace,
      presence: this.presence,
      undo,
      data: this.data,
      broadcast: (namespace, payload, fromEditor) => {
        this.messages.emit('message', { namespace, payload, peer: this.presence.self, fromEditor });
        this.session.replicator?.sendEphemeral(MESSAGE_TOPIC, { namespace, payload });
      },
      onMessage: (fn) => {
        this.messages.on('message', fn);
        return () => this.messages.off('message', fn);
      },
      onNotice: (fn) => {
        this.messages.on('notice', fn);
        return () => this.messages.off('notice', fn);
      },
    };
    // A person's own version kept aside is said to every editor here, not only in the log nobody
    // reads (decision 184).
    writeBack.onKept = (k) => this.messages.emit('notice', { type: k.type ?? 'warning', message: k.message, path: k.path, kept: k.kept });
    // And so is a version moved aside as a conflict copy (decision 224), a burst as one notice.
    workspace.on('copied', (message) => this.copyNotices.add(message));
    // And a file deleted here or by a peer that came back with edits the deletion never saw.
    workspace.on('back', (message) => this.backNotices.add(message));
    this.session.on('replicator', (rep) => this.connectPeers(rep));
  }

  /** When each editor was last told a peer's change removed its typing in a file (`editorId fileId` → ms). Never pruned: one entry per editor and file told, bounded by the files a person types in. */
  private readonly removedTold = new Map<string, number>();

  /**
   * A peer's change removed typing an editor here made in the last minute (a `git stash` or
   * checkout in the peer's folder while this person typed): the file as it was before is kept in
   * `.chorus/kept/` and the person told (a trial: the typing was gone from every member, and
   * only the peer's stash had it). Once per editor and file every REMOVED_NOTICE_MS: one
   * checkout is one notice, and the first copy holds the most.
   */
  private async ownTextRemoved(r: OwnTextRemoved): Promise<void> {
    const key = `${r.editorId} ${r.fileId}`;
    const now = Date.now();
    if (now - (this.removedTold.get(key) ?? 0) < REMOVED_NOTICE_MS) return;
    this.removedTold.set(key, now);
    const file = this.workspace.pathOf(r.fileId) ?? r.fileId;
    const who = this.presence.peers().find((p) => p.id === r.peerId)?.name ?? `a peer (${r.peerId.slice(0, 8)})`;
    const what = `${file}: a change from ${who} just removed ${r.removed} characters you typed there in the last minute (an outside tool in their folder, such as git stash or git checkout, or their own editing)`;
    try {
      const kept = path.relative(this.project.root, await this.writeBack.folder.keepCopy(file, Buffer.from(r.before))).split(path.sep).join('/');
      const message = `${what}. The file as it was before that change is kept in ${kept}: copy back what you need.`;
      this.log(message);
      this.messages.emit('notice', { type: 'warning', message });
    } catch (e) {
      const message = `${what}, and keeping a copy of the file as it was failed (${inWords(e)}): your editor's undo history may still have it.`;
      this.log(message);
      this.messages.emit('notice', { type: 'warning', message });
    }
  }

  /** Presence and messages ride on the session's replicator once there is one. */
  private connectPeers(rep: Replicator): void {
    carryPresence(this.presence, rep, () => this.session.network, (peerId, topic, body) => {
      if (topic !== MESSAGE_TOPIC) return false;
      const m = MessageBody.safeParse(body);
      const peer = this.presence.peers().find((p) => p.id === peerId) ?? { id: peerId, name: peerId.slice(0, 8), color: '#888888' };
      if (m.success) this.messages.emit('message', { namespace: m.data.namespace, payload: m.data.payload, peer });
      else this.peerRefusals.log(`message of ${peerId.slice(0, 8)}`, `refused a message from peer ${peerId.slice(0, 8)}: not a {namespace, payload} object`, ` (logged at most ${MALFORMED_LINES_PER_MINUTE} times a minute per peer)`);
      return true;
    });
  }

  static async start(opts: DaemonOptions): Promise<Daemon> {
    useNodePlatform();
    const log = opts.log ?? ((m: string) => process.stderr.write(logLine(m)));
    if (!fs.existsSync(opts.dir) || !fs.statSync(opts.dir).isDirectory()) throw new Failure('notFound', `${opts.dir} is not a folder`);
    const project = new Project(opts.dir);
    project.ensureDotDir();
    // A live process that cannot be identified holds the lock only if a daemon answers on the socket.
    const lock = await acquireLock(project.lockPath, project.root, { serving: () => socketAnswers(project.socketPath), log });
    if (!lock.ok) throw new AlreadyRunning(lock.pid, project.root);
    // Started because someone asked: a `chorus stop` before no longer keeps editors away.
    clearStopMark(project, log);
    // What is found damaged while the daemon starts is said in the log and kept for `status`
    // (`problems`): `chorus start` and `chorus status` show it, where the person looks (a trial:
    // a damaged session.json left the session, and only the log said so).
    const problems: string[] = [];
    let starting = true;
    const told = (m: string) => {
      log(m);
      if (starting && problems.length < 20) problems.push(m.slice(0, 2000));
    };
    try {
      const identity = loadIdentity(project.dotDir, opts.name, told);
      const damagedSession = setAsideDamagedSession(project.dotDir, project.root, told);
      const storage = new Storage(project.stateDir, told);
      // In view mode nothing is read from the folder, not even a file an editor opens.
      const folderState = { closed: opts.view === true };
      const source = { read: (rel: string) => (folderState.closed || loadSession(project.dotDir)?.disk === false ? Promise.resolve(undefined) : readProjectFile(project, rel)) };
      const blobs = new FsBlobStore(project.blobDir);
      // An actor of this run's own (actors.ts): changes a damaged log lost are never numbered twice.
      const actor = runActor(identity.id);
      const workspace = new Workspace(storage, blobs, actor, source);
      const writeBack = new WriteBack(project, workspace, new DiskLedger(path.join(project.dotDir, 'disk'), told), log);
      writeBack.durable = storage; // live text reaches the folder once its log is fsynced (decision 217)
      const daemon = new Daemon(project, identity, workspace, writeBack, storage, log, actor, opts.wrapNetwork);
      daemon.session.damagedSession = damagedSession;
      daemon.problems = problems;
      daemon.folderState = folderState; // one flag: the content source reads it too
      daemon.openFolder = async () => {
        folderState.closed = false;
        const n = await daemon.folder.start();
        log(`took in ${n} file${n === 1 ? '' : 's'} from the folder`);
        // A folder that becomes a project of its own while the daemon runs is said when it does (the start's scan said those it found).
        daemon.folder.rules.tellNewProjects((dir) => log(becameProject(dir)));
        settleMemory();
      };
      daemon.server = await listenForEditors(project.socketPath, daemon.editorServices());
      log(`chorus ${VERSION} serving ${project.root} (pid ${process.pid}) on ${project.socketPath}`);
      // Editors may connect while the folder is taken in; sharing and joining wait for it.
      daemon.ready = (async () => {
        const session = loadSession(project.dotDir);
        if (session) daemon.pending = { ...sessionStatus(session), starting: 'rejoining' };
        // A session an older Chorus let this folder have: not taken up again (tooBroad).
        const broad = session && tooBroad(project.root);
        // A read-only member is read-only from its start, before the folder is taken in: what
        // changed in its folder while the daemon was stopped is its own, as a change made while
        // it runs is. Taken in before the session resumed, it entered this member's documents,
        // which no writer ever takes: the folder left the session's text for good, and each sync
        // with a peer offered the change again, without end (a trial: ~57 % of a core per daemon).
        if (session && !broad && configKeys(session).writer === undefined) workspace.readOnly = true;
        try {
          if (session?.disk === false) folderState.closed = true;
          else if (!folderState.closed) await daemon.openFolder();
          else log('view mode: the folder is not read');
          // Before any peer is met: the stored versions of files that no file has now, and that
          // the folder does not hold (the ledger's newest: an outside edit is merged against it,
          // WriteBack.baseText), go.
          const keep = new Set(workspace.index.entries().map(([, e]) => e.hash));
          for (const h of writeBack.ledger.latestHashes()) keep.add(h);
          const pruned = blobs.prune(keep);
          if (pruned.removed) log(`removed ${pruned.removed} stored version${pruned.removed === 1 ? '' : 's'} of files that no file has now (${(pruned.bytes / 1048576).toFixed(1)} MiB) from ${project.blobDir}`);
          if (broad) log(`not rejoining the session saved here: ${broad}, which is never shared; share a project folder inside it instead`);
          else await daemon.session.resume();
        } finally {
          daemon.pending = undefined;
        }
      })();
      await daemon.ready.finally(() => (starting = false));
      return daemon;
    } catch (e) {
      releaseLock(project.lockPath, project.root);
      throw e;
    }
  }

  private editorServices() {
    return {
      version: VERSION,
      root: this.project.root,
      peer: this.identity,
      log: this.log,
      newSession: (client: EditorClient) => {
        const s = new EditorBuffers(`e${this.nextEditor++}`, this.project, this.workspace, client, {
          readOnly: () => this.workspace.readOnly,
          ignored: (p) => this.folder.rules.why(p),
          deletedCopyHolds: (p, text) => deletedCopyHolds(this.project, p, text),
          ownKept: (p) => (this.session.session?.disk === false ? Promise.resolve(undefined) : this.writeBack.ownKeptFile(p, null)),
          // Not `!this.folder.watching`: that is also true while the folder is being taken in at
          // start, when an editor (chorus lsp) may already open files that must be shared.
          viewMode: () => this.session.session?.disk === false || this.folderState.closed,
          renamedTo: (p) => this.renames.whereNow(p),
          holdsOwnChange: (p, text) => this.writeBack.holdsOwnChange(p, text),
          folderText: (p) => this.writeBack.baseText(p),
          writeNow: (id, editorText) => this.writeBack.writeLiveNow(id, editorText),
          holdWrites: (id, p, writes) => (writes === undefined ? this.writeBack.holdFor(id, EDITOR_SAVE_HOLD_MS) : this.writeBack.editorWriting(id, p, writes, EDITOR_SAVE_HOLD_MS)),
          releaseWrites: (id) => this.writeBack.release(id),
          takeFromFolder: (p) =>
            this.folder.watching ? this.folder.takeForEditor(p).catch((e: unknown) => this.log(`taking in ${p} from the folder before an editor's open of it failed: ${inWords(e)}; the open goes on with the editor's text`)) : Promise.resolve(),
        });
        this.sessions.set(s.id, s);
        this.route.addEditor(s);
        return s;
      },
      endSession: (s: EditorBuffers) => {
        this.route.removeEditor(s);
        s.dispose();
        this.sessions.delete(s.id);
      },
      status: () => this.status(),
      files: () => this.files(),
      collaboration: this.collaboration,
      share: ({ name, ...opts }: ShareOptions & Named) => this.named(name, () => this.shareCode(opts)),
      join: (code: string, { name, ...opts }: JoinOptions & Named, progress: (p: JoinProgress) => void) => this.named(name, () => this.join(code, opts, progress)),
    };
  }

  /**
   * Take `name` (when given) as this person's name, then run `body`: a share or join that names the
   * person (`--name`). The name is taken first, so that peers meet the person under it; a bad one
   * fails before anything starts.
   */
  private named<T>(name: string | undefined, body: () => Promise<T>): Promise<T> {
    try {
      if (name !== undefined) this.rename(name);
    } catch (e) {
      return Promise.reject(e);
    }
    return body();
  }

  /**
   * Make `name` this person's name (decision 178): checked by the one rule (person-name.ts;
   * Failure 'invalid', nothing changed, when it breaks it), kept in `.chorus/identity.json` so
   * later starts keep it, and told to every peer now. The name it has already changes nothing.
   */
  rename(name: string): void {
    const problem = nameProblem(name);
    if (problem !== undefined) throw new Failure('invalid', `${problem}; choose another name (nothing was changed)`);
    if (name === this.identity.name) return;
    this.identity.name = name;
    saveIdentity(this.project.dotDir, this.identity);
    this.presence.nameChanged();
    this.log(`this person's name is now ${name}`);
  }

  /** Share this folder (see SessionManager.share); the join code. */
  async share(opts: ShareOptions): Promise<string> {
    return (await this.shareCode(opts)).code;
  }

  /** Share this folder: the code, whether it is read-only, and settings that did not apply. */
  async shareCode(opts: ShareOptions): Promise<ShareResult> {
    const broad = tooBroad(this.project.root);
    if (broad) throw new Failure('invalid', `${broad}: sharing it would offer everything under it; share a project folder inside it instead (\`chorus share <folder>\`); nothing was shared`);
    await this.ready;
    // A daemon started for a view-mode join that did not happen: sharing needs the folder.
    if (!this.session.session && !this.folder.watching) await this.openFolder();
    return this.session.share(opts);
  }

  async join(code: string, opts: JoinOptions, progress: (p: JoinProgress) => void): Promise<JoinResult> {
    const asked = this.session.session || this.pending ? undefined : joinAsked(code, opts.disk);
    this.pending ??= asked;
    try {
      return await this.joinWhenReady(code, opts, progress);
    } finally {
      if (asked && this.pending === asked) this.pending = undefined;
    }
  }

  private async joinWhenReady(code: string, opts: JoinOptions, progress: (p: JoinProgress) => void): Promise<JoinResult> {
    const broad = tooBroad(this.project.root);
    if (broad) throw new Failure('invalid', `${broad}: joining into it would mix the session's files into everything under it; join into a folder of its own instead (\`chorus join <code> <folder>\`); nothing was changed`);
    await this.ready;
    if (!this.session.session) {
      if (opts.disk && !this.folder.watching) await this.openFolder();
      // View mode never shares this folder's own files; a daemon that has taken them in already
      // (it ran before the join) would, as the join starts.
      if (!opts.disk && (this.folder.watching || this.workspace.index.entries().length > 0)) {
        throw new Failure(
          'session',
          `a view-mode join (--no-disk) never shares this folder's own files, but the daemon already running for ${this.project.root} has read them; nothing was joined. Stop it (chorus stop ${this.project.root}) and run the join again`,
        );
      }
      // A read-only member shares nothing, so the session never takes this folder's own files,
      // and the first sync never ended: the join hung, and the person's files were later
      // replaced by the session's with no copy (a user trial). Refused before anything is shared
      // or written.
      const files = this.workspace.index.entries();
      if (opts.disk && files.length > 0 && codeIsReadOnly(code) === true) {
        const named = files.slice(0, 3).map(([, e]) => e.path).join(', ') + (files.length > 3 ? ` and ${files.length - 3} more` : '');
        throw new Failure(
          'session',
          `this code is read-only, so it cannot merge this folder's own files into the session, and ${this.project.root} has ${files.length} file${files.length === 1 ? '' : 's'} of its own (${named}); nothing was joined and nothing in the folder changed. Join into an empty folder, or ask whoever shared the session for a code that can edit to merge this folder's files`,
        );
      }
    }
    const fresh = !this.session.session;
    this.session.on('progress', progress);
    try {
      const joined = await this.session.join(code, opts);
      if (fresh) this.wearColorApart();
      settleMemory();
      return joined;
    } finally {
      this.session.off('progress', progress);
    }
  }

  /**
   * Just joined: this person's colour, when it is the one their id gives (not one written in
   * `.chorus/identity.json` by hand) and a member met in the join wears it already, becomes one
   * none of them wears, kept for the project and told to every peer by presence. Only a new
   * member changes: the others' colours stay what everyone has seen (colorApart).
   */
  private wearColorApart(): void {
    if (this.identity.color !== colorFor(this.identity.id)) return;
    const worn = [...this.session.peers(), ...this.presence.peers()].map((p) => p.color);
    const color = colorApart(this.identity.color, worn);
    if (color === this.identity.color) return;
    this.log(`this person's colour is now ${color}: a member of the session wears ${this.identity.color}`);
    this.identity.color = color;
    saveIdentity(this.project.dotDir, this.identity);
    this.presence.nameChanged();
  }

  /** `session.relayState` of status: the overlay's view of its relay, in the session it runs. */
  private relayState(): { relayState?: { connected: boolean; problem?: string } } {
    const state = this.session.network?.relayState();
    return state ? { relayState: state } : {};
  }

  status(): P.ResultOf<typeof P.SessionStatus> {
    const buffers = new Map<string, number>();
    for (const s of this.sessions.values()) for (const p of s.openPaths()) buffers.set(p, (buffers.get(p) ?? 0) + 1);
    const config = this.session.session;
    return {
      root: this.project.root,
      version: VERSION,
      pid: process.pid,
      protocolVersion: PROTOCOL_VERSION,
      peer: { id: this.identity.id, name: this.identity.name, color: this.identity.color },
      buffers: [...buffers].map(([p, editors]) => {
        // The file at the path now may not be the buffer's (its file moved aside as a conflict
        // copy, another made there since) and may not be live: status must answer all the same.
        const id = this.workspace.index.idOf(p);
        return { path: p, editors, length: id && this.workspace.isLive(id) ? this.workspace.text(id).length : 0 };
      }),
      editors: [...this.sessions.values()].filter((s) => s.initialized).map((s) => ({ id: s.id, name: s.name, positionEncoding: s.encoding })),
      peers: this.peersNamed(),
      writing: this.session.filesToWrite(),
      waitingForContent: this.session.filesAwaitingContent(),
      ...(this.problems.length ? { problems: [...this.problems] } : {}),
      session: config ? { ...sessionStatus(config), ...(this.session.listening.length ? { listening: this.session.listening } : {}), ...this.relayState() } : (this.pending ?? null),
      memory: { ...processMemory(), files: this.workspace.index.entries().length, docsHeld: this.workspace.docIds().length - 1, docsLoaded: this.workspace.loaded },
    };
  }

  files(): P.ResultOf<typeof P.WorkspaceFiles> {
    return {
      files: this.workspace.index
        .entries()
        .map(([, e]) => ({ path: e.path, size: e.size, binary: !!e.opaque }))
        .sort((a, b) => a.path.localeCompare(b.path)),
    };
  }

  /**
   * The session's peers, each under the name its presence last gave: a browser tab links up before
   * its person has chosen a name, and its link's hello keeps the one it had then ("guest", or none),
   * so status listed it so while editors greeted it by the name it chose. The hello's name where
   * no presence came yet. The colour likewise (a member that has just joined may change it).
   */
  private peersNamed(): ReturnType<SessionManager['peers']> {
    const said = new Map(this.presence.peers().map((v) => [v.id, v]));
    return this.session.peers().map((p) => {
      // One out of view keeps the name its presence last gave, when its links never said one (a
      // browser tab names itself after it links; trial s59 F7: "(no name yet)" for a member the
      // editors had just named).
      const v = said.get(p.id) ?? (p.name === NO_NAME_YET ? this.presence.lastKnown(p.id) : undefined);
      return { ...p, name: v?.name ?? p.name, color: v?.color ?? p.color };
    });
  }

  /**
   * The project's `.chorus/` went while the daemon ran (`git clean -x` removes it: its
   * `.gitignore` ignores everything in it), or was replaced by another. The session's secret, the
   * saved state and the copies kept for the person went with it, and this daemon could only go on
   * as a member nobody can reach or restart (a trial: it stayed linked to its peers while nothing
   * of this folder reached them, and an editor's reconnect made the folder a new, unshared
   * project). So it tells every editor and the log, writes nothing more into the project's
   * `.chorus/` (the folder's files are written as usual first), and stops.
   */
  async stopAsDotDirGone(): Promise<void> {
    if (this.stopping) return this.stopping;
    this.dotDirGone = true;
    const message = `Chorus's folder ${this.project.dotDir} was deleted while the daemon ran (\`git clean -x\` deletes it, or it was removed by hand): the session's secret, this folder's saved state and the copies Chorus kept went with it, so the daemon stopped and this folder is no longer in the session. Your files are untouched. To get back in, ask a member for a join code and run \`chorus join <code> ${this.project.root}\` (your files stay and are merged); \`git clean\` with \`-e .chorus\` keeps it next time.`;
    this.log(message);
    this.messages.emit('notice', { type: 'error', message });
    // Sent before the sockets close.
    await new Promise((r) => setTimeout(r, 200));
    return this.stop();
  }

  /** Set once `.chorus/` is found gone: nothing more is written there (see stopAsDotDirGone). */
  private dotDirGone = false;

  /** Stop serving: write files, save state, leave the session, close sockets, release the lock. */
  stop(): Promise<void> {
    this.stopping ??= (async () => {
      this.log('stopping');
      this.session.halt(); // at once: the folder's own scan and editors' edits may still be saved below
      // Before they go: a `chorus stop`'s mark learns whether any editor is left offline (a
      // `chorus` command asking at that moment is none; an editor's bridge not yet greeted is one).
      noteEditorsAtStop(this.project, [...this.sessions.values()].filter((s) => !(s.initialized && s.name === CLI_CLIENT.clientInfo.name)).length);
      this.server.close();
      for (const socket of this.server.sockets) socket.destroy();
      for (const s of this.sessions.values()) s.dispose();
      this.copyNotices.dispose();
      this.backNotices.dispose();
      this.presence.leave();
      await this.folder.stop();
      // Leaving the session (goodbyes, links, listener, WebRTC's threads) waits on the network
      // and native code: bounded, so the state below is saved and the lock released within
      // `chorus stop`'s wait whatever the peers do (decision 176).
      let bound: Timer | undefined;
      const left = await Promise.race([
        this.session.stop().then(() => true),
        new Promise<false>((r) => (bound = setTimeout(() => r(false), LEAVE_BOUND_MS))),
      ]);
      clearTimeout(bound);
      if (!left) this.log(`leaving the session took over ${LEAVE_BOUND_MS / 1000} s; saving and stopping without waiting for it`);
      this.data.close();
      await this.writeBack.flush();
      // A `.chorus/` that went (stopAsDotDirGone) is not made again, in part, by the saves.
      if (this.dotDirGone) return;
      // Every write it names has landed: the next start takes no older content for a leftover.
      this.writeBack.ledger.close(true);
      this.workspace.close();
      fs.rmSync(this.project.socketPath, { force: true });
      releaseLock(this.project.lockPath, this.project.root);
    })();
    return this.stopping;
  }
}
