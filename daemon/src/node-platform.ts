/**
 * The daemon's (Node's) faster versions of what the platform-neutral core can take from its
 * platform (decision 065). The network edges are in net/node-transports.ts.
 */
import { createHash } from 'node:crypto';
import { useSha256 } from './digest.js';

/** Hash with node:crypto in the core from now on (same digests as @noble/hashes, ~7× faster on large inputs). */
export function useNodeDigest(): void {
  useSha256((data) => createHash('sha256').update(data).digest());
}
