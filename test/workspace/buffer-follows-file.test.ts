// Decision 155: an open buffer is always where its editor thinks it is. Two cases a real daemon
// hits only in a race, made here in one go on a Workspace and an EditorBuffers.
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';
import { afterEach, expect, it } from 'vitest';
import { EditorBuffers } from '../../daemon/src/editor/editor-buffers.js';
import { Project } from '../../daemon/src/project.js';
import { diffToOp } from '../../daemon/src/text/diff-op.js';
import { MemoryBlobStore } from '../../daemon/src/workspace/blob-store.js';
import { MemoryStore } from '../../daemon/src/workspace/memory-store.js';
import { Workspace } from '../../daemon/src/workspace/workspace.js';

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

async function setup() {
  const dir = mkdtempSync(join(os.tmpdir(), 'chorus-follow-'));
  dirs.push(dir);
  const ws = new Workspace(new MemoryStore(), new MemoryBlobStore(), 'ab'.repeat(16), { read: async () => undefined });
  const told: Array<[string, string]> = [];
  const changes: string[] = [];
  const buffers = new EditorBuffers('e1', new Project(dir), ws, {
    bufferDidChange: (p, _r, c) => changes.push(`${p}: ${c.map((x) => x.text).join('')}`),
    bufferDidRename: (from, to) => told.push([from, to]),
    workspaceDidChange: () => undefined,
  });
  buffers.initialized = true;
  await buffers.open('a.txt', 'mine\n');
  return { ws, buffers, told, changes, gone: buffers.openBuffer('a.txt').fileId };
}

it('a buffer whose file came back beside another at its path (an edit won over a delete) follows it, and the editor is told', async () => {
  const { ws, buffers, told, gone } = await setup();
  ws.remove('a.txt', { kind: 'disk' });
  ws.addFile('a.txt', new TextEncoder().encode('theirs\n'), { kind: 'disk' });
  // An edit that reached the file that went before the buffer could move: it keeps that file,
  // which comes back as a copy, since another holds its path now.
  ws.edit(gone, diffToOp('mine\n', 'mine, edited\n'), { kind: 'editor', editorId: 'e1' });
  const copy = ws.pathOf(gone)!;
  expect(copy).toMatch(/^a \(conflict [0-9a-f]+\)\.txt$/);
  expect(told).toEqual([['a.txt', copy]]);
  expect(buffers.openBuffer(copy).fileId).toBe(gone);
  expect(buffers.openPaths()).toEqual([copy]);
  buffers.dispose();
  ws.close();
});

it('a buffer whose file went while another arrived at its path takes that file, and the editor gets its text', async () => {
  const { ws, buffers, told, changes, gone } = await setup();
  ws.remove('a.txt', { kind: 'disk' });
  const now = ws.addFile('a.txt', new TextEncoder().encode('theirs\n'), { kind: 'disk' });
  await new Promise((r) => setTimeout(r, 20));
  expect(buffers.openBuffer('a.txt').fileId).toBe(now);
  expect(changes.length).toBeGreaterThan(0);
  expect(told).toEqual([]);
  await buffers.edit('a.txt', 1, [{ range: { start: { line: 0, character: 0 }, end: { line: 0, character: 0 } }, text: '> ' }], false);
  expect(ws.text(now)).toBe('> theirs\n');
  expect(ws.pathOf(gone)).toBeUndefined();
  buffers.dispose();
  ws.close();
});
