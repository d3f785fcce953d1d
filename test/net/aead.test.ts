// The frame cipher's bytes are XChaCha20-Poly1305's exactly, with @noble/ciphers and with the
// daemon's node:crypto ChaCha20-Poly1305 installed: a daemon and a browser page (noble only)
// must read each other's frames (issue 13: the native cipher on the keystroke path).
import { xchacha20poly1305 } from '@noble/ciphers/chacha.js';
import { randomBytes } from 'node:crypto';
import { afterAll, describe, expect, it } from 'vitest';
import { FrameCipher, useChaCha20Poly1305 } from '../../daemon/src/net/aead.js';
import { chacha20poly1305 } from '@noble/ciphers/chacha.js';
import { useNodeCipher } from '../../daemon/src/node-platform.js';

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

for (const platform of ['noble', 'node'] as const) {
  describe(`frame cipher (${platform})`, () => {
    const install = (): void => (platform === 'node' ? useNodeCipher() : useChaCha20Poly1305(nobleImpl));
    afterAll(() => useChaCha20Poly1305(nobleImpl));

    it('seals exactly as XChaCha20-Poly1305 with a counter nonce, frame after frame', () => {
      install();
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

    it('opens what XChaCha20-Poly1305 sealed, and refuses a flipped bit, a wrong key and a replay', () => {
      install();
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
  });
}
