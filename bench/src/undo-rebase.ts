// `npm run bench:undo-rebase` (seconds): what own-edit undo adds to each peer keystroke on the
// receiving daemon when its person has typed too. Every step of every local editor's history is
// carried through each change others make (undo-history.ts, decision 197), so the cost grows with
// the history (up to 200 steps). The keystroke benchmark's receiving editor types nothing, so its
// figures leave this out.
//
// In this process, on the build in daemon/dist (or CHORUS_BENCH_DIST=path/to/daemon/dist): an
// UndoManager over a one-file workspace of 3,000 characters. An editor types `steps` words of
// five characters (one undo step each) in the middle; then a peer types 3,000 characters, one per
// change, either before the words or after them. CPU time per peer keystroke (process.cpuUsage),
// median of --runs runs, next to the same with no history at all (the baseline: the ratio
// divides by it).
//
// Options: --runs N (default 5), --out DIR (default bench/results; writes undo-rebase-latest.json).

import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { numberOption, readOptions, stringOption } from './options.js';

const here = fileURLToPath(new URL('.', import.meta.url));
const { values } = readOptions('usage: npm run bench:undo-rebase -- [options]', {
  runs: { type: 'string', help: 'N   runs per figure, the median reported (default 5)' },
  out: { type: 'string', help: 'DIR   where to write undo-rebase-latest.json (default bench/results)' },
});
const runs = numberOption(values, 'runs', 5, 1);
const outDir = stringOption(values, 'out', join(here, '..', 'results'));
const dist = process.env.CHORUS_BENCH_DIST ?? join(here, '..', '..', 'daemon', 'dist');

interface TextOpModule {
  applyOp(text: string, op: unknown): string;
  spliceOp(s: { at: number; del: number; ins: string }): unknown;
}
interface UndoManagerLike {
  observe(e: unknown): void;
}
const { UndoManager } = (await import(join(dist, 'editor', 'undo-manager.js'))) as { UndoManager: new (ws: unknown) => UndoManagerLike };
const ops = (await import(join(dist, 'text', 'text-op.js'))) as TextOpModule;

/** One file's text, whose every change UndoManager observes, as the change route hands it on. */
class OneFile {
  undo!: UndoManagerLike;
  constructor(public content: string) {}
  settle(): void {}
  text(): string {
    return this.content;
  }
  edit(at: number, ins: string, origin: object): void {
    const op = ops.spliceOp({ at, del: 0, ins });
    const before = this.content;
    this.content = ops.applyOp(before, op);
    this.undo.observe({ fileId: 'f', path: 'f', op, before, after: this.content, origin });
  }
}

const PEER = { kind: 'peer', peerId: 'p' };
const KEYS = 3000;

/** CPU µs per peer keystroke with an editor's history of `steps` steps, the peer typing `where` them. */
function once(steps: number, where: 'before' | 'after'): number {
  const file = new OneFile('x'.repeat(3000));
  file.undo = new UndoManager(file);
  let at = 1500;
  for (let w = 0; w < steps; w++) for (let k = 0; k < 5; k++) file.edit(at++, 'a', { kind: 'editor', editorId: 'A', undoStop: k === 0 });
  let before = 100;
  let after = at + 200;
  for (let i = 0; i < 300; i++) file.edit(before++, 'p', PEER); // warm-up, and it moves the words
  after += 300;
  const t0 = process.cpuUsage();
  for (let i = 0; i < KEYS; i++) file.edit(where === 'before' ? before++ : after++, 'p', PEER);
  const t = process.cpuUsage(t0);
  return (t.user + t.system) / KEYS;
}

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const figure = (steps: number, where: 'before' | 'after'): number => median(Array.from({ length: runs }, () => once(steps, where)));

const rows: Array<{ steps: number; where: string; usPerKeystroke: number; ratio: number }> = [];
for (const where of ['before', 'after'] as const) {
  const base = figure(0, where);
  for (const steps of [0, 50, 200]) {
    const us = steps === 0 ? base : figure(steps, where);
    rows.push({ steps, where, usPerKeystroke: us, ratio: us / base });
  }
}
console.log(`own-edit undo on the receiving side (${dist}): CPU per peer keystroke, median of ${runs} runs of ${KEYS}`);
console.log('history  peer types       µs/keystroke  against no history');
for (const r of rows) console.log(`${String(r.steps).padStart(7)}  ${`${r.where} the words`.padEnd(16)}  ${r.usPerKeystroke.toFixed(1).padStart(12)}  ${r.ratio.toFixed(1).padStart(17)}×`);
mkdirSync(outDir, { recursive: true });
writeFileSync(join(outDir, 'undo-rebase-latest.json'), JSON.stringify({ date: new Date().toISOString(), dist, runs, keystrokes: KEYS, rows }, null, 2) + '\n');
