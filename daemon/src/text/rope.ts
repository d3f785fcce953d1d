/**
 * A file's text as a list of chunks, immutable: applying an op returns a new rope that shares
 * every chunk the op did not touch. The daemon's mirror of a live document (TextDoc) is one, so
 * a keystroke in a large file costs a copy of one chunk, not of the whole text: a JavaScript
 * string edited by `slice` and `+` is copied whole the next time it is read (V8 flattens the
 * concatenation), which measured 1.5 ms per keystroke on a 300,000-character file and 12 ms on
 * 3,000,000, against 0.03 ms with chunks (decision 275). The whole text as one string is made
 * only when something asks for it (`toString`: a write to disk, a hash), once per version.
 */
import type { TextOp } from './text-op.js';

/**
 * What position conversion, inversion and the wire read of a text, so they take a string or a
 * Rope alike: UTF-16 code units, JavaScript's string indexing.
 */
export interface TextSource {
  readonly length: number;
  charCodeAt(index: number): number;
  slice(start: number, end?: number): string;
  toString(): string;
}

/** `text` as a Rope: itself when it is one (no copy either way: see `Rope.of`). */
export function asRope(text: TextSource): Rope {
  return text instanceof Rope ? text : Rope.of(text.toString());
}

/** Chunks are cut to this many code units when made or split. */
const CHUNK = 4096;
/** A chunk grown past this by insertions is split into CHUNK-sized ones. */
const MAX_CHUNK = 2 * CHUNK;
/** A chunk shrunk below this by deletions is merged into its neighbour when the two fit in MAX_CHUNK. */
const MIN_CHUNK = CHUNK / 8;

function cut(text: string, into: string[]): void {
  for (let i = 0; i < text.length; i += CHUNK) into.push(text.slice(i, i + CHUNK));
}

export class Rope implements TextSource {
  /** The whole text, once something asked for it (see `toString`). */
  private flat: string | undefined;
  /** The chunk `charCodeAt` read last and where it starts: a scan along a line stays in one chunk. */
  private lastChunk = 0;
  private lastStart = 0;

  private constructor(
    /** Non-empty chunks, in order; none when the text is empty. Never changed once made. */
    private readonly chunks: readonly string[],
    readonly length: number,
  ) {}

  static of(text: string): Rope {
    const chunks: string[] = [];
    cut(text, chunks);
    const rope = new Rope(chunks, text.length);
    rope.flat = text;
    return rope;
  }

  /**
   * The text after `op` (ot-text's form: retain n, insert 'str', delete {d: n}), as a new rope;
   * this one is unchanged. As ot-text's `apply` (ot-text 1.0.2, lib/text.js): throws on an op
   * that is not in its form (an empty part, a zero or trailing retain, two retains in a row) and
   * when a retain reaches past the end; a delete past the end deletes what there is.
   */
  apply(op: TextOp): Rope {
    if (!Array.isArray(op)) throw new Error('Op must be an array of components');
    const chunks = this.chunks.slice();
    let length = this.length;
    let pos = 0;
    let last: TextOp[number] | undefined;
    for (const c of op) {
      if (typeof c === 'number') {
        if (!(c > 0)) throw new Error('Skip components must be >0');
        if (typeof last === 'number') throw new Error('Adjacent skip components should be combined');
        pos += c;
        if (pos > length) throw new Error('The op is too long for this document');
      } else if (typeof c === 'string') {
        if (!(c.length > 0)) throw new Error('Inserts cannot be empty');
        insert(chunks, pos, c);
        pos += c.length;
        length += c.length;
      } else {
        if (!(typeof c.d === 'number' && c.d > 0)) throw new Error('Object components must be deletes of size > 0');
        const n = Math.min(c.d, length - pos);
        if (n > 0) {
          remove(chunks, pos, n);
          length -= n;
        }
      }
      last = c;
    }
    if (typeof last === 'number') throw new Error('Op has a trailing skip');
    return new Rope(chunks, length);
  }

  charCodeAt(index: number): number {
    if (this.flat !== undefined) return this.flat.charCodeAt(index);
    if (index < 0 || index >= this.length) return NaN;
    let i = this.lastChunk;
    let start = this.lastStart;
    if (index < start) {
      i = 0;
      start = 0;
    }
    while (index >= start + this.chunks[i]!.length) start += this.chunks[i++]!.length;
    this.lastChunk = i;
    this.lastStart = start;
    return this.chunks[i]!.charCodeAt(index - start);
  }

  /** Code units [start, end) as a string, as `String.prototype.slice` takes them (negative counts from the end). */
  slice(start: number, end = this.length): string {
    if (this.flat !== undefined) return this.flat.slice(start, end);
    const from = Math.max(0, start < 0 ? this.length + start : Math.min(start, this.length));
    const to = Math.max(0, end < 0 ? this.length + end : Math.min(end, this.length));
    if (to <= from) return '';
    const parts: string[] = [];
    let at = 0;
    for (const chunk of this.chunks) {
      const next = at + chunk.length;
      if (next > from) {
        parts.push(chunk.slice(Math.max(0, from - at), to - at));
        if (next >= to) break;
      }
      at = next;
    }
    return parts.length === 1 ? parts[0]! : parts.join('');
  }

  /** The whole text as one string: made on the first call, kept for the next. */
  toString(): string {
    return (this.flat ??= this.chunks.length === 1 ? this.chunks[0]! : this.chunks.join(''));
  }
}

/** The chunk holding offset `pos` (the last one at the very end) and where it starts; -1 when there are none. */
function locate(chunks: readonly string[], pos: number): { i: number; start: number } {
  let start = 0;
  for (let i = 0; i < chunks.length; i++) {
    const end = start + chunks[i]!.length;
    if (pos < end || i === chunks.length - 1) return { i, start };
    start = end;
  }
  return { i: -1, start: 0 };
}

function insert(chunks: string[], pos: number, text: string): void {
  const { i, start } = locate(chunks, pos);
  if (i === -1) {
    cut(text, chunks);
    return;
  }
  const chunk = chunks[i]!;
  const at = pos - start;
  const joined = chunk.slice(0, at) + text + chunk.slice(at);
  if (joined.length <= MAX_CHUNK) chunks[i] = joined;
  else {
    const parts: string[] = [];
    cut(joined, parts);
    chunks.splice(i, 1, ...parts);
  }
}

function remove(chunks: string[], pos: number, n: number): void {
  let { i, start } = locate(chunks, pos);
  let left = n;
  while (left > 0) {
    const chunk = chunks[i]!;
    const at = pos - start;
    const take = Math.min(left, chunk.length - at);
    const rest = chunk.slice(0, at) + chunk.slice(at + take);
    left -= take;
    if (rest.length === 0) chunks.splice(i, 1);
    else {
      chunks[i] = rest;
      start += rest.length;
      i++;
    }
  }
  // A chunk worn small by deletions joins a neighbour, so deleting a file's text bit by bit does
  // not leave thousands of tiny chunks to walk.
  const j = Math.min(i, chunks.length - 1);
  for (const k of [j - 1, j]) {
    const a = chunks[k];
    const b = chunks[k + 1];
    if (a !== undefined && b !== undefined && (a.length < MIN_CHUNK || b.length < MIN_CHUNK) && a.length + b.length <= MAX_CHUNK) {
      chunks.splice(k, 2, a + b);
      return;
    }
  }
}
