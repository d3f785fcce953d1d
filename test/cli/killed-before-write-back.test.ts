// Pins a fault found by reading the code (decision 200): a daemon killed (SIGKILL) after an edit
// of a file was acknowledged (in the document's log, decision 004) but before its write-back wrote
// it to the folder, and an outside edit of that file while the daemon was down (`echo x >> f`,
// `sed -i`),
// lost the acknowledged edit on every peer. The restarted daemon had no text for what the folder
// last held (the ledger's newest hash was of a text written from a live document: not kept in
// memory across the restart, not the live text, not in a blob), so it took the folder's text as
// the whole truth, deleting what the folder never had. Now the ledger keeps, with each content,
// the document's heads at which the folder got it, and the base is the document's text at those
// heads. Both an edit typed on the killed peer and one a peer made and the killed peer received
// are here. Real daemons, run by the built CLI; the write-back held by a test-only delay
// (CHORUS_TEST_WRITE_DELAY_MS), so the kill lands between the acknowledgement and the write.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { afterEach, expect, it } from 'vitest';
import { chorus, daemonsFor, joinedPair, stopAfterEach, waitUntil } from '../support/cli.js';
import { ScriptedEditor } from '../support/scripted-editor.js';

const used = stopAfterEach();
const editors: ScriptedEditor[] = [];
afterEach(() => {
  for (const e of editors.splice(0)) e.close();
});

const read = (dir: string) => fs.readFileSync(path.join(dir, 'f.txt'), 'utf8');
const log = (dir: string) => fs.readFileSync(path.join(dir, '.chorus', 'daemon.log'), 'utf8');
/** What the daemon logged since it last started serving. */
const sinceStart = (dir: string) => log(dir).split(/ serving /).at(-1) ?? '';

/** B's first edit, written to both folders: the folder's text is one B wrote from a live document (no blob holds it). */
const written = 'B: one\ntwo\n';

/** Start the daemon of a folder that is in a session (it rejoins by itself), with `env` added to its environment. */
function start(dir: string, env: Record<string, string> = {}): void {
  const r = chorus(['share', dir, '--host', '127.0.0.1'], { env: { ...process.env, ...env } });
  expect(r.status, r.stderr).toBe(0);
}

async function editorOn(dir: string, name: string): Promise<ScriptedEditor> {
  const e = await ScriptedEditor.socket(path.join(dir, '.chorus', 'daemon.sock'), { name });
  editors.push(e);
  await e.init();
  return e;
}

/**
 * A and B share f.txt; B's editor typed "B: " into it, written to both folders. Then B's daemon is
 * restarted with its writes held 8 s (CHORUS_TEST_WRITE_DELAY_MS), and B's editor is open on the
 * file again. Returns the folders and B's editor.
 */
async function sharedWithHeldWrites(): Promise<{ a: string; b: string; bob: ScriptedEditor }> {
  const { a, b } = joinedPair({ 'f.txt': 'one\ntwo\n' }, used);
  const first = await editorOn(b, 'bob-editor');
  expect(await first.open('f.txt')).toBe('one\ntwo\n');
  await first.edit('f.txt', 0, 0, 'B: ');
  await waitUntil("B's first edit in both folders", () => read(b) === written && read(a) === written);
  first.close();
  expect(chorus(['stop', b]).status).toBe(0);
  start(b, { CHORUS_TEST_WRITE_DELAY_MS: '8000' });
  const bob = await editorOn(b, 'bob-editor');
  expect(await bob.open('f.txt')).toBe(written);
  return { a, b, bob };
}

/** An outside edit of f.txt in `dir`, and what it leaves of `written`. */
interface OutsideEdit {
  name: string;
  run(dir: string): void;
  /** `text` (what the session has) with the outside edit merged in. */
  merged(text: string): string;
}

const append: OutsideEdit = {
  name: 'an append (`echo x >> f.txt`)',
  run: (dir) => fs.appendFileSync(path.join(dir, 'f.txt'), 'x\n'),
  merged: (text) => text + 'x\n',
};

const sedInPlace: OutsideEdit = {
  name: 'a rewrite (`sed -i`: a new file renamed over it)',
  run: (dir) => {
    const r = spawnSync('sed', ['-i', 's/^B: one$/B: ONE/', path.join(dir, 'f.txt')], { encoding: 'utf8' });
    expect(r.status, r.stderr).toBe(0);
    expect(read(dir)).toBe('B: ONE\ntwo\n');
  },
  merged: (text) => text.replace('B: one', 'B: ONE'),
};

/** SIGKILL B's daemon (its write of the acknowledged edit still held), make `outside` in B's folder, start B again. */
function killEditRestart(b: string, outside: OutsideEdit): void {
  // The held write has not landed: the folder still has what it had before the acknowledged edit.
  expect(read(b)).toBe(written);
  const pids = daemonsFor(b);
  expect(pids.length).toBe(1);
  for (const pid of pids) process.kill(pid, 'SIGKILL');
  outside.run(b);
  start(b);
}

async function bothKept(a: string, b: string, want: string): Promise<void> {
  await waitUntil('B to take the folder in', () => /took in \d+ files? from the folder/.test(sinceStart(b)));
  await waitUntil("B's folder to have the acknowledged edit and the append", () => read(b) === want, 20_000).catch(() => undefined);
  expect(read(b)).toBe(want);
  await waitUntil('A to have both', () => read(a) === want, 30_000).catch(() => undefined);
  expect(read(a)).toBe(want);
  // Settled: nothing takes either out a moment later.
  await new Promise((r) => setTimeout(r, 1000));
  expect(read(b)).toBe(want);
  expect(read(a)).toBe(want);
  // The base came from the document's history (nothing else held it after the kill).
  expect(sinceStart(b)).toContain("f.txt: the text the folder last had was not in memory (the daemon restarted, or let the file go, since it was written); found in the file's history");
}

for (const outside of [append, sedInPlace]) {
  it(`an edit acknowledged on a daemon killed before writing it, and ${outside.name} made while it was down, are both kept on every peer`, async () => {
    const { a, b, bob } = await sharedWithHeldWrites();
    const acked = 'B: one\nacked two\n';
    await bob.edit('f.txt', written.indexOf('two'), written.indexOf('two'), 'acked ');
    await waitUntil("B's acknowledged edit in A's folder", () => read(a) === acked, 6_000);
    killEditRestart(b, outside);
    await bothKept(a, b, outside.merged(acked));
  }, 180_000);
}

it("a peer's edit received by a daemon killed before writing it, and an append made on disk while it was down, are both kept on every peer", async () => {
  const { a, b, bob } = await sharedWithHeldWrites();
  const ada = await editorOn(a, 'ada-editor');
  expect(await ada.open('f.txt')).toBe(written);
  const theirs = 'B: one\nA: two\n';
  await ada.edit('f.txt', written.indexOf('two'), written.indexOf('two'), 'A: ');
  // B's editor has it: B's daemon applied it, and stored it first.
  await waitUntil("A's edit in B's editor", () => bob.text('f.txt') === theirs, 6_000);
  killEditRestart(b, append);
  await bothKept(a, b, append.merged(theirs));
}, 180_000);
