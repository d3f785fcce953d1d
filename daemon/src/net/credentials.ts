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
 */
import { createPrivateKey, createPublicKey, sign, verify, type KeyObject } from 'node:crypto';
import { hkdf } from '@noble/hashes/hkdf.js';
import { sha256 } from '@noble/hashes/sha2.js';

export const SECRET_BYTES = 32;
export const PUBLIC_KEY_BYTES = 32;
export const SIGNATURE_BYTES = 64;

const enc = new TextEncoder();
// DER wrappers of a raw Ed25519 seed (PKCS#8) and public key (SPKI), so node:crypto takes them.
const PKCS8_ED25519 = Buffer.from('302e020100300506032b657004220420', 'hex');
const SPKI_ED25519 = Buffer.from('302a300506032b6570032100', 'hex');

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

function signingKey(writer: Uint8Array): KeyObject {
  return createPrivateKey({ key: Buffer.concat([PKCS8_ED25519, derive(writer, 'writer signing key')]), format: 'der', type: 'pkcs8' });
}

/** Every key of a session, from its writer secret. */
export function writerKeys(writer: Uint8Array): SessionKeys {
  if (writer.length !== SECRET_BYTES) throw new RangeError(`session secret must be ${SECRET_BYTES} bytes, got ${writer.length}`);
  const pub = createPublicKey(signingKey(writer)).export({ format: 'der', type: 'spki' });
  return { writer, read: derive(writer, 'read-only'), writerKey: new Uint8Array(pub.subarray(pub.length - PUBLIC_KEY_BYTES)) };
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
  return new Uint8Array(sign(null, data, signingKey(keys.writer)));
}

/** Does `signature` prove that a writer signed `data`? */
export function isWriterSignature(keys: SessionKeys, data: Uint8Array, signature: Uint8Array): boolean {
  if (signature.length !== SIGNATURE_BYTES) return false;
  const pub = createPublicKey({ key: Buffer.concat([SPKI_ED25519, keys.writerKey]), format: 'der', type: 'spki' });
  try {
    return verify(null, data, pub, signature);
  } catch {
    return false;
  }
}
