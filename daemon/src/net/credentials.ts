/**
 * What a join code gives its holder (decision 013): the writer secret S, or only the read-only
 * part of it. From S everything else is derived one way:
 *
 *   R = HKDF(S, "read-only")                 membership: every member holds it
 *   (w, W) = Ed25519 key pair seeded by HKDF(S, "writer signing key")
 *
 * A writer code carries S; a read-only code carries R and the public key W only, so it holds no
 * means to write. In the handshake every peer proves R (an HMAC over the transcript) and a writer
 * also signs the transcript with w, which every member can check against W. A peer's write
 * access is therefore what it proved, never what it says.
 *
 * Ed25519 is @noble/curves by default, so this runs in a browser too (decision 065). The daemon
 * and the `chorus` command install node:crypto's with `useEd25519` (node-platform.ts): the same
 * keys and signatures (Ed25519 is deterministic) and the same strict verification, without
 * noble's first-use table of base-point multiples, ~0.2 s of CPU in every process that derives a
 * key or checks a handshake (decision 166).
 */
import { ed25519 } from '@noble/curves/ed25519.js';
import { hkdf } from '@noble/hashes/hkdf.js';
import { sha256 } from '@noble/hashes/sha2.js';

export const SECRET_BYTES = 32;
export const PUBLIC_KEY_BYTES = 32;
export const SIGNATURE_BYTES = 64;

const enc = new TextEncoder();

/**
 * Ed25519 (RFC 8032) as the core uses it. Keys are 32-byte seeds and 32-byte raw public keys,
 * signatures 64 bytes. `verify` is strict RFC 8032 (no ZIP-215 leniency) and returns false, never
 * throws, for a malformed key or signature.
 */
export interface Ed25519 {
  publicKey(seed: Uint8Array): Uint8Array;
  sign(data: Uint8Array, seed: Uint8Array): Uint8Array;
  verify(signature: Uint8Array, data: Uint8Array, publicKey: Uint8Array): boolean;
}

/** @noble/curves' Ed25519: platform-neutral, the default. */
export const nobleEd25519: Ed25519 = {
  publicKey: (seed) => ed25519.getPublicKey(seed),
  sign: (data, seed) => ed25519.sign(data, seed),
  verify: (signature, data, publicKey) => {
    try {
      // Strict RFC 8032 verification (no ZIP-215 leniency), as OpenSSL's.
      return ed25519.verify(signature, data, publicKey, { zip215: false });
    } catch {
      return false;
    }
  },
};

let impl: Ed25519 = nobleEd25519;

/** Use `fast` for Ed25519 from now on. It must agree with nobleEd25519 exactly (peers check each other's signatures). */
export function useEd25519(fast: Ed25519): void {
  impl = fast;
}

/** The keys one daemon holds for a session. `writer` is absent for a read-only member. */
export interface SessionKeys {
  /** S: the writer secret (32 bytes), only in writer codes. */
  writer?: Uint8Array;
  /** R: the read-only secret every member proves in the handshake. */
  read: Uint8Array;
  /** W: the raw Ed25519 public key a writer's handshake signature is checked against. */
  writerKey: Uint8Array;
}

function derive(secret: Uint8Array, label: string): Uint8Array {
  return hkdf(sha256, secret, undefined, enc.encode(`chorus ${label}`), 32);
}

/** The Ed25519 secret key (a 32-byte seed, RFC 8032) a writer signs with. */
function signingKey(writer: Uint8Array): Uint8Array {
  return derive(writer, 'writer signing key');
}

/** Every key of a session, from its writer secret. */
export function writerKeys(writer: Uint8Array): SessionKeys {
  if (writer.length !== SECRET_BYTES) throw new RangeError(`session secret must be ${SECRET_BYTES} bytes, got ${writer.length}`);
  return { writer, read: derive(writer, 'read-only'), writerKey: impl.publicKey(signingKey(writer)) };
}

/** The keys a read-only member holds. */
export function readOnlyKeys(read: Uint8Array, writerKey: Uint8Array): SessionKeys {
  if (read.length !== SECRET_BYTES) throw new RangeError(`read-only secret must be ${SECRET_BYTES} bytes, got ${read.length}`);
  if (writerKey.length !== PUBLIC_KEY_BYTES) throw new RangeError(`writer key must be ${PUBLIC_KEY_BYTES} bytes, got ${writerKey.length}`);
  return { read, writerKey };
}

/** The same session's keys with the writer secret left out (what a read-only code carries). */
export function withoutWriter(keys: SessionKeys): SessionKeys {
  return { read: keys.read, writerKey: keys.writerKey };
}

/** A writer's signature over `data` (throws without the writer secret). */
export function signAsWriter(keys: SessionKeys, data: Uint8Array): Uint8Array {
  if (!keys.writer) throw new Error('a read-only member cannot sign as a writer');
  return impl.sign(data, signingKey(keys.writer));
}

/** Does `signature` prove that a writer signed `data`? */
export function isWriterSignature(keys: SessionKeys, data: Uint8Array, signature: Uint8Array): boolean {
  if (signature.length !== SIGNATURE_BYTES) return false;
  return impl.verify(signature, data, keys.writerKey);
}
