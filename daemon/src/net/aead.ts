/**
 * The AEAD that seals every frame on a peer link: XChaCha20-Poly1305 as the wire format
 * (net-encrypt-every-link.md), computed as HChaCha20 once per key + ChaCha20-Poly1305 (RFC 8439)
 * per frame. A link's nonces are a frame counter in the last 8 bytes with the first 16 bytes zero
 * (secure.ts `Direction`), so the XChaCha subkey — HChaCha20(key, first 16 nonce bytes) — is the
 * same for every frame of a direction and is derived once; each frame is then plain
 * ChaCha20-Poly1305 under that subkey with the nonce 0x00000000 ‖ last 8 bytes. The bytes on the
 * wire are exactly XChaCha20-Poly1305's (test/net/aead.test.ts).
 *
 * Platform-neutral: @noble/ciphers by default; the daemon installs libsodium's
 * ChaCha20-Poly1305 for small frames and node:crypto's for large ones at start (node-platform.ts,
 * decisions 075 and 130): a keystroke's frame is sealed once per peer on the typing side.
 */
import { chacha20poly1305, hchacha } from '@noble/ciphers/chacha.js';

/** ChaCha20-Poly1305 (RFC 8439): 32-byte key, 12-byte nonce, 16-byte tag appended. */
export interface ChaCha20Poly1305 {
  seal(key: Uint8Array, nonce: Uint8Array, plain: Uint8Array): Uint8Array;
  /** Throws if the tag does not verify (corrupt, truncated, replayed or forged). */
  open(key: Uint8Array, nonce: Uint8Array, sealed: Uint8Array): Uint8Array;
}

let impl: ChaCha20Poly1305 = {
  seal: (key, nonce, plain) => chacha20poly1305(key, nonce).encrypt(plain),
  open: (key, nonce, sealed) => chacha20poly1305(key, nonce).decrypt(sealed),
};

/** Use `fast` from now on. It must compute RFC 8439 ChaCha20-Poly1305 exactly (peers interoperate). */
export function useChaCha20Poly1305(fast: ChaCha20Poly1305): void {
  impl = fast;
}

// "expand 32-byte k" as little-endian words.
const SIGMA = new Uint32Array([0x61707865, 0x3320646e, 0x79622d32, 0x6b206574]);

/**
 * One direction of a link: XChaCha20-Poly1305 under `key` with nonces whose first 16 bytes are
 * zero and whose last 8 are `counter` (big-endian), the counter advancing by one per frame.
 */
export class FrameCipher {
  readonly #subkey: Uint8Array;
  #counter = 0;

  /** `key`: 32 bytes. */
  constructor(key: Uint8Array) {
    const words = new Uint32Array(8);
    new Uint8Array(words.buffer).set(key);
    const out = new Uint32Array(8);
    hchacha(SIGMA, words, new Uint32Array(4), out);
    this.#subkey = new Uint8Array(out.buffer);
  }

  #nextNonce(): Uint8Array {
    const nonce = new Uint8Array(12);
    const view = new DataView(nonce.buffer);
    view.setUint32(4, Math.floor(this.#counter / 2 ** 32));
    view.setUint32(8, this.#counter >>> 0);
    this.#counter++;
    return nonce;
  }

  /** Seal the next frame: ciphertext ‖ 16-byte tag. */
  seal(plain: Uint8Array): Uint8Array {
    return impl.seal(this.#subkey, this.#nextNonce(), plain);
  }

  /** Open the next frame; throws if it does not verify. The counter advances either way (a link closes on failure). */
  open(sealed: Uint8Array): Uint8Array {
    return impl.open(this.#subkey, this.#nextNonce(), sealed);
  }
}
