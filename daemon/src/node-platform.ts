/**
 * The daemon's (Node's) faster versions of what the platform-neutral core can take from its
 * platform (decision 065). The network edges are in net/node-transports.ts.
 */
import { createCipheriv, createDecipheriv, hash } from 'node:crypto';
import { useSha256 } from './digest.js';
import { useChaCha20Poly1305 } from './net/aead.js';

/**
 * Hash with node:crypto in the core from now on (same digests as @noble/hashes, ~7× faster on
 * large inputs). The one-shot `crypto.hash` (Node ≥ 20.12) makes no Hash object: 2.1 against
 * 3.1 µs warm on a 180-byte message, which the keystroke path hashes on both sides (flood.ts).
 */
export function useNodeDigest(): void {
  useSha256((data) => hash('sha256', data, 'buffer'));
}

const TAG_BYTES = 16;

/**
 * Seal and open peer-link frames with node:crypto's ChaCha20-Poly1305 from now on: the same bytes
 * as @noble/ciphers, ~4× faster per small frame (8 against 36 µs on a 120-byte frame, warm; more
 * when cold, as at 30 keystrokes/s), on the keystroke path of both daemons (issue 13).
 */
export function useNodeCipher(): void {
  useChaCha20Poly1305({
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
  });
}

/** Install every faster Node version the core can take (hash, cipher); the daemon calls this at start. */
export function useNodePlatform(): void {
  useNodeDigest();
  useNodeCipher();
}
