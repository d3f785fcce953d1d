/**
 * The secure wrapper: turns any Link into an authenticated, encrypted Link.
 *
 * Handshake (plaintext frames, first byte is the frame type):
 *   both → HELLO  {p:'chorus-net', v:2, id, n, k}   n = 32 fresh random bytes (base64)
 *          k = HMAC-SHA256(R, "chorus-net knock" | id | n) (base64): the knock, checked only by a listener to
 *          tell a code holder from a stranger before the proof (decision 165); optional, since it
 *          proves nothing the PROOF does not, and a hello without one is only a stranger's
 *   both → PROOF  mac [| sig]
 *          mac = HMAC-SHA256(R, T), T = "prove" | own id | own nonce | peer id | peer nonce
 *          sig = Ed25519 signature of T by the writer key (writers only; see credentials.ts)
 *   on a bad proof → REFUSE <reason for a person>, then close.
 * Each proof binds both nonces and both ids in a fixed prover-first order, so a proof can be
 * neither replayed on another connection nor reflected back at its sender. Proofs are compared in
 * constant time. Nothing but these three frames is accepted until the peer's proof checks out, and
 * no handshake frame may exceed HANDSHAKE_MAX_BYTES.
 *
 * A peer whose proof carries no valid writer signature is read-only on this link, whatever it
 * says later (decision 013). After the handshake every frame is XChaCha20-Poly1305 ciphertext
 * under a per-direction key: HKDF-SHA256 of the strongest secret both ends proved (S between two
 * writers, else R), salted with both nonces — so a read-only member on the path (the relay, the
 * LAN) can neither read nor forge what two writers send each other. The AEAD nonce is an implicit
 * per-direction counter: links are reliable and ordered, so a dropped, replayed or reordered frame
 * fails to decrypt and closes the link rather than being accepted.
 */
import { equalBytes, randomBytes } from '@noble/ciphers/utils.js';
import { hkdf } from '@noble/hashes/hkdf.js';
import { hmac } from '@noble/hashes/hmac.js';
import { sha256 } from '@noble/hashes/sha2.js';
import { bytesToHex } from '@noble/hashes/utils.js';
import { base64 } from '@scure/base';
import { unref } from '../timers.js';
import { FrameCipher } from './aead.js';
import { isWriterSignature, SECRET_BYTES, signAsWriter, writerKeys, type SessionKeys } from './credentials.js';
import { BaseLink, type Link, type LinkKind } from './link.js';
import { tracePoint } from '../trace-points.js';

/** Largest plaintext message one secure frame may carry. */
export const MAX_MESSAGE_BYTES = 64 * 1024 * 1024;
export { SECRET_BYTES } from './credentials.js';
const TAG_BYTES = 16;
const HELLO_MAX_BYTES = 4096;
/** Largest frame accepted before the peer has proved the secret: what a handshake needs. */
export const HANDSHAKE_MAX_BYTES = HELLO_MAX_BYTES + 1;
const MAC_BYTES = 32;
const PROTOCOL = 'chorus-net';
/**
 * Network protocol version; peers of different versions refuse each other with a message naming both.
 * v3: file-index paths and hashes are scalar strings (decision 070) and the `restart` peer message
 * exists (decision 056) — a v2 daemon would refuse the index entries a v3 daemon writes.
 * v4: broadcasts travel as FLOOD frames the overlay deduplicates and relays (decision 095) — a v3
 * daemon would drop them as an unknown frame type and miss every live change.
 * v5: a link that carried a stream closes only after the peer's DONE on it (decision 105) — a v4
 * daemon never sends DONE, so a v5 daemon would reset the peer at every path switch.
 * v6: a conflict copy's index entry names the file it was moved aside for (`aside`, decision 220)
 * — a v5 daemon would refuse that index change, and every change after it.
 * v7: WebRTC signalling has a `ready` message, and the answerer waits for it before it applies the
 * offerer's candidates (decision 268) — a v6 daemon would close the link on it as a malformed signal.
 */
export const NET_VERSION = 7;

const enum Frame {
  Hello = 1,
  Proof = 2,
  Refuse = 3,
}

/**
 * Why a handshake failed, worded for a person. `byPeer` is true when the far end refused us.
 * `final` is true when trying again cannot help: the far end refused us, or this end refused it
 * for a reason that stays (another session secret, another network protocol version, not a
 * Chorus peer). A join gives up at once on it (SessionManager's 'refused').
 */
export class HandshakeError extends Error {
  constructor(
    message: string,
    readonly byPeer: boolean,
    readonly remote: string,
    readonly final = byPeer,
  ) {
    super(message);
    this.name = 'HandshakeError';
  }
}

/** Why this end refuses a peer's hello, and whether that stays so (HandshakeError's `final`). */
interface HelloRefusal {
  why: string;
  final: boolean;
}

export class MessageTooLargeError extends RangeError {
  constructor(size: number) {
    super(`message of ${size} bytes exceeds the ${MAX_MESSAGE_BYTES / 1024 / 1024} MiB frame limit; split it`);
    this.name = 'MessageTooLargeError';
  }
}

export interface SecureOptions {
  /** The session's keys; or `secret`, a writer secret they are derived from. */
  keys?: SessionKeys;
  secret?: Uint8Array;
  selfId: string;
  timeoutMs?: number;
  /**
   * Called when the peer's hello carries a valid knock (a MAC under the membership secret), with
   * its nonce: the peer holds the code, or replays a hello it saw (the caller refuses a nonce it
   * has seen). Not a proof: the handshake still runs to its PROOF.
   */
  onKnock?: (nonce: string) => void;
}

const enc = new TextEncoder();
const dec = new TextDecoder('utf-8', { fatal: true });

/** Length-prefixed concatenation, so ("ab","c") and ("a","bc") never hash alike. */
function transcript(...parts: Array<string | Uint8Array>): Uint8Array {
  const bytes = parts.map((p) => (typeof p === 'string' ? enc.encode(p) : p));
  const out = new Uint8Array(bytes.reduce((n, b) => n + 4 + b.length, 0));
  const view = new DataView(out.buffer);
  let at = 0;
  for (const b of bytes) {
    view.setUint32(at, b.length);
    out.set(b, at + 4);
    at += 4 + b.length;
  }
  return out;
}

function compareBytes(a: Uint8Array, b: Uint8Array): number {
  for (let i = 0; i < Math.min(a.length, b.length); i++) if (a[i] !== b[i]) return a[i]! - b[i]!;
  return a.length - b.length;
}

function proofTranscript(proverId: string, proverNonce: Uint8Array, otherId: string, otherNonce: Uint8Array): Uint8Array {
  return transcript('chorus-net v2 prove', proverId, proverNonce, otherId, otherNonce);
}

/** This side's PROOF body: the membership MAC, and a writer's signature when it holds S. */
function proofOf(keys: SessionKeys, t: Uint8Array): Uint8Array {
  const mac = hmac(sha256, keys.read, t);
  return keys.writer ? new Uint8Array([...mac, ...signAsWriter(keys, t)]) : mac;
}

/** Check a peer's PROOF: undefined (not a member), or whether it proved the writer secret. */
function checkProof(keys: SessionKeys, t: Uint8Array, body: Uint8Array): { writer: boolean } | undefined {
  const expected = hmac(sha256, keys.read, t);
  const mac = body.subarray(0, MAC_BYTES);
  if (mac.length !== MAC_BYTES || !equalBytes(mac, expected)) return undefined;
  const sig = body.subarray(MAC_BYTES);
  if (sig.length === 0) return { writer: false };
  return isWriterSignature(keys, t, sig) ? { writer: true } : undefined;
}

interface PeerHello {
  id: string;
  nonce: Uint8Array;
  /** The knock as sent (`k`), unchecked; absent from older daemons' hellos. */
  knock?: Uint8Array;
}

/** The knock a hello carries: binds the sender's id and nonce, so it is good for one hello only. */
function knockOf(keys: SessionKeys, id: string, nonce: Uint8Array): Uint8Array {
  return hmac(sha256, keys.read, transcript('chorus-net knock', id, nonce));
}

/** Strict base64 (a peer's input): undefined when it is not. */
function decodeBase64(text: string): Uint8Array | undefined {
  try {
    return base64.decode(text);
  } catch {
    return undefined;
  }
}

/**
 * How a person is told that the peer speaks another network protocol version: which end is older,
 * and to upgrade that one. `theirs` is the version the peer's hello names (anything, untrusted).
 */
export function versionMismatch(theirs: unknown): string {
  const shown = typeof theirs === 'number' || typeof theirs === 'string' ? String(theirs).slice(0, 20) : '?';
  const older = typeof theirs === 'number' && theirs > NET_VERSION ? 'this daemon' : 'the peer';
  return `the peer speaks Chorus network protocol v${shown}, this daemon v${NET_VERSION}: they are different versions of Chorus, and ${older} runs the older one; upgrade Chorus there (see the README's "Install") and try again`;
}

function parseHello(body: Uint8Array): PeerHello | HelloRefusal {
  const bad = (why: string, final = false): HelloRefusal => ({ why, final });
  if (body.length > HELLO_MAX_BYTES) return bad('handshake hello too large');
  let msg: unknown;
  try {
    msg = JSON.parse(dec.decode(body));
  } catch {
    return bad('handshake hello is not valid JSON (garbage or truncated frame)');
  }
  if (typeof msg !== 'object' || msg === null) return bad('handshake hello is not an object');
  const m = msg as Record<string, unknown>;
  if (m.p !== PROTOCOL) return bad('not a Chorus peer (unknown protocol in hello)', true);
  if (m.v !== NET_VERSION) return bad(versionMismatch(m.v), true);
  if (typeof m.id !== 'string' || m.id.length === 0 || m.id.length > 200) return bad('handshake hello has no valid peer id');
  if (typeof m.n !== 'string') return bad('handshake hello has no nonce');
  const nonce = decodeBase64(m.n);
  if (nonce?.length !== 32) return bad('handshake hello nonce has the wrong length');
  const knock = typeof m.k === 'string' ? decodeBase64(m.k) : undefined;
  return { id: m.id, nonce, ...(knock ? { knock } : {}) };
}

/**
 * Run the handshake over `inner`. Resolves with the secure link once the peer has proved it holds
 * the secret; rejects with a HandshakeError (and closes `inner`) otherwise. Never throws past that.
 */
export function secureHandshake(inner: Link, opts: SecureOptions): Promise<SecureLink> {
  let keys: SessionKeys;
  try {
    if (opts.keys) keys = opts.keys;
    else if (opts.secret && opts.secret.length === SECRET_BYTES) keys = writerKeys(opts.secret);
    else throw new Error(`session secret must be ${SECRET_BYTES} bytes, got ${opts.secret?.length ?? 0}`);
  } catch (e) {
    return Promise.reject(e as Error);
  }
  return new Promise((resolve, reject) => {
    const myNonce = randomBytes(32);
    let peer: PeerHello | undefined;
    let done = false;

    const finish = (err: HandshakeError | undefined, link?: SecureLink): void => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      inner.off('message', onFrame);
      inner.off('close', onClose);
      if (err) reject(err);
      else resolve(link!);
    };
    const refuse = (reason: string, final = false): void => {
      inner.send(frame(Frame.Refuse, enc.encode(reason)));
      // Settled before the close, whose 'close' would otherwise settle it as "connection closed
      // during handshake (…)", hiding the reason from the overlay and the person.
      finish(new HandshakeError(reason, false, inner.remote, final));
      inner.close(reason);
    };
    const onClose = (reason: string): void => {
      finish(new HandshakeError(`connection closed during handshake (${reason})`, false, inner.remote));
    };
    const onFrame = (data: Uint8Array): void => {
      if (done) return;
      // Nothing big before the peer is known to be a member (a stranger must not make us hold it).
      if (data.length > HANDSHAKE_MAX_BYTES) return refuse(`handshake frame of ${data.length} bytes is larger than a handshake needs`);
      const type = data[0];
      const body = data.subarray(1);
      if (type === Frame.Refuse) {
        let reason: string;
        try {
          reason = dec.decode(body.subarray(0, 1000));
        } catch {
          reason = '(unreadable reason)';
        }
        inner.close('refused by peer');
        finish(new HandshakeError(`refused by peer: ${reason}`, true, inner.remote));
      } else if (type === Frame.Hello && peer === undefined) {
        const parsed = parseHello(body);
        if ('why' in parsed) return refuse(parsed.why, parsed.final);
        if (parsed.id === opts.selfId) return refuse('connected to itself (same peer id on both ends)');
        peer = parsed;
        if (opts.onKnock && peer.knock?.length === MAC_BYTES && equalBytes(peer.knock, knockOf(keys, peer.id, peer.nonce))) opts.onKnock(base64.encode(peer.nonce));
        inner.send(frame(Frame.Proof, proofOf(keys, proofTranscript(opts.selfId, myNonce, peer.id, peer.nonce))));
      } else if (type === Frame.Proof && peer !== undefined) {
        const proved = checkProof(keys, proofTranscript(peer.id, peer.nonce, opts.selfId, myNonce), body);
        if (!proved) return refuse('session secret does not match: the join code is wrong, outdated, or from another session', true);
        // Two writers key the link with S; any link with a read-only end is keyed with R.
        const both = proved.writer && keys.writer !== undefined;
        finish(undefined, new SecureLink(inner, both ? keys.writer! : keys.read, opts.selfId, myNonce, peer, proved.writer));
      } else {
        refuse('unexpected frame during handshake (garbage, truncated, or not a Chorus peer)', true);
      }
    };
    const timer = setTimeout(() => {
      inner.close('handshake timed out');
      finish(new HandshakeError('handshake timed out (peer silent or not a Chorus peer)', false, inner.remote));
    }, opts.timeoutMs ?? 10_000);
    unref(timer);

    inner.on('message', onFrame);
    inner.on('close', onClose);
    if (inner.closeReason !== undefined) return onClose(inner.closeReason);
    const hello = { p: PROTOCOL, v: NET_VERSION, id: opts.selfId, n: base64.encode(myNonce), k: base64.encode(knockOf(keys, opts.selfId, myNonce)) };
    inner.send(frame(Frame.Hello, enc.encode(JSON.stringify(hello))));
  });
}

function frame(type: Frame, body: Uint8Array): Uint8Array {
  const out = new Uint8Array(1 + body.length);
  out[0] = type;
  out.set(body, 1);
  return out;
}

export class SecureLink extends BaseLink {
  readonly kind: LinkKind;
  readonly remote: string;
  /** The authenticated peer id (proved by the handshake, bound into the keys). */
  readonly peerId: string;
  /** An id both ends compute identically for this connection (hash of both nonces). */
  readonly linkId: string;
  /** The peer proved the writer secret in this handshake; false: it may only read. */
  readonly remoteWriter: boolean;
  readonly #inner: Link;
  readonly #tx: FrameCipher;
  readonly #rx: FrameCipher;

  constructor(inner: Link, secret: Uint8Array, selfId: string, myNonce: Uint8Array, peer: PeerHello, remoteWriter: boolean) {
    super();
    this.#inner = inner;
    this.remoteWriter = remoteWriter;
    this.kind = inner.kind;
    this.remote = inner.remote;
    this.peerId = peer.id;
    const iAmLow = compareBytes(myNonce, peer.nonce) < 0;
    const me = { id: selfId, n: myNonce };
    const them = { id: peer.id, n: peer.nonce };
    const [lo, hi] = iAmLow ? [me, them] : [them, me];
    const salt = new Uint8Array([...lo.n, ...hi.n]);
    const key = (dir: string): Uint8Array => hkdf(sha256, secret, salt, transcript('chorus-net v2 key', lo.id, hi.id, dir), 32);
    const loToHi = key('lo->hi');
    const hiToLo = key('hi->lo');
    this.#tx = new FrameCipher(iAmLow ? loToHi : hiToLo);
    this.#rx = new FrameCipher(iAmLow ? hiToLo : loToHi);
    this.linkId = bytesToHex(sha256(salt)).slice(0, 16);
    inner.raiseFrameLimit?.();
    inner.on('message', (data) => this.#receive(data));
    inner.on('close', (reason) => this.closed(reason, inner.wentAway === true));
    if (inner.closeReason !== undefined) this.closed(inner.closeReason, inner.wentAway === true);
  }

  override send(data: Uint8Array): void {
    if (data.length > MAX_MESSAGE_BYTES) throw new MessageTooLargeError(data.length);
    super.send(data);
  }

  /** The inner link's unsent bytes (sealed frames: 16 bytes a message more than was sent). */
  bufferedAmount(): number {
    return this.#inner.bufferedAmount?.() ?? 0;
  }

  protected transmit(data: Uint8Array): void {
    tracePoint('peer-out');
    this.#inner.send(this.#tx.seal(data));
  }

  protected shutdown(reason: string): void {
    this.#inner.close(reason);
  }

  /** Received here or, still waiting to be opened, by the transport below. */
  override get lastReceived(): number {
    return Math.max(super.lastReceived, this.#inner.lastReceived ?? 0);
  }

  #receive(data: Uint8Array): void {
    tracePoint('peer-in');
    if (data.length > MAX_MESSAGE_BYTES + TAG_BYTES) {
      this.close(`frame of ${data.length} bytes exceeds the ${MAX_MESSAGE_BYTES / 1024 / 1024} MiB limit`);
      return;
    }
    if (data.length < TAG_BYTES) {
      this.close(`truncated frame (${data.length} bytes, shorter than an authentication tag)`);
      return;
    }
    let plain: Uint8Array;
    try {
      plain = this.#rx.open(data);
    } catch {
      this.close('frame failed to decrypt (corrupt, truncated, replayed or forged)');
      return;
    }
    this.deliver(plain);
  }
}
