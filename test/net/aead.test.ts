// The frame cipher's bytes are XChaCha20-Poly1305's exactly, with @noble/ciphers, with
// node:crypto's ChaCha20-Poly1305 and with the daemon's (libsodium for small frames, node:crypto
// for large ones) installed: a daemon and a browser page (noble only) must read each other's
// frames (issue 13, decisions 075 and 130).
import { xchacha20poly1305 } from '@noble/ciphers/chacha.js';
import { randomBytes } from 'node:crypto';
import { afterAll, describe, expect, it } from 'vitest';
import { FrameCipher, useChaCha20Poly1305 } from '../../daemon/src/net/aead.js';
import { chacha20poly1305 } from '@noble/ciphers/chacha.js';
import { SODIUM_MAX_FRAME_BYTES, useDaemonCipher, useNodeCipher } from '../../daemon/src/node-platform.js';

function xNonce(counter: number): Uint8Array {
  const n = new Uint8Array(24);
  const v = new DataView(n.buffer);
  v.setUint32(16, Math.floor(counter / 2 ** 32));
  v.setUint32(20, counter >>> 0);
  return n;
}

const nobleImpl = {
  seal: (k: Uint8Array, n: Uint8Array, p: Uint8Array) => chacha20poly1305(k, n).encrypt(p),
  open: (k: Uint8Array, n: Uint8Array, s: Uint8Array) => chacha20poly1305(k, n).decrypt(s),
};

for (const platform of ['noble', 'node', 'daemon'] as const) {
  describe(`frame cipher (${platform})`, () => {
    const install = async (): Promise<void> => (platform === 'node' ? useNodeCipher() : platform === 'daemon' ? await useDaemonCipher() : useChaCha20Poly1305(nobleImpl));
    afterAll(() => useChaCha20Poly1305(nobleImpl));

    it('seals exactly as XChaCha20-Poly1305 with a counter nonce, frame after frame', async () => {
      await install();
      for (let trial = 0; trial < 20; trial++) {
        const key = new Uint8Array(randomBytes(32));
        const tx = new FrameCipher(key);
        for (let i = 0; i < 5; i++) {
          const plain = new Uint8Array(randomBytes(trial * 37 + i));
          const sealed = tx.seal(plain);
          expect(Buffer.from(sealed).equals(Buffer.from(xchacha20poly1305(key, xNonce(i)).encrypt(plain)))).toBe(true);
        }
      }
    });

    it('opens what XChaCha20-Poly1305 sealed, and refuses a flipped bit, a wrong key and a replay', async () => {
      await install();
      const key = new Uint8Array(randomBytes(32));
      const frames = [0, 1, 2].map((i) => xchacha20poly1305(key, xNonce(i)).encrypt(new TextEncoder().encode(`frame ${i}`)));
      const rx = new FrameCipher(key);
      expect(new TextDecoder().decode(rx.open(frames[0]!))).toBe('frame 0');
      const flipped = frames[1]!.slice();
      flipped[0]! ^= 1;
      expect(() => rx.open(flipped)).toThrow();
      expect(() => new FrameCipher(new Uint8Array(randomBytes(32))).open(frames[0]!)).toThrow();
      // The counter moved on: the frame a replay repeats no longer verifies.
      const again = new FrameCipher(key);
      again.open(frames[0]!);
      expect(() => again.open(frames[0]!)).toThrow();
      expect(() => rx.open(new Uint8Array(5))).toThrow();
    });

    it('seals and opens frames on both sides of the small-frame limit the same way', async () => {
      await install();
      const key = new Uint8Array(randomBytes(32));
      const sizes = [0, 1, SODIUM_MAX_FRAME_BYTES - 1, SODIUM_MAX_FRAME_BYTES, SODIUM_MAX_FRAME_BYTES + 1, 3 * SODIUM_MAX_FRAME_BYTES];
      const tx = new FrameCipher(key);
      const rx = new FrameCipher(key);
      sizes.forEach((size, i) => {
        const plain = new Uint8Array(randomBytes(size));
        const sealed = tx.seal(plain);
        expect(Buffer.from(sealed).equals(Buffer.from(xchacha20poly1305(key, xNonce(i)).encrypt(plain)))).toBe(true);
        expect(Buffer.from(rx.open(sealed)).equals(Buffer.from(plain))).toBe(true);
      });
      const bad = tx.seal(new Uint8Array(randomBytes(SODIUM_MAX_FRAME_BYTES + 10)));
      bad[100]! ^= 1;
      expect(() => rx.open(bad)).toThrow();
    });
  });
}
