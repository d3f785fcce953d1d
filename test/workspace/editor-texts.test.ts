// EditorTexts: what an editor that typed may have saved of a file lately (decision 219).
import { expect, it } from 'vitest';
import { EditorTexts } from '../../daemon/src/workspace/editor-texts.js';

it("holds an editor's text after its own edit and after each change sent to it since, for 3 s after it stopped having it", () => {
  const t = new EditorTexts();
  t.note('f1', 'e1', 'a', true, 1000);
  t.note('f1', 'e1', 'ab', false, 1100); // a peer's change sent to it
  t.note('f1', 'e1', 'abc', false, 1200);
  expect(t.had('f1', 'a', 1300)).toBe(true);
  expect(t.had('f1', 'ab', 1300)).toBe(true);
  expect(t.had('f1', 'abc', 1300)).toBe(true);
  expect(t.had('f1', 'x', 1300)).toBe(false);
  expect(t.had('f2', 'a', 1300)).toBe(false);
  // 'a' stopped being its text at 1100: had until 4100; 'abc' is its text still.
  expect(t.had('f1', 'a', 4200)).toBe(false);
  expect(t.had('f1', 'ab', 4200)).toBe(true);
  expect(t.had('f1', 'abc', 9000)).toBe(true);
});

it('an editor that never typed in the file has nothing: what it was shown is what a tool puts back', () => {
  const t = new EditorTexts();
  t.note('f1', 'e1', 'shown', false, 1000);
  expect(t.had('f1', 'shown', 1001)).toBe(false);
  // Typed long ago: changes sent since are no longer noted, and its list goes.
  t.note('f1', 'e1', 'typed', true, 1000);
  t.note('f1', 'e1', 'typed and a peer', false, 5000);
  expect(t.had('f1', 'typed and a peer', 5001)).toBe(false);
});

it('an own edit starts the list afresh; each editor has its own; forget drops the file', () => {
  const t = new EditorTexts();
  t.note('f1', 'e1', 'old', true, 1000);
  t.note('f1', 'e1', 'new', true, 1100);
  expect(t.had('f1', 'old', 1200)).toBe(false);
  t.note('f1', 'e2', 'other', true, 1100);
  expect(t.had('f1', 'other', 1200)).toBe(true);
  expect(t.had('f1', 'new', 1200)).toBe(true);
  t.forget('f1');
  expect(t.had('f1', 'new', 1200)).toBe(false);
});
