/**
 * Who is here and where: every editor's selections and viewport, shared with every other editor
 * here and on every peer. Ephemeral, never stored (as in y-protocols' awareness): each daemon
 * broadcasts its state with a rising clock on change and as a heartbeat; a peer whose heartbeat
 * stops, or whose link drops, leaves everyone's view (its cursors at once, "left" after a grace,
 * decision 182). Positions travel as Automerge cursors (with
 * the offset as a fallback), so a remote cursor stays on its character while others type.
 */
// `events`: Node's own module in the daemon, the same-API `events` package in a browser bundle.
import { EventEmitter } from 'events';
import * as z from 'zod/mini';
import type { Identity } from '../identity.js';
import { soon, unref, type Timer } from '../timers.js';
import type { Replicator } from '../sync/replicator.js';
import type { FilesEvent, Workspace } from '../workspace/workspace.js';
import { escapeControls } from '../log-line.js';
import { isProjectPath } from '../workspace/path-rules.js';
import { MALFORMED_LINES_PER_MINUTE, QuietLog } from '../quiet-log.js';
import { HEX_COLOR } from './colors.js';
import { NAME_MAX_LENGTH } from './person-name.js';

/** Offsets (UTF-16) in the current text of a file. */
export interface Span {
  anchor: number;
  head: number;
}

export interface PeerView {
  id: string;
  name: string;
  color: string;
}

/** One editor's place, resolved to offsets in this daemon's current text of the file. */
export interface CursorView {
  peer: PeerView;
  /** The editor whose cursor this is (`peerId/editorId`), so an editor can skip its own. */
  source: string;
  path: string;
  selections: Span[];
  viewport?: { start: number; end: number };
}

// zod's mini build: the same checks, and only what is used goes into the browser page (issue 17).
const Anchor = z.object({ c: z.optional(z.string().check(z.maxLength(200))), o: z.int().check(z.minimum(0)) });
const WireEditor = z.object({
  id: z.string().check(z.maxLength(64)),
  // A project path, as every daemon sends it: a guest's cursor `../…/etc/passwd` reached editors,
  // whose protocol says paths are relative to the root (trial s54a).
  path: z.string().check(z.maxLength(4096), z.refine(isProjectPath, { message: 'a cursor in a path that is not the project’s' })),
  // A file id only: presence never names another namespace's document (issue 10, item 12).
  fileId: z.optional(z.string().check(z.regex(/^f[0-9a-f]{24}$/))),
  selections: z.array(z.object({ anchor: Anchor, head: Anchor })).check(z.maxLength(1000)),
  viewport: z.optional(z.object({ start: Anchor, end: Anchor })),
});
const WirePresence = z.object({
  clock: z.int().check(z.minimum(0)),
  name: z.string().check(z.maxLength(NAME_MAX_LENGTH)),
  color: z.string().check(z.regex(HEX_COLOR)),
  editors: z.array(WireEditor).check(z.maxLength(64)),
});
type WireEditor = z.infer<typeof WireEditor>;
type WirePresence = z.infer<typeof WirePresence>;

export const PRESENCE_TOPIC = 'presence';
export const LEAVE_TOPIC = 'leave';
const HEARTBEAT_MS = 1500;
/** How often a joiner held untold is looked at while one is (Presence.watchJoins): its `joined` is news at once. */
const JOIN_CHECK_MS = 50;
const TIMEOUT_MS = 5000;
/**
 * How long a peer lost without a goodbye (its link dropped, its heartbeat stopped) stays in the
 * session, unannounced, before editors are told it left; heard again within it, nothing is told
 * at all (decision 182). A goodbye is told at once. 10 s covers a link the overlay redials after
 * a few failed tries (backoff.ts: 0.2 + 0.4 + 0.8 + 1.6 + 3.2 s at most) and its handshake on a
 * loaded machine, where a trial saw some 30 "left"/"joined" pairs for one person; someone
 * really gone is told within seconds more than before. Tests shorten it
 * (CHORUS_TEST_LEAVE_GRACE_MS, session/test-timings.ts).
 */
export const LEAVE_GRACE_MS = 10_000;
/**
 * Furthest a peer's presence clock may move ahead from one message to the next that reaches
 * here. A daemon adds one per presence message it sends, and one that misses messages for long
 * forgets the peer (TIMEOUT_MS, or its link going down) and takes its next clock afresh; so an
 * honest jump is small. A larger one (a bug, a forgery) is refused: taken, it would make every
 * later message of that peer "old news" and freeze its cursor (decision 140).
 */
export const MAX_CLOCK_STEP = 10_000;
/** How many members `remembered` keeps (as many as the overlay knows, MAX_KNOWN_MEMBERS). */
const MAX_REMEMBERED = 1024;
/** Least time between two log lines about one peer's refused clocks. */
const REFUSAL_LOG_MS = 60_000;

interface RemotePeer {
  view: PeerView;
  clock: number;
  /** A new link to the peer came up since its last message: its next clock is taken as it is. */
  fresh: boolean;
  seen: number;
  editors: WireEditor[];
  /**
   * When it was lost without a goodbye (ms epoch): its cursors are cleared, and it is told as
   * left `leaveGraceMs` later unless heard again first. Undefined while it is here.
   */
  lostAt?: number;
  /**
   * Its link says it is still joining (or its join was abandoned): editors have not been told
   * of it. They are once its join is done (`watchJoins`); a join that fails is never told, neither as
   * joined nor as gone (trial s59 F3: "joined the session", then "out of reach … back by
   * themselves", for a joiner that had given up).
   */
  unannounced?: true;
}

/** What presence asks of the session about peers (the overlay's view, through the daemon). */
export interface PresenceLinks {
  /** When we last heard anything from this peer on a direct link (ms epoch); none if unlinked. */
  lastHeard(peerId: string): number | undefined;
  /**
   * Must presence be repeated on a clock (a session larger than a full mesh, where a closed
   * link says nothing about the person and only a silent heartbeat does)?
   */
  heartbeat(): boolean;
  /**
   * Whether the peer's direct link says it is still joining (`joining`), or its join stopped
   * before it was in (`abandoned`: a goodbye said so, or it went mid-join); undefined for a
   * member, or a peer not linked directly. Absent: every peer is a member.
   */
  joinState?(peerId: string): 'joining' | 'abandoned' | undefined;
}

export interface PresenceEvents {
  cursor: [CursorView];
  /** `reason`: `joined` when new to this daemon, `back` when a member it had before (see `peerUp`). */
  joined: [PeerView, 'joined' | 'back'];
  /** `reason`: `left` after a goodbye, `unreachable` after its grace ran out without one. */
  left: [PeerView, 'left' | 'unreachable'];
}

export class Presence extends EventEmitter<PresenceEvents> {
  private clock = 0;
  private local = new Map<string, WireEditor>();
  private remote = new Map<string, RemotePeer>();
  private send: ((topic: string, body: unknown, to?: string) => void) | undefined;
  private links: PresenceLinks | undefined;
  private timer: Timer;
  /** Looks every JOIN_CHECK_MS for joiners whose join is done, while one is held untold. */
  private joinWatch: Timer | undefined;
  /** A broadcast waits for the end of this turn of the event loop (see `broadcastSoon`). */
  private broadcastDue = false;
  /**
   * Members this daemon had before, in this run or (from their links) before it restarted: one
   * that appears again is told as back, not as joined. Each with the name and colour it last gave
   * before it went from view, if it did in this run (undefined for one known from its link
   * alone): `chorus status` still lists that name, where a member known only by its presence (a
   * browser tab names itself after it links) was listed as "(no name yet)" while the editors had
   * just said "Dave is out of reach" (trial s59 F7). Bounded by MAX_REMEMBERED, oldest first.
   */
  private readonly remembered = new Map<string, { name: string; color: string } | undefined>();

  /**
   * `leaveGraceMs`: how long a peer lost without a goodbye stays before "left" is told
   * (LEAVE_GRACE_MS unless a test shortens it).
   */
  constructor(
    private readonly identity: Identity,
    private readonly workspace: Workspace,
    private readonly log: (msg: string) => void,
    private readonly leaveGraceMs = LEAVE_GRACE_MS,
  ) {
    super();
    this.setMaxListeners(0);
    this.timer = unref(setInterval(() => this.tick(), HEARTBEAT_MS));
    workspace.on('files', this.onFiles);
  }

  /**
   * A file was renamed (here or on a peer): cursors in it follow it to the new name. An editor
   * keeps the buffer open across the rename, so its cursor there was still shown to everyone, but
   * under the old name: peers dropped it (no such file), and this editor's close of the renamed
   * buffer, which names the new path, did not take it away.
   */
  private readonly onFiles = (e: FilesEvent): void => {
    if (e.renamed.length === 0) return;
    const to = new Map(e.renamed.map((r) => [r.id, r.to]));
    let moved = false;
    for (const local of this.local.values()) {
      const now = local.fileId === undefined ? undefined : to.get(local.fileId);
      if (now === undefined || now === local.path) continue;
      local.path = now;
      moved = true;
      this.emitEditor(this.self, local);
    }
    if (moved) this.broadcastSoon();
    for (const p of this.remote.values()) {
      if (p.lostAt !== undefined || p.unannounced) continue;
      for (const r of p.editors) if (r.fileId !== undefined && to.has(r.fileId)) this.emitEditor(p.view, r);
    }
  };

  get self(): PeerView {
    return { id: this.identity.id, name: this.identity.name, color: this.identity.color };
  }

  /**
   * Start talking to peers through `send` (when the session starts). Without `links` presence
   * heartbeats on every tick and times out every silent peer.
   */
  connect(send: (topic: string, body: unknown, to?: string) => void, links?: PresenceLinks): void {
    this.send = send;
    this.links = links;
  }

  /**
   * This daemon's name or colour changed (identity, set before the call): every peer hears it now. In a
   * full mesh presence is not repeated on the wire, so without this peers kept the old name until
   * an editor here moved.
   */
  nameChanged(): void {
    this.broadcastSoon();
  }

  /** Everyone in the session as told to editors: a peer lost within its grace still counts; one still joining does not. */
  peers(): PeerView[] {
    return [...this.remote.values()].filter((p) => !p.unannounced).map((p) => p.view);
  }

  /** The name and colour a member gone from view (`peers`) last gave, while remembered. */
  lastKnown(peerId: string): { name: string; color: string } | undefined {
    return this.remembered.get(peerId);
  }

  find(nameOrId: string): PeerView | undefined {
    const all = [...this.remote.values()].map((p) => p.view);
    return all.find((p) => p.id === nameOrId) ?? all.find((p) => p.id.startsWith(nameOrId)) ?? all.find((p) => p.name.toLowerCase() === nameOrId.toLowerCase());
  }

  private anchor(fileId: string, offset: number) {
    const c = this.workspace.cursorAt(fileId, offset);
    return c ? { c, o: offset } : { o: offset };
  }

  /** An editor here moved (offsets in the current text of `fileId`). */
  setLocal(editorId: string, path: string, fileId: string, selections: Span[], viewport?: { start: number; end: number }): void {
    const e: WireEditor = {
      id: editorId,
      path,
      fileId,
      selections: selections.map((s) => ({ anchor: this.anchor(fileId, s.anchor), head: this.anchor(fileId, s.head) })),
      ...(viewport ? { viewport: { start: this.anchor(fileId, viewport.start), end: this.anchor(fileId, viewport.end) } } : {}),
    };
    this.local.set(editorId, e);
    this.emitEditor(this.self, e);
    this.broadcastSoon();
  }

  /** Keep selections, change only the viewport. */
  setViewport(editorId: string, path: string, fileId: string, viewport: { start: number; end: number }): void {
    const cur = this.local.get(editorId);
    const selections = cur && cur.path === path ? cur.selections.map((s) => ({ anchor: this.resolve(fileId, s.anchor), head: this.resolve(fileId, s.head) })) : [];
    this.setLocal(editorId, path, fileId, selections, viewport);
  }

  /** An editor here closed `path`: others see its cursor there go (a cursor elsewhere stays). */
  clearLocalIn(editorId: string, path: string): void {
    const e = this.local.get(editorId);
    if (e && this.pathNow(e) === path) this.clearLocal(editorId);
  }

  /** An editor here went away: others see its cursor go. */
  clearLocal(editorId: string): void {
    const e = this.local.get(editorId);
    if (!e) return;
    this.local.delete(editorId);
    this.emit('cursor', { peer: this.self, source: `${this.identity.id}/${editorId}`, path: this.pathNow(e), selections: [] });
    this.broadcastSoon();
  }

  private resolve(fileId: string | undefined, a: { c?: string | undefined; o: number }): number {
    if (fileId && a.c) {
      const off = this.workspace.offsetOf(fileId, a.c);
      if (off !== undefined) return off;
    }
    return a.o;
  }

  /**
   * Where an editor's cursor is, by this daemon's index: its path, unless no file has that name
   * any more and its file id names one (renamed here before, or after, the peer said where it was).
   */
  private pathNow(e: WireEditor): string {
    if (e.fileId === undefined || this.workspace.index.idOf(e.path) !== undefined) return e.path;
    return this.workspace.pathOf(e.fileId) ?? e.path;
  }

  private emitEditor(peer: PeerView, e: WireEditor): void {
    const fileId = this.workspace.index.idOf(e.path) ?? e.fileId;
    const view: CursorView = {
      peer,
      source: `${peer.id}/${e.id}`,
      path: this.pathNow(e),
      selections: e.selections.map((s) => ({ anchor: this.resolve(fileId, s.anchor), head: this.resolve(fileId, s.head) })),
    };
    if (e.viewport) view.viewport = { start: this.resolve(fileId, e.viewport.start), end: this.resolve(fileId, e.viewport.end) };
    this.emit('cursor', view);
  }

  /**
   * One presence message for everything that changed in this turn of the event loop: an editor
   * sends `cursor/set` and `viewport/set` together after a move (the Neovim client does), which
   * made two messages to every peer per cursor move.
   */
  private broadcastSoon(): void {
    if (this.broadcastDue) return;
    this.broadcastDue = true;
    soon(() => {
      if (!this.broadcastDue) return; // left meanwhile
      this.broadcastDue = false;
      this.broadcast();
    });
  }

  private broadcast(to?: string): void {
    // No name yet (a browser tab whose person has not chosen one): nothing said, so the first
    // presence peers hear, and their "… joined", carries the name chosen, not a placeholder.
    if (!this.send || this.identity.name === '') return;
    const body: WirePresence = { clock: ++this.clock, name: this.identity.name, color: this.identity.color, editors: [...this.local.values()] };
    this.send(PRESENCE_TOPIC, body, to);
  }

  /**
   * A presence message (or goodbye) from member `peerId`: who the replicator says sent it
   * (decision 140). `relayed`: it came through other members, not on a link to `peerId`.
   */
  receive(peerId: string, topic: string, body: unknown, relayed = false): void {
    // A goodbye counts only on the leaver's own link: a relayed one cannot be told from a
    // forgery. In a partial mesh, where it is relayed, the silence after it drops the peer.
    if (topic === LEAVE_TOPIC) return relayed ? undefined : this.drop(peerId, 'left');
    if (topic !== PRESENCE_TOPIC) return;
    const parsed = WirePresence.safeParse(body);
    if (!parsed.success) {
      this.malformed.log(`malformed presence of ${peerId.slice(0, 8)}`, `refused presence from peer ${peerId.slice(0, 8)}: ${parsed.error.issues[0]?.message ?? 'malformed'}`, ` (logged at most ${MALFORMED_LINES_PER_MINUTE} times a minute per peer)`);
      return;
    }
    const p = parsed.data;
    let peer = this.remote.get(peerId);
    if (peer && !peer.fresh) {
      if (p.clock <= peer.clock) return; // old news
      if (p.clock - peer.clock > MAX_CLOCK_STEP) {
        this.noteRefusal(peerId, `refused presence from peer ${peerId.slice(0, 8)}: its clock jumped from ${peer.clock} to ${p.clock}, more than ${MAX_CLOCK_STEP} ahead`);
        return;
      }
    }
    const view = { id: peerId, name: displayName(p.name, peerId.slice(0, 8)), color: p.color };
    // Back within its grace: nobody was told it left, so nobody is told it joined; its cursors
    // were cleared when it was lost and all come back now.
    const isNew = !peer;
    const before = peer?.lostAt === undefined ? (peer?.editors ?? []) : [];
    const unannounced = isNew ? this.links?.joinState?.(peerId) !== undefined : peer!.unannounced === true;
    peer = { view, clock: p.clock, fresh: false, seen: Date.now(), editors: p.editors, ...(unannounced ? { unannounced: true as const } : {}) };
    this.remote.set(peerId, peer);
    if (unannounced) {
      this.watchJoins(); // told once its join is done
      return;
    }
    if (isNew) this.emit('joined', view, this.remembered.has(peerId) ? 'back' : 'joined');
    for (const e of p.editors) this.emitEditor(view, e);
    for (const gone of before.filter((b) => !p.editors.some((e) => e.id === b.id))) {
      this.emit('cursor', { peer: view, source: `${peerId}/${gone.id}`, path: this.pathNow(gone), selections: [] });
    }
  }

  /**
   * A peer connected: tell it where everyone here is right away. Its clock counts per link: the
   * next one it sends is taken as it is (it may have restarted, counting from 0 again).
   */
  peerUp(peerId: string, link?: { joining: boolean; meJoining: boolean }): void {
    // Its hello says it is a member already (not joining), and this daemon is not meeting the
    // session for the first time (a fresh join of its own): it was here before this daemon
    // restarted, or before a relay between them went down. (A member that joined while this
    // daemon was down is told as back too: nothing here tells it apart.)
    if (link && !link.joining && !link.meJoining) this.remember(peerId);
    const peer = this.remote.get(peerId);
    if (peer) peer.fresh = true;
    this.broadcast(peerId);
  }

  /** Refusals about each peer: one log line a minute, then a count (members only: its kinds are bounded). */
  private refusals = new QuietLog((m) => this.log(m), REFUSAL_LOG_MS, 1);
  private malformed = new QuietLog((m) => this.log(m), REFUSAL_LOG_MS, MALFORMED_LINES_PER_MINUTE);
  private noteRefusal(peerId: string, msg: string): void {
    this.refusals.log(`presence of ${peerId.slice(0, 8)}`, msg, ' (logged at most once a minute per peer)');
  }

  /** A peer said goodbye (`left`) or its grace ran out (`unreachable`): it leaves everyone's view, and editors are told why. */
  drop(peerId: string, reason: 'left' | 'unreachable'): void {
    this.refusals.forget(`presence of ${peerId.slice(0, 8)}`);
    this.malformed.forget(`malformed presence of ${peerId.slice(0, 8)}`);
    const peer = this.remote.get(peerId);
    if (!peer) return;
    this.remote.delete(peerId);
    if (peer.unannounced) return; // never told as here: nothing to tell as gone
    this.remember(peerId, { name: peer.view.name, color: peer.view.color });
    if (peer.lostAt === undefined) this.clearCursors(peer);
    this.emit('left', peer.view, reason);
  }

  /**
   * A peer's link dropped, or it fell silent, without a goodbye: its cursors go at once (nobody
   * knows where it is now), and it is told as left only if it is not heard again within
   * `leaveGraceMs` (checked on the tick), so a link that flaps under load tells editors nothing
   * (decision 182). Its next clock is taken as it is: it may have restarted meanwhile.
   */
  lose(peerId: string): void {
    const peer = this.remote.get(peerId);
    if (!peer || peer.lostAt !== undefined) return;
    peer.lostAt = Date.now();
    peer.fresh = true;
    if (!peer.unannounced) this.clearCursors(peer);
  }

  private clearCursors(peer: RemotePeer): void {
    for (const e of peer.editors) this.emit('cursor', { peer: peer.view, source: `${peer.view.id}/${e.id}`, path: this.pathNow(e), selections: [] });
  }

  /**
   * Every HEARTBEAT_MS. A peer not heard of for TIMEOUT_MS is lost, and one lost for
   * `leaveGraceMs` is dropped. In a full mesh presence is not repeated on the wire (an idle
   * daemon would wake its peers for nothing): anything heard on the peer's link counts (the
   * overlay's pings arrive every 2 s on a live link; heard after it was lost, it is back, cursors
   * and all), changes are sent when they happen, and remote cursors are re-resolved here against
   * the text as it is now, as a heartbeat arriving would. In a larger session presence is
   * repeated on the wire.
   */
  private tick(): void {
    const now = Date.now();
    const heartbeat = this.links?.heartbeat() ?? true;
    for (const [id, p] of this.remote) {
      if (!heartbeat) p.seen = Math.max(p.seen, this.links?.lastHeard(id) ?? 0);
      if (p.lostAt !== undefined && p.seen > p.lostAt) p.lostAt = undefined;
      if (p.lostAt !== undefined) {
        if (now - p.lostAt >= this.leaveGraceMs) this.drop(id, 'unreachable');
      } else if (now - p.seen > TIMEOUT_MS) this.lose(id);
    }
    if (heartbeat) return this.broadcast();
    for (const p of this.remote.values()) if (p.lostAt === undefined && !p.unannounced) for (const e of p.editors) this.emitEditor(p.view, e);
  }

  /**
   * Look for joiners held untold whose join is done, every JOIN_CHECK_MS until none is held: an
   * editor that connects just after `chorus join` returned was told "Bob joined" a heartbeat late
   * (a test read it as a message of its own scene).
   */
  private watchJoins(): void {
    if (this.joinWatch !== undefined) return;
    this.joinWatch = unref(setInterval(() => this.announceJoined(), JOIN_CHECK_MS));
  }

  /** Tell editors of each joiner held untold whose join is done (it is in now). */
  private announceJoined(): void {
    let held = false;
    for (const [id, p] of this.remote) {
      if (!p.unannounced) continue;
      if (p.lostAt !== undefined || this.links?.joinState?.(id) !== undefined) {
        held = true;
        continue;
      }
      delete p.unannounced;
      this.emit('joined', p.view, this.remembered.has(id) ? 'back' : 'joined');
      for (const e of p.editors) this.emitEditor(p.view, e);
    }
    if (!held) {
      clearInterval(this.joinWatch);
      this.joinWatch = undefined;
    }
  }

  /** Remember `peerId` as a member had before, newest last, with the view it last gave (else the one remembered). */
  private remember(peerId: string, view = this.remembered.get(peerId)): void {
    this.remembered.delete(peerId); // re-inserted: the newest
    this.remembered.set(peerId, view);
    if (this.remembered.size > MAX_REMEMBERED) this.remembered.delete(this.remembered.keys().next().value!);
  }

  /** Say goodbye to peers (on shutdown). */
  leave(): void {
    clearInterval(this.timer);
    clearInterval(this.joinWatch);
    this.joinWatch = undefined;
    this.refusals.clear();
    this.malformed.clear();
    this.workspace.off('files', this.onFiles);
    this.broadcastDue = false;
    this.send?.(LEAVE_TOPIC, {});
  }
}

/** What presence needs to know of the overlay a replicator runs on. */
export interface PresenceOverlay {
  lastHeard(peerId: string): number | undefined;
  joinState(peerId: string): 'joining' | 'abandoned' | undefined;
  isPartialMesh(): boolean;
  readonly startedJoining: boolean;
}

/**
 * Carry `presence` over a replicator's ephemeral messages, the same way on every platform (the
 * daemon and the browser page): people appear when their peer is up, and in a full mesh leave
 * with their link; in a partial mesh a closed link says nothing about the person, their heartbeat
 * does. `overlay()` is the overlay of the moment (undefined before there is one). `other` takes
 * ephemeral topics that are not presence (returns true when it took the message).
 */
export function carryPresence(presence: Presence, rep: Replicator, overlay: () => PresenceOverlay | undefined, other?: (peerId: string, topic: string, body: unknown) => boolean): void {
  presence.connect((topic, body, to) => rep.sendEphemeral(topic, body, to), {
    lastHeard: (id) => overlay()?.lastHeard(id),
    heartbeat: () => overlay()?.isPartialMesh() ?? false,
    joinState: (id) => overlay()?.joinState(id),
  });
  // A browser tab's hello never says it is joining (it has no join of its own to finish), so it is
  // no word that it was here before: told as back only once this daemon has seen it go (trial s60
  // F2: a guest's first visit was told as "connected again").
  rep.on('peerUp', (id, meta) => presence.peerUp(id, { joining: meta.joining === true || meta.editor === 'browser', meJoining: overlay()?.startedJoining ?? true }));
  rep.on('peerDown', (id) => {
    if (!overlay()?.isPartialMesh()) presence.lose(id);
  });
  rep.on('ephemeral', (peerId, topic, body, relayed) => {
    if (!other?.(peerId, topic, body)) presence.receive(peerId, topic, body, relayed);
  });
}

/**
 * A member's name as this daemon shows it (status, editors' cursor labels): at most NAME_MAX_LENGTH
 * characters, control characters escaped. A name comes from the member itself, and one holding
 * a newline or a terminal escape would forge lines or colours in `chorus status`.
 */
export function displayName(raw: unknown, fallback: string): string {
  return typeof raw === 'string' && raw.length > 0 ? escapeControls(raw.slice(0, NAME_MAX_LENGTH)) : fallback;
}
