// A real daemon process is SIGKILLed in the middle of a burst of typing; started again, it has
// every edit it acknowledged (and the folder is brought up to date with them).
import type { ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { daemonProcess } from '../support/daemon-process.js';
import { tempProject, waitForFile } from '../support/project-dir.js';
import { ScriptedEditor } from '../support/scripted-editor.js';

const procs: ChildProcess[] = [];
const editors: ScriptedEditor[] = [];
afterEach(async () => {
  for (const e of editors.splice(0)) e.close();
  for (const p of procs.splice(0)) {
    if (p.exitCode === null && p.signalCode === null) {
      p.kill('SIGTERM');
      await new Promise((r) => p.once('exit', r));
    }
  }
});

it('SIGKILL during a burst of typing loses no acknowledged edit', async () => {
  const base = 'fn main() {\n}\n';
  const dir = tempProject({ 'main.rs': base });
  const first = await daemonProcess(dir, 'crash', procs, editors);
  await first.editor.open('main.rs');
  const typed = Array.from({ length: 2000 }, (_, i) => 'abcdefghij\n'[i % 11]!).join('');
  let acked = 0;
  let killed = false;
  const sent: Promise<unknown>[] = [];
  for (let i = 0; i < typed.length; i++) {
    const t = first.editor.text('main.rs');
    // pipelined like a fast typist: each acknowledgement is counted in order
    sent.push(first.editor.edit('main.rs', t.length, t.length, typed[i]!).then(() => acked++, () => undefined));
    if (i % 20 === 19) await new Promise((r) => setImmediate(r));
    if (!killed && acked >= 700) {
      killed = true;
      first.proc.kill('SIGKILL');
      break;
    }
  }
  if (!killed) {
    await Promise.race([Promise.all(sent), new Promise((r) => setTimeout(r, 100))]);
    first.proc.kill('SIGKILL');
  }
  await new Promise((r) => first.proc.once('exit', r));
  const ackedText = base + typed.slice(0, acked);
  first.editor.close();

  const second = await daemonProcess(dir, 'crash', procs, editors);
  const text = await second.editor.open('main.rs');
  expect(text.startsWith(ackedText)).toBe(true); // every acknowledged edit is there
  expect((base + typed).startsWith(text)).toBe(true); // and nothing but what was typed
  await waitForFile(path.join(dir, 'main.rs'), (t) => t === text, 'the folder to be brought up to date');
  expect(fs.readFileSync(path.join(dir, 'main.rs'), 'utf8')).toBe(text);
});

describe('an edit saved just before the daemon stopped, whose answer the editor never got', () => {
  // The editor re-opens with its text, the text it last had in step (`base`) and the unanswered
  // edit (`pending`). Merged from `base` alone, the edit would be applied a second time.
  for (const stop of ['SIGKILL', 'SIGTERM'] as const) {
    it(`is not applied twice when the editor opens the buffer again (${stop}${stop === 'SIGTERM' ? ': the saved state is compacted on the way out' : ''})`, async () => {
      const dir = tempProject({ 'a.txt': 'start\n', 'b.txt': 'start\n' });
      const first = await daemonProcess(dir, 'crash', procs, editors);
      await first.editor.open('a.txt');
      // Awaited only to know it is saved; the editor below acts as if no answer came.
      await first.editor.edit('a.txt', 6, 6, 'r', { id: 'ed-1' });
      const exited = new Promise<[number | null, NodeJS.Signals | null]>((r) => first.proc.once('exit', (code, signal) => r([code, signal])));
      first.proc.kill(stop);
      // SIGTERM is a clean stop, never a crash: the daemon acknowledges edits while it still takes
      // the folder in at start, and a SIGTERM then ended it on the spot (no handler yet), so this
      // case sometimes tested a second SIGKILL.
      expect(await exited).toEqual(stop === 'SIGTERM' ? [0, null] : [null, 'SIGKILL']);
      first.editor.close();

      const second = await daemonProcess(dir, 'crash', procs, editors);
      const a = (await second.editor.raw('buffer/open', { path: 'a.txt', content: 'start\nr end', base: 'start\n', pending: [{ id: 'ed-1', text: 'start\nr' }] })) as { content: string };
      expect(a.content).toBe('start\nr end');
      // An unanswered edit that never arrived is merged from `base`: nothing typed is lost.
      const b = (await second.editor.raw('buffer/open', { path: 'b.txt', content: 'start\nx end', base: 'start\n', pending: [{ id: 'ed-2', text: 'start\nx' }] })) as { content: string };
      expect(b.content).toBe('start\nx end');
      await waitForFile(path.join(dir, 'a.txt'), (t) => t === 'start\nr end', 'a.txt on disk');
      // A daemon killed before its first write-back of a.txt left the folder with the text the
      // document started from; the restarted one once took that for a second create and kept a
      // conflict copy, leaving a.txt behind (about 1 run in 5 under load).
      expect(fs.readdirSync(dir).filter((f) => f.includes('conflict'))).toEqual([]);
    });
  }
});
