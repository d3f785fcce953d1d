/**
 * What a peer's Automerge change must be before it may enter a document or storage (issue 10,
 * decision 014). Automerge 2.2.9 accepts some corrupted change bytes and then saves state it can
 * never load again ("mismatching heads"), so every change is decoded and re-encoded here, and its
 * hash recomputed from the very bytes that arrived: a flipped byte anywhere fails one of these.
 * Its operations must also fit the document they are for (text, index, extension data), and one
 * change may do only so much (a 100,000-file change traps Automerge).
 */
import * as A from '@automerge/automerge/next';
import { equalBytes } from '@noble/ciphers/utils.js';
import { bytesToHex } from '@noble/hashes/utils.js';
import { sha256 } from '../digest.js';
import { changeColumnsAt, ChunkMalformed, countValues, DEFLATED, RAW_VALUE, Reader, runsOf, STRING_RLE, ULEB } from './chunk-columns.js';

/** A change that may not enter a document; the message says why, for the log. */
export class ChangeRefused extends Error {}

/** Largest raw change accepted from a peer, per kind of document. */
export const MAX_CHANGE_BYTES = 16 * 1024 * 1024;
const MAX_BYTES: Record<DocKind, number> = { text: MAX_CHANGE_BYTES, index: 1024 * 1024, data: 256 * 1024 };
/**
 * Changes up to this size are decoded in full (canonical form, every operation checked). Decoding
 * costs ~20 µs per operation in Automerge 2.2.9 (a 300,000-character paste: 6 s), so larger ones
 * get the header checks only and the document-level checks after applying (the index schema,
 * a text document staying text).
 */
export const FULL_CHECK_BYTES = 64 * 1024;
/** The four bytes every Automerge chunk (change or saved document) starts with. */
export const MAGIC = [0x85, 0x6f, 0x4a, 0x83];
/** Most operations one change may carry (a live text change of 1 Mi characters needs ~1 Mi). */
export const MAX_CHANGE_OPS = 2_500_000;
import { MAX_INDEX_ENTRIES_PER_CHANGE } from '../workspace/index-schema.js';
/** Longest value in one text insertion op (Automerge inserts one character per op). */
const MAX_TEXT_VALUE = 16;

export type DocKind = 'index' | 'text' | 'data';

const FILE_DOC = /^f[0-9a-f]{24}$/;
const HASH = /^[0-9a-f]{64}$/;

export function docKind(docId: string): DocKind {
  if (docId === 'index') return 'index';
  if (docId === 'data') return 'data';
  if (FILE_DOC.test(docId)) return 'text';
  throw new ChangeRefused(`no document can have the id ${JSON.stringify(docId).slice(0, 40)}`);
}

/**
 * Decode `bytes` as one change and prove it is exactly what its hash says: canonical encoding,
 * the header checksum and the hash of the bytes as they arrived. Throws ChangeRefused.
 */
export function decodeVerified(bytes: Uint8Array): A.DecodedChange {
  if (bytes.length > MAX_CHANGE_BYTES) throw new ChangeRefused(`a change of ${bytes.length} bytes is over the ${MAX_CHANGE_BYTES}-byte limit`);
  // Magic (4) | checksum (4) | chunk type | length | body; the hash covers type onwards.
  const hash = sha256(bytes.subarray(8));
  const forged = () => new ChangeRefused('a change whose bytes do not match its hash (corrupted in transit or forged)');
  if (bytes.length < 8 || !equalBytes(hash.subarray(0, 4), bytes.subarray(4, 8))) throw forged();
  const decoded = decodeCanonical(bytes);
  if (bytesToHex(hash) !== decoded.hash) throw forged();
  return decoded;
}

/**
 * Decode `bytes` as one change that Automerge encodes back to the very same bytes, with
 * well-formed dependencies and at most MAX_CHANGE_OPS operations. The hash is the caller's to
 * check (`decodeVerified`, or `checkChanges` with the one `verifyHeader` computed). Throws
 * ChangeRefused.
 */
function decodeCanonical(bytes: Uint8Array): A.DecodedChange {
  let decoded: A.DecodedChange;
  let again: Uint8Array;
  try {
    decoded = A.decodeChange(bytes);
    again = A.encodeChange(decoded);
  } catch (e) {
    throw new ChangeRefused(`not an Automerge change (${(e as Error).message.split('\n')[0]})`);
  }
  if (!equalBytes(again, bytes)) {
    throw new ChangeRefused('a change that is not in canonical form (corrupted or forged)');
  }
  if (!decoded.deps.every((d) => HASH.test(d))) throw new ChangeRefused('a change with a malformed dependency');
  if (decoded.ops.length > MAX_CHANGE_OPS) throw new ChangeRefused(`a change of ${decoded.ops.length} operations is over the ${MAX_CHANGE_OPS} limit`);
  return decoded;
}

/** A kind of document, as a refusal names it. */
const KIND_WORDS: Record<DocKind, string> = { text: 'the text of a file', index: 'the file index', data: 'extension data' };

/** Do the change's operations fit a document of this kind? Throws ChangeRefused. */
export function checkOps(kind: DocKind, change: A.DecodedChange): void {
  const refuse = (why: string) => {
    throw new ChangeRefused(`a change to ${KIND_WORDS[kind]} ${why}`);
  };
  let entries = 0;
  for (const op of change.ops) {
    const atRoot = op.obj === '_root';
    switch (kind) {
      case 'text':
        // The root holds one text object; everything else is a character inserted or deleted.
        if (atRoot) {
          if (op.action !== 'makeText' || op.key !== 'text') refuse(`writes ${JSON.stringify(op.key)} at the top level`);
        } else if (op.action === 'set') {
          if ((op as { insert?: boolean }).insert !== true || typeof op.value !== 'string' || op.value.length > MAX_TEXT_VALUE) refuse('sets something other than a character');
        } else if (op.action !== 'del') refuse(`makes a ${op.action} inside the text`);
        break;
      case 'index':
        if (atRoot) {
          if (op.action !== 'makeMap' || (op.key !== 'files' && op.key !== 'dirs')) refuse(`writes ${JSON.stringify(op.key)} at the top level`);
        } else if (op.action === 'makeMap') entries++;
        break;
      case 'data':
        if (atRoot) {
          if ((op.action !== 'makeMap' && op.action !== 'del') || op.key === '__proto__') refuse(`writes namespace ${JSON.stringify(op.key)} as something other than a map`);
        } else if (op.key === '__proto__') refuse('writes the key "__proto__"');
        else if (op.action === 'set') {
          if (typeof op.value !== 'string' || op.value.length > 64 * 1024 || !isJson(op.value)) refuse('sets something other than a JSON value within the 64 KiB limit');
        } else if (op.action !== 'del') refuse(`makes a ${op.action} inside a namespace`);
        break;
    }
  }
  if (entries > MAX_INDEX_ENTRIES_PER_CHANGE) refuse(`writes ${entries} file entries at once; the limit is ${MAX_INDEX_ENTRIES_PER_CHANGE}`);
}

/** Is `s` one JSON value (what ExtensionData stores, and parses again on every read)? */
function isJson(s: string): boolean {
  try {
    JSON.parse(s);
    return true;
  } catch {
    return false;
  }
}

/** The unsigned LEB128 number at `at` in `b` and where the bytes after it start (chunk-columns' Reader). */
function leb128(b: Uint8Array, at: number): [number, number] {
  const r = new Reader(b);
  r.at = at;
  try {
    return [r.uleb(), r.at];
  } catch {
    throw new ChangeRefused('a truncated change, or one with a malformed length');
  }
}

/** What a change says of itself: its hash, the hashes it depends on, and its actor (hex; '' when unreadable). */
export interface ChangeHeader {
  hash: string;
  deps: string[];
  actor: string;
}

/**
 * The cheap checks every change gets: the chunk framing, its checksum against the sha256 of the
 * bytes as they arrived (any flipped byte fails it), and its dependencies, read from the header.
 */
export function verifyHeader(bytes: Uint8Array, kind: DocKind): ChangeHeader {
  if (bytes.length > MAX_BYTES[kind]) throw new ChangeRefused(`a change of ${bytes.length} bytes is over the ${MAX_BYTES[kind]}-byte limit for this document`);
  if (bytes.length < 10 || MAGIC.some((m, i) => bytes[i] !== m)) throw new ChangeRefused('not an Automerge change');
  if (bytes[8] !== 1) throw new ChangeRefused('not an uncompressed Automerge change');
  const [length, bodyAt] = leb128(bytes, 9);
  if (bodyAt + length !== bytes.length) throw new ChangeRefused('a change whose length does not match its header (truncated or padded)');
  const hash = sha256(bytes.subarray(8));
  if (!equalBytes(hash.subarray(0, 4), bytes.subarray(4, 8))) throw new ChangeRefused('a change whose bytes do not match its hash (corrupted in transit or forged)');
  let [count, at] = leb128(bytes, bodyAt);
  if (at + count * 32 > bytes.length) throw new ChangeRefused('a change with a malformed dependency list');
  const deps: string[] = [];
  for (let i = 0; i < count; i++, at += 32) deps.push(bytesToHex(bytes.subarray(at, at + 32)));
  // The actor follows the dependencies (a length, then its bytes). Only a claim, as the rest of
  // the header is: used to say who made a change, never to trust it.
  let actor = '';
  if (at < bytes.length) {
    const [size, from] = leb128(bytes, at);
    if (size <= 64 && from + size <= bytes.length) actor = bytesToHex(bytes.subarray(from, from + size));
  }
  return { hash: bytesToHex(hash), deps, actor };
}

/**
 * Split raw bytes into the change chunks they hold: a sync message may carry several changes
 * concatenated as one entry. Throws ChangeRefused on framing it cannot follow.
 */
export function splitChunks(bytes: Uint8Array): Uint8Array[] {
  const out: Uint8Array[] = [];
  let at = 0;
  while (at < bytes.length) {
    if (bytes.length - at < 10 || MAGIC.some((m, i) => bytes[at + i] !== m)) throw new ChangeRefused('not an Automerge change');
    const [length, bodyAt] = leb128(bytes, at + 9);
    const end = bodyAt + length;
    if (end > bytes.length) throw new ChangeRefused('a truncated change');
    out.push(bytes.subarray(at, end));
    at = end;
  }
  return out;
}

/**
 * Most operations a change may hold to be decoded in full. Run-length encoding makes a small
 * change carry many: deleting 300,000 characters is a 135-byte change, and decoding and
 * re-encoding it cost 5 s of CPU (2.5 million: ~40 s) where applying it costs a fraction. Such a
 * change gets the checks of a large one (decision 192).
 */
export const FULL_CHECK_OPS = 16 * 1024;

/**
 * Most operations one change may carry, per kind of document, counted from its column headers
 * before anything decodes or applies it (decision 213): a change of ~120 bytes can claim tens of
 * millions (runs of nulls), which Automerge would decode or apply for minutes and gigabytes. A
 * file's text and the index: MAX_CHANGE_OPS (an index entry is ~7 operations now, but indexes
 * written before decision 070 hold paths and hashes as text objects, ~100 per entry, and a
 * 2,000-file batch of those must still reach a new joiner). Extension data: FULL_CHECK_OPS, so
 * every data change is decoded and its values checked (one operation per value written).
 */
export const MAX_OPS: Record<DocKind, number> = { text: MAX_CHANGE_OPS, index: MAX_CHANGE_OPS, data: FULL_CHECK_OPS };

/**
 * How many operations the change chunk `bytes` (framing already verified) holds, read from its
 * column headers: the longest column, its runs expanded, the count stopping once over `max`
 * (then it is over `max`). Cheap whatever the change claims: a run is a count and one value.
 * Throws ChangeRefused for a chunk it cannot follow, or with a deflated column (Automerge never
 * writes one in a change; it could not be counted without inflating it).
 */
export function countOps(bytes: Uint8Array, max: number): number {
  try {
    const r = new Reader(bytes);
    r.at = changeColumnsAt(bytes);
    let ops = 0;
    for (const { spec, length } of [...r.columns()]) {
      const data = r.take(length);
      if (spec & DEFLATED) throw new ChangeRefused('a change with a compressed column (Automerge writes none)');
      if ((spec & 7) !== RAW_VALUE) ops = Math.max(ops, countValues(data, spec & 7, max));
      if (ops > max) break;
    }
    return ops;
  } catch (e) {
    if (e instanceof ChunkMalformed) throw new ChangeRefused('a change whose operation columns cannot be read (truncated or malformed)');
    throw e;
  }
}

/** Automerge's action codes (the action column's values) a change to a file's text may hold: set (an insertion), del, makeText. */
const SET = 1;
const DEL = 3;
const MAKE_TEXT = 4;
/** Column specs (column id << 4 | type) of a change: the object's counter, the key's string, the action. */
const OBJ_CTR = (0 << 4) | ULEB;
const KEY_STR = (1 << 4) | STRING_RLE;
const ACTION = (4 << 4) | ULEB;

/**
 * What is wrong with a change to a file's text too large to be decoded (over FULL_CHECK_BYTES or
 * FULL_CHECK_OPS), read from its columns' runs as `checkOps` reads a decoded one, or undefined:
 * its operations may only insert and delete characters, and at the top level only make the one
 * text object, `text` (a file's first change does). A writer's large change that made `text` a
 * map, deleted it or put a list beside it was applied: the document was no text any more, never
 * "ready", and resynced with every peer each second from then on (decision 213).
 */
function largeTextProblem(bytes: Uint8Array): string | undefined {
  try {
    return textColumnsProblem(bytes);
  } catch (e) {
    if (e instanceof ChunkMalformed) return 'whose operation columns cannot be read';
    throw e;
  }
}

function textColumnsProblem(bytes: Uint8Array): string | undefined {
  const r = new Reader(bytes);
  r.at = changeColumnsAt(bytes);
  const columns = new Map([...r.columns()].map(({ spec, length }) => [spec, r.take(length)] as const));
  // One action per operation: its rows are the operations.
  let ops = 0;
  let makeText = 0;
  for (const { n, value } of runsOf(columns.get(ACTION) ?? new Uint8Array(), ULEB)) {
    ops += n;
    if (value === MAKE_TEXT) makeText += n;
    else if (value !== SET && value !== DEL) return `makes something other than characters (action ${String(value)})`;
  }
  // A top-level operation has no object: a null in the object column (absent when all are).
  let inObjects = 0;
  for (const { n, value } of runsOf(columns.get(OBJ_CTR) ?? new Uint8Array(), ULEB)) if (value !== null) inObjects += n;
  const topLevel = ops - inObjects;
  let keys = 0;
  for (const { n, value } of runsOf(columns.get(KEY_STR) ?? new Uint8Array(), STRING_RLE)) {
    if (value === null) continue;
    if (value !== 'text') return `writes ${JSON.stringify(value).slice(0, 40)} at the top level`;
    keys += n;
  }
  if (makeText > 1 || topLevel !== makeText || keys > makeText) return 'writes at the top level other than by making its text';
  return undefined;
}

/**
 * Check a batch of raw changes for one document: each verified (verifyHeader), and, when small
 * enough in bytes and operations, decoded in full, canonical, and fitting the document
 * (checkOps). Throws ChangeRefused.
 */
export function checkChanges(docId: string, changes: Uint8Array[]): Array<ChangeHeader & { bytes: Uint8Array }> {
  const kind = docKind(docId);
  return changes.flatMap(splitChunks).map((c) => {
    const header = verifyHeader(c, kind);
    const ops = countOps(c, MAX_OPS[kind]);
    if (ops > MAX_OPS[kind]) throw new ChangeRefused(`a change of over ${MAX_OPS[kind].toLocaleString('en-US')} operations, more than one change to ${KIND_WORDS[kind]} may make`);
    // Extension data is always decoded (its ops are few, MAX_OPS): its values are checked.
    if (kind === 'data' || (c.length <= FULL_CHECK_BYTES && ops <= FULL_CHECK_OPS)) {
      // verifyHeader hashed these very bytes; the decoded hash must be that one
      const d = decodeCanonical(c);
      if (d.hash !== header.hash) throw new ChangeRefused('a change whose bytes do not match its hash (corrupted in transit or forged)');
      checkOps(kind, d);
    } else if (kind === 'text') {
      const problem = largeTextProblem(c);
      if (problem) throw new ChangeRefused(`a change to ${KIND_WORDS.text} ${problem}`);
    }
    return { ...header, bytes: c };
  });
}
