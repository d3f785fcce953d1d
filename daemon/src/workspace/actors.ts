/**
 * Which Automerge actor id a daemon's changes carry. Automerge numbers each actor's changes 1, 2,
 * 3… and refuses a second, different change with a number it holds ("duplicate seq"): a document
 * that has both can no longer be saved, loaded or synced. A daemon whose saved state lost its last
 * changes (a log cut at a record boundary: a power loss before the fsync, a disk fault, a backup
 * restored) cannot know which numbers it used, and those changes may be at peers: under one actor
 * for good, its next change reused a number and the file split from the session for good (trials
 * s48 and s48b; decision 230). So each run of a daemon takes an actor of its own, as Automerge
 * advises for any process that may lose state: its identity id, then 4 random bytes. The identity
 * part still tells this daemon's changes of earlier runs from others' (`sameDaemon`).
 */
import { bytesToHex, randomBytes } from '@noble/hashes/utils.js';

/** Hex characters of the identity part of an actor id (an identity id is 16 bytes). */
const IDENTITY_HEX = 32;

/**
 * The actor id for this run of the daemon whose identity id is `identityId` (32 hex characters):
 * that id and 8 random hex characters. A different one at every call.
 */
export function runActor(identityId: string): string {
  return identityId.slice(0, IDENTITY_HEX) + bytesToHex(randomBytes(4));
}

/** Were changes by actors `x` and `y` made by the same daemon (in any of its runs)? */
export function sameDaemon(x: string, y: string): boolean {
  return x.length >= IDENTITY_HEX && x.slice(0, IDENTITY_HEX) === y.slice(0, IDENTITY_HEX);
}

/**
 * The identity id (a member's id in the session) of a daemon's actor id, or undefined for an actor
 * not of a daemon's form (32 hex characters, then the run's 8, or none from before decision 230).
 */
export function identityOf(actor: string): string | undefined {
  return /^[0-9a-f]{32}(?:[0-9a-f]{8})?$/.test(actor) ? actor.slice(0, IDENTITY_HEX) : undefined;
}
