// A trial: after a folder joined with its own, older version of files (each kept as a conflict
// copy), putting that older version back on disk (`git checkout old`, `git stash`, `cp`) was
// ignored on some files, or written over with the session's: the daemon had written that content
// at the path once during the conflict, and still counted it as its own once the winner's file
// moved into place (WriteBack.moved kept the path's old notes). The peers then differed silently.
import fs from 'node:fs';
import path from 'node:path';
import { expect, it } from 'vitest';
import { chorus, shareCode, stopAfterEach, waitUntil } from '../support/cli.js';
import { tempDir, tempProject } from '../support/project-dir.js';

const used = stopAfterEach();
const N = 6;
const v = (n: number, i: number) => `line one\nv${n} ${i}\n`;
const names = Array.from({ length: N }, (_, i) => `f${i + 1}.txt`);
const read = (dir: string, f: string) => fs.readFileSync(path.join(dir, f), 'utf8');

for (const side of ['sharer', 'joiner'] as const) {
  it(`the older version put back on disk by the ${side} after the join's conflicts reaches the other side, every file`, async () => {
    const a = tempProject(Object.fromEntries(names.map((f, i) => [f, v(1, i)])));
    used.push(a);
    const code = shareCode(a, ['--no-webrtc']);
    for (const [i, f] of names.entries()) fs.writeFileSync(path.join(a, f), v(2, i));
    const b = path.join(tempDir(), 'b');
    used.push(b);
    fs.mkdirSync(b);
    for (const [i, f] of names.entries()) fs.writeFileSync(path.join(b, f), v(1, i));
    // The session takes the v2 text at its way (sharer's edit), v1 goes to conflict copies.
    await waitUntil('A to take in v2', () => fs.readFileSync(path.join(a, '.chorus', 'daemon.log'), 'utf8').includes(`${N} changed`));
    const join = chorus(['join', code, b, '--host', '127.0.0.1', '--no-webrtc']);
    expect(join.status, join.stderr).toBe(0);
    const settled = () => names.every((f, i) => read(a, f) === v(2, i) && read(b, f) === v(2, i));
    await waitUntil('both folders at v2', settled);
    await new Promise((r) => setTimeout(r, 1500));
    const here = side === 'sharer' ? a : b;
    const there = side === 'sharer' ? b : a;
    for (const [i, f] of names.entries()) fs.writeFileSync(path.join(here, f), v(1, i));
    await waitUntil(`every file back at v1 on the ${side === 'sharer' ? 'joiner' : 'sharer'}`, () => names.every((f, i) => read(there, f) === v(1, i)), 30_000).catch((e: Error) => {
      throw new Error(`${e.message}: ${JSON.stringify(names.map((f) => [read(here, f), read(there, f)]))}`);
    });
    await new Promise((r) => setTimeout(r, 1500));
    expect(names.map((f) => read(here, f))).toEqual(names.map((_, i) => v(1, i)));
    expect(names.map((f) => read(there, f))).toEqual(names.map((_, i) => v(1, i)));
  }, 120_000);
}
