// A user trial's fault: B typed in notes.md while A ran `mv notes.md renamed.md`. A's daemon took
// the rename in as a deletion plus a new file, B's edits won over the deletion, and the file split:
// notes.md came back everywhere with B's typing, renamed.md was a stale copy without it. The
// rename must be taken in as a rename: the typing ends up in renamed.md on every peer, notes.md
// stays gone, and B's editor is told (`buffer/didRename`).
import fs from 'node:fs';
import path from 'node:path';
import * as P from '@chorus/protocol';
import { afterEach, expect, it } from 'vitest';
import { converged, editor, sharedPair, stopAllPeers, until, type Peer } from '../support/disk-peers.js';
import type { ScriptedEditor } from '../support/scripted-editor.js';

afterEach(stopAllPeers);

const FROM = 'notes.md';
const TO = 'renamed.md';

/** The path B's editor has the buffer under now (it follows `buffer/didRename`). */
function bufferPath(ed: ScriptedEditor): string {
  return ed.buffers.has(TO) ? TO : FROM;
}

/** Type `line` at the end of the buffer, wherever it is now. */
async function typeLine(ed: ScriptedEditor, line: string): Promise<void> {
  const at = bufferPath(ed);
  const end = ed.text(at).length;
  await ed.edit(at, end, end, line);
}

/** B's editor was told of the rename, and the folders of both peers hold only the renamed file, with every line typed. */
async function expectFollowed(a: Peer, b: Peer, ed: ScriptedEditor, typed: string[]): Promise<void> {
  await until(() => fs.existsSync(path.join(a.dir, TO)) && fs.existsSync(path.join(b.dir, TO)), `${TO} on both peers`);
  await new Promise((r) => setTimeout(r, 1500)); // an old path brought back by a late edit would be back by now
  const files = await converged(a, b, 'both folders to settle');
  expect(Object.keys(files).sort()).toEqual(['other.md', TO]);
  for (const line of typed) expect(files[TO]).toContain(line);
  for (const p of [a, b]) expect(p.daemon.workspace.index.idOf(FROM)).toBeUndefined();
  expect([...a.lines, ...b.lines].filter((l) => l.includes(`kept ${FROM}`))).toEqual([]);
  await ed.waitFor(() => ed.notes.some((n) => n.method === P.BufferDidRename.method && n.params.from === FROM && n.params.to === TO), `buffer/didRename ${FROM} → ${TO}`);
  await ed.settle();
  expect(ed.text(TO)).toBe(files[TO]);
}

it('B keeps typing through the rename: every keystroke lands in the renamed file on both peers, and the editor follows', async () => {
  const { a, b } = await sharedPair({ [FROM]: 'start\n', 'other.md': 'o\n' });
  await converged(a, b, 'the first sync');
  const ed = await editor(b.daemon.project.socketPath, { followRenames: true });
  expect(await ed.open(FROM)).toBe('start\n');
  const typed: string[] = [];
  for (let i = 0; i < 60; i++) {
    const line = `typed ${i}\n`;
    typed.push(line);
    await typeLine(ed, line);
    // A steady stream, as a person types: A's daemon keeps receiving edits it has not written yet.
    await new Promise((r) => setTimeout(r, 25));
    if (i === 20) fs.renameSync(path.join(a.dir, FROM), path.join(a.dir, TO));
  }
  await expectFollowed(a, b, ed, typed);
});

it('an edit B made without having seen the rename, reaching A before A took the rename in, lands in the renamed file', async () => {
  const { a, b } = await sharedPair({ [FROM]: 'start\n', 'other.md': 'o\n' });
  await converged(a, b, 'the first sync');
  const ed = await editor(b.daemon.project.socketPath, { followRenames: true });
  expect(await ed.open(FROM)).toBe('start\n');
  await typeLine(ed, 'seen by both\n');
  await until(() => fs.readFileSync(path.join(a.dir, FROM), 'utf8') === 'start\nseen by both\n', 'the first edit in A\'s folder');
  // Each side's live changes are held from the other: B's next edit is made before B knows of
  // the rename, and reaches A (released at once) before A's watcher has taken the rename in.
  const aId = a.daemon.identity.id;
  const bId = b.daemon.identity.id;
  a.net.hold(bId);
  b.net.hold(aId);
  await typeLine(ed, 'concurrent 1\n');
  fs.renameSync(path.join(a.dir, FROM), path.join(a.dir, TO));
  b.net.release(aId);
  await until(() => a.daemon.workspace.index.idOf(TO) !== undefined || a.daemon.workspace.index.idOf(FROM) === undefined, 'A to take the rename in');
  // Still without knowing of the rename, B types on.
  await typeLine(ed, 'concurrent 2\n');
  a.net.release(bId);
  await expectFollowed(a, b, ed, ['start\n', 'seen by both\n', 'concurrent 1\n', 'concurrent 2\n']);
  // After the rename, typing goes on in the renamed file.
  await typeLine(ed, 'after\n');
  await until(() => fs.readFileSync(path.join(a.dir, TO), 'utf8').endsWith('after\n'), 'an edit after the rename on A');
});

it('a moved file changed before the daemon saw the move cannot be told from a new file: both are kept, the typing at the old name, and the log says so', async () => {
  const { a, b } = await sharedPair({ [FROM]: 'start\n', 'other.md': 'o\n' });
  await converged(a, b, 'the first sync');
  const ed = await editor(b.daemon.project.socketPath, { followRenames: true });
  expect(await ed.open(FROM)).toBe('start\n');
  const aId = a.daemon.identity.id;
  b.net.hold(aId);
  await typeLine(ed, 'typed on B\n');
  // A moves the file and changes it at once: its content matches nothing the folder had.
  fs.renameSync(path.join(a.dir, FROM), path.join(a.dir, TO));
  fs.appendFileSync(path.join(a.dir, TO), 'added on A\n');
  b.net.release(aId);
  await until(() => a.lines.some((l) => l.includes(`kept ${FROM}`)), `A to keep ${FROM}`);
  const files = await converged(a, b, 'both folders to settle');
  expect(files).toEqual({ 'other.md': 'o\n', [FROM]: 'start\ntyped on B\n', [TO]: 'start\nadded on A\n' });
  expect(ed.text(FROM)).toBe('start\ntyped on B\n');
  expect(ed.notes.filter((n) => n.method === P.BufferDidRename.method)).toEqual([]);
  // The log names the file that may be the moved one, and where each version is.
  expect(a.lines.find((l) => l.includes(`kept ${FROM}`))).toContain(`If it was moved to ${TO}`);
});
