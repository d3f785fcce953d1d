// Pins a user-trial fault: `chorus join chorus2.` (a code cut off where it was copied) blamed
// "characters a join code never has". A cut-off code, one shortened for display, one with a quote
// mark or other text in it, and one with wrong characters each get their own words; quotes
// around a code and a chat app's line breaks in it are dropped.
import fs from 'node:fs';
import path from 'node:path';
import { expect, it } from 'vitest';
import { chorus, shareCode, stopAfterEach } from '../support/cli.js';
import { tempDir, tempProject } from '../support/project-dir.js';

const used = stopAfterEach();
const QUICK = { timeoutMs: 30_000 };

it('says what is wrong with a code as it was copied, each fault in its own words, and changes nothing', () => {
  const a = tempProject({ 'a.txt': 'a\n' });
  used.push(a);
  const code = shareCode(a);
  const here = tempDir();
  const cases: Array<[string, RegExp]> = [
    ['chorus2.', /^chorus: the join code is incomplete: its end is missing \(it was cut off where it was copied\); copy the whole code again, from "chorus2\." to its end; nothing was changed\n$/],
    [code.slice(0, -7), /^chorus: the join code is incomplete: its end is missing/],
    [`${code.slice(0, 40)}…`, /^chorus: the join code ends in "…": what was copied is a shortened display of it .*; copy the whole code again/],
    [`${code}"`, /^chorus: the join code has a quote mark in it \("\\""\); give the code alone, from "chorus2\." to its end, without quotes; nothing was changed\n$/],
    [`${code.slice(0, 30)}%${code.slice(31)}`, /^chorus: the join code is damaged: it has characters a join code never has \("%"; .*\); copy the whole code again, exactly as it was shared; nothing was changed\n$/],
    [`http://127.0.0.1:9/#${code}`, /^chorus: that is the link for a browser, not the join code; the code is its part after "#"/],
    [`code: ${code}`, /^chorus: there is other text before the join code \("code:"\); give the code alone/],
    ['', /^chorus: no join code was given/],
  ];
  const said = new Set<string>();
  for (const [text, message] of cases) {
    const target = path.join(here, 'new');
    const r = chorus(['join', text, target], QUICK);
    expect(r.status, text).toBe(1);
    expect(r.stderr, text).toMatch(message);
    expect(r.stderr, text).not.toMatch(/characters/.test(message.source) ? /incomplete/ : /characters a join code never has/);
    said.add(r.stderr.split(':')[1]!);
    expect(fs.existsSync(target), text).toBe(false);
  }
  expect(said.size).toBe(cases.length - 1); // the two cut-off codes share their words

  // Quotes around the code, and line breaks a chat app wrapped it with, are dropped.
  const b = path.join(here, 'b');
  used.push(b);
  const join = chorus(['join', `  "${code.slice(0, 50)}\n${code.slice(50)}"  `, b, '--host', '127.0.0.1']);
  expect(join.status, join.stderr).toBe(0);
  expect(fs.readFileSync(path.join(b, 'a.txt'), 'utf8')).toBe('a\n');

  // The same on standard input (`chorus join -`): a quoted code goes on to the line its quote
  // closes on (it was read to the first line break, and blamed for "other text" before the code).
  const c = path.join(here, 'c');
  used.push(c);
  const piped = chorus(['join', '-', c, '--host', '127.0.0.1'], { input: `"${code.slice(0, 50)}\n${code.slice(50)}"\n` });
  expect(piped.status, piped.stderr).toBe(0);
  expect(fs.readFileSync(path.join(c, 'a.txt'), 'utf8')).toBe('a\n');
});
