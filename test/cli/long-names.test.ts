// A conflict copy of a file whose name is near NAME_MAX (255 bytes). Its copy's name, with
// ` (conflict <tag>)` added, was over the limit: every peer refused the index change naming it
// ("not a project path … too long"), and with it every later index change of that peer, so
// `chorus join` waited for ever and later new files, deletions and renames never arrived.
import fs from 'node:fs';
import path from 'node:path';
import { expect, it } from 'vitest';
import { conflictPath } from '../../daemon/src/workspace/workspace.js';
import { chorus, shareCode, stopAfterEach, waitUntil } from '../support/cli.js';
import { tempProject } from '../support/project-dir.js';

const used = stopAfterEach();
const bytes = (s: string) => Buffer.byteLength(s);

it('a conflict copy of a long name fits in 255 bytes and keeps what it can of the name', () => {
  const long = 'Q'.repeat(245) + '.txt';
  const copy = conflictPath(`dir/${long}`, 'abc123');
  expect(copy.startsWith('dir/QQQQ')).toBe(true);
  expect(copy.endsWith(' (conflict abc123).txt')).toBe(true);
  expect(bytes(copy.slice(4))).toBeLessThanOrEqual(255);
  // Several bytes a character: whole characters are kept, within 255 bytes.
  const accented = conflictPath('é'.repeat(120) + '.md', 'abc123');
  expect(accented).toMatch(/^é+ \(conflict abc123\)\.md$/);
  expect(bytes(accented)).toBeLessThanOrEqual(255);
  expect(bytes(accented)).toBeGreaterThan(250);
  const emoji = conflictPath('😀'.repeat(60), 'abc123');
  expect(emoji).toMatch(/^(😀)+ \(conflict abc123\)$/u);
  expect(bytes(emoji)).toBeLessThanOrEqual(255);
  // An "extension" that is most of the name is cut with it.
  const dotted = conflictPath('a.' + 'x'.repeat(250), 'abc123');
  expect(bytes(dotted)).toBeLessThanOrEqual(255);
  expect(dotted.startsWith('a.xxx')).toBe(true);
  // Short names are as before.
  expect(conflictPath('src/notes.txt', 'abc123')).toBe('src/notes (conflict abc123).txt');
});

it('joining with a different file at a 249-byte name keeps both versions, and the session goes on syncing', async () => {
  const name = 'Q'.repeat(245) + '.txt';
  const a = tempProject({ [name]: 'the session has this\n' });
  used.push(a);
  const b = tempProject({ [name]: 'this folder had this\n' });
  used.push(b);
  const join = chorus(['join', shareCode(a), b, '--host', '127.0.0.1']);
  expect(join.status, join.stderr).toBe(0);
  const contents = (d: string) =>
    fs
      .readdirSync(d)
      .filter((f) => f.startsWith('QQQ'))
      .map((f) => fs.readFileSync(path.join(d, f), 'utf8'))
      .sort();
  for (const d of [a, b]) {
    await waitUntil(`both versions in ${d}`, () => contents(d).join('') === 'the session has this\nthis folder had this\n');
    for (const f of fs.readdirSync(d)) expect(bytes(f)).toBeLessThanOrEqual(255);
  }
  // Index changes made after the copy still reach the other peer, both ways.
  fs.writeFileSync(path.join(b, 'later-from-b.txt'), 'b\n');
  fs.writeFileSync(path.join(a, 'later-from-a.txt'), 'a\n');
  await waitUntil("B's later file on A", () => fs.existsSync(path.join(a, 'later-from-b.txt')));
  await waitUntil("A's later file on B", () => fs.existsSync(path.join(b, 'later-from-a.txt')));
  for (const d of [a, b]) expect(fs.readFileSync(path.join(d, '.chorus', 'daemon.log'), 'utf8')).not.toContain('too long');
});
