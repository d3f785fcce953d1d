// WriteBack (daemon/src/disk/write-back.ts) before it writes a peer's text over a file another
// tool changed: it takes that change in first (takeForeign), then writes the merged text. Only a
// file the take-in leaves out (over the size limit for shared files) is left as the folder has it,
// with a line saying it is not shared. A user trial got that line for a shared file, while a tool
// rewrote it as a peer typed: the take-in had found a newer version than the one read before it,
// and the merged text was left for the take-in's own change to write.
import fs from 'node:fs';
import path from 'node:path';
import { afterEach, beforeEach, expect, it } from 'vitest';
import { diffToOp } from '../../daemon/src/text/diff-op.js';
import { hashBytes } from '../../daemon/src/workspace/blob-store.js';
import type { Workspace } from '../../daemon/src/workspace/workspace.js';
import type { WriteBack } from '../../daemon/src/disk/write-back.js';
import { writeBackFixture, type WriteBackFixture } from '../support/write-back-fixture.js';

const DISK = { kind: 'disk' } as const;
const EDITOR = { kind: 'editor', editorId: 'e' } as const;
const bytes = (s: string) => new TextEncoder().encode(s);

let fixture: WriteBackFixture;
let root: string;
let here: Workspace;
let writeBack: WriteBack;
let lines: string[];

beforeEach(() => {
  fixture = writeBackFixture();
  ({ root, here, writeBack, lines } = fixture);
});

afterEach(() => fixture.close());

const onDisk = (rel: string) => fs.readFileSync(path.join(root, rel), 'utf8');

it("a shared file a tool rewrote again during the take-in gets the merged text, and no line says it is not shared", async () => {
  const id = here.addFile('f.txt', bytes('one\n'), DISK);
  await here.open('f.txt', false, EDITOR);
  await writeBack.writeNow('f.txt', bytes('one\n'), { force: true, text: 'one\n', liveId: id });
  expect(onDisk('f.txt')).toBe('one\n');

  // A tool rewrites the file; when the write-back takes that in, the tool has written again: the
  // take-in takes the newer version in as an edit from the folder.
  fs.writeFileSync(path.join(root, 'f.txt'), 'tool\n');
  let takeIns = 0;
  writeBack.takeForeign = async () => {
    if (takeIns++) return; // the tool wrote twice; later take-ins find nothing new
    fs.writeFileSync(path.join(root, 'f.txt'), 'tool again\n');
    // As FolderSync's take-in does: the folder's content is remembered, then taken in as an edit.
    writeBack.remember('f.txt', hashBytes(bytes('tool again\n')));
    here.edit(id, diffToOp(here.text(id), 'tool again\n' + here.text(id).slice('one\n'.length)), DISK);
  };
  // Meanwhile a peer's line arrives (here: an edit), and its text is written.
  here.edit(id, diffToOp(here.text(id), 'one\nB\n'), { ...EDITOR, editId: 'e-1' });
  await writeBack.writeNow('f.txt', bytes(here.text(id)), { text: here.text(id), liveId: id });
  await writeBack.flush();

  expect(takeIns).toBeGreaterThan(0);
  expect(here.text(id)).toBe('tool again\nB\n');
  expect(onDisk('f.txt')).toBe(here.text(id));
  expect(lines.filter((l) => /not shared/.test(l))).toEqual([]);
});

it('a file over the size limit is left as the folder has it, and the line says it is not shared', async () => {
  const id = here.addFile('big.txt', bytes('session\n'), DISK);
  await here.open('big.txt', false, EDITOR);
  await writeBack.writeNow('big.txt', bytes('session\n'), { force: true, text: 'session\n', liveId: id });
  // The person's own file, over 48 MiB (sparse), which no take-in takes in.
  fs.truncateSync(path.join(root, 'big.txt'), 49 * 1024 * 1024);
  writeBack.takeForeign = async () => undefined;
  here.edit(id, diffToOp(here.text(id), 'session\nB\n'), { ...EDITOR, editId: 'e-1' });
  await writeBack.writeNow('big.txt', bytes(here.text(id)), { text: here.text(id), liveId: id });
  await writeBack.idle();

  expect(fs.statSync(path.join(root, 'big.txt')).size).toBe(49 * 1024 * 1024);
  expect(lines.some((l) => /^left big\.txt as the folder has it: this folder's version is not shared/.test(l))).toBe(true);
});
