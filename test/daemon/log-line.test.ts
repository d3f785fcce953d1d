// The daemon log's entries are one line each, whatever a message quotes: names from outside,
// such as file names, never forge an entry.
import { expect, it } from 'vitest';
import { escapeControls, logLine } from '../../daemon/src/log-line.js';

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
