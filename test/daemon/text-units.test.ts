// Unit tests of the text layer: line index, position conversion, and op helpers.
import { describe, expect, it } from 'vitest';
import { LineIndex } from '../../daemon/src/text/line-index.js';
import { advance, PositionError, toOffset, toOffsetClamped, toPosition } from '../../daemon/src/text/positions.js';
import { applyOp, opToSplices, spliceOp, splicesToOp } from '../../daemon/src/text/text-op.js';
import { diffToOp } from '../../daemon/src/text/diff-op.js';
import { seeded } from '../support/project-dir.js';

describe('LineIndex', () => {
  it('stays equal to a fresh index through random splices', () => {
    const rand = seeded(7);
    let text = 'a\nbc\n\nd';
    const idx = LineIndex.of(text);
    const pieces = ['', 'x', '\n', 'y\nz', '\n\n', 'long line without newline'];
    for (let i = 0; i < 2000; i++) {
      const at = Math.floor(rand() * (text.length + 1));
      const del = Math.floor(rand() * Math.min(6, text.length - at + 1));
      const ins = pieces[Math.floor(rand() * pieces.length)]!;
      text = text.slice(0, at) + ins + text.slice(at + del);
      idx.splice(at, del, ins);
      const fresh = LineIndex.of(text);
      const starts = (x: LineIndex) => Array.from({ length: x.lineCount }, (_, l) => x.start(l));
      expect(starts(idx)).toEqual(starts(fresh));
    }
  });
});

describe('positions', () => {
  const text = 'aé😀b\n中\n';
  it('converts in each encoding, with and without an index', () => {
    const lines = LineIndex.of(text);
    // offset of 'b' is 4 in UTF-16 (a, é, surrogate pair)
    expect(toPosition(text, 4, 'utf-16')).toEqual({ line: 0, character: 4 });
    expect(toPosition(text, 4, 'utf-8', lines)).toEqual({ line: 0, character: 1 + 2 + 4 });
    expect(toPosition(text, 4, 'utf-32')).toEqual({ line: 0, character: 3 });
    expect(toOffset(text, { line: 0, character: 7 }, 'utf-8', lines)).toBe(4);
    expect(toOffset(text, { line: 0, character: 3 }, 'utf-32')).toBe(4);
    expect(toOffset(text, { line: 1, character: 3 }, 'utf-8')).toBe(7);
    expect(toOffset(text, { line: 2, character: 0 }, 'utf-16', lines)).toBe(text.length);
  });
  it('refuses positions past the end, splitting characters, or past the last line', () => {
    const lines = LineIndex.of(text);
    expect(() => toOffset(text, { line: 0, character: 6 }, 'utf-16', lines)).toThrow(PositionError);
    expect(() => toOffset(text, { line: 0, character: 3 }, 'utf-16')).toThrow(/surrogate pair/);
    expect(() => toOffset(text, { line: 0, character: 2 }, 'utf-8')).toThrow(/multi-byte/);
    expect(() => toOffset(text, { line: 3, character: 0 }, 'utf-8', lines)).toThrow(/line 3 is past the end/);
  });
  it('clamps a stale cursor instead of refusing it: line end, text end, start of a split character', () => {
    const lines = LineIndex.of(text);
    // Line 0 is 'aé😀b': 5 UTF-16 units, 8 UTF-8 bytes, 4 code points; its end is offset 5.
    for (const enc of ['utf-8', 'utf-16', 'utf-32'] as const) {
      expect(toOffsetClamped(text, { line: 0, character: 99 }, enc, lines)).toBe(5);
      expect(toOffsetClamped(text, { line: 0, character: 99 }, enc)).toBe(5);
      expect(toOffsetClamped(text, { line: 7, character: 0 }, enc, lines)).toBe(text.length);
      expect(toOffsetClamped(text, { line: 7, character: 3 }, enc)).toBe(text.length);
    }
    expect(toOffsetClamped(text, { line: 0, character: 3 }, 'utf-16', lines)).toBe(2); // inside the pair: before 😀
    expect(toOffsetClamped(text, { line: 0, character: 2 }, 'utf-8')).toBe(1); // inside é: before it
    expect(toOffsetClamped(text, { line: 0, character: 5 }, 'utf-8', lines)).toBe(2); // inside 😀's 4 bytes
    // Good positions convert as toOffset does.
    expect(toOffsetClamped(text, { line: 0, character: 7 }, 'utf-8', lines)).toBe(4);
    expect(toOffsetClamped(text, { line: 1, character: 1 }, 'utf-32')).toBe(7);
  });
  it('advances over text with and without newlines', () => {
    expect(advance({ line: 2, character: 3 }, 'ab', 'utf-16')).toEqual({ line: 2, character: 5 });
    expect(advance({ line: 2, character: 3 }, 'ab\n😀', 'utf-8')).toEqual({ line: 3, character: 4 });
  });
});

describe('ops', () => {
  it('round-trip between splices and ops', () => {
    const op = splicesToOp([{ at: 2, del: 1, ins: 'XY' }, { at: 0, del: 0, ins: '>' }]);
    expect(applyOp('abcdef', op)).toBe('>abXYdef');
    let t = 'abcdef';
    for (const s of opToSplices(op)) t = t.slice(0, s.at) + s.ins + t.slice(s.at + s.del);
    expect(t).toBe('>abXYdef');
    expect(applyOp('abc', spliceOp({ at: 1, del: 0, ins: '' }))).toBe('abc');
  });
  it('diffs texts into ops', () => {
    expect(applyOp('hello world', diffToOp('hello world', 'hello, brave world!'))).toBe('hello, brave world!');
    expect(diffToOp('same', 'same')).toEqual([]);
  });
});
