/**
 * What a peer's saved document (a `snapshot` message) must be before Automerge loads it
 * (decision 192). Automerge compresses a saved document's columns with DEFLATE and run-length
 * encodes their values, so a 1,179-byte document can hold a million characters: loading it took a
 * daemon from 81 to 507 MB with its event loop blocked for over 10 s. Its size once loaded is
 * bounded here from the chunk's own header, before Automerge sees a byte of it: every column is
 * inflated (at most to the budget) and its values counted, which costs a few milliseconds where
 * loading costs seconds.
 */
import { ChangeRefused, MAGIC, MAX_CHANGE_BYTES, MAX_CHANGE_OPS, type DocKind } from './change-check.js';
import { Inflate } from 'pako';
import { ChunkMalformed, countValues, DEFLATED, RAW_VALUE, Reader } from './chunk-columns.js';

/**
 * Most bytes and values a saved document may hold per byte that arrived, once inflated and its
 * runs expanded, beyond SNAPSHOT_ALLOWANCE. Source text deflates 3–10 to 1 (a 200,000-character
 * file with 5,200 edits: 12 to 1); deflate alone reaches about 1,000 to 1 and run-length encoding
 * has no limit (a million 'a' typed in one change saves to 1,179 bytes). A document over the
 * budget is not taken whole; the peer's sync that follows every snapshot brings the same history
 * change by change, so an honest one refused costs time, not data.
 */
export const SNAPSHOT_EXPANSION = 32;
/**
 * Bytes and values any saved document may expand to whatever its size. One person typing in
 * order compresses far better than 32 to 1: 250,000 keystrokes (one change each, one second
 * apart) save to 999 bytes, as runs. Loading this many operations costs about a second of CPU.
 */
export const SNAPSHOT_ALLOWANCE = 512 * 1024;
/** Largest saved document, inflated, per kind: what one change to it may be on the changes path. */
const MAX_INFLATED: Record<DocKind, number> = { text: MAX_CHANGE_BYTES, index: 1024 * 1024, data: 256 * 1024 };
/** Thrown from `inflateBounded`'s output handler to stop inflating once `max` bytes came out. */
class OverBudget extends Error {}

/**
 * Inflate raw DEFLATE `data`, stopping as soon as more than `max` bytes come out (OverBudget), so
 * a bomb costs at most `max` bytes of memory and the CPU to make them. pako, not node:zlib: this
 * module is part of the platform-neutral core the browser page bundles too (decision 065), and
 * the page has no synchronous inflate of its own; one inflate serves both (decision 192). Throws
 * ChunkMalformed when the data is not DEFLATE or ends early.
 */
function inflateBounded(data: Uint8Array, max: number): Uint8Array {
  const chunks: Uint8Array[] = [];
  let total = 0;
  const inflater = new Inflate({ raw: true, chunkSize: 64 * 1024 });
  inflater.onData = (chunk) => {
    total += chunk.length;
    if (total > max) throw new OverBudget();
    chunks.push(chunk);
  };
  inflater.onEnd = () => undefined;
  inflater.push(data, true);
  if (inflater.err !== 0 || !inflater.ended) throw new ChunkMalformed('a damaged compressed column');
  if (chunks.length === 1) return chunks[0]!;
  const out = new Uint8Array(total);
  let at = 0;
  for (const c of chunks) {
    out.set(c, at);
    at += c.length;
  }
  return out;
}

const DOCUMENT_CHUNK = 0;

/** What a saved document holds, as bounded by `checkSnapshot`. */
export interface SnapshotSize {
  /** Its columns' bytes once inflated. */
  inflated: number;
  /** The longest column, in values: at least its number of operations, or of changes. */
  rows: number;
}

/**
 * Check that `bytes` is one Automerge document chunk (what `A.save` makes) whose columns, inflated
 * and with their runs expanded, stay within the budget for a document of `kind`: at most
 * SNAPSHOT_EXPANSION times its size plus SNAPSHOT_ALLOWANCE, and at most what one change to such
 * a document may be (MAX_CHANGE_BYTES, MAX_CHANGE_OPS). Automerge still checks everything else
 * when it loads it (the checksum, the operations). Throws ChangeRefused saying why.
 */
export function checkSnapshot(kind: DocKind, bytes: Uint8Array): SnapshotSize {
  try {
    return measure(kind, bytes);
  } catch (e) {
    if (e instanceof ChunkMalformed) throw new ChangeRefused('a truncated or malformed saved document');
    throw e;
  }
}

function measure(kind: DocKind, bytes: Uint8Array): SnapshotSize {
  const budget = SNAPSHOT_EXPANSION * bytes.length + SNAPSHOT_ALLOWANCE;
  const maxBytes = Math.min(budget, MAX_INFLATED[kind]);
  const maxRows = Math.min(budget, MAX_CHANGE_OPS);
  const r = new Reader(bytes);
  if (bytes.length < 10 || MAGIC.some((m, i) => bytes[i] !== m)) throw new ChangeRefused('a saved document without Automerge framing');
  r.at = 8;
  if (r.byte() !== DOCUMENT_CHUNK) throw new ChangeRefused('a saved document that is not one document chunk');
  const length = r.uleb();
  const end = r.at + length;
  if (end !== bytes.length) throw new ChangeRefused('a saved document whose length does not match its header (truncated, padded or several chunks)');
  r.end = end;
  const actors = r.uleb();
  for (let i = 0; i < actors; i++) r.skip(r.uleb());
  r.skip(32 * r.uleb()); // heads
  const columns = [...r.columns(), ...r.columns()]; // the changes', then the operations'
  let inflated = 0;
  let rows = 0;
  for (const { spec, length: size } of columns) {
    let data = r.take(size);
    if (spec & DEFLATED) {
      try {
        data = inflateBounded(data, Math.max(1, maxBytes - inflated));
      } catch (e) {
        if (e instanceof OverBudget) throw overBytes(kind, bytes.length, maxBytes);
        throw new ChangeRefused('a saved document with a damaged compressed column');
      }
    }
    inflated += data.length;
    if (inflated > maxBytes) throw overBytes(kind, bytes.length, maxBytes);
    const type = spec & 7;
    if (type === RAW_VALUE) continue; // bytes, counted above; their values are counted in the metadata column
    rows = Math.max(rows, countValues(data, type, maxRows));
    if (rows > maxRows) throw new ChangeRefused(`a saved document of ${bytes.length} bytes with a column of over ${maxRows} values, more than a document sent whole may hold`);
  }
  return { inflated, rows };
}

function overBytes(kind: DocKind, size: number, max: number): ChangeRefused {
  return new ChangeRefused(`a saved document of ${size} bytes that would inflate to over ${max} bytes, more than a ${kind === 'text' ? 'file' : kind} document sent whole may`);
}

