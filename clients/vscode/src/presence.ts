/**
 * Who is here and where their cursors are: peers from `session/status`, `peer/didJoin` and
 * `peer/didLeave`, cursors from `cursor/didChange`. Pure state with a change callback; the
 * decorations module draws it, the status bar counts it.
 */
import type * as P from '@chorus/protocol';

/** One remote person's cursors in one file. */
export interface RemoteCursor {
  peer: P.PeerInfo;
  path: string;
  selections: P.Selection[];
  viewport?: P.Range;
}

export class Presence {
  /** Everyone in the session but us, by peer id. */
  readonly peers = new Map<string, P.PeerInfo>();
  /** Where each person's cursor is (one file per person: the last one they were in). */
  readonly cursors = new Map<string, RemoteCursor>();
  /** Our own peer id (cursor/didChange never reports it, but be sure). */
  self: P.PeerInfo | undefined;
  /**
   * Peers the daemon told left on this connection and has not told joined again: its list
   * (session/status) can show one as still linked for a few seconds after (the link's other
   * path not yet timed out), and it must not count again from that.
   */
  private readonly gone = new Set<string>();
  private listeners: Array<() => void> = [];

  onChange(f: () => void): void {
    this.listeners.push(f);
  }

  private changed(): void {
    for (const f of this.listeners) f();
  }

  /** A fresh view after (re)connecting: nobody yet, until the daemon says (`sync`). */
  reset(self: P.PeerInfo | undefined, peers: readonly P.PeerInfo[]): void {
    this.self = self;
    this.peers.clear();
    this.cursors.clear();
    this.gone.clear();
    for (const p of peers) if (p.id !== self?.id) this.peers.set(p.id, { id: p.id, name: p.name, color: p.color });
    this.changed();
  }

  /**
   * Take the daemon's list of peers (`session/status`) as who is here: those it reaches now
   * (`connected`, `relayed`), and one it is redialling (`reconnecting`) only while it counted
   * here already, as the daemon tells a lost peer as left only after a grace (decision 182). A
   * `left` member, one the daemon told left since (`peer/didLeave`) and not joined again, and one
   * the daemon redials that did not count here (a daemon that just started lists every member it
   * remembers, gone ones too) are not counted (decision 189).
   * Returns how many listed peers it is redialling that do not count: worth asking again soon.
   */
  sync(self: P.PeerInfo | undefined, peers: readonly (P.PeerInfo & { state?: string | undefined })[]): number {
    this.self = self;
    const here = new Map<string, P.PeerInfo>();
    let redialled = 0;
    for (const p of peers) {
      if (p.id === self?.id || this.gone.has(p.id)) continue;
      const reachable = p.state === undefined || p.state === 'connected' || p.state === 'relayed';
      if (reachable || (p.state === 'reconnecting' && this.peers.has(p.id))) here.set(p.id, { id: p.id, name: p.name, color: p.color });
      else if (p.state === 'reconnecting') redialled++;
    }
    this.peers.clear();
    for (const [id, p] of here) this.peers.set(id, p);
    for (const id of [...this.cursors.keys()]) if (!here.has(id)) this.cursors.delete(id);
    this.changed();
    return redialled;
  }

  joined(peer: P.PeerInfo): void {
    if (peer.id === this.self?.id) return;
    this.gone.delete(peer.id);
    this.peers.set(peer.id, peer);
    this.changed();
  }

  left(peer: P.PeerInfo): void {
    this.gone.add(peer.id);
    this.peers.delete(peer.id);
    this.cursors.delete(peer.id);
    this.changed();
  }

  cursor(c: P.ParamsOf<typeof import('@chorus/protocol').CursorDidChange>): void {
    if (c.peer.id === this.self?.id) return;
    // Someone with a cursor is here (the daemon hears cursors only from peers present); a
    // cleared one says nothing of that (it comes as a peer is lost, and may follow its leave).
    if (c.selections.length > 0 && !this.peers.has(c.peer.id)) {
      this.gone.delete(c.peer.id);
      this.peers.set(c.peer.id, c.peer);
    }
    if (c.selections.length === 0) {
      if (this.cursors.get(c.peer.id)?.path === c.path) this.cursors.delete(c.peer.id);
    } else this.cursors.set(c.peer.id, { peer: c.peer, path: c.path, selections: c.selections, ...(c.viewport ? { viewport: c.viewport } : {}) });
    this.changed();
  }

  /** The cursors in `path`. */
  in(path: string): RemoteCursor[] {
    return [...this.cursors.values()].filter((c) => c.path === path);
  }

  /** Find a peer by id, id prefix or name (as follow/start accepts). */
  find(key: string): P.PeerInfo | undefined {
    return this.peers.get(key) ?? [...this.peers.values()].find((p) => p.id.startsWith(key) || p.name === key);
  }
}
