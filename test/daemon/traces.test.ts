// Real editing traces typed through the editor protocol into one editor while the others
// listen: every editor and the file end equal to the trace's endContent, in every encoding.
import path from 'node:path';
import { afterEach, expect, it } from 'vitest';
import type { Daemon } from '../../daemon/src/daemon.js';
import { startDaemon } from '../support/in-process.js';
import { tempProject, waitForFile } from '../support/project-dir.js';
import { ScriptedEditor, type Encoding } from '../support/scripted-editor.js';
import { applyKeystroke, keystrokeArray, keystrokes, loadSequentialTrace } from '../support/traces.js';

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

/**
 * The trace typed by three editors in turn, one per encoding, each typing a third while the other
 * two listen: every encoding types and listens on the same non-ASCII text, in one replay rather
 * than three (a third of the CPU: this file is among the suite's longest). Each typist starts
 * once its text is the trace's text so far.
 */
async function replayInTurns(name: string, encodings: Encoding[], window = 64) {
  const trace = loadSequentialTrace(name);
  const dir = tempProject({ 'doc.txt': trace.startContent });
  daemon = await startDaemon(dir);
  const eds = await Promise.all(encodings.map((encoding) => ScriptedEditor.socket(daemon!.project.socketPath, { encoding, keepNotes: false })));
  editors.push(...eds);
  for (const e of eds) {
    await e.init();
    await e.open('doc.txt');
  }
  const all = keystrokeArray(trace);
  const share = Math.ceil(all.length / eds.length);
  let expected = trace.startContent;
  for (const [i, typist] of eds.entries()) {
    const now = expected;
    await typist.waitFor(() => typist.text('doc.txt') === now, `the ${encodings[i]} editor to have the text so far before its turn`, 120000);
    let inFlight: Promise<unknown>[] = [];
    for (const k of all.slice(i * share, (i + 1) * share)) {
      inFlight.push(typist.edit('doc.txt', k.pos, k.pos + k.del, k.insert));
      expected = applyKeystroke(expected, k);
      if (inFlight.length >= window) {
        await Promise.all(inFlight);
        inFlight = [];
      }
    }
    await Promise.all(inFlight);
    expect(typist.text('doc.txt')).toBe(expected);
  }
  expect(expected).toBe(trace.endContent);
  for (const [i, e] of eds.entries()) await e.waitFor(() => e.text('doc.txt') === trace.endContent, `the ${encodings[i]} editor to reach endContent`, 120000);
  await waitForFile(path.join(dir, 'doc.txt'), (t) => t === trace.endContent, 'the file to reach endContent');
}

it('sveltecomponent, utf-16 typist, utf-8 listener', () => replay('sveltecomponent', 'utf-16', 'utf-8'));
// rustcode has non-ASCII text: each encoding types a third of it, and listens to the rest.
it('rustcode, typed in turns by a utf-8, a utf-16 and a utf-32 editor', () => replayInTurns('rustcode', ['utf-8', 'utf-16', 'utf-32']), 300_000);
it('automerge-paper (259,778 keystrokes), utf-16 both', () => replay('automerge-paper', 'utf-16', 'utf-16'), 600_000);
