/**
 * A hostile peer for tests: it holds a join code (writer or read-only), completes the real
 * handshake through a real Overlay, and then sends whatever bytes a test crafts — well-formed peer
 * messages with hostile content, or garbage. It never runs a replicator, so nothing it sends is
 * second-guessed on its side. Reusable by any test that needs an attacker inside the session.
 */
import { randomBytes } from 'node:crypto';
import * as A from '@automerge/automerge/next';
import { decodeJoinCode } from '../../daemon/src/net/join-code.js';
import { Overlay } from '../../daemon/src/net/overlay.js';
import { nodeTransports } from '../../daemon/src/net/node-transports.js';
import type { SessionKeys } from '../../daemon/src/net/credentials.js';
import { decodePeerMessage, encodePeerMessage, type PeerMessage } from '../../daemon/src/sync/peer-messages.js';

export class MaliciousPeer {
  readonly id: string;
  /** Everything the victim sent, decoded (undecodable frames are kept raw). */
  readonly received: Array<PeerMessage | Uint8Array> = [];

  private constructor(
    readonly overlay: Overlay,
    readonly victim: string,
    id: string,
  ) {
    this.id = id;
  }

  /**
   * Join with `code` (text) and wait until the peer `victimId` is up. `keys` overrides the code's
   * keys (to forge), `meta` is what the hello claims (e.g. `{readOnly: false}` from a reader).
   */
  static async join(code: string, victimId: string, opts: { keys?: SessionKeys; meta?: Record<string, unknown>; id?: string; timeoutMs?: number } = {}): Promise<MaliciousPeer> {
    const c = decodeJoinCode(code);
    const id = opts.id ?? randomBytes(16).toString('hex');
    const overlay = new Overlay({
      selfId: id,
      selfMeta: { name: 'mallory', color: '#000000', ...(opts.meta ?? {}) },
      keys: opts.keys ?? c.keys,
      sessionId: c.sessionId,
      seeds: c.addrs,
      webrtc: false,
      log: () => undefined,
      transports: nodeTransports(),
    });
    const peer = new MaliciousPeer(overlay, victimId, id);
    const up = new Promise<void>((resolve, reject) => {
      const ms = opts.timeoutMs ?? 20_000;
      const timer = setTimeout(() => {
        void overlay.stop();
        reject(new Error(`the malicious peer did not get in within ${ms} ms`));
      }, ms);
      overlay.on('peer-up', (pid) => {
        if (pid !== victimId) return;
        clearTimeout(timer);
        resolve();
      });
      overlay.on('refused', (_where, reason) => {
        clearTimeout(timer);
        void overlay.stop();
        reject(new Error(`refused: ${reason}`));
      });
    });
    overlay.on('message', (from, data) => {
      if (from !== victimId) return;
      try {
        peer.received.push(decodePeerMessage(data));
      } catch {
        peer.received.push(data);
      }
    });
    await overlay.start();
    await up;
    return peer;
  }

  /** Send one peer message, or raw bytes, to the victim. */
  send(m: PeerMessage | Uint8Array): boolean {
    return this.overlay.send(this.victim, m instanceof Uint8Array ? m : encodePeerMessage(m));
  }

  /** Send raw Automerge changes for one document as a live `changes` message. */
  changes(doc: string, changes: Uint8Array[]): boolean {
    return this.send({ kind: 'changes', doc, changes });
  }

  /** Send changes inside an Automerge sync message (the catch-up path) for one document. */
  syncWith(doc: string, changes: Uint8Array[]): boolean {
    const base = A.decodeSyncMessage(A.generateSyncMessage(A.init(), A.initSyncState())[1]!);
    return this.send({ kind: 'sync', doc, data: A.encodeSyncMessage({ ...base, changes }) });
  }

  async close(): Promise<void> {
    await this.overlay.stop();
  }
}

/**
 * A change to an Automerge document given as its saved bytes (the victim's current state, so the
 * change applies at once), made by `fn` with a fresh actor.
 */
export function changeOn<T>(saved: Uint8Array, fn: (d: T) => void): Uint8Array {
  const doc = A.change(A.load<T>(saved), fn as (d: T) => void);
  return A.getLastLocalChange(doc)!;
}

