/**
 * SHA-256 for the core (change checks, content hashes, derived actor ids). Platform-neutral:
 * @noble/hashes by default; a platform with a faster native hash installs it with `useSha256`
 * (the daemon installs node:crypto's at start, node-platform.ts), because on large inputs native
 * hashing is about 7× faster (decision 065). Both give the same digests.
 */
import { sha256 as nobleSha256 } from '@noble/hashes/sha2.js';
import { bytesToHex, utf8ToBytes } from '@noble/hashes/utils.js';

/** SHA-256 of bytes, or of a string's UTF-8 encoding; 32 bytes. */
export type Sha256 = (data: Uint8Array | string) => Uint8Array;

let impl: Sha256 = (data) => nobleSha256(typeof data === 'string' ? utf8ToBytes(data) : data);

/** Use `fast` from now on. It must compute SHA-256 exactly (peers compare these digests). */
export function useSha256(fast: Sha256): void {
  impl = fast;
}

/** SHA-256 of `data` (a string is hashed as UTF-8): 32 bytes. */
export function sha256(data: Uint8Array | string): Uint8Array {
  return impl(data);
}

/** SHA-256 of `data` as 64 lowercase hex characters. */
export function sha256Hex(data: Uint8Array | string): string {
  return bytesToHex(impl(data));
}
