/**
 * The Chorus peer in the page (issue 17): the very modules the daemon runs (daemon/src/core.ts,
 * decision 065) — overlay, handshake and encryption, Replicator, Workspace, Presence,
 * UndoManager and the change route — on the browser's transports (transports.ts) and IndexedDB
 * (idb-store.ts), behind the PagePeer seam the user interface uses (../peer-api.ts).
 *
 * The page is one editor of its own peer, like an editor plugin of its daemon but without the
 * JSON-RPC hop and so without the revision rule: the interface applies each of its edits and
 * calls `edit` in the same turn of the event loop, and applies each `text` event as it comes, so
 * the editor's text and the workspace's never differ between two calls.
 *
 * Files load when opened (the replicator fetches blobs lazily, as a daemon in view mode); the
 * index comes first, with the first sync.
 */
import { EventEmitter } from 'events';
import type { ChangeOrigin, FileItem, OpenedFile, PagePeer, PagePeerEvents, PeerStatus, Person, SelectionRange, TextChange } from '../peer-api.js';
import {
  ChangeRoute,
  colorFor,
  DATA_DOC_ID,
  ExtensionData,
  Failure,
  isReadOnly,
  NAME_MAX_LENGTH,
  Overlay,
  pathProblem,
  Presence,
  privateByDefault,
  runActor,
  carryPresence,
  Replicator,
  UndoManager,
  Workspace,
  type CursorView,
  type Origin,
  type TextEvent,
} from './core.js';
import { claimDatabase, IdbStore, openDatabase, storedPeerId, type IdbBlobStore } from './idb-store.js';
import { dialPlan, type JoinTarget } from './join-target.js';
import { changesToOp, opToChanges } from './text-changes.js';
import { browserTransports } from './transports.js';

export interface PagePeerOptions {
  /** The page came over https: dial wss:. */
  secure: boolean;
}

/** The page's one editor, as the workspace and presence name it. */
const EDITOR = 'page';
/** Edits further apart than this start a new undo step (CodeMirror's own grouping delay). */
const UNDO_GROUP_MS = 500;
const utf8 = new TextEncoder();
const utf8Decoder = new TextDecoder();
/** How long a create or rename waits for a `.gitignore` of the session whose content is on its way. */
const GITIGNORE_WAIT_MS = 3000;
/** The status message while no peer is linked. */
const NO_PEER = 'No peer of the session is reachable right now. Your edits are kept in this browser and merge when a peer is back.';
/** The status message while the browser says it has no network. */
const BROWSER_OFFLINE = 'This browser is offline. Your edits are kept here and merge when the network is back.';

function randomId(): string {
  return Array.from(crypto.getRandomValues(new Uint8Array(16)), (b) => b.toString(16).padStart(2, '0')).join('');
}

/** A person's words for what the core threw (a Failure's message is written for people). */
function readable(e: unknown): Error {
  if (e instanceof Failure) return new Error(e.message);
  return e instanceof Error ? e : new Error(String(e));
}

type Handler = (...args: unknown[]) => void;

interface OpenFile {
  fileId: string;
  lastEdit: number;
}

export class ChorusPagePeer implements PagePeer {
  readonly #events = new EventEmitter();
  readonly #overlay: Overlay;
  readonly #replicator: Replicator;
  readonly #workspace: Workspace;
  readonly #presence: Presence;
  readonly #undo: UndoManager;
  readonly #data: ExtensionData;
  readonly #store: IdbStore;
  readonly #identity: { id: string; name: string; color: string };
  readonly #readOnly: boolean;
  readonly #open = new Map<string, OpenFile>();
  /** Where each remote editor is (by `peerId/editorId`), from presence. */
  readonly #cursors = new Map<string, CursorView>();
  #state: PeerStatus['state'] = 'connecting';
  #message: string | undefined;
  /** The browser's `offline` event came and no `online` since. */
  #browserOffline = false;
  #everUp = false;
  /** Local changes made while no peer was linked: unacknowledged until a peer has synced. */
  #unacknowledged = 0;

  constructor(
    readonly target: JoinTarget,
    opts: PagePeerOptions,
    readonly selfId: string,
    store: IdbStore,
    blobs: IdbBlobStore,
    name: string,
  ) {
    this.#events.setMaxListeners(0);
    this.#store = store;
    this.#readOnly = isReadOnly(target.code);
    this.#identity = { id: selfId, name, color: colorFor(selfId) };
    const log = (m: string): void => console.debug(`chorus: ${m}`);
    // Files exist only in the index here: there is no folder to read a path from.
    // An actor of this page load's own: a tab closed mid-write may have lost changes peers hold
    // (daemon/src/workspace/actors.ts).
    const actor = runActor(selfId);
    this.#workspace = new Workspace(store, blobs, actor, { read: async () => undefined });
    this.#workspace.readOnly = this.#readOnly;
    // A first visit: what the session already holds is history until the first sync ends.
    this.#workspace.learningHistory = this.#workspace.index.entries().length === 0;
    this.#data = new ExtensionData(store, actor);
    this.#data.setReadOnly?.(this.#readOnly);
    const plan = dialPlan(target, opts.secure);
    this.#overlay = new Overlay({
      selfId,
      // Without a name yet (its person has not chosen one), none in the hello: peers learn it from
      // presence, which says nothing until it is chosen (setName).
      selfMeta: { ...(name ? { name } : {}), color: this.#identity.color, editor: 'browser' },
      keys: target.code.keys,
      sessionId: target.code.sessionId,
      ...(plan.relayUrl ? { relayUrl: plan.relayUrl } : {}),
      seeds: plan.seeds,
      anchors: plan.anchors,
      log: (m) => log(`net: ${m}`),
      transports: browserTransports(),
    });
    this.#replicator = new Replicator(this.#workspace, this.#overlay, log, new Map([[DATA_DOC_ID, this.#data]]), true, selfId);
    this.#presence = new Presence(this.#identity, this.#workspace, log);
    this.#undo = new UndoManager(this.#workspace);
    const route = new ChangeRoute(this.#workspace, {
      peers: (fileId, raw) => {
        this.#replicator.sendLive(fileId, raw);
        if (this.#replicator.connectedPeers().length === 0) {
          this.#unacknowledged++;
          this.#emitStatus();
        }
      },
      undo: this.#undo,
      disk: { schedule: () => undefined }, // no folder: IndexedDB holds it (storage is step 0)
    });
    route.addEditor({ take: (e) => this.#take(e) });
    this.#wireNetwork();
    this.#wirePresence();
    this.#workspace.on('files', (e) => {
      for (const r of e.renamed) this.#moved(r.from, r.to);
      for (const d of e.deleted) this.#moved(d, undefined);
      this.#events.emit('files');
    });
    this.#workspace.on('dirs', () => this.#events.emit('files'));
    this.#workspace.on('notice', (m) => {
      console.info(`chorus: ${m}`);
      // The page shows it too (decision 184): a console is where nobody looks.
      this.#events.emit('notice', 'info', m);
    });
  }

  #wireNetwork(): void {
    this.#overlay.on('peer-up', () => {
      this.#everUp = true;
      this.#setState('online');
    });
    this.#overlay.on('peer-down', () => {
      if (this.#linked() > 0) this.#emitStatus();
      else this.#setState('offline', this.#browserOffline ? BROWSER_OFFLINE : NO_PEER);
    });
    this.#overlay.on('refused', (where, reason) => this.#refused(`the session refused this link (${reason})`, where));
    this.#overlay.on('wrong-session', (where) => this.#refused('the peer at this address serves another session', where));
    this.#replicator.on('synced', () => {
      this.#workspace.learningHistory = false;
      if (this.#unacknowledged === 0) return;
      this.#unacknowledged = 0;
      this.#emitStatus();
    });
    this.#replicator.on('peerUp', () => this.#emitStatus());
  }

  /** Presence rides on the replicator, as in the daemon (daemon.ts connectPeers). */
  #wirePresence(): void {
    carryPresence(this.#presence, this.#replicator, () => this.#overlay);
    this.#presence.on('cursor', (c) => {
      if (c.peer.id === this.selfId) return;
      if (c.selections.length === 0) this.#cursors.delete(c.source);
      else this.#cursors.set(c.source, c);
      this.#events.emit('people');
    });
    this.#presence.on('joined', () => this.#events.emit('people'));
    this.#presence.on('left', (p) => {
      for (const [k, c] of this.#cursors) if (c.peer.id === p.id) this.#cursors.delete(k);
      this.#events.emit('people');
    });
  }

  async start(): Promise<void> {
    await this.#overlay.start();
    // The browser tells when it loses the network (Wi-Fi off, a laptop lid): say so and close
    // the links at once instead of after the dead-link timer's ~10 s of silence (Chromium's
    // offline mode stalls a WebSocket without closing it); back online, dial at once.
    addEventListener('offline', () => {
      this.#browserOffline = true;
      this.#overlay.networkLost('this browser went offline');
      this.#setState('offline', BROWSER_OFFLINE);
    });
    addEventListener('online', () => {
      this.#browserOffline = false;
      if (this.#state === 'offline') this.#setState('offline', NO_PEER);
      this.#overlay.networkBack();
    });
    // Closing or reloading the tab: tell the others now rather than after a heartbeat timeout.
    // Unless the tab is only kept for Back (`persisted`), its links say goodbye too: peers list
    // it as left, not as reconnecting for the next ten minutes (a trial). A reload comes back
    // under the same id and is listed as connected again.
    addEventListener('pagehide', (e) => {
      this.#presence.leave();
      void this.#store.flush();
      if (!e.persisted) void this.#overlay.stop('its tab was closed');
    });
  }

  async stop(): Promise<void> {
    this.#presence.leave();
    await this.#overlay.stop();
  }

  /** A refusal before any peer let us in means the code is wrong: stop dialing and say so. */
  #refused(why: string, where: string): void {
    console.warn(`chorus: ${why} at ${where}`);
    if (this.#everUp) return;
    void this.#overlay.stop();
    this.#setState('refused', `Could not join: ${why}. Nothing was read from the session. The link may be mistyped or from an older session: ask for a new link (chorus share prints it).`);
  }

  #linked(): number {
    return this.#overlay.peers().filter((p) => p.state === 'connected').length;
  }

  #setState(state: PeerStatus['state'], message?: string): void {
    this.#state = state;
    this.#message = message;
    this.#emitStatus();
  }

  #emitStatus(): void {
    this.#events.emit('status', this.status());
  }

  /** A change to a file's text from anyone: to the interface, unless this page's `edit` made it. */
  #take(e: TextEvent): void {
    if (!this.#open.has(e.path)) return;
    let origin: ChangeOrigin;
    if (e.origin.kind === 'editor' && e.origin.editorId === EDITOR) return;
    else if (e.origin.kind === 'undo' && e.origin.editorId === EDITOR) origin = 'undo';
    else origin = 'remote';
    this.#events.emit('text', e.path, opToChanges(e.op), origin);
  }

  #moved(from: string, to: string | undefined): void {
    const open = this.#open.get(from);
    if (!open) return;
    this.#open.delete(from);
    if (to !== undefined) this.#open.set(to, open);
    else this.#workspace.unpin(open.fileId);
    this.#events.emit('moved', from, to);
  }

  #file(path: string): OpenFile {
    const f = this.#open.get(path);
    if (!f) throw new Error(`${path} is not open here; open it first`);
    return f;
  }

  /** The overlay's view of the peers (id, state, path), for tests and a person debugging. */
  links(): Array<{ id: string; state: string; path?: string; name?: unknown }> {
    return this.#overlay.peers().map((p) => ({ id: p.id, state: p.state, ...(p.path ? { path: p.path } : {}), name: p.meta.name }));
  }

  status(): PeerStatus {
    const s: PeerStatus = { state: this.#state, readOnly: this.#readOnly, peers: this.#linked(), unacknowledged: this.#unacknowledged };
    if (this.#message) s.message = this.#message;
    return s;
  }

  files(): FileItem[] {
    if (this.#state === 'refused') return [];
    const items: FileItem[] = this.#workspace.index.entries().map(([, e]) => ({ path: e.path, kind: 'file', editable: !e.opaque }));
    for (const d of this.#workspace.index.dirs()) items.push({ path: d, kind: 'dir', editable: false });
    return items.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
  }

  async open(path: string): Promise<OpenedFile> {
    let opened: { fileId: string; text: string };
    try {
      opened = await this.#workspace.open(path, false, { kind: 'editor', editorId: EDITOR });
    } catch (e) {
      throw readable(e);
    }
    if (!this.#open.has(path)) this.#workspace.pin(opened.fileId);
    this.#open.set(path, { fileId: opened.fileId, lastEdit: 0 });
    const entry = this.#workspace.index.entry(opened.fileId);
    return { path, text: opened.text, editable: !this.#readOnly && !entry?.opaque };
  }

  close(path: string): void {
    const f = this.#open.get(path);
    if (!f) return;
    this.#open.delete(path);
    this.#workspace.unpin(f.fileId);
    this.#presence.clearLocal(EDITOR);
  }

  edit(path: string, changes: TextChange[]): void {
    const f = this.#file(path);
    const op = changesToOp(changes, this.#workspace.text(f.fileId).length);
    const now = Date.now();
    const origin: Origin = { kind: 'editor', editorId: EDITOR, undoStop: now - f.lastEdit > UNDO_GROUP_MS };
    f.lastEdit = now;
    try {
      this.#workspace.edit(f.fileId, op, origin);
    } catch (e) {
      throw readable(e);
    }
  }

  #step(path: string, undo: boolean): boolean {
    const f = this.#file(path);
    f.lastEdit = 0; // typing after an undo starts a new step
    try {
      return this.#undo.step(EDITOR, f.fileId, undo);
    } catch (e) {
      throw readable(e);
    }
  }

  undo(path: string): boolean {
    return this.#step(path, true);
  }

  redo(path: string): boolean {
    return this.#step(path, false);
  }

  setSelections(path: string, selections: SelectionRange[]): void {
    const f = this.#open.get(path);
    if (!f) return;
    this.#presence.setLocal(EDITOR, path, f.fileId, selections);
  }

  people(): Person[] {
    const out: Person[] = [{ id: this.selfId, name: this.#identity.name || 'guest', color: this.#identity.color, self: true, editor: 'browser' }];
    for (const p of this.#presence.peers()) {
      const person: Person = { id: p.id, name: p.name, color: p.color, self: false };
      // The most recent place of any of the person's editors.
      const where = [...this.#cursors.values()].reverse().find((c) => c.peer.id === p.id);
      if (where) {
        person.file = where.path;
        person.selections = where.selections.map((s) => ({ anchor: s.anchor, head: s.head }));
      }
      out.push(person);
    }
    return out;
  }

  setName(name: string): void {
    const trimmed = name.trim().slice(0, NAME_MAX_LENGTH);
    if (!trimmed) throw new Error('a name cannot be empty');
    this.#identity.name = trimmed;
    // Presence repeats itself only in a partial mesh: tell every linked peer now.
    for (const p of this.#replicator.connectedPeers()) this.#presence.peerUp(p.id);
    this.#events.emit('people');
  }

  /**
   * Why members keep `path` to themselves by default (a built-in rule for secret files, or a
   * `.gitignore` the session shares), in words; undefined when nothing does. A page has no folder
   * and no ignore files of its own, so a file it made there went to every member's disk (a
   * trial: `.env` and `*.key` made in a tab), and merged with a member's own on its editor's
   * reconnect (decision 232).
   */
  async #keptPrivate(path: string): Promise<string | undefined> {
    const texts = new Map<string, string>();
    const parts = path.split('/');
    for (let i = 0; i < parts.length; i++) {
      const dir = parts.slice(0, i).join('/');
      const at = dir ? `${dir}/.gitignore` : '.gitignore';
      const id = this.#workspace.index.idOf(at);
      if (id === undefined) continue;
      let bytes = this.#workspace.content(id);
      const hash = this.#workspace.index.entry(id)?.hash;
      if (bytes === undefined && hash !== undefined && (await this.#workspace.blobs.waitFor(hash, GITIGNORE_WAIT_MS))) bytes = this.#workspace.content(id);
      // Unread rules keep nothing out: the safe side is to make nothing until they are here.
      if (bytes === undefined) throw new Error(`cannot check ${path} against the session's ${at} yet (its content has not arrived); try again in a moment`);
      texts.set(dir, utf8Decoder.decode(bytes));
    }
    return privateByDefault(path, (dir) => texts.get(dir));
  }

  async create(path: string, text = ''): Promise<void> {
    const problem = pathProblem(path);
    if (problem) throw new Error(`cannot create ${path}: ${problem}`);
    const kept = await this.#keptPrivate(path);
    if (kept) throw new Error(`cannot create ${path}: members keep files like it to themselves (${kept}), and one made here would be written on every member's disk; choose another name`);
    if (this.#workspace.index.idOf(path)) throw new Error(`${path} already exists`);
    try {
      this.#workspace.addFile(path, utf8.encode(text), { kind: 'editor', editorId: EDITOR });
    } catch (e) {
      throw readable(e);
    }
  }

  async rename(from: string, to: string): Promise<void> {
    const problem = pathProblem(to);
    if (problem) throw new Error(`cannot rename to ${to}: ${problem}`);
    const kept = await this.#keptPrivate(to);
    if (kept) throw new Error(`cannot rename to ${to}: members keep files like it to themselves (${kept}), and one renamed here would be written on every member's disk; choose another name`);
    if (!this.#workspace.index.idOf(from)) throw new Error(`${from} does not exist (any more)`);
    if (this.#workspace.index.idOf(to)) throw new Error(`${to} already exists`);
    try {
      this.#workspace.rename(from, to, { kind: 'editor', editorId: EDITOR });
    } catch (e) {
      throw readable(e);
    }
  }

  async remove(path: string): Promise<void> {
    if (!this.#workspace.index.idOf(path)) throw new Error(`${path} does not exist (any more)`);
    try {
      this.#workspace.remove(path, { kind: 'editor', editorId: EDITOR });
    } catch (e) {
      throw readable(e);
    }
  }

  on<E extends keyof PagePeerEvents>(event: E, fn: PagePeerEvents[E]): void {
    this.#events.on(event, fn as Handler);
  }

  off<E extends keyof PagePeerEvents>(event: E, fn: PagePeerEvents[E]): void {
    this.#events.off(event, fn as Handler);
  }
}

/** The name this browser goes by (the interface asks once and remembers it); '' until it is chosen. */
function rememberedName(): string {
  return localStorage.getItem('chorus.name')?.trim() ?? '';
}

/** Build and start the page's peer for a join target: its database first, then the network. */
export async function startPagePeer(target: JoinTarget, opts: PagePeerOptions): Promise<ChorusPagePeer> {
  const db = await openDatabase(await claimDatabase(target.code.sessionId));
  const selfId = await storedPeerId(db, randomId);
  const { docs, blobs } = await IdbStore.open(db, (m) => console.info(`chorus: ${m}`));
  const peer = new ChorusPagePeer(target, opts, selfId, docs, blobs, rememberedName());
  await peer.start();
  return peer;
}

