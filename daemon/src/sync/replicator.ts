/**
 * Keeps this daemon's documents and every connected peer's level. Live edits travel as raw
 * Automerge changes the moment they are made (cheap to apply, causal on ordered links); after
 * every (re)connect the Automerge sync protocol brings each document level, which is the only
 * time it runs. Blobs of files nobody made live are fetched on demand.
 */
// `events`: Node's own module in the daemon, the same-API `events` package in a browser bundle.
import { EventEmitter } from 'events';
import * as A from '@automerge/automerge/next';
import { randomBytes } from '@noble/hashes/utils.js';
import { base64 } from '@scure/base';
import type { FloodDelivery } from '../net/flood.js';
import { QuietLog } from '../quiet-log.js';
import { SLICE_MS, unref, type Timer } from '../timers.js';
import { tracePoint } from '../trace-points.js';
import { identityOf } from '../workspace/actors.js';
import { INDEX_DOC_ID } from '../workspace/file-index.js';
import type { BlobStore } from '../workspace/blob-store.js';
import type { FileIndex } from '../workspace/file-index.js';
import { isPeersOrSettling, type FilesEvent } from '../workspace/workspace.js';
import { decodePeerMessage, headsDigest, encodePeerMessage, PeerMessageError, type PeerMessage } from './peer-messages.js';
import { ChangeRefused, checkChanges, docKind, splitChunks, verifyHeader } from './change-check.js';
import { displayName } from '../presence/presence.js';
import { checkSnapshot } from './snapshot-check.js';

/**
 * The part of the overlay the replicator uses (an in-memory network in unit tests). `broadcast`
 * reaches every member once, however the session is linked; a broadcast arrives with `flood`,
 * and refusing it keeps it from being relayed to others (overlay.ts, decision 095).
 */
export interface PeerNetwork {
  on(event: 'peer-up', fn: (id: string, meta: Record<string, unknown>) => void): unknown;
  on(event: 'peer-down', fn: (id: string, reason: string) => void): unknown;
  on(event: 'message', fn: (id: string, data: Uint8Array, flood: FloodDelivery | undefined) => void): unknown;
  send(peerId: string, data: Uint8Array): boolean;
  broadcast(data: Uint8Array): number;
  /**
   * Is `peerId` a member of the session (linked, or in the address book)? Asked of the claimed
   * origin of a relayed ephemeral message (decision 140). Without it (a test network, a
   * decorator) a relayed message claiming someone other than the link's peer is dropped.
   */
  isMember?(peerId: string): boolean;
  /**
   * Are broadcasts relayed (a session too large for a full mesh)? In a full mesh every member's
   * broadcasts come on its own link, so a relayed one naming another member is a forgery even
   * when that member is offline (decision 140). Without it: treated as a full mesh.
   */
  isPartialMesh?(): boolean;
  /** Close the links to a peer that broke a bound; without it the peer's message is only refused. */
  dropLinks?(peerId: string, reason: string): void;
  /**
   * Bytes sent to `peerId` that its link has not written to the network yet (the WebSocket's
   * send buffer), or undefined where the transport cannot tell. Blob and sync answers wait while
   * it is over MAX_QUEUED_BYTES (decision 149).
   */
  buffered?(peerId: string): number | undefined;
}

/** A blob asked for and not answered (by data or `lack`) within this long is asked of someone else. */
const WANT_TIMEOUT_MS = 10_000;
/**
 * Most blobs, and bytes of them (by the sizes the file index gives), asked for and not yet here.
 * A join asks for the rest as these arrive, not for the whole project at once: the peer reads,
 * seals and queues only this much for us at a time, and neither side holds the project's bytes
 * in flight (that peak, freed, stays in the process's heap as resident memory; issue 13,
 * decision 100). A blob larger than the byte budget is asked for on its own.
 */
export const MAX_BLOBS_IN_FLIGHT = 64;
export const MAX_BLOB_BYTES_IN_FLIGHT = 2 * 1024 * 1024;
/**
 * A text document a peer has none of goes to it as one saved document (compressed, loaded in one
 * go), then the sync protocol, which then has nothing left to bring: change by change, a long
 * history costs seconds of CPU per peer on both sides, and any history costs round trips, each of
 * which needs the document in memory on the sender (decision 247). A read-only daemon sends
 * whole only histories of at least this many changes, as every daemon did before: a writer
 * refuses a whole document from it (it may not change anything), so a short one would be made
 * and sent for nothing.
 */
const SNAPSHOT_MIN_CHANGES = 5000;
/** Least time between two fresh starts of one document's sync with one peer (resync). */
const RESYNC_MS = 1000;
/**
 * How many documents a peer may name (its `docs` messages, in all, per link) beyond twice those
 * this daemon knows (documents held plus files in the index). An honest peer names each document
 * it holds once per link; a joiner knows few of them yet, hence the fixed allowance. Beyond it the
 * peer is refused and its link closed: its per-peer sets would otherwise grow without bound.
 */
export const PEER_DOCS_ALLOWANCE = 50_000;
/** Least time between two log lines about one peer's refused messages of one kind. */
const QUIET_LOG_MS = 60_000;
/**
 * Most messages from one member that cannot be read, in a minute, before its links are closed. An
 * honest daemon sends none (one of another version is turned away at the handshake), so this many
 * is a member sending rubbish, on purpose or broken: a read-only guest's 1,000,000 two-byte frames
 * held a member for over 12 minutes and wrote a log line for each (trial s54a, F4). Counted across
 * its links, so a member that links again at once is closed again at its first.
 */
const MAX_UNREADABLE_PER_MINUTE = 100;
/** Refusals of one kind from one member logged in a minute; the rest are counted (see `refusals`). */
const REFUSALS_LOGGED_PER_MINUTE = 500;
/**
 * Bytes of answers (blobs, sync replies) that may wait in one peer's link before more are built:
 * a peer asking faster than its link drains (or not reading at all) must not make this daemon
 * read and seal its whole project into memory (a `want` naming one 2 MB blob 2,000 times took a
 * host from 87 MB to 4 GB; decision 149). Four times the blob budget a joiner keeps in flight
 * (MAX_BLOB_BYTES_IN_FLIGHT), so an honest join never waits on it.
 */
export const MAX_QUEUED_BYTES = 8 * 1024 * 1024;
/** Bytes of blobs read and sent to one peer in one turn of the event loop before yielding. */
const BLOB_BYTES_PER_TURN = 1024 * 1024;
/**
 * Most blobs one peer may have asked for and not been sent yet. An honest peer asks for at most
 * MAX_BLOBS_IN_FLIGHT at a time; asks beyond this are refused (logged), not queued.
 */
export const MAX_WANTS_QUEUED = 1024;
/**
 * A blob sent to a peer is not sent to it again if it asks within this long (ms): an honest peer
 * asks again only after WANT_TIMEOUT_MS without an answer, counted from its ask, before our send.
 */
const REPEAT_WANT_MS = WANT_TIMEOUT_MS / 2;
/**
 * Sync replies of at least this many bytes (a document's history, sent again because the peer
 * said it has nothing) go to one peer for one document at most once per RESYNC_MS; sync messages
 * arriving meanwhile wait, and only the latest of them is answered (decision 149).
 */
const BIG_SYNC_REPLY = 64 * 1024;

/** A set of documents the replicator keeps level (the workspace; the extension data). */
export interface ReplicatedDocs {
  docIds(): string[];
  applyRemote(docId: string, changes: Uint8Array[], origin: { kind: 'peer'; peerId: string }): void;
  receiveSync(docId: string, state: A.SyncState, message: Uint8Array, origin: { kind: 'peer'; peerId: string }): A.SyncState;
  generateSync(docId: string, state: A.SyncState): { state: A.SyncState; message: Uint8Array | null };
  on(event: 'localChange', fn: (docId: string, change: Uint8Array) => void): unknown;
  /** Which of these change hashes the document does not hold yet. */
  missingDeps(docId: string, hashes: string[]): string[];
  /** Refuse local changes (this daemon holds a read-only code). */
  setReadOnly?(readOnly: boolean): void;
}

/**
 * What the replicator uses of the Workspace (workspace.ts): its documents, plus the file index
 * and blobs (to fetch the content of files nobody made live) and whole saved documents for long
 * histories. An interface, so the replicator does not depend on how a platform builds it.
 */
export interface ReplicatedWorkspace extends ReplicatedDocs {
  readonly index: Pick<FileIndex, 'entries' | 'entry'>;
  readonly blobs: BlobStore;
  on(event: 'localChange', fn: (docId: string, change: Uint8Array) => void): unknown;
  /** The file list changed: fetch the blobs of files that arrived. */
  on(event: 'files', fn: (e: FilesEvent) => void): unknown;
  /** An editor waits for a document whose history has not arrived. */
  on(event: 'historyWanted', fn: (docId: string) => void): unknown;
  /** Is this file's content a live text document (synced as a document, not a blob)? */
  isLive(fileId: string): boolean;
  /** Does the document hold changes waiting for history it lacks? */
  lacksHistory(docId: string): boolean;
  /** Is the document's history at least this long (see SNAPSHOT_MIN_CHANGES)? */
  hasLongHistory(docId: string, minChanges: number): boolean;
  /** This daemon holds a read-only code (see SNAPSHOT_MIN_CHANGES); absent: it may write. */
  readonly readOnly?: boolean;
  /** The document's heads, joined; '' when it is not here. */
  savedHeads(docId: string): string;
  /**
   * The document's heads if they are known without loading it (it is in memory, or was this run
   * and has not changed since); undefined otherwise.
   */
  knownHeads(docId: string): string[] | undefined;
  /** The document's saved form with its heads; undefined when it is not here. */
  savedForm(docId: string): { heads: string; data: Uint8Array } | undefined;
  /**
   * Does the file index name this document (a file's, present or removed), or is it the index?
   * Only such documents are offered to peers and taken whole from them (decision 193).
   */
  names(docId: string): boolean;
  /**
   * Is a change made here to this document kept from peers for now (a join holding back what the
   * folder had, decision 228)? It is neither sent live nor offered until `offerHeldBack`.
   */
  withheld(docId: string): boolean;
  /** A peer's whole saved document, merged into ours. */
  applySnapshot(docId: string, bytes: Uint8Array, origin: { kind: 'peer'; peerId: string }): void;
}

/** A blob a file here needs: the file, the blob's hash and size, and the peer that named it, if one did. */
interface Missing {
  id: string;
  hash: string;
  bytes: number;
  from: string | undefined;
}

/** A peer's change that waits for its dependencies, already checked (change-check.ts). */
interface Waiting {
  bytes: Uint8Array;
  hash: string;
  deps: string[];
  /** Its actor, as its header says (ChangeHeader.actor). */
  actor: string;
}

/**
 * What may wait for dependencies, per peer: a change whose dependency never arrives must not
 * grow memory and saved state without bound (issue 10, item 8). Beyond it the peer's waiting
 * changes are dropped; the sync protocol brings what was really missing on the next connect.
 */
export const MAX_WAITING_CHANGES = 2000;
export const MAX_WAITING_BYTES = 16 * 1024 * 1024;

/** One peer's sync gate for one document (PeerState.syncGate). */
interface SyncGate {
  lastBig: number;
  refused?: boolean;
  pending?: Uint8Array;
  timer?: Timer;
}

interface PeerState {
  meta: Record<string, unknown>;
  /** Changes from this peer waiting for their dependencies, per document. */
  waiting: Map<string, Waiting[]>;
  waitingBytes: number;
  /** Documents the peer holds (its `docs` message): their text comes by sync, not as blobs. */
  docs: Set<string>;
  /** Blobs the peer said it does not have. */
  lacks: Set<string>;
  states: Map<string, A.SyncState>;
  /** Documents not yet level with this peer since it came up. */
  unsynced: Set<string>;
  /** The peer named more documents than PEER_DOCS_ALLOWANCE lets it: its link is being closed. */
  overDocs?: boolean;
  /** Blobs the peer asked for and not sent yet, oldest first (a set: asked twice, sent once). */
  wants: Set<string>;
  /** When each blob was last sent to this peer (ms epoch): see REPEAT_WANT_MS. */
  sentBlobs: Map<string, number>;
  /** Sending `wants` waits for the link to drain (or for the next turn). */
  pumpTimer?: Timer;
  /**
   * Per document: when a big sync reply last went to this peer, and the peer's latest sync
   * message waiting for RESYNC_MS to pass since (or for its link to drain); see BIG_SYNC_REPLY.
   * `refused`: this (read-only) peer offered changes to the document that were refused, so the
   * two sides' sync about it cannot end (each says what the other lacks, for ever): every answer
   * then counts as a big one, and the exchange runs at one round per RESYNC_MS (decision 226).
   */
  syncGate: Map<string, SyncGate>;
  /**
   * Saved documents from this peer that the index does not name yet, each with the peer's latest
   * sync message for it: taken when the index names the document, dropped with the link
   * (decision 193). Bounded by MAX_HELD_SNAPSHOT_BYTES.
   */
  held: Map<string, { data: Uint8Array; sync?: Uint8Array }>;
  heldBytes: number;
  /**
   * Files' documents of ours whose sync with this peer has not started yet (its `docs` message
   * came), started SLICE_MS' worth per turn (`pumpOffers`); the next turn's timer; and how
   * many went whole since that was last logged.
   */
  offers: Set<string>;
  offerTimer?: Timer;
  sentWhole: number;
}

/**
 * Most bytes of saved documents (and their sync messages) held per peer for documents the index
 * does not name yet (decision 193): an honest peer sends each long history once, before the
 * index that names it, which follows within a few round trips.
 */
export const MAX_HELD_SNAPSHOT_BYTES = 64 * 1024 * 1024;
/** Most saved documents held per peer for documents the index does not name yet (see above). */
export const MAX_HELD_SNAPSHOTS = 10_000;

export interface ReplicatorEvents {
  /** Every document is level with this peer and every blob we lacked has arrived. */
  synced: [peerId: string];
  /** A blob arrived (the disk writes the files that have it). */
  blob: [hash: string];
  /**
   * An ephemeral message from member `peerId`: the link's peer, or for a relayed broadcast the
   * member it claims to come from (known to the overlay, not linked here; decision 140).
   * `relayed` says which.
   */
  ephemeral: [peerId: string, topic: string, body: unknown, relayed: boolean];
  peerUp: [peerId: string, meta: Record<string, unknown>];
  peerDown: [peerId: string];
  /** A message from a peer was taken in (joins time out on silence, not on length). */
  activity: [];
}

export class Replicator extends EventEmitter<ReplicatorEvents> {
  private peers = new Map<string, PeerState>();
  /** Set by `halt`: the daemon is stopping and asks no peer for anything any more. */
  private halted = false;
  /**
   * Blob hashes asked for and not yet received: whom we asked, when (a peer that never answers is
   * passed over) and the size the index gives (for MAX_BLOB_BYTES_IN_FLIGHT).
   */
  private wanted = new Map<string, { peer: string; at: number; bytes: number }>();
  /** Blobs to ask for once those in flight arrive (fetchMissing), oldest first. */
  private backlog: Missing[] = [];
  /**
   * Looks at unanswered `want`s while there are any: a member that never answers (hostile, or
   * stuck) must not stall a join forever. Off while nothing is wanted, so an idle daemon sleeps.
   */
  private reaskTimer: Timer | undefined;

  constructor(
    private readonly workspace: ReplicatedWorkspace,
    private readonly net: PeerNetwork,
    private readonly log: (msg: string) => void,
    private readonly extra: Map<string, ReplicatedDocs> = new Map(),
    /** View mode: fetch a blob only when a file is opened, not every file's up front. */
    private readonly lazyBlobs = false,
    private readonly selfId = '',
  ) {
    super();
    if (lazyBlobs) workspace.blobs.on('wanted', (hash) => this.fetchMissing(undefined, new Set([hash])));
    for (const store of extra.values()) store.on('localChange', (doc, change) => this.sendLive(doc, change));
    net.on('peer-up', (id, meta) => this.peerUp(id, meta));
    net.on('peer-down', (id) => this.peerDown(id));
    net.on('message', (id, data, flood) => this.receive(id, data, flood));
    workspace.on('localChange', (doc, change) => this.sendLive(doc, change));
    workspace.on('files', (e) => {
      // Not inside the index update that named them: that runs in the handling of a message.
      if ([...this.peers.values()].some((p) => p.held.size)) unref(setTimeout(() => this.takeHeld(), 0));
      this.fetchMissing(e);
    });
    workspace.on('historyWanted', (doc) => {
      for (const id of this.peers.keys()) this.resync(id, doc);
    });
  }

  /**
   * A long history's saved form, reused for every peer that joins while its heads stay the same
   * (saving it costs seconds). A short one is saved afresh for each such peer: cheap, and keeping
   * one for every document ever made live would grow the heap with the project.
   */
  private snapshots = new Map<string, { heads: string; data: Uint8Array }>();
  private snapshotOf(doc: string, long: boolean): Uint8Array {
    if (!long) return this.workspace.savedForm(doc)!.data;
    const heads = this.workspace.savedHeads(doc);
    const cached = this.snapshots.get(doc);
    if (cached && cached.heads === heads) return cached.data;
    const saved = this.workspace.savedForm(doc)!;
    this.snapshots.set(doc, saved);
    return saved.data;
  }

  /**
   * A change made here goes to every member at once (a broadcast): index and extension changes
   * from their stores' `localChange`, text changes from the change route's peers step.
   */
  sendLive(doc: string, change: Uint8Array): void {
    if (this.workspace.withheld(doc)) return; // goes with offerHeldBack's sync
    this.net.broadcast(encodePeerMessage({ kind: 'changes', doc, changes: [change] }));
  }

  connectedPeers(): Array<{ id: string; meta: Record<string, unknown> }> {
    return [...this.peers].map(([id, p]) => ({ id, meta: p.meta }));
  }

  /**
   * Blobs asked of a peer and not answered yet, plus those queued to be asked as they arrive: 0
   * when no content is on its way (a file still waiting then waits for a peer that has it).
   */
  blobsOnTheWay(): number {
    return this.wanted.size + this.backlog.length;
  }

  /**
   * What keeps a peer from being level, for diagnostics: the documents not yet level with it, and
   * how many of its changes wait for dependencies, per document.
   */
  syncStateWith(peerId: string): { unsynced: string[]; waiting: Record<string, number> } | undefined {
    const p = this.peers.get(peerId);
    if (!p) return undefined;
    return { unsynced: [...p.unsynced], waiting: Object.fromEntries([...p.waiting].filter(([, q]) => q.length).map(([d, q]) => [d, q.length])) };
  }

  /**
   * How much is kept for a peer, for diagnostics and the tests of the bounds (decision 140):
   * sizes of its per-peer collections; undefined once its link is gone (nothing is kept then).
   */
  heldFor(peerId: string): { docs: number; unsynced: number; lacks: number; states: number; waiting: number } | undefined {
    const p = this.peers.get(peerId);
    if (!p) return undefined;
    let waiting = 0;
    for (const q of p.waiting.values()) waiting += q.length;
    return { docs: p.docs.size, unsynced: p.unsynced.size, lacks: p.lacks.size, states: p.states.size, waiting };
  }

  /**
   * How many files' documents are not level with a peer yet (a link up after time apart, a join):
   * their changes are still being exchanged, one way or both. A document whose sync with a
   * read-only peer cannot end (its changes refused, decision 226) is not counted. 0 when level, or
   * for a peer not linked. For `chorus status` (s53 N2: a member 218 files behind showed only
   * "connected").
   */
  syncingWith(peerId: string): number {
    const p = this.peers.get(peerId);
    if (!p) return 0;
    let n = 0;
    for (const doc of p.unsynced) if (this.isFileDoc(doc) && !p.syncGate.get(doc)?.refused && !this.unnamed(p, doc)) n++;
    return n;
  }

  isSynced(peerId: string): boolean {
    const p = this.peers.get(peerId);
    return !!p && this.levelled(p) && this.wanted.size === 0;
  }

  /**
   * A file's document the peer listed that the file index, level with the peer's, does not name:
   * no file of the session is its text, so there is nothing to wait for. It is held (`snapshot`)
   * should an entry name it later (decision 270). A member offered one after a day's work (trial s59 F2: a file
   * deleted while open and typed back, its old document still named in the offering member's
   * index and not in others'); every join then waited for it until it gave up, and members
   * restarted said "syncing 1 file" for good.
   */
  private unnamed(p: PeerState, doc: string): boolean {
    return this.isFileDoc(doc) && !p.unsynced.has(INDEX_DOC_ID) && !this.workspace.names(doc);
  }

  /**
   * Is every document the peer listed level with it, those the index does not name left out
   * (`unnamed`)? Stops at the first that is not: this runs at each document levelled, and a join
   * levels thousands.
   */
  private levelled(p: PeerState): boolean {
    for (const doc of p.unsynced) if (!this.unnamed(p, doc)) return false;
    return true;
  }

  /** Send an ephemeral message to one peer, or to all. */
  sendEphemeral(topic: string, body: unknown, to?: string): void {
    // The id keeps two equal messages (the same cursor twice) apart for the overlay's dedup.
    const data = encodePeerMessage({ kind: 'ephemeral', topic, body, from: this.selfId, id: base64.encode(randomBytes(9)) });
    if (to) this.net.send(to, data);
    else this.net.broadcast(data);
  }

  private send(peerId: string, m: PeerMessage): void {
    this.net.send(peerId, encodePeerMessage(m));
  }

  /** The store that holds `docId`: an extra one by id, else the workspace. */
  private store(docId: string): ReplicatedDocs {
    return this.extra.get(docId) ?? this.workspace;
  }

  /**
   * The documents offered to peers: ours that the index names, and the extra stores'. A document
   * the index does not name (one a peer sent ahead of its entry, or for no file at all) is not
   * passed on: each later joiner would take it in as well (decision 193).
   */
  private offered(): string[] {
    // The index is offered even while its own changes are held back: peers then see the session's.
    const offers = (d: string) => this.workspace.names(d) && (d === INDEX_DOC_ID || !this.workspace.withheld(d));
    return [...this.workspace.docIds().filter(offers), ...[...this.extra.values()].flatMap((s) => s.docIds())];
  }

  /**
   * A digest of the heads of each of `docs` (peer-messages.ts `headsDigest`), '' for one whose
   * heads are not known here without loading it, the file index, and one held by an extra store.
   */
  private digests(docs: string[]): string[] {
    return docs.map((doc) => {
      // The file index is always in memory, so syncing it costs nothing to skip; it is synced at
      // every link as before, which also brings any change of the file list lost as a link came up.
      if (doc === INDEX_DOC_ID || this.extra.has(doc)) return '';
      const heads = this.workspace.knownHeads(doc);
      return heads && heads.length ? headsDigest(heads) : '';
    });
  }

  /**
   * What a join held back (decision 228) goes to every linked peer now: the index's own changes
   * in the next sync message of each (its sync state has shown the peer the session's index only,
   * so all of them are news to it), and the folder's own files' documents, offered afresh.
   */
  offerHeldBack(): void {
    const docs = this.offered();
    for (const [id, p] of this.peers) {
      this.send(id, { kind: 'docs', docs });
      this.syncStep(id, INDEX_DOC_ID);
      for (const doc of docs) if (!p.states.has(doc)) this.syncStep(id, doc);
    }
  }

  private peerUp(id: string, meta: Record<string, unknown>): void {
    const docs = this.offered();
    const state: PeerState = {
      meta,
      waiting: new Map(),
      waitingBytes: 0,
      docs: new Set(),
      lacks: new Set(),
      states: new Map(),
      unsynced: new Set(docs),
      wants: new Set(),
      sentBlobs: new Map(),
      syncGate: new Map(),
      held: new Map(),
      heldBytes: 0,
      offers: new Set(),
      sentWhole: 0,
    };
    this.peers.set(id, state);
    // Its name as presence shows it: a string, cut to a name's length (a peer's hello may say anything).
    this.log(`peer ${displayName(meta.name, id.slice(0, 8))} connected; syncing ${docs.length} document${docs.length === 1 ? '' : 's'}`);
    const heads = this.digests(docs);
    this.send(id, { kind: 'docs', docs, heads });
    // Files' documents wait for the peer's list: it says whether the peer has the same heads
    // (then nothing is synced, decision 243) or none of the document (then it goes whole, see
    // `sendsWhole`). Syncing each on every connect loaded every document ever made live, at ~40 ms
    // each: a member with 400 of them was frozen for 16 s and more at every link. The index and
    // the extra stores' documents, always in memory, are synced at once.
    docs.forEach((doc, i) => {
      if (heads[i] === '' && !this.isFileDoc(doc)) this.syncStep(id, doc);
    });
    this.emit('peerUp', id, meta);
  }

  /**
   * A peer's link is gone: everything kept for it goes (a peer that comes back sends its `docs`
   * again and syncs from fresh states, so nothing of it is needed to reconnect).
   */
  private peerDown(id: string): void {
    const gone = this.peers.get(id);
    if (!gone || !this.peers.delete(id)) return;
    clearTimeout(gone.pumpTimer);
    clearTimeout(gone.offerTimer);
    for (const g of gone.syncGate.values()) clearTimeout(g.timer);
    for (const [hash, w] of this.wanted) if (w.peer === id) this.wanted.delete(hash);
    for (const key of this.resynced.keys()) if (key.startsWith(`${id}:`) || key.startsWith(`restart:${id}:`)) this.resynced.delete(key);
    for (const [key, timer] of this.resyncLater) {
      if (!key.startsWith(`${id}:`)) continue;
      clearTimeout(timer);
      this.resyncLater.delete(key);
    }
    this.quiet.forget(`${id}:`, true);
    this.emit('peerDown', id);
    // What it owed us, from someone else; not while stopping: the scan of the whole index cost
    // ~0.7 s per peer on a loaded machine with 5,000 files, one after another as the links closed,
    // and pushed `chorus stop` past its wait (decision 176).
    if (!this.halted) this.fetchMissing();
  }

  /** The daemon is stopping: links that close from now on are not made up for by asking other peers. */
  halt(): void {
    this.halted = true;
  }

  /**
   * Start the sync protocol for `doc` with a peer afresh, on both sides: our sync state from
   * empty, and a `restart` so the peer forgets what it counts as sent. Needed when changes wait
   * here for dependencies: Automerge's sync state never sends a change twice, so what they depend
   * on would never come. At most once a second per peer and document, but never dropped: a call
   * inside that second runs when it ends, if this side is still behind.
   */
  private resync(peerId: string, doc: string): void {
    const p = this.peers.get(peerId);
    if (!p) return;
    const key = `${peerId}:${doc}`;
    const wait = (this.resynced.get(key) ?? 0) + RESYNC_MS - Date.now();
    if (wait > 0) {
      if (!this.resyncLater.has(key)) {
        const timer = setTimeout(() => {
          this.resyncLater.delete(key);
          if (this.behind(peerId, doc)) this.resync(peerId, doc);
        }, wait);
        unref(timer);
        this.resyncLater.set(key, timer);
      }
      return;
    }
    this.resynced.set(key, Date.now());
    if (this.resynced.size > 1000) this.resynced.clear();
    p.states.set(doc, A.initSyncState());
    this.send(peerId, { kind: 'restart', doc });
    this.syncStep(peerId, doc);
  }

  /** Does `doc` here hold changes from this peer that wait for history we lack? */
  private behind(peerId: string, doc: string): boolean {
    return !!this.peers.get(peerId)?.waiting.get(doc)?.length || this.workspace.lacksHistory(doc);
  }

  private resynced = new Map<string, number>();
  private resyncLater = new Map<string, Timer>();

  /** Generate and send this side's next sync message for `doc`, if it has one; its bytes, 0 if none. */
  private syncStep(peerId: string, doc: string): number {
    const p = this.peers.get(peerId);
    if (!p) return 0;
    const { state, message } = this.store(doc).generateSync(doc, p.states.get(doc) ?? A.initSyncState());
    p.states.set(doc, state);
    if (!message) return 0;
    const data = this.needingWaitingDeps(p, doc, message);
    this.send(peerId, { kind: 'sync', doc, data });
    return data.length;
  }

  /**
   * `message` with what this peer's changes waiting here lack added to its `need`, so that the
   * peer sends it. A sync message's changes wait here (admit), not in the Automerge document, so
   * the document cannot ask for their missing dependencies as it does for changes it holds back
   * itself. A change the peer's Bloom filter wrongly took for one of ours (a false positive,
   * about 1 in 100) is left out of its sync messages, and a `restart` leaves it out again: asked
   * for by hash, it comes. Without it, when nothing else could apply, the two sides exchanged
   * empty sync messages forever (decision 131).
   */
  private needingWaitingDeps(p: PeerState, doc: string, message: Uint8Array): Uint8Array {
    const queue = p.waiting.get(doc);
    if (!queue?.length) return message;
    const queued = new Set(queue.map((w) => w.hash));
    const deps = [...new Set(queue.flatMap((w) => w.deps))].filter((d) => !queued.has(d));
    const missing = this.store(doc).missingDeps(doc, deps);
    if (!missing.length) return message;
    const decoded = A.decodeSyncMessage(message);
    return A.encodeSyncMessage({ ...decoded, need: [...new Set([...decoded.need, ...missing])] });
  }

  /**
   * A message from linked peer `peerId`. A broadcast (`flood` set) that is refused here is
   * refused to the overlay too, so it is not relayed further (decision 095).
   */
  private receive(peerId: string, data: Uint8Array, flood?: FloodDelivery): void {
    let m: PeerMessage;
    try {
      m = decodePeerMessage(data);
    } catch (e) {
      flood?.refuse();
      this.unreadable(peerId, (e as Error).message);
      return;
    }
    const p = this.peers.get(peerId);
    if (!p) return flood?.refuse();
    this.emit('activity');
    if (m.kind === 'ephemeral') return this.ephemeral(peerId, m, flood);
    try {
      // Only live changes and ephemeral messages are for everyone; the rest is between two peers.
      if (flood && m.kind !== 'changes') throw new PeerMessageError('only live changes and ephemeral messages are broadcast');
      this.handle(peerId, p, m, flood);
    } catch (e) {
      flood?.refuse();
      const why = e instanceof PeerMessageError ? e.message : (e as Error).message;
      this.refusal(peerId, `refused-${m.kind}`, `refused ${m.kind} from peer ${peerId.slice(0, 8)}: ${why}`);
    }
  }

  /** Per member: when its current minute of unreadable messages began, and how many came in it. */
  private unreadableFrom = new Map<string, { at: number; n: number }>();

  /**
   * A message from `peerId` that could not be read: logged as a refusal (`refusals`), and past
   * MAX_UNREADABLE_PER_MINUTE in a minute its links are closed (said once).
   */
  private unreadable(peerId: string, why: string): void {
    this.refusal(peerId, 'unreadable', `refused a message from peer ${peerId.slice(0, 8)}: ${why}`);
    const now = Date.now();
    let w = this.unreadableFrom.get(peerId);
    if (!w || now - w.at >= QUIET_LOG_MS) {
      if (this.unreadableFrom.size >= 1000) this.unreadableFrom.clear(); // a bound: only this minute counts
      this.unreadableFrom.set(peerId, (w = { at: now, n: 0 }));
    }
    if (++w.n === MAX_UNREADABLE_PER_MINUTE + 1) {
      this.log(`closing the links of peer ${peerId.slice(0, 8)}: it sent over ${MAX_UNREADABLE_PER_MINUTE} messages in a minute that cannot be read (a broken or hostile member); it may link again, and is closed again while it goes on`);
    }
    if (w.n > MAX_UNREADABLE_PER_MINUTE) {
      // Not from inside the delivery of its own message: the overlay is reading that link.
      unref(setTimeout(() => this.net.dropLinks?.(peerId, 'it sent messages that cannot be read'), 0));
    }
  }

  /**
   * An ephemeral message (presence, an editor's broadcast, a goodbye), passed on with the member
   * it is from: who the overlay says sent it, never who it says it is (decision 140). A direct
   * message is from the link's peer. A broadcast that came on the link of the member it names is
   * from that member. A relayed one (a partial mesh) names its origin, which no link vouches
   * for: it is taken only in a partial mesh, where relaying is how broadcasts travel, if the
   * overlay knows that member and this daemon is not linked to it (a linked member's own
   * broadcasts come on its link). In a full mesh it is a forgery even when the member it names
   * is offline (a trial spoke as a stopped writer in a five-member session). Anything else is dropped, not relayed,
   * and logged at most once a minute per link.
   */
  private ephemeral(peerId: string, m: Extract<PeerMessage, { kind: 'ephemeral' }>, flood: FloodDelivery | undefined): void {
    const claimed = m.from ?? peerId;
    let why: string | undefined;
    if (claimed === peerId) why = undefined;
    else if (this.selfId && claimed === this.selfId) why = 'it claims to come from this daemon';
    else if (!flood) why = `it came straight from peer ${peerId.slice(0, 8)} but claims to come from ${claimed.slice(0, 8)}`;
    else if (this.peers.has(claimed)) why = `it claims to come from ${claimed.slice(0, 8)}, which is linked here and sends its own messages on that link`;
    else if (this.net.isMember?.(claimed) !== true) why = `it claims to come from ${claimed.slice(0, 8)}, which is not a member of this session`;
    else if (this.net.isPartialMesh?.() !== true) why = `it claims to come from ${claimed.slice(0, 8)}, but in a session this small every member sends its own messages on its own link`;
    if (why !== undefined) {
      flood?.refuse();
      this.quietLog(peerId, 'from', `dropped an ephemeral message (${m.topic.slice(0, 40)}) from peer ${peerId.slice(0, 8)}: ${why}`);
      return;
    }
    this.emit('ephemeral', claimed, m.topic, m.body, claimed !== peerId);
  }

  /**
   * A peer's whole saved document (a long history, sent once to a peer that has none of it). It
   * is bounded before Automerge loads any of it (checkSnapshot, decision 192), and taken only for
   * a document the index names (decision 193): one sent ahead of the index entry that names it
   * (a joiner gets the long histories before the index) waits for that entry, with the peer's sync
   * messages for it. A refused one costs nothing: the sync that follows brings the same history.
   */
  private snapshot(peerId: string, p: PeerState, doc: string, data: Uint8Array): void {
    if (docKind(doc) !== 'text') throw new ChangeRefused(`a whole document for ${doc}, which is only ever synced`);
    const size = checkSnapshot('text', data);
    if (this.workspace.names(doc)) {
      if (this.workspace.isLive(doc) && !this.workspace.lacksHistory(doc)) {
        // Here already, with its history: another member's copy came first (a joiner links to
        // every member, and each sends what the joiner's list lacked), or it was made live here.
        // The sync message that follows brings any difference; merging the same history again
        // cost the joiner two loads of the document each (decision 247).
        this.quietLog(peerId, 'snapshot-here', `left whole documents from peer ${peerId.slice(0, 8)} that are here already (${doc} first) to their sync, which brings any difference`);
        return;
      }
      this.workspace.applySnapshot(doc, data, { kind: 'peer', peerId });
      // The sender's "sending … as one saved document" has this line as its other half.
      this.log(`took ${doc} from peer ${peerId.slice(0, 8)} as one saved document (${data.length} bytes)`);
      return;
    }
    const before = p.held.get(doc);
    const bytes = p.heldBytes - (before ? before.data.length + (before.sync?.length ?? 0) : 0) + data.length;
    if (bytes > MAX_HELD_SNAPSHOT_BYTES || (!before && p.held.size >= MAX_HELD_SNAPSHOTS)) {
      throw new ChangeRefused(
        `a whole document for ${doc}, which no file in the index has, while ${p.held.size} such documents (${p.heldBytes} bytes) wait for their index entries already (the limits are ${MAX_HELD_SNAPSHOTS} and ${MAX_HELD_SNAPSHOT_BYTES} bytes); its sync brings the history instead if a file has it`,
      );
    }
    p.held.set(doc, { data });
    p.heldBytes = bytes;
    this.log(`holding ${doc} from peer ${peerId.slice(0, 8)} (${data.length} bytes, ${size.rows} values) until the file index names it`);
  }

  /**
   * Take the held saved documents the index names now, then answer their sync messages; for at
   * most SLICE_MS per turn of the event loop, the rest in the next (a joiner can hold
   * hundreds when the index that names them arrives, ~10–40 ms each to load).
   */
  private takeHeld(): void {
    const start = Date.now();
    for (const [peerId, p] of this.peers) {
      if (!p.held.size) continue;
      for (const [doc, held] of p.held) {
        if (!this.workspace.names(doc)) continue;
        if (Date.now() - start >= SLICE_MS) {
          unref(setTimeout(() => this.takeHeld(), 0));
          return;
        }
        p.held.delete(doc);
        p.heldBytes -= held.data.length + (held.sync?.length ?? 0);
        // Each on its own: a saved document that does not load leaves its sync to bring the history.
        for (const m of [{ kind: 'snapshot' as const, doc, data: held.data }, ...(held.sync ? [{ kind: 'sync' as const, doc, data: held.sync }] : [])]) {
          try {
            this.handle(peerId, p, m, undefined);
          } catch (e) {
            this.refusal(peerId, `refused-${m.kind}`, `refused ${m.kind} from peer ${peerId.slice(0, 8)}: ${(e as Error).message}`);
          }
        }
      }
    }
  }

  /** Refused messages of one kind from one peer: one log line a minute, then a count of the rest. */
  private quiet = new QuietLog((msg) => this.log(msg), QUIET_LOG_MS, 1);
  /**
   * Refusals of a member's messages, each logged as it happens up to REFUSALS_LOGGED_PER_MINUTE of
   * a kind a minute, then counted: every one was a line, so a member sending refused messages as
   * fast as it could filled the log at hundreds of lines a second (trial s54a, F4).
   */
  private refusals = new QuietLog((msg) => this.log(msg), QUIET_LOG_MS, REFUSALS_LOGGED_PER_MINUTE);
  private refusal(peerId: string, kind: string, msg: string): void {
    this.refusals.log(`${peerId}:${kind}`, msg);
  }
  private quietLog(peerId: string, kind: string, msg: string): void {
    this.quiet.log(`${peerId}:${kind}`, msg, '; such messages from this peer are logged at most once a minute');
  }

  /** A peer that proved only the read-only secret may not change anything (decision 013). */
  private refuseReadOnly(p: PeerState, what: string): void {
    if (p.meta.readOnly === true) throw new PeerMessageError(`a read-only guest sent ${what}; refused (its join code does not allow writing)`);
  }

  /**
   * How many of a read-only peer's `changes` to `doc` this daemon does not have. None of them is
   * taken in either way; but a reader's sync messages carry the writers' changes it holds (that
   * is what syncing is), so those already here are no news and pass silently, and only new ones
   * are refused and logged. One that does not decode, or is too large to look at, counts as new.
   */
  private newFromReadOnly(doc: string, changes: Uint8Array[]): { fresh: number; of: number } {
    const store = this.store(doc);
    // A document not here: everything is new (and asking it would make the document).
    if (!store.docIds().includes(doc)) return { fresh: changes.length, of: changes.length };
    const kind = docKind(doc);
    const hashes: string[] = [];
    let unreadable = 0;
    for (const entry of changes) {
      try {
        // The hash from the header (the sha256 of the bytes, which is Automerge's change hash),
        // never a decode: none of these is taken either way, and a change of ~120 bytes can
        // claim millions of operations that decoding would spend minutes on (decision 213).
        for (const c of splitChunks(entry)) hashes.push(verifyHeader(c, kind).hash);
      } catch {
        unreadable++;
      }
    }
    // Counted in changes, not in the message's entries (one entry may hold several: a trial read
    // "53 of 1 changes").
    return { fresh: unreadable + store.missingDeps(doc, hashes).length, of: unreadable + hashes.length };
  }

  /** The refusal of `n` new changes from a read-only peer, worded for the log. */
  private readOnlyRefusal(n: number, of: number, doc: string): PeerMessageError {
    const what = n === of ? `${n} change${n === 1 ? '' : 's'}` : `${n} of ${of} changes`;
    return new PeerMessageError(`a read-only guest sent changes this daemon does not have (${what} to ${doc}); its join code does not allow writing, so they are not taken (a writer's change it passed on comes from that writer as well)`);
  }

  /**
   * A peer's changes to one document: each checked (change-check.ts) before anything of them is
   * kept; those whose dependencies are here are applied, the rest wait (bounded) for them.
   */
  private admit(peerId: string, p: PeerState, doc: string, changes: Uint8Array[]): void {
    this.refuseReadOnly(p, 'changes');
    const decoded = checkChanges(doc, changes);
    tracePoint('change-checked');
    const queue = p.waiting.get(doc) ?? [];
    const queued = new Set(queue.map((w) => w.hash));
    for (const d of decoded) {
      // A change sent again (a fresh sync after a resync) while it still waits: keep it once.
      if (queued.has(d.hash)) continue;
      queued.add(d.hash);
      queue.push({ bytes: d.bytes, hash: d.hash, deps: d.deps, actor: d.actor });
      p.waitingBytes += d.bytes.length;
    }
    p.waiting.set(doc, queue);
    this.drain(doc);
    if (p.waitingBytes > MAX_WAITING_BYTES || [...p.waiting.values()].reduce((n, q) => n + q.length, 0) > MAX_WAITING_CHANGES) {
      const n = [...p.waiting.values()].reduce((k, q) => k + q.length, 0);
      p.waiting.clear();
      p.waitingBytes = 0;
      this.log(`dropped ${n} changes from peer ${peerId.slice(0, 8)} whose dependencies never arrived (over the limit of ${MAX_WAITING_CHANGES} changes or ${MAX_WAITING_BYTES} bytes); the next sync brings what is really missing`);
    }
  }

  /** Apply every waiting change of `doc` (from any peer) whose dependencies are all here now. */
  private drain(doc: string): void {
    const store = this.store(doc);
    for (const [peerId, p] of this.peers) {
      let queue = p.waiting.get(doc);
      if (!queue?.length) continue;
      const ready: Waiting[] = [];
      const readyHashes = new Set<string>();
      for (let progress = true; progress && queue.length; ) {
        progress = false;
        const rest: Waiting[] = [];
        for (const w of queue) {
          const missing = w.deps.filter((d) => !readyHashes.has(d));
          if (missing.length === 0 || store.missingDeps(doc, missing).length === 0) {
            ready.push(w);
            readyHashes.add(w.hash);
            progress = true;
          } else rest.push(w);
        }
        queue = rest;
      }
      p.waiting.set(doc, queue);
      if (!ready.length) continue;
      for (const w of ready) p.waitingBytes -= w.bytes.length;
      store.applyRemote(doc, ready.map((w) => w.bytes), { kind: 'peer', peerId: this.authorOf(ready) ?? peerId });
    }
  }

  /**
   * The member who made these changes, when one other member made them all: the identity part of
   * their actors (actors.ts), which is that member's id. A change relayed by another member, or
   * brought by its sync, arrives over that member's link, and notices named the relaying member as
   * the one who removed someone's typing (trial s54a, F2). Undefined when several made them, or
   * when the actor is not one of a daemon's (the link's member is named then). A claim, used only
   * to name who did something.
   */
  private authorOf(changes: Waiting[]): string | undefined {
    const ids = new Set(changes.map((w) => identityOf(w.actor) ?? ''));
    if (ids.size !== 1) return undefined;
    const [id] = ids;
    return id && id !== this.selfId ? id : undefined;
  }

  private handle(peerId: string, p: PeerState, m: PeerMessage, flood: FloodDelivery | undefined): void {
    const origin = { kind: 'peer' as const, peerId };
    switch (m.kind) {
      case 'changes':
        if (p.meta.readOnly === true) {
          const { fresh, of } = this.newFromReadOnly(m.doc, m.changes);
          if (fresh === 0) return; // a writer's change it relayed, here already
          const refusal = this.readOnlyRefusal(fresh, of, m.doc);
          if (!flood) throw refusal;
          // Flooded by a reader: its own (a modified daemon), or a writer's it relays in a partial
          // mesh, whose own copy comes by another way. Not passed on from here; a line per
          // keystroke would drown the log. (A trial read "relayed" for a reader's own changes.)
          flood.refuse();
          this.quietLog(peerId, 'relayed-changes', `refused changes from read-only peer ${peerId.slice(0, 8)} (its own, or a writer's it passed on): ${refusal.message}`);
          return;
        }
        this.admit(peerId, p, m.doc, m.changes);
        // Changes that wait for history we never got (a change lost with a dropped link, or the
        // peer made the file live from a content we did not have): a fresh sync brings it.
        if (this.behind(peerId, m.doc)) this.resync(peerId, m.doc);
        return;
      case 'restart': {
        // The peer lacks what our sync state counts as sent: forget it (at most once a second).
        const key = `restart:${peerId}:${m.doc}`;
        if ((this.resynced.get(key) ?? 0) > Date.now() - RESYNC_MS / 2) return;
        if (!this.store(m.doc).docIds().includes(m.doc)) return;
        this.resynced.set(key, Date.now());
        p.states.set(m.doc, A.initSyncState());
        this.syncStep(peerId, m.doc);
        return;
      }
      case 'docs': {
        if (p.overDocs) return;
        const ours = new Set(this.offered());
        if (!this.roomForDocs(peerId, p, m.docs, ours)) return;
        for (const doc of m.docs) p.docs.add(doc);
        const theirs = new Map(m.heads ? m.docs.map((d, i) => [d, m.heads![i]!]) : []);
        for (const doc of m.docs) {
          if (p.states.has(doc)) continue;
          p.unsynced.add(doc);
          if (!ours.has(doc)) continue; // only the peer holds it: it comes from the peer (a snapshot or sync)
          // Both hold it at the same heads: the same document, nothing to sync (decision 243).
          const known = theirs.get(doc);
          if (known && known === this.digests([doc])[0]) {
            p.states.set(doc, A.initSyncState());
            p.unsynced.delete(doc);
            continue;
          }
          if (this.isFileDoc(doc)) p.offers.add(doc);
          else this.syncStep(peerId, doc);
        }
        // Ours, held back at connect for the peer's list (a document it has none of goes whole),
        // and those it holds at other heads: started a slice at a time (pumpOffers).
        for (const doc of ours) {
          if (p.states.has(doc)) continue;
          if (this.isFileDoc(doc)) p.offers.add(doc);
          else this.syncStep(peerId, doc);
        }
        this.pumpOffers(peerId);
        return;
      }
      case 'snapshot':
        this.refuseReadOnly(p, 'a whole document');
        this.snapshot(peerId, p, m.doc, m.data);
        return;
      case 'level':
        this.settle(peerId, p, m.doc);
        return;
      case 'sync': {
        const held = p.held.get(m.doc);
        if (held) {
          // Its history is the held saved document: answered once that is taken (takeHeld).
          const bytes = p.heldBytes + m.data.length - (held.sync?.length ?? 0);
          if (bytes <= MAX_HELD_SNAPSHOT_BYTES) {
            p.heldBytes = bytes;
            held.sync = m.data;
            return;
          }
          // Over the bound: the held document goes, and its sync brings the history instead.
          p.held.delete(m.doc);
          p.heldBytes -= held.data.length + (held.sync?.length ?? 0);
          this.log(`dropped ${m.doc} held from peer ${peerId.slice(0, 8)}: over ${MAX_HELD_SNAPSHOT_BYTES} bytes wait for the index; its sync brings the history instead`);
        }
        // Each (peer, document) has at most one big reply per RESYNC_MS (decision 149); its
        // changes are taken at once, the rest of a message that must wait is kept, the latest only.
        const data = this.syncChanges(peerId, p, m.doc, m.data);
        if (this.syncGateOpen(peerId, p, m.doc, data)) this.answerSync(peerId, p, m.doc, data);
        return;
      }
      case 'want': {
        // Queued, not answered here: each blob is read and sent as the peer's link drains (pumpBlobs).
        const lack: string[] = [];
        const now = Date.now();
        let repeated = 0;
        let over = 0;
        for (const hash of new Set(m.hashes)) {
          const sent = p.sentBlobs.get(hash);
          if (p.wants.has(hash) || (sent !== undefined && now - sent < REPEAT_WANT_MS)) repeated++;
          else if (p.wants.size >= MAX_WANTS_QUEUED) over++; // before `has`: a disk look-up each
          else if (!this.workspace.blobs.has(hash)) lack.push(hash);
          else p.wants.add(hash);
        }
        if (lack.length) this.send(peerId, { kind: 'lack', hashes: lack });
        const dupes = m.hashes.length - new Set(m.hashes).size;
        if (dupes || repeated) {
          this.quietLog(peerId, 'want-repeat', `answered blobs asked for by peer ${peerId.slice(0, 8)} once: ${dupes} named again in the same ask, ${repeated} asked again within ${REPEAT_WANT_MS / 1000} s of being sent or while queued`);
        }
        if (over) {
          this.quietLog(peerId, 'want-over', `refused ${over} blob${over === 1 ? '' : 's'} asked for by peer ${peerId.slice(0, 8)}: over ${MAX_WANTS_QUEUED} asked for and not sent yet (an honest peer asks for at most ${MAX_BLOBS_IN_FLIGHT} at a time)`);
        }
        this.pumpBlobs(peerId);
        return;
      }
      case 'lack': {
        // Only blobs a file here has, or that were asked for, are worth noting as lacked by this
        // peer: noting any hash it names would grow the set without bound.
        const needed = new Set(this.workspace.index.entries().map(([, e]) => e.hash));
        for (const hash of m.hashes) {
          if (needed.has(hash) || this.wanted.has(hash)) p.lacks.add(hash);
          if (this.wanted.get(hash)?.peer === peerId) this.wanted.delete(hash);
        }
        this.fetchMissing();
        this.checkSynced();
        return;
      }
      case 'blob':
        // Content-addressed, so harmless from anyone; but only content a file here needs is stored.
        if (!this.wanted.has(m.hash) && !this.workspace.index.entries().some(([, e]) => e.hash === m.hash)) throw new PeerMessageError('a blob no file here needs');
        this.workspace.blobs.put(m.data, m.hash);
        this.wanted.delete(m.hash);
        this.emit('blob', m.hash);
        // Keep the budget nearly full (the peer never waits for our next ask), asking in batches
        // of an eighth of it rather than one `want` per blob.
        if (this.backlog.length && this.wanted.size <= (MAX_BLOBS_IN_FLIGHT * 7) / 8 && this.wantedBytes() <= (MAX_BLOB_BYTES_IN_FLIGHT * 7) / 8) this.askMore();
        this.checkSynced();
        return;
      case 'ephemeral':
        return; // taken before (see `ephemeral`)
    }
  }

  /**
   * The changes a sync message carries take the same way as live ones (checked, refused from a
   * read-only peer); returns the message without them (heads, needs: what lets a reader catch up).
   */
  private syncChanges(peerId: string, p: PeerState, doc: string, data: Uint8Array): Uint8Array {
    let decoded: A.DecodedSyncMessage;
    try {
      decoded = A.decodeSyncMessage(data);
    } catch {
      throw new PeerMessageError('not an Automerge sync message');
    }
    if (!decoded.changes.length) return data;
    if (p.meta.readOnly === true) {
      // A reader passes on the writers' changes it holds: those here already are fine.
      const { fresh, of } = this.newFromReadOnly(doc, decoded.changes);
      if (fresh) {
        // A reader whose documents hold a change this daemon will not take (its own, or a
        // writer's it passes on while that writer is away) and this daemon never end their sync
        // about the document: the change is refused, and each side's next message says what the
        // other lacks, for ever. Unbounded, that took ~60 % of a core on each side (two trials,
        // ~1,500 messages a second). From here each answer to this peer about `doc` waits
        // RESYNC_MS (syncGateOpen, answerSync), and the refusal is logged once a minute per peer
        // and document, the rest counted.
        gateOf(p, doc).refused = true;
        this.quiet.log(
          `${peerId}:read-only-sync:${doc}`,
          `refused new changes in a sync message from read-only peer ${peerId.slice(0, 8)}: ${this.readOnlyRefusal(fresh, of, doc).message}`,
          '; such refusals from this peer for this document are logged at most once a minute',
        );
      }
      return A.encodeSyncMessage({ ...decoded, changes: [] });
    }
    try {
      this.admit(peerId, p, doc, decoded.changes);
    } catch (e) {
      this.refusal(peerId, 'refused-sync-changes', `refused the changes in a sync message from peer ${peerId.slice(0, 8)}: ${(e as Error).message}`);
    }
    if (this.behind(peerId, doc)) this.resync(peerId, doc);
    return A.encodeSyncMessage({ ...decoded, changes: [] });
  }

  /**
   * Start the sync of the files' documents in `offers` with this peer, for at most SLICE_MS
   * per turn of the event loop (links are read and pinged between turns). A document the peer has
   * none of goes whole first (`sendsWhole`), and the sync message that follows, made while the
   * document is still in memory, shows the peer it is level: the sender loads it once for that
   * peer, not once per round trip (decision 247).
   */
  private pumpOffers(peerId: string): void {
    const p = this.peers.get(peerId);
    if (!p || p.offerTimer) return;
    const start = Date.now();
    for (const doc of p.offers) {
      if (Date.now() - start >= SLICE_MS) {
        p.offerTimer = unref(setTimeout(() => {
          p.offerTimer = undefined;
          this.pumpOffers(peerId);
        }, 0));
        return;
      }
      p.offers.delete(doc);
      // Its sync started meanwhile (the peer's own sync message, a resync): nothing to start.
      if (p.states.has(doc)) continue;
      if (!this.workspace.isLive(doc)) {
        this.settle(peerId, p, doc); // gone since (an orphan dropped): nothing to sync
        continue;
      }
      if (!p.docs.has(doc) && this.sendsWhole(doc)) {
        const long = this.workspace.hasLongHistory(doc, SNAPSHOT_MIN_CHANGES);
        const data = this.snapshotOf(doc, long);
        if (long) this.log(`sending ${doc} to peer ${peerId.slice(0, 8)} as one saved document (${data.length} bytes): its history is long`);
        else p.sentWhole++;
        this.send(peerId, { kind: 'snapshot', doc, data });
      }
      this.syncStep(peerId, doc);
    }
    if (p.sentWhole) this.log(`sent ${p.sentWhole} document${p.sentWhole === 1 ? '' : 's'} peer ${peerId.slice(0, 8)} has none of as saved documents, one message each`);
    p.sentWhole = 0;
  }

  /** Is `doc` a file's text document of the workspace (loaded on demand, unlike the index and the extra stores')? */
  private isFileDoc(doc: string): boolean {
    return doc !== INDEX_DOC_ID && !this.extra.has(doc) && docKind(doc) === 'text';
  }

  /**
   * Does `doc` go whole to a peer that has none of it (see SNAPSHOT_MIN_CHANGES)? Files' text
   * documents only (the receiver takes nothing else whole), and from a read-only daemon only long
   * histories.
   */
  private sendsWhole(doc: string): boolean {
    if (!this.isFileDoc(doc)) return false;
    return this.workspace.readOnly !== true || this.workspace.hasLongHistory(doc, SNAPSHOT_MIN_CHANGES);
  }

  /**
   * Does this sync message (its changes taken out, see syncChanges) say the peer holds exactly
   * what this daemon holds of `doc`, and needs nothing? Then the two are level (each holds the
   * other's heads), and answering it would only load the document to find that out: the last
   * message of every sync is such a one, and the holder loading each of hundreds of documents
   * again for it (the working set holds 32, so they were long gone) cost ~40 ms each (decision
   * 247). A document that came whole is level with the sync message that follows it at once.
   * Told by heads known without loading (Workspace.knownHeads), and only when none of the peer's
   * changes wait here.
   */
  private peerIsLevel(peerId: string, doc: string, data: Uint8Array): boolean {
    if (!this.isFileDoc(doc) || this.behind(peerId, doc)) return false;
    const ours = this.workspace.knownHeads(doc);
    if (!ours?.length) return false;
    const m = A.decodeSyncMessage(data);
    if (m.need.length || m.changes.length || m.heads.length !== ours.length) return false;
    const theirs = new Set(m.heads);
    return ours.every((h) => theirs.has(h));
  }

  /** Take a peer's sync message (without changes, see syncChanges) and send this side's reply. */
  private answerSync(peerId: string, p: PeerState, doc: string, data: Uint8Array): void {
    if (this.peerIsLevel(peerId, doc, data)) {
      // Its sync with this peer has run (a join's offerHeldBack, a later `docs`, skip it).
      if (!p.states.has(doc)) p.states.set(doc, A.initSyncState());
      this.settle(peerId, p, doc);
      this.send(peerId, { kind: 'level', doc });
      return;
    }
    const state = this.store(doc).receiveSync(doc, p.states.get(doc) ?? A.initSyncState(), data, { kind: 'peer', peerId });
    p.states.set(doc, state);
    const sent = this.syncStep(peerId, doc);
    if (!sent) {
      this.settle(peerId, p, doc);
      // Tell the peer too: its own last message may have been the one that made us level.
      this.send(peerId, { kind: 'level', doc });
    }
    // The same object a waiting message's timer holds.
    if (sent >= BIG_SYNC_REPLY || p.syncGate.get(doc)?.refused) gateOf(p, doc).lastBig = Date.now();
    if (doc === INDEX_DOC_ID) this.fetchMissing();
  }

  /**
   * May a sync message from this peer for `doc` be answered now? Not within RESYNC_MS of a big
   * reply to it for that document, nor while its link holds MAX_QUEUED_BYTES unsent: then the
   * message waits, replacing any earlier one waiting (each says all the peer has, so the latest
   * supersedes; a sync message asking for everything again 500 times costs one reply, not 500).
   */
  private syncGateOpen(peerId: string, p: PeerState, doc: string, data: Uint8Array): boolean {
    const g = p.syncGate.get(doc);
    if (g?.timer) {
      g.pending = data;
      return false;
    }
    const wait = Math.max((g?.lastBig ?? 0) + RESYNC_MS - Date.now(), (this.net.buffered?.(peerId) ?? 0) > MAX_QUEUED_BYTES ? 50 : 0);
    if (wait <= 0) return true;
    // Only documents held here are held back (one message each): the reply about any other is
    // small, and holding one message per name a peer makes up would grow without bound.
    if (!g && !this.store(doc).docIds().includes(doc)) return true;
    const gate = gateOf(p, doc);
    gate.pending = data;
    const retry = (): void => {
      gate.timer = undefined;
      const next = gate.pending;
      gate.pending = undefined;
      if (!next || this.peers.get(peerId) !== p) return;
      try {
        if (this.syncGateOpen(peerId, p, doc, next)) this.answerSync(peerId, p, doc, next);
      } catch (e) {
        this.refusal(peerId, 'refused-sync', `refused sync from peer ${peerId.slice(0, 8)}: ${(e as Error).message}`);
      }
    };
    gate.timer = unref(setTimeout(retry, wait));
    if (gate.refused) {
      this.quietLog(peerId, 'sync-wait-refused', `answering sync messages for ${doc} from peer ${peerId.slice(0, 8)} once every ${RESYNC_MS} ms, the latest only: it offered changes to it that this daemon will not take from it (it may only read), so their sync about it cannot finish until a writer brings the change`);
    } else {
      this.quietLog(peerId, 'sync-wait', `holding sync messages for ${doc} from peer ${peerId.slice(0, 8)} for up to ${RESYNC_MS} ms: a large reply went to it just now (or its link is still sending), and only the latest is answered`);
    }
    return false;
  }

  /**
   * Send the blobs a peer asked for (`wants`), oldest first, while its link has room: at most
   * BLOB_BYTES_PER_TURN per turn of the event loop (reading and sealing a blob blocks it), and
   * none while more than MAX_QUEUED_BYTES wait in the link; then again in 50 ms.
   */
  private pumpBlobs(peerId: string): void {
    const p = this.peers.get(peerId);
    if (!p || p.pumpTimer) return;
    let bytes = 0;
    const lack: string[] = [];
    for (const hash of p.wants) {
      const queued = this.net.buffered?.(peerId) ?? 0;
      if (bytes >= BLOB_BYTES_PER_TURN || queued + bytes > MAX_QUEUED_BYTES) {
        p.pumpTimer = unref(setTimeout(() => {
          p.pumpTimer = undefined;
          this.pumpBlobs(peerId);
        }, queued > MAX_QUEUED_BYTES ? 50 : 0));
        break;
      }
      p.wants.delete(hash);
      const data = this.workspace.blobs.get(hash);
      if (!data) {
        lack.push(hash); // removed since it was asked for (or found damaged)
        continue;
      }
      this.send(peerId, { kind: 'blob', hash, data });
      p.sentBlobs.set(hash, Date.now());
      bytes += data.length;
    }
    if (lack.length) this.send(peerId, { kind: 'lack', hashes: lack });
    if (p.sentBlobs.size > 2 * MAX_WANTS_QUEUED) {
      const now = Date.now();
      for (const [h, at] of p.sentBlobs) if (now - at >= REPEAT_WANT_MS) p.sentBlobs.delete(h);
    }
  }

  /**
   * May the peer name these documents too? Up to twice the documents and files this daemon knows
   * plus PEER_DOCS_ALLOWANCE, in all, per link. Beyond, the list is refused, logged once, and the
   * peer's link closed (after this message; its state goes with the link): a peer naming more
   * documents than could exist is broken or hostile, and would otherwise grow memory for ever.
   */
  private roomForDocs(peerId: string, p: PeerState, docs: string[], ours: Set<string>): boolean {
    const added = new Set<string>();
    for (const doc of docs) if (!p.docs.has(doc)) added.add(doc);
    const known = ours.size + this.workspace.index.entries().length;
    const limit = 2 * known + PEER_DOCS_ALLOWANCE;
    if (p.docs.size + added.size <= limit) return true;
    p.overDocs = true;
    this.log(
      `refused the document list of peer ${peerId.slice(0, 8)} and closing its link: it named ${p.docs.size + added.size} documents, ` +
        `over the limit of ${limit} (twice the ${known} documents and files known here, plus ${PEER_DOCS_ALLOWANCE})`,
    );
    // Not from inside the delivery of its own message: the overlay is reading that link.
    unref(setTimeout(() => {
      if (this.peers.get(peerId) === p) this.net.dropLinks?.(peerId, 'it named more documents than this session can have');
    }, 0));
    return false;
  }

  private settle(peerId: string, p: PeerState, doc: string): void {
    if (!p.unsynced.delete(doc)) return;
    this.checkSynced(peerId);
  }

  private checkSynced(only?: string): void {
    for (const [id, p] of this.peers) {
      if (only && id !== only) continue;
      if (this.levelled(p) && this.wanted.size === 0) this.emit('synced', id);
    }
  }

  private reaskSlow(now = Date.now()): void {
    if (this.wanted.size === 0) {
      clearInterval(this.reaskTimer);
      this.reaskTimer = undefined;
      return;
    }
    let stale = false;
    for (const [hash, { peer, at }] of this.wanted) {
      if (now - at < WANT_TIMEOUT_MS) continue;
      // Passed over only if someone else may have it; else asked again (it may just be slow).
      const others = [...this.peers].some(([id, p]) => id !== peer && !p.lacks.has(hash));
      if (others) this.peers.get(peer)?.lacks.add(hash);
      this.wanted.delete(hash);
      stale = true;
    }
    if (!stale) return;
    this.fetchMissing();
    this.checkSynced();
  }

  private wantedBytes(): number {
    let n = 0;
    for (const w of this.wanted.values()) n += w.bytes;
    return n;
  }

  /**
   * Ask for the blobs of files we know of but whose content we lack, up to MAX_BLOBS_IN_FLIGHT
   * and MAX_BLOB_BYTES_IN_FLIGHT; the rest waits in `backlog` and is asked for as those arrive.
   * Blobs asked for by name (`only`: a file opened in view mode) are asked for at once.
   */
  private fetchMissing(e?: FilesEvent, only?: Set<string>): void {
    // A settling's moves and kept files may name a peer's blob not here yet: asked of any peer.
    if (e && !isPeersOrSettling(e.origin)) return;
    if (this.lazyBlobs && !only) return;
    const from = e?.origin.kind === 'peer' ? e.origin.peerId : undefined;
    const missing: Missing[] = [];
    for (const [id, entry] of this.workspace.index.entries()) {
      if (only && !only.has(entry.hash)) continue;
      if (this.wanted.has(entry.hash)) continue;
      missing.push({ id, hash: entry.hash, bytes: Math.max(0, entry.size) || 0, from });
    }
    if (only) this.ask(missing, true, false);
    else this.backlog = this.ask(missing, false, true);
  }

  /** Ask for what waits in `backlog`, as far as the in-flight budget goes. */
  private askMore(): void {
    this.backlog = this.ask(this.backlog, false, true);
  }

  /**
   * Ask peers for the blobs in `list`, each of a peer that may have it (the one whose index change
   * named it, if it may), passing over those no longer needed (see `askee`). With `budget`, stops
   * where MAX_BLOBS_IN_FLIGHT or MAX_BLOB_BYTES_IN_FLIGHT would be passed and returns the rest:
   * only blobs actually asked for count, so a run of files already here never stalls the list.
   */
  private ask(list: Missing[], named: boolean, budget: boolean): Missing[] {
    const byPeer = new Map<string, string[]>();
    let bytes = budget ? this.wantedBytes() : 0;
    let i = 0;
    for (; i < list.length; i++) {
      const m = list[i]!;
      if (budget && (this.wanted.size >= MAX_BLOBS_IN_FLIGHT || (this.wanted.size > 0 && bytes + m.bytes > MAX_BLOB_BYTES_IN_FLIGHT))) break;
      const peer = this.askee(m, named);
      if (!peer) continue;
      this.wanted.set(m.hash, { peer, at: Date.now(), bytes: m.bytes });
      bytes += m.bytes;
      const hashes = byPeer.get(peer);
      if (hashes) hashes.push(m.hash);
      else byPeer.set(peer, [m.hash]);
    }
    for (const [peer, hashes] of byPeer) {
      for (let j = 0; j < hashes.length; j += 256) this.send(peer, { kind: 'want', hashes: hashes.slice(j, j + 256) });
    }
    if (this.wanted.size > 0) this.reaskTimer ??= unref(setInterval(() => this.reaskSlow(), WANT_TIMEOUT_MS / 2));
    return list.slice(i);
  }

  /**
   * Whom to ask for `m`, or undefined: no longer needed (asked already, here by now, its file
   * live, a peer's live document whose text arrives by sync, or, unless asked for by name, no
   * longer its file's content) or nobody here may have it (the file appears when someone who
   * has it connects).
   */
  private askee(m: Missing, named: boolean): string | undefined {
    if (this.wanted.has(m.hash) || this.workspace.isLive(m.id) || this.workspace.blobs.has(m.hash)) return undefined;
    if (!named && this.workspace.index.entry(m.id)?.hash !== m.hash) return undefined;
    if ([...this.peers.values()].some((p) => p.docs.has(m.id))) return undefined;
    const able = [...this.peers.keys()].filter((id) => !this.peers.get(id)!.lacks.has(m.hash));
    return m.from && able.includes(m.from) ? m.from : able[0];
  }
}

/** `p`'s sync gate for `doc` (PeerState.syncGate), made (never held) if it has none yet. */
function gateOf(p: PeerState, doc: string): SyncGate {
  let g = p.syncGate.get(doc);
  if (!g) p.syncGate.set(doc, (g = { lastBig: 0 }));
  return g;
}
