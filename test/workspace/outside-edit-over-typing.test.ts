// Decision 253 (trial s54a F3): a `git stash` in Alice's folder while Bob and Carol typed took
// out of the shared file exactly what was on her disk, but in Carol's region the deletion landed
// partly a few characters late: `0022;S6C0023;S6C0024;S6C025;` (a `0` the stash took stayed, a
// `0` typed after it went) instead of `022;S6C0023;S6C0024;S6C0025;`. The take-in rebased the
// stash's change over what arrived since the folder's version, and found that by a text diff,
// which in repetitive text put the typing one character (or a token) too early, inside what the
// stash removed. What arrived is now read from the document's history (TextDoc.changeSince).
import { expect, it } from 'vitest';
import { diffToOp } from '../../daemon/src/text/diff-op.js';
import { applyOp, opToReplacements } from '../../daemon/src/text/text-op.js';
import { MemoryBlobStore } from '../../daemon/src/workspace/blob-store.js';
import { MemoryStore } from '../../daemon/src/workspace/memory-store.js';
import { contentHash } from '../../daemon/src/workspace/text-doc.js';
import { Workspace } from '../../daemon/src/workspace/workspace.js';

const ACTOR = 'cd'.repeat(16);
const noFolder = { read: async () => undefined };
const DISK = { kind: 'disk' } as const;
const bob = { kind: 'editor', editorId: 'bob' } as const;
const carol = { kind: 'editor', editorId: 'carol' } as const;

/** What a typist's keys are: tokens `S6C0000;` …, a line end before every tenth (as the trial's typer). */
function keys(tag: string): string {
  let s = '';
  for (let i = 0; i < 120; i++) s += (i % 10 === 0 ? '\n' : '') + `${tag}${String(i).padStart(4, '0')};`;
  return s;
}

/** The file as committed (what `git stash` puts back), and where each typist types in it. */
const COMMITTED = [
  '/**',
  ' * Failures a person can act on.',
  ' */',
  'export type FailureKind =',
  "  | 'notFound'",
  "  | 'storage';",
  '',
  '/**',
  ' * What an editor may act on besides the kind: `notArrived`, a',
  ' * file of the session whose content has not come yet.',
  ' */',
  '',
].join('\n');
const AT_B = COMMITTED.indexOf('FailureKind =') + 'FailureKind ='.length;
const AT_C = COMMITTED.indexOf('`notArrived`, a') + '`notArrived`, a'.length;

/** Is `text` `COMMITTED` with `b` put in at Bob's place and `c` at Carol's (give or take a line end the diff may put either side)? */
function committedWith(text: string, b: string, c: string): boolean {
  for (let i = AT_B - 1; i <= AT_B + 1; i++) {
    for (let j = AT_C - 1; j <= AT_C + 1; j++) {
      if (text === COMMITTED.slice(0, i) + b + COMMITTED.slice(i, j) + c + COMMITTED.slice(j)) return true;
    }
  }
  return false;
}

it('what arrived since the folder had a text is read from the history, where a text diff of repetitive typing puts it too early', async () => {
  const ws = new Workspace(new MemoryStore(), new MemoryBlobStore(), ACTOR, noFolder);
  const { fileId } = await ws.open('errors.ts', true, DISK);
  const [kb, kc] = [keys('S6B'), keys('S6C')];
  const cutB = kb.indexOf('S6B0021;S6B0') + 'S6B0021;S6B0'.length;
  const cutC = kc.indexOf('S6C0021;S6C0') + 'S6C0021;S6C0'.length;
  const before = COMMITTED.slice(0, AT_B) + kb.slice(0, cutB) + COMMITTED.slice(AT_B, AT_C) + kc.slice(0, cutC) + COMMITTED.slice(AT_C);
  ws.edit(fileId, diffToOp('', before), DISK);
  const heads = ws.headsIf(fileId, contentHash(before))!;
  // Carol types on: `022;S6C00` goes in right after `S6C0021;S6C0`; Bob types `0`.
  const atC = AT_C + cutB + cutC;
  ws.edit(fileId, [atC, '022;S6C00'], carol);
  ws.edit(fileId, [AT_B + cutB, '0'], bob);
  const after = ws.text(fileId);
  // A text diff finds the same text made by putting `0022;S6C0` in one character earlier.
  expect(opToReplacements(diffToOp(before, after))).toEqual([
    { from: AT_B + cutB, to: AT_B + cutB, text: '0' },
    { from: atC - 1, to: atC - 1, text: '0022;S6C0' },
  ]);
  // The document knows where each went.
  const doc = (ws as unknown as { liveDoc(id: string): { changeSince(h: string[]): Parameters<typeof applyOp>[1] | undefined } }).liveDoc(fileId);
  const arrived = doc.changeSince(heads)!;
  expect(opToReplacements(arrived)).toEqual([
    { from: AT_B + cutB, to: AT_B + cutB, text: '0' },
    { from: atC, to: atC, text: '022;S6C00' },
  ]);
  expect(applyOp(before, arrived)).toBe(after);
  ws.close();
});

it('a `git stash` taken in while two people type removes exactly what it took, and every character typed after it stays', async () => {
  const kb = keys('S6B');
  const kc = keys('S6C');
  const cutB = kb.indexOf('S6B0021;S6B0') + 'S6B0021;S6B0'.length;
  const cutC = kc.indexOf('S6C0021;S6C0') + 'S6C0021;S6C0'.length;
  // What was on Alice's disk when git read it: her own line on top, each typist's keys so far.
  const alice = '// alice on branch x\n';
  const onDisk = alice + COMMITTED.slice(0, AT_B) + kb.slice(0, cutB) + COMMITTED.slice(AT_B, AT_C) + kc.slice(0, cutC) + COMMITTED.slice(AT_C);
  const wrong: string[] = [];
  let cases = 0;
  // Every amount of typing (0–40 keys each) that reached Alice's daemon after git read the file.
  for (const b of [0, 1, 4, 9]) {
    for (let c = 0; c <= 40; c++) {
      const ws = new Workspace(new MemoryStore(), new MemoryBlobStore(), ACTOR, noFolder);
      const { fileId } = await ws.open('errors.ts', true, DISK);
      ws.edit(fileId, diffToOp('', onDisk), DISK);
      const heads = ws.headsIf(fileId, contentHash(onDisk))!;
      const xb = kb.slice(cutB, cutB + b);
      const xc = kc.slice(cutC, cutC + c);
      // Typed key by key, as editors send it, after the folder had `onDisk`.
      for (let k = 0; k < c; k++) ws.edit(fileId, [alice.length + AT_C + cutB + cutC + k, xc[k]!], carol);
      for (let k = 0; k < b; k++) ws.edit(fileId, [alice.length + AT_B + cutB + k, xb[k]!], bob);
      // The stash put the committed version back; the folder's take-in gives the base and its heads.
      ws.contentChanged('errors.ts', Buffer.from(COMMITTED), DISK, false, { text: onDisk, hash: contentHash(onDisk), heads });
      cases++;
      const text = ws.text(fileId);
      if (!committedWith(text, xb, xc)) wrong.push(`b=${b} c=${c}: ${JSON.stringify(text.slice(AT_C - 2, AT_C + c + 4))}, typed ${JSON.stringify(xc)}`);
      ws.close();
    }
  }
  expect(cases).toBe(164);
  expect(wrong).toEqual([]);
});

it('without heads, or with heads that do not lead from the base to the text, the take-in still merges by text', async () => {
  const ws = new Workspace(new MemoryStore(), new MemoryBlobStore(), ACTOR, noFolder);
  const { fileId } = await ws.open('f.txt', true, DISK);
  ws.edit(fileId, diffToOp('', 'one\ntwo\n'), DISK);
  const early = ws.headsIf(fileId, contentHash('one\ntwo\n'))!;
  ws.edit(fileId, diffToOp('one\ntwo\n', 'one\ntwo\nthree\n'), DISK);
  ws.edit(fileId, diffToOp('one\ntwo\nthree\n', 'one\ntwo\nthree\nfour\n'), carol);
  // The folder had 'one\ntwo\nthree\n' (a tool changed `one` to `ONE`), but the heads given are of an
  // earlier text: they do not lead from that base to the text, and the text diff is used.
  ws.contentChanged('f.txt', Buffer.from('ONE\ntwo\nthree\n'), DISK, false, { text: 'one\ntwo\nthree\n', heads: early });
  expect(ws.text(fileId)).toBe('ONE\ntwo\nthree\nfour\n');
  // Heads the document never had: the same.
  ws.contentChanged('f.txt', Buffer.from('ONE\nTWO\nthree\nfour\n'), DISK, false, { text: 'ONE\ntwo\nthree\nfour\n', heads: ['ab'.repeat(32)] });
  expect(ws.text(fileId)).toBe('ONE\nTWO\nthree\nfour\n');
  ws.close();
});

// Trial s57a: a `git stash` of what was typed inside one line (`First part:` + keys + `@B`, the
// typist at `@B`), with more keys arriving after git read the file, put those keys before
// `First part:`: the stash's change was taken for a rewrite of the line (decision 258) and
// replaced the line whole, and what arrived inside it went to its start (decision 262).
it('a `git stash` of typing inside one line keeps the keys typed after it in their place in that line', async () => {
  const committed = '# Notes\n\nFirst part:@B\nmiddle line one\nSecond part:@C\nend\n';
  const atB = committed.indexOf('@B');
  const atC = committed.indexOf('@C');
  const kb = keys('K1B').replace(/\n/g, '');
  const kc = keys('K1C').replace(/\n/g, '');
  const wrong: string[] = [];
  let cases = 0;
  for (const before of [1, 4, 26, 60]) {
    for (const after of [0, 1, 5, 15, 30]) {
      const onDisk = committed.slice(0, atB) + kb.slice(0, before) + committed.slice(atB, atC) + kc.slice(0, before) + committed.slice(atC);
      const ws = new Workspace(new MemoryStore(), new MemoryBlobStore(), ACTOR, noFolder);
      const { fileId } = await ws.open('notes.md', true, DISK);
      ws.edit(fileId, diffToOp('', onDisk), DISK);
      const heads = ws.headsIf(fileId, contentHash(onDisk))!;
      const xb = kb.slice(before, before + after);
      const xc = kc.slice(before, before + after);
      // Each typist types at its marker, key by key, after the folder had `onDisk`.
      for (let k = 0; k < after; k++) {
        const text = ws.text(fileId);
        ws.edit(fileId, [text.indexOf('@C'), xc[k]!], carol);
        ws.edit(fileId, [ws.text(fileId).indexOf('@B'), xb[k]!], bob);
      }
      ws.contentChanged('notes.md', Buffer.from(committed), DISK, false, { text: onDisk, hash: contentHash(onDisk), heads });
      cases++;
      const want = committed.slice(0, atB) + xb + committed.slice(atB, atC) + xc + committed.slice(atC);
      if (ws.text(fileId) !== want) wrong.push(`typed ${before} then ${after}: ${JSON.stringify(ws.text(fileId))}`);
      ws.close();
    }
  }
  expect(cases).toBe(20);
  expect(wrong).toEqual([]);
});
