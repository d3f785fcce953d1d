// Pins a user-trial fault (Neovim and Emacs, real daemons): typing done in a buffer while its
// daemon was stopped was lost, silently, when the file had also changed on disk meanwhile. The
// editor's reconnect starts the daemon again and re-opens the buffer with its text and the text it
// last had in step (`base`); the daemon serves editors while it takes the folder in at start. The
// re-open merged the typing first, and the take-in of the disk's change came after: the text the
// folder last had (written from a live document, the person's own earlier typing) was neither in
// memory nor in a blob after the restart, so the folder's text was taken as the whole truth, and
// the typing was deleted from the file, the buffer and every peer (decision 196). Both cases are
// here: the re-open landing inside the start-up take-in (held open by a test-only knob) and after
// it. Real daemons, run by the built CLI; the editor reconnects the way editors do (`chorus
// connect`, which starts the daemon).
import fs from 'node:fs';
import path from 'node:path';
import { afterEach, expect, it } from 'vitest';
import { chorus, joinedPair, stopAfterEach, waitUntil } from '../support/cli.js';
import { ScriptedEditor } from '../support/scripted-editor.js';

const used = stopAfterEach();
const editors: ScriptedEditor[] = [];
afterEach(() => {
  for (const e of editors.splice(0)) e.close();
});

const HOLD = 'CHORUS_TEST_TAKE_IN_HOLD_MS';
const read = (dir: string) => fs.readFileSync(path.join(dir, 's.txt'), 'utf8');
const log = (dir: string) => fs.readFileSync(path.join(dir, '.chorus', 'daemon.log'), 'utf8');
/** What the daemon logged since it last started serving. */
const sinceStart = (dir: string) => log(dir).split(/ serving /).at(-1) ?? '';

const inStep = 'B: one\ntwo\n';
const typed = 'typed while stopped\nB: one\ntwo\n';
const merged = 'typed while stopped\nB: one\ntwo\nx\n';

/**
 * A and B share s.txt; B's editor typed "B: " into it (so the folder's text is one the daemon wrote
 * from a live document: no blob holds it), and had it open, in step, when B's daemon was stopped;
 * the person typed a line at its top (in the editor only), and `echo x >> s.txt` appended to the
 * file in B's folder. Returns the folders, B's daemon still stopped.
 */
async function typedWhileStopped(): Promise<{ a: string; b: string }> {
  const { a, b } = await stoppedInStep();
  fs.appendFileSync(path.join(b, 's.txt'), 'x\n');
  return { a, b };
}

/** A and B share s.txt, B's editor typed "B: " into it and had it in step; B's daemon is stopped. */
async function stoppedInStep(): Promise<{ a: string; b: string }> {
  const { a, b } = joinedPair({ 's.txt': 'one\ntwo\n' }, used);
  const first = await ScriptedEditor.socket(path.join(b, '.chorus', 'daemon.sock'), { name: 'bob-editor' });
  editors.push(first);
  await first.init();
  expect(await first.open('s.txt')).toBe('one\ntwo\n');
  await first.edit('s.txt', 0, 0, 'B: ');
  await waitUntil("B's typing in both folders", () => read(b) === inStep && read(a) === inStep);
  const stop = chorus(['stop', b]);
  expect(stop.status, stop.stderr).toBe(0);
  return { a, b };
}

/** B's editor reconnecting (`chorus connect`, which starts B's daemon), with `env` set for the daemon it starts. */
async function reconnect(b: string, env: Record<string, string> = {}): Promise<ScriptedEditor> {
  const saved = Object.fromEntries(Object.keys(env).map((k) => [k, process.env[k]]));
  Object.assign(process.env, env);
  try {
    const { editor } = ScriptedEditor.connect(b, { name: 'bob-editor' });
    editors.push(editor);
    await editor.init();
    return editor;
  } finally {
    for (const [k, v] of Object.entries(saved)) {
      if (v === undefined) delete process.env[k];
      else process.env[k] = v;
    }
  }
}

async function bothKept(a: string, b: string, editor: ScriptedEditor, want = merged): Promise<void> {
  await waitUntil('B to take the folder in', () => /took in \d+ files? from the folder/.test(sinceStart(b)));
  await waitUntil("B's folder to have the typing and the append", () => read(b) === want, 20_000).catch(() => undefined);
  expect(read(b)).toBe(want);
  await waitUntil("B's buffer to have both", () => editor.text('s.txt') === want, 20_000).catch(() => undefined);
  expect(editor.text('s.txt')).toBe(want);
  await waitUntil('A to have both', () => read(a) === want, 30_000).catch(() => undefined);
  expect(read(a)).toBe(want);
}

it('typing re-opened while the restarted daemon is taking the folder in, and an append made on disk while it was stopped, are both kept', async () => {
  const { a, b } = await typedWhileStopped();
  // The take-in reads the folder (the append), then waits: the re-open's typing is merged and
  // written to the folder in that moment, as it was in the trial (the daemon serves editors while
  // it reads the folder).
  const editor = await reconnect(b, { [HOLD]: '3000' });
  await waitUntil('the start-up take-in to have read the folder', () => /test-only: holding the take-in/.test(sinceStart(b)));
  expect(await editor.open('s.txt', typed, inStep)).toContain('typed while stopped');
  // The re-open landed inside the start-up take-in (before the fix, the take-in of the append that
  // its write-back asked for deleted the typing from the session: the buffer, both folders).
  expect(sinceStart(b)).not.toMatch(/took in \d+ files? from the folder/);
  await bothKept(a, b, editor);
}, 180_000);

it('typing re-opened after the restarted daemon took the folder in, and an append made on disk while it was stopped, are both kept', async () => {
  const { a, b } = await typedWhileStopped();
  const editor = await reconnect(b);
  await waitUntil('B to take the folder in', () => /took in \d+ files? from the folder/.test(sinceStart(b)));
  expect(await editor.open('s.txt', typed, inStep)).toBe(merged);
  await bothKept(a, b, editor);
}, 180_000);

it("typing re-opened while the restarted daemon is taking the folder in, an append made on disk and a peer's edit made meanwhile are all kept", async () => {
  const { a, b } = await typedWhileStopped();
  // A's person types while B's daemon is stopped (the trial's "with a peer's edit meanwhile").
  const ada = await ScriptedEditor.socket(path.join(a, '.chorus', 'daemon.sock'), { name: 'ada-editor' });
  editors.push(ada);
  await ada.init();
  expect(await ada.open('s.txt')).toBe(inStep);
  await ada.edit('s.txt', inStep.indexOf('two'), inStep.indexOf('two'), 'A: ');
  await waitUntil("A's edit in A's folder", () => read(a) === 'B: one\nA: two\n');
  const editor = await reconnect(b, { [HOLD]: '3000' });
  await waitUntil('the start-up take-in to have read the folder', () => /test-only: holding the take-in/.test(sinceStart(b)));
  expect(await editor.open('s.txt', typed, inStep)).toContain('typed while stopped');
  expect(sinceStart(b)).not.toMatch(/took in \d+ files? from the folder/);
  await bothKept(a, b, editor, 'typed while stopped\nB: one\nA: two\nx\n');
  expect(ada.text('s.txt')).toBe('typed while stopped\nB: one\nA: two\nx\n');
}, 180_000);

// The VS Code e2e "killing the daemon mid-typing" lost the typed keys from VS Code's own document
// in 3 of ~11 runs (helper-98, decision 208): the restarted daemon's start-up take-in read the
// folder (still the text the last run wrote), the re-open's typing was merged and written meanwhile,
// and the take-in then judged what it had read. That content, the one the folder held at start, was
// neither the newest nor anything this run had recorded: it was taken for a person's revert, diffed
// from the text just written, and the typing deleted from the session, the folders and the editor.
it('typing re-opened while the restarted daemon is taking in an unchanged folder is kept, in the buffer and both folders', async () => {
  const { a, b } = await stoppedInStep();
  const editor = await reconnect(b, { [HOLD]: '3000' });
  await waitUntil('the start-up take-in to have read the folder', () => /test-only: holding the take-in/.test(sinceStart(b)));
  expect(await editor.open('s.txt', typed, inStep)).toBe(typed);
  await waitUntil("the typing written to B's folder inside the take-in", () => read(b) === typed);
  expect(sinceStart(b)).not.toMatch(/took in \d+ files? from the folder/);
  await waitUntil('B to take the folder in', () => /took in \d+ files? from the folder/.test(sinceStart(b)));
  await new Promise((r) => setTimeout(r, 1000)); // what the take-in changed reaches the buffer and the folder
  expect(editor.text('s.txt')).toBe(typed);
  expect(read(b)).toBe(typed);
  await waitUntil('A to have the typing', () => read(a) === typed, 30_000).catch(() => undefined);
  expect(read(a)).toBe(typed);
}, 180_000);
