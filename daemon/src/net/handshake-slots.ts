/**
 * Who may wait in a secure handshake on this daemon (decision 165).
 *
 * Anyone who reaches a listening port can open a connection and then say nothing; the handshake
 * needs no secret to start. A plain cap on waiting connections that refuses the newest lets a
 * stranger who keeps it full lock every member out (the cap of decision 149 did: 80 reconnecting
 * sockets from one process stopped every join). Here the cap never refuses a newcomer:
 *
 * - A *stranger* (a connection that has not knocked yet) takes a stranger slot. When they are all
 *   taken, the oldest stranger of the source (address) holding the most of them is closed to make
 *   room. A flood from one address therefore only evicts itself once anyone else is waiting; from
 *   the same address (loopback, one NAT) it evicts in arrival order, so a newcomer keeps its slot
 *   for as long as it takes the flood to open `strangers` more connections — far longer than an
 *   honest peer needs to send its first message, which it sends at once.
 * - A connection whose first message carries a valid knock (secure.ts: a MAC under the session's
 *   membership secret, so only code holders can make one) becomes a *member* and leaves the
 *   strangers: a stranger can never evict it. Member slots are capped too; when they are full a
 *   knocking connection stays a stranger. A knock is accepted once (by its nonce), so one seen on
 *   the wire cannot be replayed to take member slots.
 *
 * Nothing here closes anything: `admit` returns whom to close, and the caller closes it.
 */

/** Where a connection comes from, for sharing the stranger slots: the address without the port. */
export function sourceOf(remote: string): string {
  // "ws-in:1.2.3.4:5678" / "ws-in:::1:5678" → the address; "relay:<peer>" → "relay" (one relay, one source).
  if (remote.startsWith('ws-in:')) return remote.slice(0, remote.lastIndexOf(':'));
  const colon = remote.indexOf(':');
  return colon < 0 ? remote : remote.slice(0, colon);
}

/** Knock nonces remembered to refuse replays: more than member slots can ever hold at once. */
const REMEMBERED_KNOCKS = 4096;

export class HandshakeSlots<T> {
  /** Strangers by source, each in arrival order (a Set keeps insertion order). */
  readonly #strangers = new Map<string, Set<T>>();
  readonly #sourceOf = new Map<T, string>();
  readonly #members = new Set<T>();
  readonly #knocks = new Set<string>();
  #strangerCount = 0;

  /**
   * @param maxStrangers stranger slots; beyond, the oldest of the busiest source is evicted
   * @param maxMembers slots for connections that knocked with the session's secret
   * @param maxPerSource stranger slots one source may hold; beyond, its own oldest is evicted, so
   *   one address never holds more than this many of the slots (the relay's waiting connections,
   *   decision 194); unbounded when absent
   */
  constructor(
    readonly maxStrangers: number,
    readonly maxMembers: number,
    readonly maxPerSource = Infinity,
  ) {}

  /** Connections waiting in their handshake, strangers and members. */
  get size(): number {
    return this.#strangerCount + this.#members.size;
  }

  /**
   * Take a stranger slot for `item`; returns the stranger to close to make room, if one must go:
   * the oldest of `source` when it holds more than maxPerSource, else the oldest of the busiest
   * source when all slots are taken.
   */
  admit(item: T, source: string): T | undefined {
    let bucket = this.#strangers.get(source);
    if (!bucket) this.#strangers.set(source, (bucket = new Set()));
    bucket.add(item);
    this.#sourceOf.set(item, source);
    this.#strangerCount++;
    const victim = bucket.size > this.maxPerSource ? bucket.values().next().value! : this.#strangerCount > this.maxStrangers ? this.#oldestOfBusiestSource() : undefined;
    if (victim === undefined) return undefined;
    this.release(victim);
    return victim;
  }

  /** Stranger slots `source` holds. */
  heldBy(source: string): number {
    return this.#strangers.get(source)?.size ?? 0;
  }

  /**
   * `item` knocked with the session's secret (nonce `knock`): make it a member unless the member
   * slots are full or that knock was seen before. Returns whether it is a member now.
   */
  vouch(item: T, knock: string): boolean {
    const source = this.#sourceOf.get(item);
    if (source === undefined || this.#members.size >= this.maxMembers || this.#knocks.has(knock)) return false;
    this.#knocks.add(knock);
    if (this.#knocks.size > REMEMBERED_KNOCKS) this.#knocks.delete(this.#knocks.values().next().value!);
    this.#removeStranger(item, source);
    this.#members.add(item);
    return true;
  }

  /** `item` finished or failed its handshake (or was evicted): free its slot. */
  release(item: T): void {
    if (this.#members.delete(item)) return;
    const source = this.#sourceOf.get(item);
    if (source !== undefined) this.#removeStranger(item, source);
  }

  clear(): void {
    this.#strangers.clear();
    this.#sourceOf.clear();
    this.#members.clear();
    this.#strangerCount = 0;
  }

  #removeStranger(item: T, source: string): void {
    this.#sourceOf.delete(item);
    const bucket = this.#strangers.get(source)!;
    bucket.delete(item);
    if (bucket.size === 0) this.#strangers.delete(source);
    this.#strangerCount--;
  }

  /** The oldest stranger of the source with the most of them (the first such source on a tie). */
  #oldestOfBusiestSource(): T {
    let busiest: Set<T> | undefined;
    for (const bucket of this.#strangers.values()) if (!busiest || bucket.size > busiest.size) busiest = bucket;
    return busiest!.values().next().value!;
  }
}
