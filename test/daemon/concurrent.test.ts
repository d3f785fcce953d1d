// Several editors type into one buffer at once, with their incoming changes held back at random
// (seeded) so edits cross in flight: every editor, the daemon and the file end identical.
import fs from 'node:fs';
import path from 'node:path';
import { afterEach, expect, it } from 'vitest';
import type { Daemon } from '../../daemon/src/daemon.js';
import { startDaemon } from '../support/in-process.js';
import { seeded, tempProject, waitForFile } from '../support/project-dir.js';
import { ScriptedEditor, type Encoding } from '../support/scripted-editor.js';

let daemon: Daemon | undefined;
const editors: ScriptedEditor[] = [];
afterEach(async () => {
  for (const e of editors.splice(0)) e.close();
  await daemon?.stop();
});

const WORDS = ['a', 'bc', 'déf', '😀', '\n', 'ghij', '中文', ' ', 'x\ny'];

async function run(seed: number, encodings: Encoding[], rounds: number) {
  const rand = seeded(seed);
  const dir = tempProject({ 'f.txt': 'start\n' });
  daemon = await startDaemon(dir);
  const typists: ScriptedEditor[] = [];
  for (const encoding of encodings) {
    const e = await ScriptedEditor.socket(daemon.project.socketPath, { encoding, maxDelayMs: 15, random: seeded(seed * 31 + typists.length) });
    editors.push(e);
    await e.init();
    await e.open('f.txt');
    typists.push(e);
  }
  const observer = await ScriptedEditor.socket(daemon.project.socketPath, { encoding: 'utf-8' });
  editors.push(observer);
  await observer.init();
  await observer.open('f.txt');

  const inFlight: Promise<unknown>[] = [];
  for (let i = 0; i < rounds; i++) {
    const e = typists[Math.floor(rand() * typists.length)]!;
    const text = e.text('f.txt');
    // Offsets on code point boundaries, as a real editor's cursor would be.
    const points = [...text];
    const pick = () => points.slice(0, Math.floor(rand() * (points.length + 1))).join('').length;
    let from = pick();
    let to = rand() < 0.3 ? pick() : from;
    if (to < from) [from, to] = [to, from];
    const insert = rand() < 0.8 ? WORDS[Math.floor(rand() * WORDS.length)]! : '';
    inFlight.push(e.edit('f.txt', from, to, insert));
    // Sometimes wait, so the other editors' held-back changes and these edits interleave.
    if (rand() < 0.2) await new Promise((r) => setTimeout(r, Math.floor(rand() * 10)));
  }
  await Promise.all(inFlight);
  const final = () => observer.text('f.txt');
  for (const e of typists) {
    await e.settle();
    await e.waitFor(() => e.text('f.txt') === final(), `editor ${e.encoding} to converge`);
  }
  const fileId = daemon.workspace.index.idOf('f.txt')!;
  expect(daemon.workspace.text(fileId)).toBe(final());
  await waitForFile(path.join(dir, 'f.txt'), (t) => t === final(), 'the file to converge');
  expect(fs.readFileSync(path.join(dir, 'f.txt'), 'utf8')).toBe(final());
  // The crossing actually happened: some changes were dropped and re-sent transformed.
  return typists.reduce((n, e) => n + e.dropped, 0);
}

for (const seed of [1, 2, 3]) {
  it(`three editors in three encodings converge (seed ${seed})`, async () => {
    const dropped = await run(seed, ['utf-16', 'utf-8', 'utf-32'], 400);
    expect(dropped).toBeGreaterThan(0);
  });
}

it('five editors hammering one buffer converge', async () => {
  const dropped = await run(42, ['utf-16', 'utf-16', 'utf-8', 'utf-8', 'utf-32'], 800);
  expect(dropped).toBeGreaterThan(0);
});
