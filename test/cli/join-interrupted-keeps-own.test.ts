// A join into a folder whose files meet the session's, interrupted while it writes (trial s47b,
// lost work in 4 of 5: Ctrl-C 0.3–1.5 s into "writing"): every text the folder had must still be
// in the folder afterwards, at its path or as a copy beside it. The join had moved the session's
// file onto the path of the folder's own file, which nothing had set aside, and removed `.chorus/`:
// the folder's text was nowhere.
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { afterEach, expect, it } from 'vitest';
import { listTree, shareCode, stopAfterEach, waitUntil } from '../support/cli.js';
import { CLI } from '../support/paths.js';
import { tempProject } from '../support/project-dir.js';

const used = stopAfterEach();
const children: ChildProcess[] = [];
afterEach(() => {
  for (const c of children.splice(0)) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
});

const MET = 6;

it.each([300, 1000])('a join interrupted %i ms into writing leaves every text the folder had in the folder', async (after) => {
  const session: Record<string, string> = {};
  for (let i = 0; i < 1000; i++) session[`gen/g${i}.txt`] = `generated ${i}\n`;
  for (let i = 0; i < MET; i++) session[`a${i}.txt`] = `SESSION a${i}\n`;
  const a = tempProject(session);
  used.push(a);
  const code = shareCode(a);
  const own: Record<string, string> = { 'mine-only.txt': 'JOINER only\n' };
  for (let i = 0; i < MET; i++) own[`a${i}.txt`] = `JOINER a${i}\n`;
  const b = tempProject(own);
  used.push(b);
  // Each write of the join's daemon waits 20 ms first (test-timings.ts): a fast machine wrote all
  // 1,013 files within a second of "writing:", so the interrupt came after the join had ended
  // (exit by the signal, not 130) and tried nothing this test is about.
  const env = { ...process.env, CHORUS_TEST_WRITE_DELAY_MS: '20' };
  const join = spawn(process.execPath, [CLI, 'join', code, b, '--host', '127.0.0.1'], { stdio: ['ignore', 'pipe', 'pipe'], env });
  children.push(join);
  let out = '';
  join.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  join.stderr!.on('data', (d: Buffer) => (out += d.toString()));
  const exited = new Promise<number | null>((r) => join.on('exit', (c) => r(c)));
  await waitUntil('the join to start writing', () => /writing: /.test(out), 120_000);
  await new Promise((r) => setTimeout(r, after));
  join.kill('SIGINT');
  const exit = await exited;
  // 1,006 files take seconds to write: 1.5 s into 1,506, about a third were written here.
  expect(exit, out).toBe(130);
  const texts = listTree(b).map((f) => fs.readFileSync(path.join(b, f), 'utf8'));
  for (const [p, text] of Object.entries(own)) expect(texts.filter((t) => t === text), `${p}'s text after: ${out}`).toHaveLength(1);
});
