/**
 * An in-memory linked pair of Links, for unit tests of code above the transports. Delivery is
 * asynchronous (next macrotask batch) like a real socket, so tests do not accidentally depend on
 * re-entrant synchronous delivery.
 */
import { soon } from '../timers.js';
import { BaseLink, type LinkKind } from './link.js';

export class MemoryLink extends BaseLink {
  readonly kind: LinkKind = 'memory';
  readonly remote: string;
  peer: MemoryLink | undefined;

  constructor(remote: string) {
    super();
    this.remote = remote;
  }

  protected transmit(data: Uint8Array): void {
    const peer = this.peer;
    // Copy: the sender may reuse its buffer, a real socket would not see later writes.
    const copy = data.slice();
    soon(() => peer?.receive(copy));
  }

  protected shutdown(reason: string): void {
    const peer = this.peer;
    // Queued behind any data already sent, as a socket's FIN would be.
    soon(() => peer?.remoteClosed(`closed by peer: ${reason}`));
  }

  /** Inject raw bytes as if they came from the far end (used to test garbage handling). */
  receive(data: Uint8Array): void {
    this.deliver(data);
  }

  remoteClosed(reason: string): void {
    this.closed(reason);
  }
}

export function memoryPair(nameA = 'memory:a', nameB = 'memory:b'): [MemoryLink, MemoryLink] {
  const a = new MemoryLink(nameB);
  const b = new MemoryLink(nameA);
  a.peer = b;
  b.peer = a;
  return [a, b];
}
