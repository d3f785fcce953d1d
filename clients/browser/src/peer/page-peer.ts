/**
 * The Chorus peer in the page (issue 17): the daemon's own overlay, handshake and encryption
 * (daemon/src/core.ts) on the browser's transports (transports.ts), behind the PagePeer seam the
 * user interface uses (../peer-api.ts).
 */
import { EventEmitter } from 'events';
import type { ChangeOrigin, FileItem, OpenedFile, PagePeer, PagePeerEvents, PeerStatus, Person, SelectionRange, TextChange } from '../peer-api.js';
import { isReadOnly, Overlay } from './core.js';
import { dialPlan, type JoinTarget } from './join-target.js';
import { browserTransports } from './transports.js';

export interface PagePeerOptions {
  /** The page came over https: dial wss:. */
  secure: boolean;
}

/** This tab's peer id: kept for the tab's life (reloads included), distinct per tab. */
function tabPeerId(sessionId: string): string {
  const key = `chorus.peer.${sessionId}`;
  const kept = sessionStorage.getItem(key);
  if (kept && /^[0-9a-f]{32}$/.test(kept)) return kept;
  const id = Array.from(crypto.getRandomValues(new Uint8Array(16)), (b) => b.toString(16).padStart(2, '0')).join('');
  sessionStorage.setItem(key, id);
  return id;
}

type Handler = (...args: unknown[]) => void;

export class ChorusPagePeer implements PagePeer {
  readonly #events = new EventEmitter();
  readonly #overlay: Overlay;
  readonly #readOnly: boolean;
  #state: PeerStatus['state'] = 'connecting';
  #message: string | undefined;
  #everUp = false;

  constructor(
    readonly target: JoinTarget,
    opts: PagePeerOptions,
    readonly selfId = tabPeerId(target.code.sessionId),
  ) {
    this.#readOnly = isReadOnly(target.code);
    const plan = dialPlan(target, opts.secure);
    this.#overlay = new Overlay({
      selfId,
      selfMeta: { name: 'browser', editor: 'browser' },
      keys: target.code.keys,
      sessionId: target.code.sessionId,
      ...(plan.relayUrl ? { relayUrl: plan.relayUrl } : {}),
      seeds: plan.seeds,
      log: (m) => console.debug(`chorus net: ${m}`),
      transports: browserTransports(),
    });
    this.#overlay.on('peer-up', () => {
      this.#everUp = true;
      this.#setState('online');
    });
    this.#overlay.on('peer-down', () => {
      if (this.#overlay.peers().some((p) => p.state === 'connected')) this.#emitStatus();
      else this.#setState('offline', 'No peer of the session is reachable right now. Your edits are kept in this browser and merge when a peer is back.');
    });
    this.#overlay.on('refused', (where, reason) => this.#refused(`the session refused this link (${reason})`, where));
    this.#overlay.on('wrong-session', (where) => this.#refused('the peer at this address serves another session', where));
  }

  async start(): Promise<void> {
    await this.#overlay.start();
  }

  /** The overlay's view of the peers (id, state, path), for tests and a person debugging. */
  links(): Array<{ id: string; state: string; path?: string; name?: unknown }> {
    return this.#overlay.peers().map((p) => ({ id: p.id, state: p.state, ...(p.path ? { path: p.path } : {}), name: p.meta.name }));
  }

  async stop(): Promise<void> {
    await this.#overlay.stop();
  }

  /** A refusal before any peer let us in means the code is wrong: stop dialing and say so. */
  #refused(why: string, where: string): void {
    console.warn(`chorus: ${why} at ${where}`);
    if (this.#everUp) return;
    void this.#overlay.stop();
    this.#setState('refused', `Could not join: ${why}. Nothing was read from the session. The link may be mistyped or from an older session: ask for a new link (chorus share prints it).`);
  }

  #setState(state: PeerStatus['state'], message?: string): void {
    this.#state = state;
    this.#message = message;
    this.#emitStatus();
  }

  #emitStatus(): void {
    this.#events.emit('status', this.status());
  }

  status(): PeerStatus {
    const s: PeerStatus = {
      state: this.#state,
      readOnly: this.#readOnly,
      peers: this.#overlay.peers().filter((p) => p.state === 'connected').length,
      unacknowledged: 0,
    };
    if (this.#message) s.message = this.#message;
    return s;
  }

  files(): FileItem[] {
    return [];
  }

  async open(path: string): Promise<OpenedFile> {
    throw new Error(`cannot open ${path} yet`);
  }

  close(_path: string): void {}

  edit(path: string, _changes: TextChange[]): void {
    throw new Error(`cannot edit ${path} yet`);
  }

  undo(_path: string): boolean {
    return false;
  }

  redo(_path: string): boolean {
    return false;
  }

  setSelections(_path: string, _selections: SelectionRange[]): void {}

  people(): Person[] {
    return [];
  }

  setName(_name: string): void {}

  async create(path: string): Promise<void> {
    throw new Error(`cannot create ${path} yet`);
  }

  async rename(from: string): Promise<void> {
    throw new Error(`cannot rename ${from} yet`);
  }

  async remove(path: string): Promise<void> {
    throw new Error(`cannot delete ${path} yet`);
  }

  on<E extends keyof PagePeerEvents>(event: E, fn: PagePeerEvents[E]): void {
    this.#events.on(event, fn as Handler);
  }

  off<E extends keyof PagePeerEvents>(event: E, fn: PagePeerEvents[E]): void {
    this.#events.off(event, fn as Handler);
  }
}

/** Build and start the page's peer for a join target. */
export async function startPagePeer(target: JoinTarget, opts: PagePeerOptions): Promise<PagePeer> {
  const peer = new ChorusPagePeer(target, opts);
  await peer.start();
  return peer;
}

export type { ChangeOrigin };
