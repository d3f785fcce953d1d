/**
 * Fault injection for tests: a decorator of the replicator's network that holds live changes
 * (`changes` broadcasts) meant for chosen peers until the test releases them, to make edits truly
 * concurrent or to deliver a trace's transactions exactly as its parents name; and, when asked,
 * holds the blobs (whole-file contents) arriving here, so files wait for their content. Everything
 * else (sync, presence) passes through untouched. Installed with Daemon.start's `wrapNetwork: held.wrap`.
 */
import type { FloodDelivery } from '../../daemon/src/net/flood.js';
import { decodePeerMessage } from '../../daemon/src/sync/peer-messages.js';
import type { PeerNetwork } from '../../daemon/src/sync/replicator.js';

export class HeldNetwork implements PeerNetwork {
  /** Live changes waiting per held peer, oldest first. */
  private readonly held = new Map<string, Uint8Array[]>();
  private up = new Set<string>();
  private net: PeerNetwork | undefined;
  /** Deliveries of arriving blobs held back (while holding), oldest first. */
  private blobs: Array<() => void> | undefined;

  /** `holdBlobs`: hold arriving blobs from the start (a daemon restarting with files waiting). */
  constructor(opts: { holdBlobs?: boolean } = {}) {
    if (opts.holdBlobs) this.holdBlobs();
  }

  /** For Daemon.start's `wrapNetwork`: this decorator over the overlay of the session starting now. */
  readonly wrap = (net: PeerNetwork): PeerNetwork => {
    this.net = net;
    const up = (this.up = new Set());
    net.on('peer-up', (id) => up.add(id));
    net.on('peer-down', (id) => up.delete(id));
    return this;
  };

  private get inner(): PeerNetwork {
    if (!this.net) throw new Error('no session yet: share or join first');
    return this.net;
  }

  on(event: 'peer-up', fn: (id: string, meta: Record<string, unknown>) => void): unknown;
  on(event: 'peer-down', fn: (id: string, reason: string) => void): unknown;
  on(event: 'message', fn: (id: string, data: Uint8Array, flood: FloodDelivery | undefined) => void): unknown;
  on(event: 'peer-up' | 'peer-down' | 'message', fn: (...args: never[]) => void): unknown {
    const inner = this.inner.on as (e: string, f: (...args: never[]) => void) => unknown;
    if (event !== 'message') return inner.call(this.inner, event, fn);
    const deliver = fn as (id: string, data: Uint8Array, flood: FloodDelivery | undefined) => void;
    return inner.call(this.inner, event, ((id: string, data: Uint8Array, flood: FloodDelivery | undefined) => {
      if (this.blobs && isBlob(data)) this.blobs.push(() => deliver(id, data, flood));
      else deliver(id, data, flood);
    }) as (...args: never[]) => void);
  }

  /** Hold the blobs arriving from now on (their files wait for them). */
  holdBlobs(): void {
    this.blobs ??= [];
  }

  /** Deliver the held blobs and stop holding; returns how many were delivered. */
  releaseBlobs(): number {
    const held = this.blobs ?? [];
    this.blobs = undefined;
    for (const deliver of held) deliver();
    return held.length;
  }

  send(peerId: string, data: Uint8Array): boolean {
    return this.inner.send(peerId, data);
  }

  isMember(peerId: string): boolean {
    return this.inner.isMember?.(peerId) ?? false;
  }

  isPartialMesh(): boolean {
    return this.inner.isPartialMesh?.() ?? false;
  }

  dropLinks(peerId: string, reason: string): void {
    this.inner.dropLinks?.(peerId, reason);
  }

  /** A live change goes to each held peer's queue, and at once to every other linked peer. */
  broadcast(data: Uint8Array): number {
    if (this.held.size === 0 || decodePeerMessage(data).kind !== 'changes') return this.inner.broadcast(data);
    for (const q of this.held.values()) q.push(data);
    let n = 0;
    for (const id of this.up) if (!this.held.has(id) && this.inner.send(id, data)) n++;
    return n;
  }

  /** Hold live changes to `peerId` back from now on. */
  hold(peerId: string): void {
    if (!this.held.has(peerId)) this.held.set(peerId, []);
  }

  /** Send `count` held changes (all by default); with no count, stop holding too. Returns how many went. */
  release(peerId: string, count?: number): number {
    const q = this.held.get(peerId);
    if (!q) return 0;
    const out = q.splice(0, count ?? q.length);
    for (const data of out) this.inner.send(peerId, data);
    if (count === undefined) this.held.delete(peerId);
    return out.length;
  }
}

function isBlob(data: Uint8Array): boolean {
  try {
    return decodePeerMessage(data).kind === 'blob';
  } catch {
    return false; // not a message at all: the replicator refuses it
  }
}
