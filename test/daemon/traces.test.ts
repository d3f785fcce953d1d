// Real editing traces typed through the editor protocol into one editor while a second one
// listens: both editors and the file end equal to the trace's endContent, in every encoding.
import path from 'node:path';
import { afterEach, expect, it } from 'vitest';
import type { Daemon } from '../../daemon/src/daemon.js';
import { startDaemon } from '../support/in-process.js';
import { tempProject, waitForFile } from '../support/project-dir.js';
import { ScriptedEditor, type Encoding } from '../support/scripted-editor.js';
import { keystrokes, loadSequentialTrace } from '../support/traces.js';

let daemon: Daemon | undefined;
const editors: ScriptedEditor[] = [];
afterEach(async () => {
  for (const e of editors.splice(0)) e.close();
  await daemon?.stop();
});

/** Type the whole trace, keeping up to `window` edits in flight (as a fast typist's editor would). */
async function replay(name: string, typist: Encoding, listener: Encoding, window = 64) {
  const trace = loadSequentialTrace(name);
  const dir = tempProject({ 'doc.txt': trace.startContent });
  daemon = await startDaemon(dir);
  const a = await ScriptedEditor.socket(daemon.project.socketPath, { encoding: typist });
  const b = await ScriptedEditor.socket(daemon.project.socketPath, { encoding: listener, keepNotes: false });
  editors.push(a, b);
  await a.init();
  await b.init();
  await a.open('doc.txt');
  await b.open('doc.txt');
  let inFlight: Promise<unknown>[] = [];
  for (const k of keystrokes(trace)) {
    inFlight.push(a.edit('doc.txt', k.pos, k.pos + k.del, k.insert));
    if (inFlight.length >= window) {
      await Promise.all(inFlight);
      inFlight = [];
    }
  }
  await Promise.all(inFlight);
  expect(a.text('doc.txt')).toBe(trace.endContent);
  await b.waitFor(() => b.text('doc.txt') === trace.endContent, `the listener (${listener}) to reach endContent`, 120000);
  await waitForFile(path.join(dir, 'doc.txt'), (t) => t === trace.endContent, 'the file to reach endContent');
}

it('sveltecomponent, utf-16 typist, utf-8 listener', () => replay('sveltecomponent', 'utf-16', 'utf-8'));
// rustcode has non-ASCII text: each encoding on each side.
it('rustcode, utf-8 typist, utf-32 listener', () => replay('rustcode', 'utf-8', 'utf-32'));
it('rustcode, utf-16 typist, utf-8 listener', () => replay('rustcode', 'utf-16', 'utf-8'));
it('rustcode, utf-32 typist, utf-16 listener', () => replay('rustcode', 'utf-32', 'utf-16'));
it('automerge-paper (259,778 keystrokes), utf-16 both', () => replay('automerge-paper', 'utf-16', 'utf-16'), 600_000);
