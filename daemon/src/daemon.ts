/**
 * The composition root: one daemon for one project folder. Builds the workspace, the disk side,
 * the editor server and the session (peers), and answers what editors ask of the daemon as a whole.
 */
import fs from 'node:fs';
import path from 'node:path';
import type * as P from '@chorus/protocol';
import { PROTOCOL_VERSION } from '@chorus/protocol';
import { DiskLedger } from './disk/disk-ledger.js';
import { readBytes } from './disk/files.js';
import { FolderSync } from './disk/folder-sync.js';
import { WriteBack } from './disk/write-back.js';
import { EditorSession, type EditorClient } from './editor/editor-session.js';
import { listenForEditors, type EditorServer } from './editor/editor-server.js';
import { Failure } from './errors.js';
import { loadIdentity, type Identity } from './identity.js';
import { acquireLock, releaseLock } from './lifecycle/lock.js';
import { Project } from './project.js';
import { loadSession } from './session/session-file.js';
import { SessionManager, type JoinOptions, type JoinProgress, type ShareOptions } from './session/session-manager.js';
import { VERSION } from './version.js';
import { BlobStore } from './workspace/blob-store.js';
import { Storage } from './workspace/storage.js';
import { Workspace } from './workspace/workspace.js';

export interface DaemonOptions {
  dir: string;
  name?: string;
  log?: (msg: string) => void;
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
  private sessions = new Map<string, EditorSession>();
  private nextEditor = 1;
  private server!: EditorServer;
  private stopping: Promise<void> | undefined;
  readonly session: SessionManager;
  readonly folder: FolderSync;

  private constructor(
    readonly project: Project,
    readonly identity: Identity,
    readonly workspace: Workspace,
    private readonly writeBack: WriteBack,
    readonly log: (msg: string) => void,
  ) {
    this.session = new SessionManager(project, identity, workspace, writeBack, log);
    this.folder = new FolderSync(project, workspace, writeBack, log);
  }

  static async start(opts: DaemonOptions): Promise<Daemon> {
    const log = opts.log ?? ((m: string) => process.stderr.write(`${new Date().toISOString()} ${m}\n`));
    if (!fs.existsSync(opts.dir) || !fs.statSync(opts.dir).isDirectory()) throw new Failure('notFound', `${opts.dir} is not a folder`);
    const project = new Project(opts.dir);
    project.ensureDotDir();
    const lock = acquireLock(project.lockPath);
    if (!lock.ok) throw new AlreadyRunning(lock.pid, project.root);
    try {
      const identity = loadIdentity(project.dotDir, opts.name);
      const storage = new Storage(project.stateDir);
      const source = { read: (rel: string) => readBytes(project.absolute(rel)) };
      const workspace = new Workspace(storage, new BlobStore(project.blobDir), identity.id, source);
      const writeBack = new WriteBack(project, workspace, new DiskLedger(path.join(project.dotDir, 'disk')), log);
      const daemon = new Daemon(project, identity, workspace, writeBack, log);
      daemon.server = await listenForEditors(project.socketPath, daemon.editorServices());
      log(`chorus ${VERSION} serving ${project.root} (pid ${process.pid}) on ${project.socketPath}`);
      const session = loadSession(project.dotDir);
      if (session?.disk !== false) {
        const n = await daemon.folder.scanAll();
        log(`took in ${n} file${n === 1 ? '' : 's'} from the folder`);
      }
      await daemon.session.resume();
      return daemon;
    } catch (e) {
      releaseLock(project.lockPath);
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
        const s = new EditorSession(`e${this.nextEditor++}`, this.project, this.workspace, client);
        this.sessions.set(s.id, s);
        return s;
      },
      endSession: (s: EditorSession) => {
        s.dispose();
        this.sessions.delete(s.id);
      },
      status: () => this.status(),
      files: () => this.files(),
      share: (opts: ShareOptions) => this.share(opts),
      join: (code: string, opts: JoinOptions, progress: (p: JoinProgress) => void) => this.join(code, opts, progress),
    };
  }

  async share(opts: ShareOptions): Promise<string> {
    return this.session.share(opts);
  }

  async join(code: string, opts: JoinOptions, progress: (p: JoinProgress) => void): Promise<{ files: number; bytes: number }> {
    this.session.on('progress', progress);
    try {
      return await this.session.join(code, opts);
    } finally {
      this.session.off('progress', progress);
    }
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
        const id = this.workspace.index.idOf(p);
        return { path: p, editors, length: id ? this.workspace.text(id).length : 0 };
      }),
      editors: [...this.sessions.values()].filter((s) => s.initialized).map((s) => ({ id: s.id, name: s.name, positionEncoding: s.encoding })),
      peers: this.session.peers(),
      session: config ? { role: config.role, readOnly: config.readOnly } : null,
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

  /** Stop serving: write files, save state, leave the session, close sockets, release the lock. */
  stop(): Promise<void> {
    this.stopping ??= (async () => {
      this.log('stopping');
      this.server.close();
      for (const socket of this.server.sockets) socket.destroy();
      for (const s of this.sessions.values()) s.dispose();
      await this.session.stop();
      await this.writeBack.flush();
      this.workspace.close();
      fs.rmSync(this.project.socketPath, { force: true });
      releaseLock(this.project.lockPath);
    })();
    return this.stopping;
  }
}
