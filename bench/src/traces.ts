// Real editing traces (Joseph Gentle's editing-traces, CC BY 4.0; automerge-paper prepared by
// Martin Kleppmann) replayed keystroke by keystroke with UTF-16 offsets.
//
// Dependency-free on purpose (node: builtins only): the project's conformance test replays the
// same traces through real daemons and editors with this module, and the benchmark reuses it.

import { readFileSync } from 'node:fs';
import { basename } from 'node:path';
import { gunzipSync } from 'node:zlib';

/** One patch of a trace: `[position, deleteCount, insertText]`, positions and counts in Unicode code points. */
export type Patch = [pos: number, del: number, insert: string];

/** A sequential trace, as in the editing-traces collection. */
export interface SequentialTrace {
  /** The trace's name: its file name without `.json.gz` (or `.json`). */
  name: string;
  startContent: string;
  endContent: string;
  txns: { time?: string; patches: Patch[] }[];
}

/**
 * One keystroke: a single patch of the trace, with offsets converted to UTF-16 code units
 * against the text as it is just before this keystroke (what an editor speaking `utf-16` sends).
 */
export interface Keystroke {
  /** Position in the trace, counting every patch of every transaction from 0. */
  index: number;
  /** UTF-16 offset where the edit starts. */
  pos: number;
  /** UTF-16 code units deleted from `pos`. */
  del: number;
  /** Text inserted at `pos` after the deletion. */
  insert: string;
}

/** Reads a sequential trace from a `.json.gz` (or plain `.json`) file; throws on a concurrent one. */
export function loadTrace(file: string): SequentialTrace {
  const raw = readFileSync(file);
  const json = file.endsWith('.gz') ? gunzipSync(raw).toString('utf8') : raw.toString('utf8');
  const data = JSON.parse(json) as Partial<SequentialTrace> & { kind?: string };
  if (data.kind === 'concurrent') throw new Error(`${file}: a concurrent trace; only sequential traces replay here`);
  if (typeof data.endContent !== 'string' || !Array.isArray(data.txns)) {
    throw new Error(`${file}: not a sequential trace (needs endContent and txns)`);
  }
  return {
    name: basename(file).replace(/\.json(\.gz)?$/, ''),
    startContent: data.startContent ?? '',
    endContent: data.endContent,
    txns: data.txns,
  };
}

/** Number of keystrokes (patches) in the whole trace. */
export function keystrokeCount(trace: SequentialTrace): number {
  let n = 0;
  for (const t of trace.txns) n += t.patches.length;
  return n;
}

const ASTRAL = /[\uD800-\uDBFF][\uDC00-\uDFFF]/;

/** Code-point indices (relative to the string) of every astral character in `s`. */
function astralIndices(s: string): number[] {
  const out: number[] = [];
  if (!ASTRAL.test(s)) return out;
  let cp = 0;
  for (let i = 0; i < s.length; i++, cp++) {
    const c = s.charCodeAt(i);
    if (c >= 0xd800 && c < 0xdc00 && i + 1 < s.length) {
      const d = s.charCodeAt(i + 1);
      if (d >= 0xdc00 && d < 0xe000) { out.push(cp); i++; }
    }
  }
  return out;
}

/** Number of entries of the sorted array `a` below `x`. */
function lowerBound(a: number[], x: number): number {
  let lo = 0, hi = a.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (a[mid]! < x) lo = mid + 1; else hi = mid;
  }
  return lo;
}

/**
 * Converts a trace's code-point patches to UTF-16 keystrokes without keeping the text: it tracks
 * only where the astral characters (the ones that take two UTF-16 units) are, so a trace without
 * any costs O(1) per keystroke, and one with k of them O(log k + k) at worst.
 */
export class Utf16Converter {
  /** Code-point positions of astral characters in the current text, ascending. */
  private astral: number[];

  constructor(startContent = '') {
    this.astral = astralIndices(startContent);
  }

  /** Converts one patch against the current text and advances the text past it. */
  convert(index: number, [pos, del, insert]: Patch): Keystroke {
    const a = this.astral;
    const ins = astralIndices(insert);
    if (a.length === 0 && ins.length === 0) return { index, pos, del, insert };
    const before = lowerBound(a, pos);
    const end = lowerBound(a, pos + del);
    const k: Keystroke = { index, pos: pos + before, del: del + (end - before), insert };
    const shift = [...insert].length - del;
    const tail = a.slice(end).map((p) => p + shift);
    this.astral = a.slice(0, before).concat(ins.map((p) => p + pos), tail);
    return k;
  }
}

/** Every keystroke of the trace in order (or the first `limit`), with UTF-16 offsets. */
export function* keystrokes(trace: SequentialTrace, limit = Infinity): Generator<Keystroke> {
  const conv = new Utf16Converter(trace.startContent);
  let index = 0;
  for (const txn of trace.txns) {
    for (const patch of txn.patches) {
      if (index >= limit) return;
      yield conv.convert(index, patch);
      index++;
    }
  }
}

/** The keystrokes as an array (so that converting them is not part of what a benchmark times). */
export function keystrokeArray(trace: SequentialTrace, limit = Infinity): Keystroke[] {
  return Array.from(keystrokes(trace, limit));
}

/** Applies one UTF-16 keystroke to a string. */
export function applyKeystroke(text: string, k: Keystroke): string {
  return text.slice(0, k.pos) + k.insert + text.slice(k.pos + k.del);
}

/**
 * The text after the first `n` keystrokes (the whole trace: `endContent`). Applies them to an
 * array of chunks so that long traces stay linear-ish rather than copying the text each time.
 */
export function textAfter(trace: SequentialTrace, n = Infinity): string {
  return n >= keystrokeCount(trace) ? trace.endContent : replay(trace, n);
}

/** Replays the first `n` keystrokes from `startContent`. */
function replay(trace: SequentialTrace, n: number): string {
  const CHUNK = 4096;
  const chunks: string[] = [trace.startContent];
  for (const k of keystrokes(trace, n)) {
    // find the chunk holding k.pos (an insertion at a chunk's end goes into that chunk)
    let i = 0, off = k.pos;
    while (i < chunks.length - 1 && off > chunks[i]!.length) { off -= chunks[i]!.length; i++; }
    let del = k.del;
    let c = chunks[i]!;
    // gather following chunks until the deletion fits inside this one
    while (off + del > c.length && i + 1 < chunks.length) { c += chunks[i + 1]!; chunks.splice(i + 1, 1); }
    c = c.slice(0, off) + k.insert + c.slice(off + del);
    del = 0;
    if (c.length > 2 * CHUNK) {
      const parts: string[] = [];
      for (let j = 0; j < c.length; j += CHUNK) parts.push(c.slice(j, j + CHUNK));
      chunks.splice(i, 1, ...parts);
    } else {
      chunks[i] = c;
    }
  }
  return chunks.join('');
}

/**
 * Checks that replaying the whole trace with UTF-16 keystrokes gives `endContent`; returns the
 * problem, or null. The conformance test and the benchmark call it before trusting a trace file.
 */
export function verifyTrace(trace: SequentialTrace): string | null {
  const got = replay(trace, Infinity);
  return got === trace.endContent ? null : `${trace.name}: replay gives ${got.length} chars, endContent has ${trace.endContent.length}`;
}
