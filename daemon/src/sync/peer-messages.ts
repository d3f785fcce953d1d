/**
 * What daemons say to each other over the overlay, and its binary form: a kind byte, a JSON
 * header and raw payload parts (Automerge changes and sync messages travel as they are).
 * Everything from a peer is checked here; a bad message is an error, never a crash.
 */
import { sha256Hex } from '../digest.js';
import { jsonDepth } from '../text/json-depth.js';

export type PeerMessage =
  /** Live raw changes to one document, in the order they were made. */
  | { kind: 'changes'; doc: string; changes: Uint8Array[] }
  /** One Automerge sync-protocol message for one document. */
  | { kind: 'sync'; doc: string; data: Uint8Array }
  /**
   * The documents the sender holds, sent on connect so both sides sync all of them. `heads`, one
   * per document (absent from older daemons): a digest of the sender's heads of it, '' where it
   * does not know them without loading the document; a document both sides give the same digest
   * of is the same on both, and neither syncs it (decision 243).
   */
  | { kind: 'docs'; docs: string[]; heads?: string[] }
  /** Please send these blobs. */
  | { kind: 'want'; hashes: string[] }
  /** A blob's content. */
  | { kind: 'blob'; hash: string; data: Uint8Array }
  /** After the sender's side of a sync went quiet: the receiver has all the sender has of `doc`. */
  | { kind: 'level'; doc: string }
  /**
   * Start the sync of `doc` with the sender afresh, forgetting what was sent to it: it holds
   * changes it cannot apply yet and needs what they depend on, which a sync state that counts
   * them as sent would never send again.
   */
  | { kind: 'restart'; doc: string }
  /** A whole saved document, for a peer that has none of it (then the sync protocol, which finds the two level). */
  | { kind: 'snapshot'; doc: string; data: Uint8Array }
  /** The sender has none of these blobs (ask someone else, or stop waiting). */
  | { kind: 'lack'; hashes: string[] }
  /**
   * Ephemeral: presence, broadcasts; never stored. `from` is the daemon it comes from and `id`
   * names it, so it can be relayed across a partial mesh and seen once.
   */
  | { kind: 'ephemeral'; topic: string; body: unknown; from?: string; id?: string };

/** A digest of a document's heads in a `docs` message: 16 hex digits, or '' (not known). */
const HEADS_DIGEST = /^(?:[0-9a-f]{16})?$/;

/** The digest of heads `heads` (change hashes) a `docs` message carries: the same for the same set, in any order. */
export function headsDigest(heads: readonly string[]): string {
  return sha256Hex([...heads].sort().join(',')).slice(0, 16);
}

const KINDS = ['changes', 'sync', 'docs', 'want', 'blob', 'ephemeral', 'lack', 'snapshot', 'level', 'restart'] as const;

/** Largest message a daemon accepts from a peer (a blob of a big binary file fits). */
export const MAX_PEER_MESSAGE = 64 * 1024 * 1024;
/**
 * Largest header of an ephemeral message: an editor's broadcast payload is limited to 64 KiB
 * (editor-collaboration.ts), and a peer's must be too, with room for the envelope.
 */
export const MAX_EPHEMERAL_HEADER = 64 * 1024 + 1024;
/**
 * Deepest nesting of arrays and objects a message header may have. An editor's broadcast payload
 * nests at most 64 levels (the editor's own message limit, MAX_JSON_DEPTH in editor/rpc-edge.ts),
 * and the header adds one. A deeper one would overflow the stack of whatever passes it on
 * (`JSON.stringify` is recursive; a 64 KB payload nested 32,000 levels closed the link with
 * "Maximum call stack size exceeded"), so it is refused here.
 */
export const MAX_HEADER_DEPTH = 66;
/** Most documents one `docs` message may list, blobs one `want`/`lack` may name. */
const MAX_LIST = 200_000;

export class PeerMessageError extends Error {}

const utf8 = new TextDecoder();
const toUtf8 = new TextEncoder();

export function encodePeerMessage(m: PeerMessage): Uint8Array {
  let header: unknown;
  let parts: Uint8Array[] = [];
  switch (m.kind) {
    case 'changes':
      header = { doc: m.doc };
      parts = m.changes;
      break;
    case 'sync':
    case 'snapshot':
      header = { doc: m.doc };
      parts = [m.data];
      break;
    case 'blob':
      header = { hash: m.hash };
      parts = [m.data];
      break;
    case 'docs':
      header = m.heads ? { docs: m.docs, heads: m.heads } : { docs: m.docs };
      break;
    case 'level':
    case 'restart':
      header = { doc: m.doc };
      break;
    case 'want':
    case 'lack':
      header = { hashes: m.hashes };
      break;
    case 'ephemeral':
      header = { topic: m.topic, body: m.body, ...(m.from ? { from: m.from } : {}), ...(m.id ? { id: m.id } : {}) };
      break;
  }
  const json = toUtf8.encode(JSON.stringify(header));
  const size = 1 + 4 + json.length + 4 + parts.reduce((n, p) => n + 4 + p.length, 0);
  const out = new Uint8Array(size);
  const view = new DataView(out.buffer);
  let off = 0;
  out[off++] = KINDS.indexOf(m.kind);
  view.setUint32(off, json.length);
  off += 4;
  out.set(json, off);
  off += json.length;
  view.setUint32(off, parts.length);
  off += 4;
  for (const p of parts) {
    view.setUint32(off, p.length);
    off += 4;
    out.set(p, off);
    off += p.length;
  }
  return out;
}

const DOC_ID = /^(index|data|f[0-9a-f]{24})$/;
const HASH = /^[0-9a-f]{64}$/;

export function decodePeerMessage(data: Uint8Array): PeerMessage {
  if (data.length > MAX_PEER_MESSAGE) throw new PeerMessageError(`message of ${data.length} bytes is over the ${MAX_PEER_MESSAGE}-byte limit`);
  const view = new DataView(data.buffer, data.byteOffset, data.byteLength);
  const need = (off: number, n: number) => {
    if (off + n > data.length) throw new PeerMessageError('truncated message');
  };
  need(0, 5);
  const kind = KINDS[data[0]!];
  if (!kind) throw new PeerMessageError(`unknown message kind ${data[0]!}`);
  const jsonLen = view.getUint32(1);
  need(5, jsonLen + 4);
  if (kind === 'ephemeral' && jsonLen > MAX_EPHEMERAL_HEADER) throw new PeerMessageError(`an ephemeral message of ${jsonLen} bytes is over the ${MAX_EPHEMERAL_HEADER}-byte limit`);
  const text = utf8.decode(data.subarray(5, 5 + jsonLen));
  // Counted on the text before it is parsed, by the editor's rule (text/json-depth.ts).
  if (jsonDepth(text) > MAX_HEADER_DEPTH) throw new PeerMessageError(`a message nested deeper than ${MAX_HEADER_DEPTH} levels; refused`);
  let header: Record<string, unknown>;
  try {
    header = JSON.parse(text) as Record<string, unknown>;
  } catch {
    throw new PeerMessageError('message header is not JSON');
  }
  if (!header || typeof header !== 'object') throw new PeerMessageError('message header is not an object');
  let off = 5 + jsonLen;
  const count = view.getUint32(off);
  off += 4;
  const parts: Uint8Array[] = [];
  for (let i = 0; i < count; i++) {
    need(off, 4);
    const len = view.getUint32(off);
    off += 4;
    need(off, len);
    parts.push(data.slice(off, off + len));
    off += len;
  }
  if (off !== data.length) throw new PeerMessageError('trailing bytes after message');
  const doc = () => {
    if (typeof header.doc !== 'string' || !DOC_ID.test(header.doc)) throw new PeerMessageError('bad document id');
    return header.doc;
  };
  const one = () => {
    if (parts.length !== 1) throw new PeerMessageError(`${kind} carries exactly one payload`);
    return parts[0]!;
  };
  switch (kind) {
    case 'changes':
      return { kind, doc: doc(), changes: parts };
    case 'sync':
    case 'snapshot':
      return { kind, doc: doc(), data: one() };
    case 'blob':
      if (typeof header.hash !== 'string' || !HASH.test(header.hash)) throw new PeerMessageError('bad blob hash');
      return { kind, hash: header.hash, data: one() };
    case 'level':
    case 'restart':
      return { kind, doc: doc() };
    case 'docs':
      if (!Array.isArray(header.docs) || header.docs.length > MAX_LIST || !header.docs.every((d) => typeof d === 'string' && DOC_ID.test(d))) throw new PeerMessageError('bad document list');
      if (header.heads === undefined) return { kind, docs: header.docs as string[] };
      if (!Array.isArray(header.heads) || header.heads.length !== header.docs.length || !header.heads.every((h) => typeof h === 'string' && HEADS_DIGEST.test(h))) throw new PeerMessageError('bad heads of the document list');
      return { kind, docs: header.docs as string[], heads: header.heads as string[] };
    case 'want':
    case 'lack':
      if (!Array.isArray(header.hashes) || header.hashes.length > MAX_LIST || !header.hashes.every((h) => typeof h === 'string' && HASH.test(h))) throw new PeerMessageError('bad blob list');
      return { kind, hashes: header.hashes as string[] };
    case 'ephemeral': {
      if (typeof header.topic !== 'string' || header.topic.length > 64) throw new PeerMessageError('bad topic');
      const from = typeof header.from === 'string' && header.from.length <= 200 ? header.from : undefined;
      const id = typeof header.id === 'string' && header.id.length <= 64 ? header.id : undefined;
      return { kind, topic: header.topic, body: header.body, ...(from ? { from } : {}), ...(id ? { id } : {}) };
    }
  }
}

