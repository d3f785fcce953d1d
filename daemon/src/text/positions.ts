/**
 * Conversion between editor positions ({line, character} in the negotiated encoding) and the
 * daemon's UTF-16 offsets. Done once, at the protocol edge; everything inside uses offsets.
 */
import type { LineIndex } from './line-index.js';
import type { TextSource } from './rope.js';

export type Encoding = 'utf-8' | 'utf-16' | 'utf-32';

export interface LineChar {
  line: number;
  character: number;
}

/** Why a position could not be converted, in words a person can act on. */
export class PositionError extends Error {}

/** Is UTF-16 code unit `c` the first (high) half of a surrogate pair? */
export const isHigh = (c: number) => c >= 0xd800 && c <= 0xdbff;
/** Is UTF-16 code unit `c` the second (low) half of a surrogate pair? */
export const isLow = (c: number) => c >= 0xdc00 && c <= 0xdfff;

function lineStart(text: string, line: number): number {
  let off = 0;
  for (let l = 0; l < line; l++) {
    const nl = text.indexOf('\n', off);
    if (nl === -1) return -1;
    off = nl + 1;
  }
  return off;
}

function lineEnd(text: string, start: number): number {
  const nl = text.indexOf('\n', start);
  return nl === -1 ? text.length : nl;
}

/** Where `line` (starting at `start`) ends, before its line break: from the line index when there is one. */
function endOfLine(text: TextSource, line: number, start: number, lines: LineIndex | undefined): number {
  if (!lines) return lineEnd(text.toString(), start);
  const next = lines.start(line + 1);
  return next === undefined ? text.length : next - 1;
}

/** Units of `enc` one character takes: `c` is its first UTF-16 unit, `pair` whether it is a surrogate pair. */
function widthOf(c: number, pair: boolean, enc: Encoding): number {
  if (enc === 'utf-16') return pair ? 2 : 1;
  if (enc === 'utf-32') return 1;
  return c < 0x80 ? 1 : c < 0x800 ? 2 : pair ? 4 : 3;
}

/** Units of `enc` in text[from, to). */
export function unitLength(text: TextSource, from: number, to: number, enc: Encoding): number {
  if (enc === 'utf-16') return to - from;
  let n = 0;
  for (let i = from; i < to; i++) {
    const c = text.charCodeAt(i);
    if (enc === 'utf-32') {
      n++;
      if (isHigh(c) && i + 1 < to && isLow(text.charCodeAt(i + 1))) i++;
    } else if (c < 0x80) n += 1;
    else if (c < 0x800) n += 2;
    else if (isHigh(c) && i + 1 < to && isLow(text.charCodeAt(i + 1))) {
      n += 4;
      i++;
    } else n += 3;
  }
  return n;
}

/**
 * The UTF-16 offset of `pos`, or a PositionError saying what is wrong with it. `lines`, when
 * given, must index exactly `text`.
 */
export function toOffset(text: TextSource, pos: LineChar, enc: Encoding, lines?: LineIndex): number {
  const start = lines ? (lines.start(pos.line) ?? -1) : lineStart(text.toString(), pos.line);
  if (start === -1) {
    const count = lines ? lines.lineCount : text.toString().split('\n').length;
    throw new PositionError(`line ${pos.line} is past the end of the document, which has ${count} line${count === 1 ? '' : 's'}`);
  }
  const end = endOfLine(text, pos.line, start, lines);
  if (enc === 'utf-16') {
    const off = start + pos.character;
    if (off > end) throw new PositionError(`character ${pos.character} is past the end of line ${pos.line}, which has ${end - start} UTF-16 code units`);
    if (off > start && off < end && isHigh(text.charCodeAt(off - 1)) && isLow(text.charCodeAt(off))) {
      throw new PositionError(`character ${pos.character} on line ${pos.line} splits a UTF-16 surrogate pair`);
    }
    return off;
  }
  let units = 0;
  let i = start;
  while (units < pos.character) {
    if (i >= end) {
      throw new PositionError(`character ${pos.character} is past the end of line ${pos.line}, which has ${units} ${enc === 'utf-8' ? 'bytes' : 'code points'}`);
    }
    const c = text.charCodeAt(i);
    const pair = isHigh(c) && i + 1 < end && isLow(text.charCodeAt(i + 1));
    units += widthOf(c, pair, enc);
    i += pair ? 2 : 1;
  }
  if (units !== pos.character) throw new PositionError(`character ${pos.character} on line ${pos.line} falls inside a multi-byte character`);
  return i;
}

/**
 * The UTF-16 offset nearest to `pos` within `text`, for positions that may be a little stale (a
 * cursor the editor sent before a remote change reached it): past the end of its line means the
 * line's end, as LSP defines for a Position; a line past the last means the end of the text; a
 * character inside a multi-byte character or a surrogate pair means the start of that character.
 * Never throws. Edits use `toOffset`, which refuses such positions.
 */
export function toOffsetClamped(text: TextSource, pos: LineChar, enc: Encoding, lines?: LineIndex): number {
  try {
    return toOffset(text, pos, enc, lines);
  } catch (e) {
    if (!(e instanceof PositionError)) throw e;
  }
  const start = lines ? (lines.start(pos.line) ?? -1) : lineStart(text.toString(), pos.line);
  if (start === -1) return text.length;
  const end = endOfLine(text, pos.line, start, lines);
  let units = 0;
  let i = start;
  while (i < end) {
    const c = text.charCodeAt(i);
    const pair = isHigh(c) && i + 1 < end && isLow(text.charCodeAt(i + 1));
    const width = widthOf(c, pair, enc);
    if (units + width > pos.character) break;
    units += width;
    i += pair ? 2 : 1;
  }
  return i;
}

/** The position of UTF-16 offset `off` (which must be within the text). */
export function toPosition(source: TextSource, off: number, enc: Encoding, lines?: LineIndex): LineChar {
  if (lines) {
    const line = lines.lineAt(off);
    return { line, character: unitLength(source, lines.start(line)!, off, enc) };
  }
  const text = source.toString();
  let line = 0;
  let start = 0;
  for (let nl = text.indexOf('\n'); nl !== -1 && nl < off; nl = text.indexOf('\n', nl + 1)) {
    line++;
    start = nl + 1;
  }
  return { line, character: unitLength(text, start, off, enc) };
}

/** The position reached after `text`, starting at `from`. */
export function advance(from: LineChar, text: string, enc: Encoding): LineChar {
  const nl = text.lastIndexOf('\n');
  if (nl === -1) return { line: from.line, character: from.character + unitLength(text, 0, text.length, enc) };
  let count = 0;
  for (let i = text.indexOf('\n'); i !== -1; i = text.indexOf('\n', i + 1)) count++;
  return { line: from.line + count, character: unitLength(text, nl + 1, text.length, enc) };
}
