/**
 * The page editor's CRLF rules (clients/browser/src/ui/crlf.ts, decision 088) on CodeMirror's
 * state alone: offsets stay the peer's UTF-16 offsets because "\r" is an ordinary character, and
 * the filter keeps this person from splitting a "\r" from its "\n". The browser test drives the
 * same through real key presses; this one covers the cases keys reach only awkwardly.
 */
import { insertNewlineAndIndent } from '@codemirror/commands';
import { Annotation, EditorSelection, EditorState, type TransactionSpec } from '@codemirror/state';
import { describe, expect, it } from 'vitest';
import { crlfLineEnds, usesCrlf } from '../../clients/browser/src/ui/crlf.js';

const fromPeer = Annotation.define<boolean>();

function state(doc: string, cursor: number | EditorSelection = 0): EditorState {
  return EditorState.create({
    doc,
    selection: typeof cursor === 'number' ? EditorSelection.cursor(cursor) : cursor,
    extensions: [EditorState.lineSeparator.of('\n'), EditorState.allowMultipleSelections.of(true), crlfLineEnds(usesCrlf(doc), (tr) => tr.annotation(fromPeer) === true)],
  });
}

function apply(s: EditorState, spec: TransactionSpec): EditorState {
  return s.update(spec).state;
}

function enter(s: EditorState): EditorState {
  let next = s;
  insertNewlineAndIndent({ state: s, dispatch: (tr) => (next = tr.state) });
  return next;
}

const text = (s: EditorState): string => s.doc.sliceString(0, undefined, '\n');

describe('CRLF line ends in the page editor', () => {
  it('tells a CRLF file by its first line end', () => {
    expect(usesCrlf('a\r\nb\n')).toBe(true);
    expect(usesCrlf('a\nb\r\n')).toBe(false);
    expect(usesCrlf('no line end')).toBe(false);
    expect(usesCrlf('\nstarts with LF')).toBe(false);
  });

  it('counts "\\r" as a character, so offsets are the peer\'s', () => {
    const s = state('ab\r\ncd\r\n');
    expect(s.doc.length).toBe(8);
    expect(s.doc.line(2).from).toBe(4);
  });

  it('never leaves a cursor between "\\r" and "\\n"', () => {
    let s = state('ab\r\ncd\r\n');
    s = apply(s, { selection: { anchor: 3 }, userEvent: 'select.pointer' }); // a click past the line's end
    expect(s.selection.main.head).toBe(2);
    s = apply(s, { selection: { anchor: 3 }, userEvent: 'select' }); // one step right from before the "\r"
    expect(s.selection.main.head).toBe(4);
    s = apply(s, { selection: { anchor: 3 }, userEvent: 'select' }); // one step left from the next line's start
    expect(s.selection.main.head).toBe(2);
    s = apply(s, { selection: EditorSelection.range(0, 3) }); // a selection's ends too
    expect([s.selection.main.anchor, s.selection.main.head]).toEqual([0, 2]);
  });

  it('makes typed and pasted line breaks "\\r\\n" in a CRLF file, and keeps the cursor after them', () => {
    let s = state('ab\r\ncd\r\n', 2);
    s = enter(s);
    expect(text(s)).toBe('ab\r\n\r\ncd\r\n');
    expect(s.selection.main.head).toBe(4);
    s = apply(s, { changes: { from: 4, insert: 'x\ny\r\nz\n' }, selection: { anchor: 4 + 7 }, userEvent: 'input.paste' });
    expect(text(s)).toBe('ab\r\nx\r\ny\r\nz\r\n\r\ncd\r\n');
    expect(s.selection.main.head).toBe(4 + 9); // after the pasted text, now two "\r" longer
  });

  it('leaves line breaks alone in an LF file', () => {
    const s = enter(state('ab\ncd\n', 2));
    expect(text(s)).toBe('ab\n\ncd\n');
  });

  it('deletes the whole "\\r\\n" or none of it', () => {
    // Backspace at the start of line 2 deletes only the "\n": the "\r" goes with it.
    let s = apply(state('ab\r\ncd', 4), { changes: { from: 3, to: 4 }, userEvent: 'delete.backward' });
    expect(text(s)).toBe('abcd');
    expect(s.selection.main.head).toBe(2);
    // Delete at the end of line 1 deletes only the "\r": the "\n" goes with it.
    s = apply(state('ab\r\ncd', 2), { changes: { from: 2, to: 3 }, userEvent: 'delete.forward' });
    expect(text(s)).toBe('abcd');
    // A replacement that would take the "\r" (Enter eats trailing whitespace) leaves it.
    s = apply(state('ab \r\ncd', 2), { changes: { from: 2, to: 4, insert: '!' }, userEvent: 'input' });
    expect(text(s)).toBe('ab!\r\ncd');
    // Text typed between the two (a cursor a peer's change left there) goes before the "\r".
    s = apply(state('ab\r\ncd', 0), { changes: { from: 3, insert: 'x' }, userEvent: 'input.type' });
    expect(text(s)).toBe('abx\r\ncd');
  });

  it('handles several cursors at once', () => {
    let s = state('a\r\nb\r\n', EditorSelection.create([EditorSelection.cursor(1), EditorSelection.cursor(4)]));
    s = enter(s);
    expect(text(s)).toBe('a\r\n\r\nb\r\n\r\n');
  });

  it('never alters a change from the peer', () => {
    const s = apply(state('ab\r\ncd', 0), { changes: { from: 2, to: 3, insert: '\n' }, annotations: fromPeer.of(true) });
    expect(text(s)).toBe('ab\n\ncd');
  });
});
