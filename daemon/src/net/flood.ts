/**
 * Flooding: how a broadcast reaches every member of a session whose members do not all link to
 * each other (more than FULL_MESH_UP_TO members, decision 011), and reaches each of them once.
 *
 * A member sends a flooded message on all its links. A member receiving one for the first time
 * delivers it to the layer above and, unless that layer refused it, passes it on to all its
 * links but the one it came on. Copies arriving later by other routes are dropped. Decision 095
 * gives the reasons for each choice here:
 * - the dedup key is the message's SHA-256 (first 16 bytes), not an origin + sequence number a
 *   hostile member could forge to suppress someone else's messages;
 * - a message is relayed only after the layer above accepted it, so a refused message (a
 *   read-only guest's changes, garbage) is not amplified across the session; a refused message's
 *   key is forgotten, so a genuine copy arriving by a trusted route is still taken in;
 * - memory is bounded by two generations of keys (SEEN_LIMIT each), the older dropped whole.
 * Every member deduplicates even in a full mesh (one native hash per message), so members that
 * disagree for a moment on whether the session is large enough to relay never deliver twice.
 *
 * Platform-neutral (decision 065): hashing comes from digest.ts, links from the caller.
 */
import { bytesToHex } from '@noble/hashes/utils.js';
import { sha256 } from '../digest.js';

/** The links a Flood works over: the overlay's connected peers, or memory links in tests. */
export interface FloodLinks {
  /** Peers this member is linked to now. */
  neighbours(): Iterable<string>;
  /** Send a flooded message on the link to `peerId`; false if it is not linked. */
  send(peerId: string, data: Uint8Array): boolean;
  /** Whether to pass messages on (a partial mesh); in a full mesh everyone got it directly. */
  relaying(): boolean;
}

/**
 * Comes with a broadcast (a flooded message) to the layer above. A listener that does not accept
 * the message calls `refuse()` before returning: then it is not passed on to other members.
 */
export interface FloodDelivery {
  refuse(): void;
}

/** Keys remembered per generation; two generations are kept, so at most 2× this many. */
export const SEEN_LIMIT = 20_000;

export class Flood {
  #current = new Set<string>();
  #previous = new Set<string>();

  constructor(
    private readonly links: FloodLinks,
    private readonly limit = SEEN_LIMIT,
  ) {}

  /** Keys held now (for tests of the bound). */
  get remembered(): number {
    return this.#current.size + this.#previous.size;
  }

  /** Send a message of this member's own to every neighbour; returns how many links took it. */
  originate(data: Uint8Array): number {
    this.#firstSight(keyOf(data));
    let n = 0;
    for (const id of this.links.neighbours()) if (this.links.send(id, data)) n++;
    return n;
  }

  /**
   * A flooded message from neighbour `from`. Seen before: dropped. Else `deliver` runs once; if
   * it returns false (refused), the message goes no further and its key is forgotten; if true,
   * it is passed on to every other neighbour while relaying.
   */
  receive(from: string, data: Uint8Array, deliver: (data: Uint8Array) => boolean): void {
    const key = keyOf(data);
    if (!this.#firstSight(key)) return;
    if (!deliver(data)) {
      this.#current.delete(key);
      this.#previous.delete(key);
      return;
    }
    if (!this.links.relaying()) return;
    for (const id of this.links.neighbours()) if (id !== from) this.links.send(id, data);
  }

  /** Remember `key`; false if it was remembered already. */
  #firstSight(key: string): boolean {
    if (this.#current.has(key) || this.#previous.has(key)) return false;
    if (this.#current.size >= this.limit) {
      // Drop the older generation whole: O(1), no copy of tens of thousands of keys.
      this.#previous = this.#current;
      this.#current = new Set();
    }
    this.#current.add(key);
    return true;
  }
}

/** 16 bytes of SHA-256 as hex: collision-free in practice, and nobody can aim at another message's key. */
function keyOf(data: Uint8Array): string {
  return bytesToHex(sha256(data).subarray(0, 16));
}
