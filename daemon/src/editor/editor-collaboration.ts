/**
 * The collaboration side of one editor connection: its cursors out and everyone else's in,
 * follow mode, own-edit undo, extension data and ephemeral messages. Positions are converted
 * here, at the edge, between the editor's encoding and offsets in the shared text.
 */
import * as P from '@chorus/protocol';
import { decodeText } from '../text/decode-text.js';
import { Failure } from '../errors.js';
import type { LineIndex } from '../text/line-index.js';
import type { TextSource } from '../text/rope.js';
import { toOffsetClamped, toPosition, type LineChar } from '../text/positions.js';
import type { ExtensionData } from '../workspace/extension-data.js';
import type { Workspace } from '../workspace/workspace.js';
import type { CursorView, PeerView, Presence } from '../presence/presence.js';
import type { EditorBuffers } from './editor-buffers.js';
import type { UndoManager } from './undo-manager.js';

/** Sends one protocol notification to this editor. */
export type Notify = <D extends P.NotificationDef<P.AnyMethodDef['params']>>(def: D, params: P.ParamsOf<D>) => void;

/** What every editor's collaboration side shares: the daemon-wide services. */
export interface Collaboration {
  workspace: Workspace;
  presence: Presence;
  undo: UndoManager;
  data: ExtensionData;
  /** Deliver an ephemeral message to every other editor here and on every peer. */
  broadcast(namespace: string, payload: unknown, fromEditor: string): void;
  /** Subscribe to messages for editors here; returns the unsubscribe function. */
  onMessage(fn: (m: { namespace: string; payload: unknown; peer: PeerView; fromEditor?: string }) => void): () => void;
  /** Subscribe to what every editor here must show the person (session/notice); returns the unsubscribe function. */
  onNotice(fn: (n: P.ParamsOf<typeof P.SessionNotice>) => void): () => void;
}

export const MAX_MESSAGE_BYTES = 64 * 1024;

export class EditorCollaboration {
  private following: PeerView | undefined;
  private readonly unsubscribe: Array<() => void> = [];

  constructor(
    private readonly editor: EditorBuffers,
    private readonly c: Collaboration,
    private readonly notify: Notify,
  ) {
    const onCursor = (v: CursorView) => this.cursorArrived(v);
    const onJoined = (peer: PeerView, reason: 'joined' | 'back') => this.notify(P.PeerDidJoin, { peer, reason });
    const onLeft = (peer: PeerView, reason: 'left' | 'unreachable') => {
      this.notify(P.PeerDidLeave, { peer, reason });
      if (this.following?.id === peer.id) this.stopFollowing('peerLeft');
    };
    const onData = (d: { namespace: string; key: string; value: unknown }) => this.notify(P.DataDidChange, { namespace: d.namespace, key: d.key, value: d.value as never });
    c.presence.on('cursor', onCursor);
    c.presence.on('joined', onJoined);
    c.presence.on('left', onLeft);
    c.data.on('changed', onData);
    this.unsubscribe.push(
      () => c.presence.off('cursor', onCursor),
      () => c.presence.off('joined', onJoined),
      () => c.presence.off('left', onLeft),
      () => c.data.off('changed', onData),
      c.onNotice((n) => {
        if (this.editor.initialized) this.notify(P.SessionNotice, n);
      }),
      c.onMessage((m) => {
        if (m.fromEditor !== this.editor.id) this.notify(P.MessageDidReceive, { namespace: m.namespace, payload: m.payload as never, peer: m.peer });
      }),
    );
    editor.hooks.afterEdit = () => {
      if (this.following) this.stopFollowing('typed');
    };
  }

  /** The text a position refers to, with its line index when it is live here. */
  private textOf(path: string): { text: TextSource; lines?: LineIndex; fileId?: string } | undefined {
    const fileId = this.c.workspace.index.idOf(path);
    if (!fileId) return undefined;
    if (this.c.workspace.isLive(fileId)) return { text: this.c.workspace.rope(fileId), lines: this.c.workspace.lines(fileId), fileId };
    const bytes = this.c.workspace.content(fileId);
    const text = bytes ? decodeText(bytes) : null;
    return text === null ? undefined : { text, fileId };
  }

  /**
   * A cursor's or viewport's offset. Clamped, not refused: an editor sends its cursor against the
   * text it shows, which lags the daemon's by any remote change still on its way (a line just
   * shortened), and the next cursor it sends is right again.
   */
  private offset(text: TextSource, lines: LineIndex | undefined, pos: LineChar): number {
    return toOffsetClamped(text, pos, this.editor.encoding, lines);
  }

  private position(text: TextSource, lines: LineIndex | undefined, off: number): LineChar {
    return toPosition(text, Math.min(off, text.length), this.editor.encoding, lines);
  }

  // ---- presence ----------------------------------------------------------------------------

  setCursor(pathIn: string, selections: P.Selection[]): void {
    const { fileId, path } = this.editor.openBuffer(pathIn);
    const text = this.c.workspace.rope(fileId);
    const lines = this.c.workspace.lines(fileId);
    const spans = selections.map((s) => ({ anchor: this.offset(text, lines, s.anchor), head: this.offset(text, lines, s.head) }));
    this.c.presence.setLocal(this.editor.id, path, fileId, spans);
  }

  /**
   * The editor is closing buffer `pathIn` (called before the close, while the path still names
   * it): its cursor there goes for everyone, as the editor can no longer send one for it.
   */
  closing(pathIn: string): void {
    let path: string;
    try {
      path = this.editor.openBuffer(pathIn).path;
    } catch {
      return; // not open: the close itself says so
    }
    this.c.presence.clearLocalIn(this.editor.id, path);
  }

  setViewport(pathIn: string, range: P.Range): void {
    const { fileId, path } = this.editor.openBuffer(pathIn);
    const text = this.c.workspace.rope(fileId);
    const lines = this.c.workspace.lines(fileId);
    this.c.presence.setViewport(this.editor.id, path, fileId, { start: this.offset(text, lines, range.start), end: this.offset(text, lines, range.end) });
  }

  private cursorArrived(v: CursorView): void {
    if (!this.editor.initialized || v.source === `${this.c.presence.self.id}/${this.editor.id}`) return;
    const t = this.textOf(v.path);
    if (!t) {
      this.notify(P.CursorDidChange, { peer: v.peer, path: v.path, selections: [] });
      return;
    }
    const at = (off: number) => this.position(t.text, t.lines, off);
    const selections = v.selections.map((s) => ({ anchor: at(s.anchor), head: at(s.head) }));
    const viewport = v.viewport ? { start: at(v.viewport.start), end: at(v.viewport.end) } : undefined;
    this.notify(P.CursorDidChange, { peer: v.peer, path: v.path, selections, ...(viewport ? { viewport } : {}) });
    const head = selections[0]?.head;
    if (this.following?.id === v.peer.id && (viewport || head)) {
      this.notify(P.FollowReveal, { peer: v.peer, path: v.path, range: viewport ?? { start: head!, end: head! } });
    }
  }

  // ---- follow ------------------------------------------------------------------------------

  /**
   * Follow the peer named `nameOrId` (its id, a prefix of it, or its name). Throws Failure
   * `unknownPeer` when nobody here is called so, and `invalid` for this person's own id or name;
   * either way, whom this editor follows (if anyone) is unchanged.
   */
  follow(nameOrId: string): PeerView {
    const peer = this.c.presence.find(nameOrId);
    if (!peer) {
      const here = this.c.presence.peers().map((p) => p.name);
      const self = this.c.presence.self;
      // One's own id (or name) is in no list of others: "nobody called … is in the session" told
      // a person who pasted their own id from session/status that they were not there.
      const isSelf = nameOrId === self.id || (nameOrId.length >= 4 && self.id.startsWith(nameOrId)) || nameOrId.toLowerCase() === self.name.toLowerCase();
      if (isSelf) {
        throw new Failure(
          'invalid',
          `${JSON.stringify(nameOrId)} is you (${self.name}, this daemon's own peer), and one cannot follow oneself; name someone else${here.length ? ` (here: ${here.join(', ')})` : ' (nobody else is in the session yet)'}${this.following ? `; still following ${this.following.name}` : ''}`,
        );
      }
      throw new Failure('unknownPeer', `nobody called ${JSON.stringify(nameOrId)} is in the session${here.length ? ` (here: ${here.join(', ')})` : ''}`);
    }
    this.following = peer;
    return peer;
  }

  unfollow(): void {
    if (this.following) this.stopFollowing('requested');
  }

  private stopFollowing(reason: 'requested' | 'typed' | 'peerLeft'): void {
    this.following = undefined;
    this.notify(P.FollowDidStop, { reason });
  }

  // ---- undo --------------------------------------------------------------------------------

  undo(pathIn: string, undo: boolean): boolean {
    const { fileId } = this.editor.openBuffer(pathIn);
    return this.c.undo.step(this.editor.id, fileId, undo);
  }

  // ---- extension data and messages ---------------------------------------------------------

  dataSet(namespace: string, key: string, value: unknown): void {
    this.c.data.set(namespace, key, value);
  }

  dataGet(namespace: string, key: string | undefined): { value?: unknown; entries?: Record<string, unknown> } {
    if (key === undefined) return { entries: this.c.data.entries(namespace) };
    const value = this.c.data.get(namespace, key);
    return value === undefined ? {} : { value };
  }

  broadcast(namespace: string, payload: unknown): void {
    const size = Buffer.byteLength(JSON.stringify(payload));
    if (size > MAX_MESSAGE_BYTES) throw new Failure('tooLarge', `the message is ${size} bytes of JSON; the limit is ${MAX_MESSAGE_BYTES}`);
    this.c.broadcast(namespace, payload, this.editor.id);
  }

  dispose(): void {
    for (const u of this.unsubscribe) u();
    this.c.presence.clearLocal(this.editor.id);
    this.c.undo.forget(this.editor.id);
  }
}
