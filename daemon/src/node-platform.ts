/**
 * The daemon's (Node's) faster versions of what the platform-neutral core can take from its
 * platform (decision 065). The network edges are in net/node-transports.ts.
 */
import { createCipheriv, createDecipheriv, createPrivateKey, createPublicKey, hash, sign, verify, type KeyObject } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { useSha256 } from './digest.js';
import { useChaCha20Poly1305, type ChaCha20Poly1305 } from './net/aead.js';
import { useEd25519, type Ed25519 } from './net/credentials.js';
import { useTraceRecorder, type TracePoint } from './trace-points.js';

/**
 * Hash with node:crypto in the core from now on (same digests as @noble/hashes, ~7× faster on
 * large inputs). The one-shot `crypto.hash` (Node ≥ 20.12) makes no Hash object: 2.1 against
 * 3.1 µs warm on a 180-byte message, which the keystroke path hashes on both sides (flood.ts).
 */
export function useNodeDigest(): void {
  useSha256((data) => hash('sha256', data, 'buffer'));
}

// DER wrappings of a raw Ed25519 key (RFC 8410): a PKCS #8 private key around the 32-byte seed,
// a SubjectPublicKeyInfo around the 32-byte public key. OpenSSL takes and gives keys only so.
const PKCS8_ED25519 = Buffer.from('302e020100300506032b657004220420', 'hex');
const SPKI_ED25519 = Buffer.from('302a300506032b6570032100', 'hex');

function privateKeyOf(seed: Uint8Array): KeyObject {
  if (seed.length !== 32) throw new RangeError(`an Ed25519 seed is 32 bytes, got ${seed.length}`);
  return createPrivateKey({ key: Buffer.concat([PKCS8_ED25519, seed]), format: 'der', type: 'pkcs8' });
}

/**
 * node:crypto's (OpenSSL's) Ed25519: the same keys and signatures as @noble/curves, and strict
 * RFC 8032 verification as noble's with `zip215: false` (test/net/ed25519.test.ts compares them).
 */
export const nodeEd25519: Ed25519 = {
  publicKey(seed) {
    const spki = createPublicKey(privateKeyOf(seed)).export({ format: 'der', type: 'spki' });
    return new Uint8Array(spki.subarray(spki.length - 32));
  },
  sign: (data, seed) => new Uint8Array(sign(null, data, privateKeyOf(seed))),
  verify(signature, data, publicKey) {
    if (publicKey.length !== 32) return false;
    try {
      return verify(null, data, createPublicKey({ key: Buffer.concat([SPKI_ED25519, publicKey]), format: 'der', type: 'spki' }), signature);
    } catch {
      return false; // not a point on the curve, say: no key, so no signature by it
    }
  },
};

/** Sign and check writers' handshakes with node:crypto from now on (decision 166). */
export function useNodeSignatures(): void {
  useEd25519(nodeEd25519);
}

const TAG_BYTES = 16;

/**
 * node:crypto's ChaCha20-Poly1305: the same bytes as @noble/ciphers, faster on a small frame
 * (12–13 against 20–22 µs on 150 bytes, warm; decision 130) and much faster on large ones; a
 * cipher object per frame.
 */
function nodeChaCha20Poly1305(): ChaCha20Poly1305 {
  return {
    seal(key, nonce, plain) {
      const c = createCipheriv('chacha20-poly1305', key, nonce, { authTagLength: TAG_BYTES });
      const head = c.update(plain);
      c.final();
      const out = new Uint8Array(head.length + TAG_BYTES);
      out.set(head);
      out.set(c.getAuthTag(), head.length);
      return out;
    },
    open(key, nonce, sealed) {
      if (sealed.length < TAG_BYTES) throw new Error('frame shorter than its tag');
      const d = createDecipheriv('chacha20-poly1305', key, nonce, { authTagLength: TAG_BYTES });
      d.setAuthTag(sealed.subarray(sealed.length - TAG_BYTES));
      const head = d.update(sealed.subarray(0, sealed.length - TAG_BYTES));
      d.final();
      return new Uint8Array(head.buffer, head.byteOffset, head.length);
    },
  };
}

/** Seal and open peer-link frames with node:crypto's ChaCha20-Poly1305 from now on (tests compare it). */
export function useNodeCipher(): void {
  useChaCha20Poly1305(nodeChaCha20Poly1305());
}

/**
 * Frames up to this many bytes are sealed and opened with libsodium, larger ones with node:crypto.
 * libsodium copies each frame into its WebAssembly memory, which never shrinks: a 16 MiB blob
 * would keep 32 MiB resident for good. Above a few KiB the fixed cost of a node:crypto cipher
 * object (~10 µs) is small next to the bytes' own, so nothing is lost there (decision 130).
 */
export const SODIUM_MAX_FRAME_BYTES = 64 * 1024;

/**
 * Seal and open peer-link frames from now on with libsodium's ChaCha20-Poly1305 (IETF, RFC 8439)
 * for small frames and node:crypto's for large ones: the same bytes either way. A keystroke's
 * frame (~200 bytes) costs 2–3 µs in libsodium's WebAssembly against 12–13 µs for a node:crypto
 * cipher object (warm; 20+ µs cold at 30 keystrokes/s), once per peer on the typing daemon
 * (decision 130). libsodium is loaded here, not at import, so other `chorus` commands do not
 * parse its 1 MB; the daemon calls this when a session starts (SessionManager), not at its own
 * start, so a daemon never in a session does not load it either (~60 ms of CPU; decision 203).
 */
export async function useDaemonCipher(): Promise<void> {
  const { default: sodium } = await import('libsodium-wrappers');
  await sodium.ready;
  const node = nodeChaCha20Poly1305();
  useChaCha20Poly1305({
    seal: (key, nonce, plain) => (plain.length <= SODIUM_MAX_FRAME_BYTES ? sodium.crypto_aead_chacha20poly1305_ietf_encrypt(plain, null, null, nonce, key) : node.seal(key, nonce, plain)),
    open: (key, nonce, sealed) => (sealed.length <= SODIUM_MAX_FRAME_BYTES + TAG_BYTES ? sodium.crypto_aead_chacha20poly1305_ietf_decrypt(null, sealed, null, nonce, key) : node.open(key, nonce, sealed)),
  });
}

/** Trace points kept at most (16 bytes each): a benchmark's ~6,000 keystrokes take ~150,000. */
const MAX_TRACE_POINTS = 1_000_000;

/**
 * With `CHORUS_TRACE_DIR` set, record the keystroke path's trace points (trace-points.ts) and
 * write them to `<dir>/trace-<pid>.txt` as the process exits: a line `<ns> <point>` each, in
 * nanoseconds of the monotonic clock every process of the machine shares (`process.hrtime`), so
 * two daemons' files can be merged into one timeline. After MAX_TRACE_POINTS, recording stops.
 * For benchmarks (`npm run bench:keystroke -- --trace`); nothing else sets the variable.
 */
export function useTraceFromEnvironment(env: NodeJS.ProcessEnv = process.env): void {
  const dir = env.CHORUS_TRACE_DIR;
  if (!dir) return;
  const times = new BigInt64Array(MAX_TRACE_POINTS);
  const points: TracePoint[] = [];
  useTraceRecorder((point) => {
    if (points.length === MAX_TRACE_POINTS) return;
    times[points.length] = process.hrtime.bigint();
    points.push(point);
  });
  process.on('exit', () => {
    const lines = points.map((p, i) => `${times[i]} ${p}\n`);
    try {
      mkdirSync(dir, { recursive: true });
      writeFileSync(join(dir, `trace-${process.pid}.txt`), lines.join(''));
    } catch (e) {
      process.stderr.write(`chorus: could not write the trace to ${dir} (${(e as Error).message})\n`);
    }
  });
}

/**
 * Install the faster hash and signatures the core can take on Node, and the trace recorder when
 * asked for (useTraceFromEnvironment); the daemon calls this at start. The cipher is installed
 * when a session starts (useDaemonCipher): only links use it.
 */
export function useNodePlatform(): void {
  useNodeDigest();
  useNodeSignatures();
  useTraceFromEnvironment();
}
