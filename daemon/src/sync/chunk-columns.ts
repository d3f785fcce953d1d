/**
 * Reading the columns of an Automerge chunk (a saved document, a change) without Automerge: how
 * many values each holds once its runs are expanded, so that the work a chunk asks for is known
 * before Automerge is given it (decision 192). Malformed input is a ChunkMalformed.
 */

/** A chunk this module cannot follow (truncated, a number too long). */
export class ChunkMalformed extends Error {}

/** Column types (the low three bits of a column's spec; bit 3 says it is deflated). */
export const ULEB = 2;
export const BOOLEAN = 4;
export const STRING_RLE = 5;
export const RAW_VALUE = 7;
export const DEFLATED = 8;

/**
 * How many values a column of `type` holds (its runs expanded), counting stops once over `max`
 * (then the count returned is over `max`). Boolean columns are alternating run lengths; the others
 * are runs (a positive count and one value), literals (a negative count and that many values) or
 * nulls (0 and a count). Raw-value columns are bytes, not values: their caller counts those.
 */
export function countValues(data: Uint8Array, type: number, max: number): number {
  const r = new Reader(data);
  let n = 0;
  const value = () => (type === STRING_RLE ? r.skip(r.uleb()) : r.leb());
  while (r.at < r.end && n <= max) {
    if (type === BOOLEAN) {
      n += r.uleb();
      continue;
    }
    const count = r.sleb();
    if (count > 0) {
      value();
      n += count;
    } else if (count < 0) {
      for (let i = 0; i < -count; i++) value();
      n -= count;
    } else n += r.uleb();
  }
  return n;
}

/**
 * The runs of a run-length encoded column of unsigned numbers (`type` ULEB, or an actor column's 1) or strings
 * (STRING_RLE): each value (null for a run of nulls) and how many rows it holds. Throws
 * ChunkMalformed where it cannot follow them.
 */
export function* runsOf(data: Uint8Array, type: number): Generator<{ n: number; value: number | string | null }> {
  const r = new Reader(data);
  const utf8 = new TextDecoder();
  const value = (): number | string => (type === STRING_RLE ? utf8.decode(r.take(r.uleb())) : r.uleb());
  while (r.at < r.end) {
    const count = r.sleb();
    if (count > 0) yield { n: count, value: value() };
    else if (count < 0) for (let i = 0; i < -count; i++) yield { n: 1, value: value() };
    else yield { n: r.uleb(), value: null };
  }
}

/**
 * Where the column list of the change chunk `bytes` begins: past its magic, checksum, type and
 * length, then its dependencies, actor, sequence number, start op, time, message and other
 * actors (Automerge's change layout). Throws ChunkMalformed where it cannot follow them.
 */
export function changeColumnsAt(bytes: Uint8Array): number {
  const r = new Reader(bytes);
  r.at = 9;
  r.uleb(); // the length
  r.skip(32 * r.uleb()); // dependencies
  r.skip(r.uleb()); // actor
  r.uleb(); // seq
  r.uleb(); // start op
  r.sleb(); // time
  r.skip(r.uleb()); // message
  const others = r.uleb();
  for (let i = 0; i < others; i++) r.skip(r.uleb());
  return r.at;
}

/** A cursor over a chunk; reading past its end is a ChunkMalformed. */
export class Reader {
  at = 0;
  end: number;
  constructor(private readonly b: Uint8Array) {
    this.end = b.length;
  }

  private truncated(): ChunkMalformed {
    return new ChunkMalformed('truncated or malformed');
  }

  byte(): number {
    if (this.at >= this.end) throw this.truncated();
    return this.b[this.at++]!;
  }

  /** An unsigned LEB128 number (at most 2^53: anything longer is malformed here). */
  uleb(): number {
    let value = 0;
    for (let shift = 0; shift < 53; shift += 7) {
      const x = this.byte();
      value += (x & 0x7f) * 2 ** shift;
      if (!(x & 0x80)) return value;
    }
    throw this.truncated();
  }

  /** A signed LEB128 number. */
  sleb(): number {
    let value = 0;
    for (let shift = 0; shift < 53; shift += 7) {
      const x = this.byte();
      value += (x & 0x7f) * 2 ** shift;
      if (!(x & 0x80)) return x & 0x40 ? value - 2 ** (shift + 7) : value;
    }
    throw this.truncated();
  }

  /** Skip one LEB128 number, whatever its sign. */
  leb(): void {
    for (let i = 0; i < 10; i++) if (!(this.byte() & 0x80)) return;
    throw this.truncated();
  }

  skip(n: number): void {
    if (n > this.end - this.at) throw this.truncated();
    this.at += n;
  }

  take(n: number): Uint8Array {
    const from = this.at;
    this.skip(n);
    return this.b.subarray(from, this.at);
  }

  /** A column list: a count, then each column's spec and data length. */
  *columns(): Generator<{ spec: number; length: number }> {
    const count = this.uleb();
    for (let i = 0; i < count; i++) yield { spec: this.uleb(), length: this.uleb() };
  }
}
