// Decision 166: the daemon and the `chorus` command sign and check writers' handshakes with
// node:crypto's Ed25519, a page with @noble/curves'. Peers of either kind check each other's
// signatures, so the two must agree exactly: the same public key from a seed, the same
// (deterministic) signature, and the same verdict on every signature, forged or malformed.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { nobleEd25519, type Ed25519 } from '../../daemon/src/net/credentials.js';
import { nodeEd25519 } from '../../daemon/src/node-platform.js';

const L = (1n << 252n) + 27742317777372353535851937790883648493n; // the group order (RFC 8032)

function littleEndian(n: bigint, bytes: number): Uint8Array {
  const out = new Uint8Array(bytes);
  for (let i = 0; i < bytes; i++) out[i] = Number((n >> BigInt(8 * i)) & 0xffn);
  return out;
}
function fromLittleEndian(b: Uint8Array): bigint {
  let n = 0n;
  for (let i = b.length - 1; i >= 0; i--) n = (n << 8n) | BigInt(b[i]!);
  return n;
}

const seed = fc.uint8Array({ minLength: 32, maxLength: 32 });
const data = fc.uint8Array({ maxLength: 300 });

describe('node:crypto and @noble/curves Ed25519 agree', () => {
  it('on public keys and signatures, and both accept them', () => {
    fc.assert(
      fc.property(seed, data, (s, d) => {
        const pub = nodeEd25519.publicKey(s);
        expect(pub).toEqual(nobleEd25519.publicKey(s));
        const sig = nodeEd25519.sign(d, s);
        expect(sig).toEqual(nobleEd25519.sign(d, s));
        for (const impl of [nodeEd25519, nobleEd25519]) expect(impl.verify(sig, d, pub)).toBe(true);
      }),
      { numRuns: 200 },
    );
  });

  it('in refusing a changed signature, message or key, and garbage', () => {
    fc.assert(
      fc.property(seed, data, fc.nat(), fc.uint8Array({ minLength: 64, maxLength: 64 }), fc.uint8Array({ minLength: 32, maxLength: 32 }), (s, d, at, junkSig, junkKey) => {
        const pub = nobleEd25519.publicKey(s);
        const sig = nobleEd25519.sign(d, s);
        const flipped = sig.slice();
        flipped[at % 64]! ^= 1 << (at % 8);
        const cases: Array<[Uint8Array, Uint8Array, Uint8Array]> = [
          [flipped, d, pub],
          [sig, Uint8Array.from([...d, 0]), pub],
          [junkSig, d, pub],
          [sig, d, junkKey],
        ];
        for (const [g, m, k] of cases) {
          const verdicts = [nodeEd25519, nobleEd25519].map((impl: Ed25519) => impl.verify(g, m, k));
          expect(verdicts[0]).toBe(verdicts[1]);
        }
        expect(nodeEd25519.verify(flipped, d, pub)).toBe(false);
      }),
      { numRuns: 200 },
    );
  });

  it('in refusing a malleated signature (S + L) and keys of the wrong length, without throwing', () => {
    const s = new Uint8Array(32).fill(7);
    const d = new TextEncoder().encode('hello');
    const pub = nobleEd25519.publicKey(s);
    const sig = nobleEd25519.sign(d, s);
    const malleated = sig.slice();
    malleated.set(littleEndian(fromLittleEndian(sig.subarray(32)) + L, 32), 32);
    for (const impl of [nodeEd25519, nobleEd25519]) {
      expect(impl.verify(malleated, d, pub)).toBe(false);
      expect(impl.verify(sig, d, pub.subarray(0, 31))).toBe(false);
      expect(impl.verify(sig.subarray(0, 63), d, pub)).toBe(false);
    }
  });
});
