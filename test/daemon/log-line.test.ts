// The daemon log's entries are one line each, whatever a message quotes: names from outside,
// such as file names, never forge an entry.
import { describe, expect, it } from 'vitest';
import { escapeControls, logLine } from '../../daemon/src/log-line.js';
import { displayName } from '../../daemon/src/presence/presence.js';

it('escapes every control character in a message, so each entry is exactly one line', () => {
  const at = new Date('2030-05-06T07:08:09.010Z');
  expect(logLine('not sharing new\nline.txt: bad', at)).toBe('2030-05-06T07:08:09.010Z not sharing new\\nline.txt: bad\n');
  expect(escapeControls('a\r\tb\u0000c\u001b[31md\u007f\u0085\u2028\u2029')).toBe('a\\r\\tb\\u0000c\\u001b[31md\\u007f\\u0085\\u2028\\u2029');
  // What a person can read stays as it was: printable text, non-ASCII letters, a backslash.
  expect(escapeControls('naïve ✓ 日本 C:\\path')).toBe('naïve ✓ 日本 C:\\path');
  // A stack trace stays whole, on its one line.
  const stack = new TypeError('boom').stack!;
  const line = logLine(`internal error: ${stack}`, at);
  expect(line.indexOf('\n')).toBe(line.length - 1);
  expect(line).toContain('TypeError: boom\\n    at ');
});

// A trial set its name to "Eve\n2026-… FORGEDNAME \u001b[31mred" and `chorus status` on another
// peer printed a forged line and a terminal escape. A member's name is shown escaped, bounded.
describe('displayName', () => {
  it('escapes control characters, bounds the length, and falls back when there is no name', () => {
    expect(displayName('Eve\n2026-12-01T00:00:00.000Z FORGEDNAME \u001b[31mred', 'ab12cd34')).toBe('Eve\\n2026-12-01T00:00:00.000Z FORGEDNAME \\u001b[31mred');
    expect(displayName('x'.repeat(500), 'ab12cd34')).toHaveLength(200);
    expect(displayName(42, 'ab12cd34')).toBe('ab12cd34');
    expect(displayName('', 'ab12cd34')).toBe('ab12cd34');
    // Bidirectional controls would show what follows reversed.
    expect(displayName('Mallory\u202Etxt.exe\u2066x\u2069\u200f', 'ab12cd34')).toBe('Mallory\\u202etxt.exe\\u2066x\\u2069\\u200f');
  });
});
