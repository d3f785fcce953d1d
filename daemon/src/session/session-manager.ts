/**
 * Sharing and joining: owns the overlay (peers), the replicator (CRDT sync over it) and the
 * materializer (peers' file changes onto disk) while this folder is part of a session, and
 * brings them back up on its own when the daemon restarts.
 */
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import { EventEmitter } from 'node:events';
import { Materializer } from '../disk/materializer.js';
import type { WriteBack } from '../disk/write-back.js';
import { Failure } from '../errors.js';
import type { Identity } from '../identity.js';
import { decodeJoinCode, encodeJoinCode, JoinCodeError } from '../net/join-code.js';
import { Overlay } from '../net/overlay.js';
import type { Project } from '../project.js';
import { Replicator, type DocStore } from '../sync/replicator.js';
import type { Workspace } from '../workspace/workspace.js';
import { loadSession, saveSession, sessionFile, type SessionConfig } from './session-file.js';

export interface ShareOptions {
  host?: string;
  port?: number;
  relay?: string;
  readOnly?: boolean;
  webrtc?: boolean;
}

export interface JoinOptions {
  disk: boolean;
  host?: string;
  port?: number;
  webrtc?: boolean;
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
}

const JOIN_TIMEOUT_MS = 60_000;

export class SessionManager extends EventEmitter<{ progress: [JoinProgress]; replicator: [Replicator]; refused: [reason: string] }> {
  private config: SessionConfig | undefined;
  private overlay: Overlay | undefined;
  replicator: Replicator | undefined;
  private materializer: Materializer | undefined;
  private addrs: string[] = [];

  constructor(
    private readonly project: Project,
    private readonly identity: Identity,
    private readonly workspace: Workspace,
    private readonly writeBack: WriteBack,
    private readonly log: (msg: string) => void,
    private readonly extraStores: Map<string, DocStore> = new Map(),
  ) {
    super();
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
    this.log(`rejoining session ${config.sessionId.slice(0, 8)} as ${config.role}`);
    await this.start(config);
  }

  private code(): string {
    const c = this.config!;
    const addrs = [...new Set([...this.addrs, ...c.addrs])];
    return encodeJoinCode({ sessionId: c.sessionId, secret: Buffer.from(c.secret, 'base64url'), addrs, ...(c.relayUrl ? { relayUrl: c.relayUrl } : {}), readOnly: c.readOnly });
  }

  /** Share this folder (or, if it is already in a session, give a code for that session). */
  async share(opts: ShareOptions): Promise<string> {
    if (this.config) return this.code();
    const config: SessionConfig = {
      sessionId: randomBytes(16).toString('hex'),
      secret: randomBytes(32).toString('base64url'),
      role: 'host',
      readOnly: opts.readOnly ?? false,
      addrs: [],
      listen: { host: opts.host ?? '0.0.0.0', port: opts.port ?? 0 },
      disk: true,
      ...(opts.webrtc === false ? { webrtc: false } : {}),
      ...(opts.relay ? { relayUrl: opts.relay } : {}),
    };
    await this.start(config);
    return this.code();
  }

  /** Join a session by its code; resolves once the first sync has finished. */
  async join(codeText: string, opts: JoinOptions): Promise<{ files: number; bytes: number }> {
    let code;
    try {
      code = decodeJoinCode(codeText);
    } catch (e) {
      if (e instanceof JoinCodeError) throw new Failure('session', e.message);
      throw e;
    }
    if (this.config && this.config.sessionId !== code.sessionId) {
      throw new Failure('session', `this folder already belongs to another session (${this.config.sessionId.slice(0, 8)}); join from an empty folder`);
    }
    const config: SessionConfig = this.config ?? {
      sessionId: code.sessionId,
      secret: Buffer.from(code.secret).toString('base64url'),
      role: 'guest',
      readOnly: code.readOnly,
      addrs: code.addrs,
      listen: { host: opts.host ?? '0.0.0.0', port: opts.port ?? 0 },
      disk: opts.disk,
      ...(opts.webrtc === false ? { webrtc: false } : {}),
      ...(code.relayUrl ? { relayUrl: code.relayUrl } : {}),
    };
    const fresh = !this.config;
    if (fresh) await this.start(config);
    try {
      return await this.firstSync();
    } catch (e) {
      // A join that never got in leaves the folder as it was: no session to rejoin later.
      if (fresh) await this.abandon();
      throw e;
    }
  }

  private async abandon(): Promise<void> {
    await this.overlay?.stop();
    this.overlay = undefined;
    this.replicator = undefined;
    this.config = undefined;
    fs.rmSync(sessionFile(this.project.dotDir), { force: true });
  }

  private async start(config: SessionConfig): Promise<void> {
    this.config = config;
    this.writeBack.disabled = !config.disk;
    const overlay = new Overlay({
      selfId: this.identity.id,
      selfMeta: { name: this.identity.name, color: this.identity.color, readOnly: config.role === 'guest' && config.readOnly },
      secret: Buffer.from(config.secret, 'base64url'),
      sessionId: config.sessionId,
      listen: config.listen,
      ...(config.relayUrl ? { relayUrl: config.relayUrl } : {}),
      seeds: config.addrs,
      webrtc: config.webrtc !== false,
      log: (m) => this.log(`net: ${m}`),
    });
    overlay.on('refused', (where, reason) => {
      this.log(`refused a connection (${where}): ${reason}`);
      this.emit('refused', reason);
    });
    this.overlay = overlay;
    this.replicator = new Replicator(this.workspace, overlay, this.log, this.extraStores, !config.disk, this.identity.id);
    if (config.disk) {
      const materializer = new Materializer(this.project, this.workspace, this.writeBack, this.log);
      this.replicator.on('blob', (hash) => void materializer.blobArrived(hash));
      this.materializer = materializer;
    }
    this.replicator.on('peerUp', () => this.persist());
    this.emit('replicator', this.replicator);
    let started;
    try {
      started = await overlay.start();
    } catch (e) {
      // The saved port may be taken now: any port will do, peers learn it by gossip.
      if (config.listen.port === 0) throw e;
      config.listen.port = 0;
      started = await overlay.start();
    }
    this.addrs = started.addrs;
    const port = Number(/:(\d+)$/.exec(started.addrs[0] ?? '')?.[1]);
    if (port) config.listen.port = port;
    this.persist();
  }

  private persist(): void {
    const c = this.config;
    if (!c) return;
    if (this.overlay) c.addrs = this.overlay.knownAddrs();
    saveSession(this.project.dotDir, c);
  }

  private async firstSync(): Promise<{ files: number; bytes: number }> {
    const rep = this.replicator!;
    const progress = (p: JoinProgress) => this.emit('progress', p);
    progress({ phase: 'connecting', files: 0, filesTotal: 0, bytes: 0, bytesTotal: 0 });
    await new Promise<void>((resolve, reject) => {
      const refused = (reason: string) => {
        if (rep.connectedPeers().length > 0) return; // someone let us in: a stale address refused
        clearTimeout(timer);
        rep.off('synced', done);
        this.off('refused', refused);
        reject(new Failure('session', `the session refused to let this folder in: ${reason}`));
      };
      this.on('refused', refused);
      // The limit is on silence, not on the whole sync: a big history takes as long as it takes
      // while messages keep coming.
      const giveUp = () => {
        rep.off('synced', done);
        rep.off('activity', stillGoing);
        this.off('refused', refused);
        reject(new Failure('session', `could not sync with any peer of the session: nothing came for ${JOIN_TIMEOUT_MS / 1000} s (tried ${this.config?.addrs.join(', ') || 'the relay'}); is the sharing daemon running and reachable?`));
      };
      let timer = setTimeout(giveUp, JOIN_TIMEOUT_MS);
      const stillGoing = () => {
        clearTimeout(timer);
        timer = setTimeout(giveUp, JOIN_TIMEOUT_MS);
      };
      rep.on('activity', stillGoing);
      const done = () => {
        clearTimeout(timer);
        rep.off('synced', done);
        rep.off('activity', stillGoing);
        this.off('refused', refused);
        resolve();
      };
      rep.on('synced', done);
      if (rep.connectedPeers().some((p) => rep.isSynced(p.id))) done();
    });
    const entries = this.workspace.index.entries();
    const bytesTotal = entries.reduce((n, [, e]) => n + e.size, 0);
    if (this.materializer) {
      await this.materializer.materializeAll((files, filesTotal, bytes) => progress({ phase: 'writing', files, filesTotal, bytes, bytesTotal }));
      const deadline = Date.now() + JOIN_TIMEOUT_MS;
      while (this.materializer.pendingBlobs() > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    }
    progress({ phase: 'done', files: entries.length, filesTotal: entries.length, bytes: bytesTotal, bytesTotal });
    return { files: entries.length, bytes: bytesTotal };
  }

  peers(): PeerStatus[] {
    if (!this.overlay) return [];
    return this.overlay.peers().map((p) => ({
      id: p.id,
      name: typeof p.meta.name === 'string' ? p.meta.name : p.id.slice(0, 8),
      color: typeof p.meta.color === 'string' ? p.meta.color : '#888888',
      ...(p.path ? { path: p.path } : {}),
      state: p.state,
      ...(p.rttMs !== undefined ? { rttMs: p.rttMs } : {}),
    }));
  }

  async stop(): Promise<void> {
    this.persist();
    await this.overlay?.stop();
  }
}
