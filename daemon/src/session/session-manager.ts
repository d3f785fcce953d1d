/**
 * Sharing and joining: owns the overlay (peers), the replicator (CRDT sync over it) and the
 * materializer (peers' file changes onto disk) while this folder is part of a session, and
 * brings them back up on its own when the daemon restarts.
 */
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { EventEmitter } from 'node:events';
import { Materializer } from '../disk/materializer.js';
import { inWords } from '../disk/folder-writer.js';
import type { WriteBack } from '../disk/write-back.js';
import { Failure } from '../errors.js';
import type { Identity } from '../identity.js';
import { dialable } from '../net/host-addrs.js';
import { localHostId } from '../net/host-id.js';
import { nodeTransports } from '../net/node-transports.js';
import { useDaemonCipher } from '../node-platform.js';
import { codeAddrs, decodeJoinCode, encodeJoinCode, isReadOnly, JoinCodeError } from '../net/join-code.js';
import { JOIN_ABANDONED, Overlay } from '../net/overlay.js';
import { dialFailureInWords } from '../net/transports.js';
import { PageServer } from '../net/page-server.js';
import { relayRoomId } from '../net/relay-protocol.js';
import { relayRooms } from '../net/relay-server.js';
import type { Project } from '../project.js';
import { Replicator, type PeerNetwork, type ReplicatedDocs } from '../sync/replicator.js';
import { createdTheSame, type FolderAside, type Workspace } from '../workspace/workspace.js';
import { HEX_COLOR } from '../presence/colors.js';
import { displayName } from '../presence/presence.js';
import { configKeys, enclosingMember, keysToConfig, loadSession, saveSession, sessionFile, type SessionConfig } from './session-file.js';
import { writerKeys } from '../net/credentials.js';
import { JOIN_TIMEOUT_MS, testTimings } from './test-timings.js';

export interface ShareOptions {
  host?: string;
  port?: number;
  relay?: string;
  readOnly?: boolean;
  webrtc?: boolean;
}

/**
 * A join code, whether it is read-only, and the listening settings that did not apply (the
 * session already listens with its own: `host`, `port`, `relay`, `webrtc`).
 */
export interface ShareResult {
  code: string;
  readOnly: boolean;
  ignored?: Array<'host' | 'port' | 'relay' | 'webrtc'>;
  /** What a person should know about this share (e.g. it starts apart from an old session whose file was damaged). */
  notices?: string[];
}

export interface JoinOptions {
  disk: boolean;
  host?: string;
  port?: number;
  webrtc?: boolean;
}

/**
 * What a join brought: files and bytes in the index; `waiting`, files no connected peer could
 * send yet; `notices`, what happened to files on the way (both versions of a file kept); the last
 * two absent when empty.
 */
export interface JoinResult {
  files: number;
  bytes: number;
  waiting?: number;
  notices?: string[];
}

export interface JoinProgress {
  phase: 'connecting' | 'syncing' | 'writing' | 'done';
  files: number;
  filesTotal: number;
  bytes: number;
  bytesTotal: number;
}

export interface PeerStatus {
  id: string;
  name: string;
  color: string;
  path?: 'webrtc' | 'websocket' | 'relay';
  state: string;
  rttMs?: number;
  /** Files whose changes are still being exchanged with it (Replicator.syncingWith); absent when none. */
  syncing?: number;
  /** Why links with it are refused for good, while it is not linked (Overlay's PeerInfo.refused). */
  refused?: string;
}

/** Most notices a join answers with (the log has every one): past it, the last says how many more. */
const MAX_JOIN_NOTICES = 50;
/**
 * Most notices a join collects before choosing what to answer with. Many are dropped then (a file
 * this folder had byte for byte says nothing, decision 137), so collecting only MAX_JOIN_NOTICES
 * left out those said after them: a join into 200 files the session had too named none of the
 * three it had kept aside (trial s54a, F1). Bounded all the same: a notice is a line or two.
 */
const MAX_JOIN_NOTICES_COLLECTED = 5_000;

/** The name status gives a member that has told none yet (a browser tab before its person chose one). */
/** A member's name in `chorus status` before it has given one (Daemon.peersNamed may know it from presence). */
export const NO_NAME_YET = '(no name yet)';

/** Dial failures that mean "nothing listens there" rather than "no answer yet". */
const DEFINITE_DIAL_FAILURES = new Set(['ECONNREFUSED', 'EHOSTUNREACH', 'ENETUNREACH', 'ENOTFOUND']);
/** How often every address must fail that way before a join gives up (a daemon may be restarting). */
const DEFINITE_FAILURES_TO_GIVE_UP = 3;

/** `host:port` of a `ws://` address as a person would type it (without the host tag). */
export function displayAddr(addr: string): string {
  try {
    const u = new URL(addr);
    return u.port ? `${u.hostname}:${u.port}` : u.hostname;
  } catch {
    return addr;
  }
}

export class SessionManager extends EventEmitter<{ progress: [JoinProgress]; replicator: [Replicator]; refused: [reason: string] }> {
  private config: SessionConfig | undefined;
  private overlay: Overlay | undefined;
  replicator: Replicator | undefined;
  private materializer: Materializer | undefined;
  private addrs: string[] = [];
  /** How long a join waits on silence: JOIN_TIMEOUT_MS, or shorter in a test (test-timings.ts). */
  private readonly joinTimeoutMs: number;
  /** The overlay timers a test shortened (test-timings.ts); empty otherwise. */
  private readonly forgetAfter: { forgetAfterMs?: number };

  /**
   * Files waiting to be written into the folder, their content here: peers' changes not started
   * yet (Materializer.toWrite) and writes under way (PendingContent.writing), each file once: a
   * join's own writes and a peer's change queued behind them can name the same file (status said
   * "writing 96 files" of 80). Sets kept as writes come and go, not a scan of the folder.
   */
  filesToWrite(): number {
    const files = new Set(this.materializer?.toWrite());
    for (const rel of this.writeBack.pendingContent.writing()) files.add(rel);
    return files.size;
  }

  /** Files of the index not written yet because their content has not arrived (PendingContent.waiting). */
  filesAwaitingContent(): number {
    return this.writeBack.pendingContent.waiting();
  }

  /** Where this daemon listens for peers (`ws://host:port`), while the session runs. */
  get listening(): string[] {
    return this.overlay ? [...this.addrs] : [];
  }

  constructor(
    private readonly project: Project,
    private readonly identity: Identity,
    private readonly workspace: Workspace,
    private readonly writeBack: WriteBack,
    private readonly log: (msg: string) => void,
    private readonly extraStores: Map<string, ReplicatedDocs> = new Map(),
    /** Wraps the overlay for the replicator (tests: fault injection); default none. */
    private readonly wrapNetwork: (net: PeerNetwork) => PeerNetwork = (net) => net,
  ) {
    super();
    // Read when the daemon starts, so that a mistyped test setting stops it there, named.
    const timings = testTimings();
    this.joinTimeoutMs = timings.joinTimeoutMs ?? JOIN_TIMEOUT_MS;
    this.forgetAfter = timings.forgetAfterMs !== undefined ? { forgetAfterMs: timings.forgetAfterMs } : {};
  }

  get session(): SessionConfig | undefined {
    return this.config;
  }

  /** The overlay while in a session (status, and fault injection in tests). */
  get network(): Overlay | undefined {
    return this.overlay;
  }

  /** Rejoin the session this folder belongs to, if any (on daemon start). */
  async resume(): Promise<void> {
    const config = loadSession(this.project.dotDir);
    if (!config || this.config) return; // nothing saved, or a share/join already started one
    await useDaemonCipher(); // see share
    if (this.config) return;
    this.log(`rejoining session ${config.sessionId.slice(0, 8)} as ${config.role}`);
    await this.start(config, true);
  }

  /**
   * A join code for the session: read-only when asked for, or when this member holds only the
   * read-only secret (it cannot give more than it has).
   */
  private code(readOnly: boolean): ShareResult {
    const c = this.config!;
    const addrs = codeAddrs(this.addrs, c.addrs);
    const keys = configKeys(c);
    const ro = readOnly || keys.writer === undefined;
    return { code: encodeJoinCode({ sessionId: c.sessionId, keys, addrs, ...(c.relayUrl ? { relayUrl: c.relayUrl } : {}) }, { readOnly: ro }), readOnly: ro };
  }

  /**
   * Share this folder, or, if it is already in a session, give a code for that session. Each call
   * gives the code it asks for: read-only with `readOnly`, else one that lets guests write (if
   * this member may). Listening settings apply only when sharing starts; those given again with
   * other values are named in `ignored`.
   */
  async share(opts: ShareOptions): Promise<ShareResult> {
    // The links' cipher (libsodium) is installed when a session may start, not at every daemon
    // start (node-platform.ts); first, before this.config is looked at, so that two shares or
    // joins at once still see each other's session as before.
    await useDaemonCipher();
    if (this.config) {
      const c = this.config;
      const ignored: NonNullable<ShareResult['ignored']> = [];
      if (opts.host !== undefined && opts.host !== c.listen.host) ignored.push('host');
      if (opts.port !== undefined && opts.port !== 0 && opts.port !== c.listen.port) ignored.push('port');
      if (opts.relay !== undefined && opts.relay !== c.relayUrl) ignored.push('relay');
      if (opts.webrtc !== undefined && opts.webrtc !== (c.webrtc !== false)) ignored.push('webrtc');
      return { ...this.code(opts.readOnly === true), ...(ignored.length ? { ignored } : {}) };
    }
    const config: SessionConfig = {
      sessionId: randomBytes(16).toString('hex'),
      ...keysToConfig(writerKeys(new Uint8Array(randomBytes(32)))),
      role: 'host',
      readOnly: opts.readOnly ?? false,
      addrs: [],
      listen: { host: opts.host ?? '0.0.0.0', port: opts.port ?? 0 },
      disk: true,
      ...(opts.webrtc === false ? { webrtc: false } : {}),
      ...(opts.relay ? { relayUrl: opts.relay } : {}),
    };
    await this.start(config);
    const left = this.damagedSession;
    this.damagedSession = undefined;
    if (left === undefined) return this.code(config.readOnly);
    // The folder was in a session until its file was found damaged at start: a person sharing
    // it may think they share that session, and hand out a code to a separate one.
    const notice = `this folder's saved session was damaged and is kept as ${left}, so this share starts a new session, apart from the old one; to get back into the old session instead, stop this daemon (chorus stop ${this.project.root}) and join with a code from one of its members (chorus join - ${this.project.root})`;
    return { ...this.code(config.readOnly), notices: [notice] };
  }

  /**
   * Where the daemon kept a damaged session file at start (session-file.ts
   * `setAsideDamagedSession`), until a share says what that means for it.
   */
  damagedSession: string | undefined;

  /** The name a peer goes by (its presence's), for words to the person; set by the daemon. */
  peerName: ((peerId: string) => string | undefined) | undefined;

  /** Join a session by its code; resolves once the first sync has finished. */
  async join(codeText: string, opts: JoinOptions): Promise<JoinResult> {
    await useDaemonCipher(); // see share
    let code;
    try {
      code = decodeJoinCode(codeText);
    } catch (e) {
      if (e instanceof JoinCodeError) throw new Failure('session', e.message);
      throw e;
    }
    if (this.config?.sessionId === code.sessionId && this.config.role === 'host') {
      throw new Failure('session', `that folder is the one sharing this session (${this.project.root}); join into another folder; nothing was changed`);
    }
    const outer = this.config ? undefined : enclosingMember(this.project.root, code.sessionId);
    if (outer !== undefined) {
      throw new Failure('session', `${this.project.root} is inside ${outer}, which is in this session already and has shared this folder's files (as ${path.relative(outer, this.project.root)}/…); joining would share them a second time, at the session's root; join into an empty folder or one outside ${outer}`);
    }
    if (this.config && this.config.sessionId !== code.sessionId) {
      throw new Failure('session', `this folder already belongs to another session (${this.config.sessionId.slice(0, 8)}); join into a folder that is not in a session (a new or an existing one: its files are merged)`);
    }
    if (this.config) {
      // A member already: joining again keeps what the folder has, so a code or a --no-disk asking
      // for something else is refused, named, rather than answered "Joined read-only" or "view
      // mode" while the folder stays as it was (a trial, 5 of 5).
      const problem = this.rejoinProblem(this.config, isReadOnly(code), opts.disk);
      if (problem) throw new Failure('session', `${problem}; nothing was changed`);
    }
    const config: SessionConfig = this.config ?? {
      sessionId: code.sessionId,
      ...keysToConfig(code.keys),
      role: 'guest',
      readOnly: isReadOnly(code),
      addrs: code.addrs,
      listen: { host: opts.host ?? '0.0.0.0', port: opts.port ?? 0 },
      disk: opts.disk,
      ...(opts.webrtc === false ? { webrtc: false } : {}),
      ...(code.relayUrl ? { relayUrl: code.relayUrl } : {}),
    };
    const fresh = !this.config;
    // What the person should know of the join: files this folder and the session both had at a
    // path, each kept (Workspace.resolve), and the like. Only the log had them before.
    const notices: string[] = [];
    let uncollected = 0;
    const notice = (m: string) => {
      if (notices.length < MAX_JOIN_NOTICES_COLLECTED) notices.push(m);
      else uncollected++;
    };
    this.workspace.on('notice', notice);
    // The files this folder had before joining: where one meets a session's file at a path, the
    // session's keeps the path once the first sync is done (decision 137).
    const preJoin = new Set(fresh ? this.workspace.index.entries().map(([id]) => id) : []);
    // Its files and folders: a notice naming neither is not about this folder (aboutThisFolder).
    const preJoinPaths = fresh ? this.indexPaths() : new Set<string>();
    // Its folders: where one meets a session's file, the file keeps the path (decision 147).
    const preJoinDirs = new Set([...preJoinPaths].filter((p) => this.workspace.index.isFolder(p)));
    // Until the join has settled where this folder's files meet the session's, peers see none of
    // them: each would take a session file's path on every peer for seconds (decision 228).
    if (fresh) this.workspace.holdOwnBack();
    try {
      if (fresh) await this.start(config, false, true);
    } catch (e) {
      this.workspace.releaseOwn();
      this.workspace.off('notice', notice);
      throw e;
    }
    if (fresh) this.joining = true;
    try {
      const joined = await this.firstSync();
      // Said in a join's words, where each version is now: what `resolve` said first ("created
      // on two peers at once") may name the copy that has just moved back.
      const reworded = new Map<string, string>();
      const same = new Set<string>();
      /** Where this folder's versions of session files went aside: told on their own, below. */
      const keptAside = new Set<string>();
      for (const { path, kept, said } of this.workspace.keepSessionVersions(preJoin)) {
        if (kept !== undefined) keptAside.add(kept);
        if (kept === undefined) {
          // The folder's file was the session's, byte for byte: nothing to tell the person.
          same.add(said);
          this.log(`${path}: this folder had the session's version already`);
          continue;
        }
        const now = `${path}: this folder had another version; the session's keeps the path, this folder's is kept as ${kept}`;
        reworded.set(said, now);
        this.log(now);
      }
      for (let i = notices.length - 1; i >= 0; i--) if (same.has(notices[i]!)) notices.splice(i, 1);
      for (const { path, kept, said, folder } of this.workspace.keepSessionFilesOverFolders(preJoin, preJoinDirs, this.folderAside(config))) {
        keptAside.add(kept);
        const now = folder
          ? `${path}: this folder had a folder there, the session a file; the session's file keeps the path, this folder's folder (all its files) is kept as ${kept}`
          : `${path}: this folder had a file there, the session an empty folder; the session's folder keeps the path, this folder's file is kept as ${kept}`;
        // A peer may have settled the clash before this daemon had the session's index: then
        // nothing here said it (Workspace.resolve), and this is the first word of it.
        if (notices.includes(said)) reworded.set(said, now);
        else notice(now);
        this.log(now);
      }
      // The settling above moves files on this disk (a copy `resolve` made for the meeting goes
      // again): `join` returns once the folder shows the end state (a trial saw copies for 6 s
      // after it had returned).
      await this.materializer?.caughtUp();
      for (const [i, n] of notices.entries()) notices[i] = reworded.get(n) ?? n;
      const sharedOwn = fresh && !config.readOnly ? this.sharedByJoin(preJoin, keptAside) : undefined;
      const told = atMost(
        [...(sharedOwn ? [sharedOwn] : []), ...notices.filter((n) => this.aboutThisFolder(n, preJoinPaths))],
        uncollected,
        this.project.logPath,
      );
      // A writer's copies are shared like any file: said once, after them, as an old clone's
      // stale files otherwise appeared in every member's folder unannounced (trial s60 F4).
      const copies = keptAside.size;
      if (copies && !config.readOnly) told.push(`${copies === 1 ? 'That copy of this folder\'s version is' : `Those ${copies.toLocaleString('en-US')} copies of this folder's versions are`} shared with every member, as any file is: once you have compared, delete ${copies === 1 ? 'it if you do not need it' : 'those you do not need'}`);
      return { ...joined, ...(told.length ? { notices: told } : {}) };
    } catch (e) {
      // A join that never got in leaves the folder as it was: no session to rejoin later.
      if (fresh) await this.abandon();
      throw e;
    } finally {
      this.joining = false;
      delete this.selfMeta.joining;
      this.workspace.off('notice', notice);
      if (fresh) {
        this.workspace.releaseOwn();
        this.replicator?.offerHeldBack();
        this.overlay?.joined(); // none after `abandon`: a join that failed has no overlay
      }
    }
  }

  /**
   * Why a join into this folder, a member of the session already (`kept`), cannot do what it asks
   * (a read-only code, a writer's, view mode or not), or undefined when it asks for what the
   * folder has. Each answer says what the person can do instead.
   */
  private rejoinProblem(kept: SessionConfig, readOnly: boolean, disk: boolean): string | undefined {
    const root = this.project.root;
    const keptReadOnly = configKeys(kept).writer === undefined;
    if (readOnly && !keptReadOnly) {
      return `${root} is in this session already, as a member who can write; a read-only code changes nothing here: to follow the session read-only, join into another folder`;
    }
    if (!readOnly && keptReadOnly) {
      // A view-mode folder has no files of the session to speak of (a trial).
      const files = kept.disk ? " (its files are the session's already; any you changed are kept as conflict copies)" : '';
      return (
        `${root} joined this session read-only, and joining again does not change that: to write in the session, join with this code into another folder, ` +
        // Its daemon may not run: a join that started it for this refusal stops it again.
        `or delete ${path.join(root, '.chorus')} (after \`chorus stop ${root}\`, if its daemon runs) and join here again${files}`
      );
    }
    if (kept.disk && !disk) {
      return `${root} is in this session already, with the session's files written to it; view mode (--no-disk) needs a folder of its own: join into another folder with --no-disk`;
    }
    if (!kept.disk && disk) {
      return `${root} is in this session already in view mode (nothing written to disk); to have the files on disk, join into another folder without --no-disk`;
    }
    return undefined;
  }

  /** A fresh join is under way: this folder is not in the session until it is done. */
  private joining = false;

  /** This folder's disk as a join setting its folders aside sees it (decision 147); nothing in view mode. */
  private folderAside(config: SessionConfig): FolderAside {
    return {
      isFolder: (path) => config.disk && this.writeBack.folder.isFolderNow(path),
      move: (from, to, files) => this.setFolderAside(config, from, to, files),
    };
  }

  /**
   * Move this folder's folder `from` aside to `to` on disk, whole (files the session does not
   * share go with it), for the session's file at `from` (decision 147); `files` are the shared
   * files in it, old and new path, whose record of what the daemon knows of them moves too (so
   * the watcher sees its own files, not new ones). False when it cannot be moved: it stays.
   */
  private setFolderAside(config: SessionConfig, from: string, to: string, files: Array<[string, string]>): boolean {
    if (!config.disk) return false;
    const at = fs.lstatSync(this.project.absolute(from), { throwIfNoEntry: false });
    if (at !== undefined) {
      try {
        this.writeBack.folder.moveFolderNow(from, to);
      } catch (e) {
        this.log(`could not move the folder ${from} aside to ${to} (${inWords(e)}); it keeps the path, and the session's file stays beside it`);
        return false;
      }
    }
    for (const [a, b] of files) this.writeBack.moved(a, b);
    return true;
  }

  /** Every path in the index: its files, the folders they are in, and the shared folders. */
  private indexPaths(): Set<string> {
    const out = new Set<string>(this.workspace.index.dirs());
    for (const [, e] of this.workspace.index.entries()) {
      out.add(e.path);
      for (let at = e.path.lastIndexOf('/'); at > 0; at = e.path.lastIndexOf('/', at - 1)) out.add(e.path.slice(0, at));
    }
    return out;
  }

  /**
   * Whether a notice said during a join is news for the person joining: it names a file this
   * folder had, and every conflict copy it names exists and was made by this join (this folder
   * had no file or folder there before). The session's history replays old conflicts between
   * other peers as it arrives (every joiner, even into an empty folder, was told of them; one
   * joining with a copy of the project, old conflict copies and all, was told again of each), and
   * a copy a later step settled away must not be named as kept. A file this folder had with the
   * session's very bytes is no conflict either (`createdTheSame`): nothing happened to it.
   */
  private aboutThisFolder(notice: string, paths: ReadonlySet<string>): boolean {
    const names = (p: string) => {
      for (let at = notice.indexOf(p); at >= 0; at = notice.indexOf(p, at + 1)) {
        const before = at === 0 ? ' ' : notice[at - 1]!;
        const after = notice[at + p.length] ?? ' ';
        if (/[\s(]/.test(before) && /[\s:;,)]/.test(after)) return true;
      }
      return false;
    };
    if (![...paths].some(names)) return false;
    if ([...paths].some((p) => notice === createdTheSame(p))) return false;
    const copies = [...this.indexPaths()].filter((p) => p.includes(' (conflict ') && !paths.has(p));
    for (const [tag] of notice.matchAll(/ \(conflict [0-9a-f]+\)/g)) {
      if (!copies.some((c) => c.includes(tag) && names(c))) return false;
    }
    return true;
  }

  /**
   * What a join shared of this folder's own files, in words, or undefined when it shared none:
   * the files it had (`preJoin`, by id) that the session did not, now on every member's disk.
   * Those set aside as copies (`keptAside`) are told on their own. An old clone's untracked
   * notes reached every member with no word to anyone (trial s59 F4); the log has every path.
   */
  private sharedByJoin(preJoin: Set<string>, keptAside: Set<string>): string | undefined {
    const own: string[] = [];
    for (const id of preJoin) {
      const e = this.workspace.index.entry(id);
      if (e !== undefined && !keptAside.has(e.path)) own.push(e.path);
    }
    if (own.length === 0) return undefined;
    own.sort();
    const files = `${own.length.toLocaleString('en-US')} file${own.length === 1 ? '' : 's'}`;
    this.log(`the join shared ${files} this folder had that the session did not: ${own.join(', ')}`);
    const named = own.length <= SHARED_NAMED ? own.join(', ') : `${own.slice(0, SHARED_NAMED).join(', ')} and ${(own.length - SHARED_NAMED).toLocaleString('en-US')} more (${this.project.logPath} has each)`;
    return `this folder had ${files} the session did not, now shared with every member: ${named}. (Files .gitignore names, and secrets such as .env files, are never shared.) If one of these should not be shared, move it out of this folder (members then lose it too)`;
  }

  private async abandon(): Promise<void> {
    // Peers forget this member at once: it will not come back (decision 161).
    await this.overlay?.stop(JOIN_ABANDONED);
    this.overlay = undefined;
    this.replicator = undefined;
    this.materializer = undefined;
    this.config = undefined;
    this.writeBack.disabled = false;
    this.workspace.readOnly = false;
    this.extraStores.forEach((s) => s.setReadOnly?.(false));
    fs.rmSync(sessionFile(this.project.dotDir), { force: true });
  }

  /**
   * What this member's hello says of it (the overlay reads it at each handshake): name, colour,
   * and `joining` while a fresh join is under way, so that peers can forget it if it dies before
   * its join is in (decision 229: `Overlay.joined` tells them when it is).
   */
  private selfMeta: Record<string, unknown> = {};

  /**
   * Start the overlay, replicator and materializer for `config`. A port the person asked for is
   * used or this fails naming it; only a port saved by an earlier run (`resuming`) may change.
   * `joining`: a fresh join starts it (its hello says so until the join is done).
   */
  private async start(config: SessionConfig, resuming = false, joining = false): Promise<void> {
    this.config = config;
    this.writeBack.disabled = !config.disk;
    const keys = configKeys(config);
    // A member without the writer secret refuses its own edits here, with a clear error, rather
    // than keeping changes no peer will ever accept (decision 013).
    this.workspace.readOnly = keys.writer === undefined;
    this.extraStores.forEach((s) => s.setReadOnly?.(keys.writer === undefined));
    const overlay = new Overlay({
      selfId: this.identity.id,
      selfMeta: (this.selfMeta = { name: this.identity.name, color: this.identity.color, ...(joining ? { joining: true } : {}) }),
      keys,
      sessionId: config.sessionId,
      listen: config.listen,
      ...(config.relayUrl ? { relayUrl: config.relayUrl } : {}),
      seeds: config.addrs,
      webrtc: config.webrtc !== false,
      timing: this.forgetAfter,
      log: (m) => this.log(`net: ${m}`),
      // The listening port also serves the browser page, and relays between the pages it
      // served (only within this session's room), so they can link up and upgrade to WebRTC.
      transports: nodeTransports({ page: new PageServer({ host: 'daemon' }), relay: () => relayRooms({ rooms: new Set([relayRoomId(keys.read)]), log: (m) => this.log(`page relay: ${m}`) }) }),
    });
    // Not logged here: the overlay logs each failed handshake, a few a minute per reason (one
    // line per refusal let a stranger with no code fill the disk, one connection a line).
    overlay.on('refused', (_where, reason) => this.emit('refused', reason));
    this.overlay = overlay;
    this.replicator = new Replicator(this.workspace, this.wrapNetwork(overlay), this.log, this.extraStores, !config.disk, this.identity.id);
    if (config.disk) {
      this.materializer = new Materializer(this.project, this.workspace, this.writeBack, this.log);
      this.materializer.peerName = (id) => this.peerName?.(id);
    }
    this.replicator.on('peerUp', () => this.persist());
    this.emit('replicator', this.replicator);
    let started;
    try {
      started = await overlay.start();
    } catch (e) {
      // The saved port may be taken now: any port will do, peers learn it by gossip.
      if (!resuming || config.listen.port === 0) {
        await this.abandon();
        throw listenFailure(e, config.listen);
      }
      config.listen.port = 0;
      started = await overlay.start();
    }
    this.addrs = started.addrs;
    // Kept, so that a restarted daemon listens where the codes it gave point (the addresses end
    // in `/?host=…` since decision 007, which a pattern for a trailing `:port` never matched).
    const port = listenedPort(started.addrs[0]);
    if (port) config.listen.port = port;
    this.persist();
  }

  private persist(): void {
    const c = this.config;
    if (!c) return;
    if (this.overlay) c.addrs = this.overlay.knownAddrs();
    saveSession(this.project.dotDir, c);
  }

  private async firstSync(): Promise<JoinResult> {
    const rep = this.replicator!;
    const progress = (p: JoinProgress) => this.emit('progress', p);
    progress({ phase: 'connecting', files: 0, filesTotal: 0, bytes: 0, bytesTotal: 0 });
    // Once a peer answers, the join is syncing, not waiting for one (the CLI said so for minutes).
    const answered = () => {
      if (rep.connectedPeers().length === 0) return;
      rep.off('activity', answered);
      progress({ phase: 'syncing', files: 0, filesTotal: 0, bytes: 0, bytesTotal: 0 });
    };
    rep.on('activity', answered);
    try {
      await this.waitForFirstSync(rep);
    } finally {
      rep.off('activity', answered);
    }
    const entries = this.workspace.index.entries();
    const bytesTotal = entries.reduce((n, [, e]) => n + e.size, 0);
    let waiting = 0;
    if (this.materializer) {
      await this.materializer.materializeAll((files, filesTotal, bytes) => progress({ phase: 'writing', files, filesTotal, bytes, bytesTotal }));
      // Files whose blob is still on its way are waited for; not those no connected peer could
      // send (each said `lack`): nothing more comes for them until a peer that has them
      // connects, and waiting would only hold the join for a minute, silently.
      const deadline = Date.now() + this.joinTimeoutMs;
      while (this.materializer.pendingBlobs() > 0 && rep.blobsOnTheWay() > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
      const paths = this.materializer.pendingPaths();
      waiting = paths.length;
      if (waiting) {
        const named = paths.slice(0, 5).join(', ') + (waiting > 5 ? ` and ${waiting - 5} more` : '');
        this.log(`${waiting} file${waiting === 1 ? '' : 's'} (${named}) wait${waiting === 1 ? 's' : ''} for content no connected peer has sent (they lack it): each is written here when a peer that has it connects, or when it changes`);
      }
    }
    progress({ phase: 'done', files: entries.length, filesTotal: entries.length, bytes: bytesTotal, bytesTotal });
    return { files: entries.length, bytes: bytesTotal, ...(waiting ? { waiting } : {}) };
  }

  /**
   * Resolves when a peer has synced with us. Fails fast with the real reason when the session
   * refuses us, a peer serves another session, or every address of the code refuses connections;
   * fails after JOIN_TIMEOUT_MS of silence otherwise (a peer that is just slow keeps it going; a test
   * may shorten the wait: test-timings.ts).
   */
  private waitForFirstSync(rep: Replicator): Promise<void> {
    const overlay = this.overlay!;
    const config = this.config!;
    const targets = dialable(config.addrs, localHostId());
    const definiteFailures = new Map<string, { count: number; code: string }>();
    /** The last direct dial that connected but whose handshake never completed (decision 165). */
    let stalled: { addr: string; reason: string } | undefined;
    return new Promise<void>((resolve, reject) => {
      let timer: NodeJS.Timeout;
      const settle = (err?: Failure) => {
        clearTimeout(timer);
        rep.off('synced', done);
        rep.off('activity', stillGoing);
        this.off('refused', refused);
        overlay.off('wrong-session', wrongSession);
        overlay.off('unreachable', unreachable);
        overlay.off('handshake-incomplete', incomplete);
        if (err) reject(err);
        else resolve();
      };
      const done = () => settle();
      const someoneLetUsIn = () => rep.connectedPeers().length > 0;
      const refused = (reason: string) => {
        if (someoneLetUsIn()) return; // a stale address refused; a peer already let us in
        settle(new Failure('session', `the session refused to let this folder in: ${reason}`));
      };
      const wrongSession = (where: string, theirs: string) => {
        if (someoneLetUsIn()) return;
        settle(
          new Failure(
            'session',
            `this code is for session ${config.sessionId.slice(0, 8)}, the peer at ${displayAddr(where)} serves session ${theirs.slice(0, 8)}: the code was changed or mixed up with another one; copy it again`,
          ),
        );
      };
      const unreachable = (addr: string, code: string) => {
        if (!DEFINITE_DIAL_FAILURES.has(code)) return;
        const seen = definiteFailures.get(addr);
        definiteFailures.set(addr, { count: (seen?.count ?? 0) + 1, code });
        // With a relay, peers may still come that way; a direct address that refuses says nothing.
        if (config.relayUrl || someoneLetUsIn() || targets.length === 0) return;
        if (!targets.every((a) => (definiteFailures.get(a)?.count ?? 0) >= DEFINITE_FAILURES_TO_GIVE_UP)) return;
        const where = targets.map((a) => `${dialFailureInWords(definiteFailures.get(a)!.code)} at ${displayAddr(a)}`).join('; ');
        settle(new Failure('session', `could not reach the session: ${where}. Is the sharing daemon running (\`chorus status\` in the shared folder)?`));
      };
      const incomplete = (addr: string, reason: string) => {
        stalled = { addr, reason };
      };
      // The limit is on silence, not on the whole sync: a big history takes as long as it takes
      // while messages keep coming.
      const giveUp = () => {
        if (stalled) {
          // The daemon is up and reachable: it is the handshake that never got through.
          settle(
            new Failure(
              'session',
              `could not sync with any peer of the session: nothing came for ${this.joinTimeoutMs / 1000} s. The session's daemon at ${displayAddr(stalled.addr)} accepted the connection but never completed the handshake (last: ${stalled.reason}); it may be overloaded or under attack (a flood of connections). Try again in a while.`,
            ),
          );
          return;
        }
        const tried = [...targets.map(displayAddr), ...(config.relayUrl ? [`the relay ${config.relayUrl}`] : [])];
        settle(new Failure('session', `could not sync with any peer of the session: nothing came for ${this.joinTimeoutMs / 1000} s (tried ${tried.join(', ') || 'no address'}); is the sharing daemon running and reachable?`));
      };
      timer = setTimeout(giveUp, this.joinTimeoutMs);
      const stillGoing = () => {
        clearTimeout(timer);
        timer = setTimeout(giveUp, this.joinTimeoutMs);
      };
      this.on('refused', refused);
      overlay.on('wrong-session', wrongSession);
      overlay.on('unreachable', unreachable);
      overlay.on('handshake-incomplete', incomplete);
      rep.on('activity', stillGoing);
      rep.on('synced', done);
      if (rep.connectedPeers().some((p) => rep.isSynced(p.id))) done();
    });
  }

  /**
   * The session's members this daemon's overlay knows, linked or not: id, name (the hello's, or
   * NO_NAME_YET; the daemon's status prefers what presence says, see Daemon.peersNamed), colour,
   * path, link state, round-trip time in ms, and how many files are still syncing with it.
   */
  peers(): PeerStatus[] {
    if (!this.overlay) return [];
    return this.overlay.peers().map((p) => {
      const syncing = this.replicator?.syncingWith(p.id) ?? 0;
      return {
        id: p.id,
        // A browser tab says no name until its person chose one, and a member reached only through
        // others has sent none yet: the id is its own column in `chorus status`, so repeating it
        // there read as a name (a trial).
        name: displayName(p.meta.name, NO_NAME_YET),
        color: typeof p.meta.color === 'string' && HEX_COLOR.test(p.meta.color) ? p.meta.color : '#888888',
        ...(p.path ? { path: p.path } : {}),
        state: p.state,
        ...(p.rttMs !== undefined ? { rttMs: p.rttMs } : {}),
        ...(syncing ? { syncing } : {}),
        ...(p.refused !== undefined ? { refused: p.refused } : {}),
      };
    });
  }

  /**
   * Write no more of the session's files (the daemon is stopping). A join still under way is
   * abandoned: peers are told so first thing, so they forget this member even if the daemon is
   * killed moments later (an interrupted join's daemon gets 1.5 s; decision 161).
   */
  halt(): void {
    this.materializer?.halt();
    this.replicator?.halt();
    if (this.joining) void this.overlay?.stop(JOIN_ABANDONED);
  }

  async stop(): Promise<void> {
    this.halt();
    this.persist();
    await this.overlay?.stop();
  }
}

/** The port of a `ws://host:port/…` address this daemon listens on, or undefined. */
export function listenedPort(addr: string | undefined): number | undefined {
  if (addr === undefined) return undefined;
  try {
    return Number(new URL(addr).port) || undefined;
  } catch {
    return undefined;
  }
}

/** Why listening for peers failed, worded for the person who chose the address. */
function listenFailure(e: unknown, listen: { host: string; port: number }): Failure {
  const code = (e as NodeJS.ErrnoException).code;
  const where = `${listen.host}:${listen.port}`;
  if (code === 'EADDRINUSE') return new Failure('session', `port ${listen.port} is already in use (on ${listen.host}); choose another with --port, or leave --port out to take any free port`);
  if (code === 'EACCES') return new Failure('session', `not allowed to listen on port ${listen.port} (ports below 1024 need privileges); choose another with --port`);
  if (code === 'EADDRNOTAVAIL' || code === 'ENOTFOUND') return new Failure('session', `cannot listen on ${listen.host}: no such address on this machine; check --host`);
  return new Failure('session', `cannot listen for peers on ${where} (${code ?? (e as Error).message})`);
}

/**
 * A join's notices as it answers with them: at most MAX_JOIN_NOTICES, the last of them then
 * saying how many more there are (`uncollected`: said past MAX_JOIN_NOTICES_COLLECTED) and that
 * the log at `logPath` has each.
 */
/** How many of the files a join shared of the folder's own are named in its notice (the log has all). */
const SHARED_NAMED = 10;

export function atMost(notices: string[], uncollected: number, logPath: string): string[] {
  const more = notices.length + uncollected - (MAX_JOIN_NOTICES - 1);
  if (more <= 1) return notices;
  return [...notices.slice(0, MAX_JOIN_NOTICES - 1), `and ${more.toLocaleString('en-US')} more like these: ${logPath} has each`];
}
