// Decision 110: PendingContent (daemon/src/disk/pending-content.ts) is the one module that decides
// whether a file of the index is written into the folder now or waits for its blob, for both
// FolderSync (files the folder lacks after a restart) and the Materializer (peers' files). These
// unit tests run it on the in-memory stores and a real temporary folder, with a second Workspace
// as the peer whose index changes arrive without their blobs, and pin its rule for what happens
// while a file waits: renamed, deleted, opened live, changed again, made in the folder meanwhile,
// and one blob awaited by several files and several callers.
import fs from 'node:fs';
import path from 'node:path';
import { afterEach, beforeEach, expect, it } from 'vitest';
import type { WriteBack } from '../../daemon/src/disk/write-back.js';
import { diffToOp } from '../../daemon/src/text/diff-op.js';
import { hashBytes, MemoryBlobStore } from '../../daemon/src/workspace/blob-store.js';
import { MemoryStore } from '../../daemon/src/workspace/memory-store.js';
import { Workspace } from '../../daemon/src/workspace/workspace.js';
import { tempDir } from '../support/project-dir.js';
import { writeBackFixture, type WriteBackFixture } from '../support/write-back-fixture.js';

const PEER = { kind: 'peer', peerId: 'p'.repeat(16) } as const;
const DISK = { kind: 'disk' } as const;
const noFolder = { read: async () => undefined };
const bytes = (s: string) => new TextEncoder().encode(s);
/** Content that stays a blob (not text): its changes are whole new blobs, never live text. */
const binary = (n: number) => new Uint8Array([0, 0xff, n, 0, 0xfe, n]);

let fixture: WriteBackFixture;
let root: string;
let here: Workspace;
let peer: Workspace;
let writeBack: WriteBack;
let lines: string[];

beforeEach(() => {
  fixture = writeBackFixture();
  ({ root, here, writeBack, lines } = fixture);
  peer = new Workspace(new MemoryStore(), new MemoryBlobStore(), 'cd'.repeat(16), noFolder);
  // The peer's index changes reach this workspace as a replicator would hand them on; its blobs
  // do not (a test puts one here when it "arrives").
  peer.on('localChange', (docId, change) => {
    if (docId === 'index') here.applyRemote(docId, [change], PEER);
  });
});

afterEach(async () => {
  await fixture.close();
  peer.close();
});

const onDisk = (rel: string) => (fs.existsSync(path.join(root, rel)) ? fs.readFileSync(path.join(root, rel), 'utf8') : undefined);

/** The blob of `data` arrives here (from a peer). */
function arrive(data: Uint8Array): void {
  here.blobs.put(data);
}

async function until(pred: () => boolean, what: string): Promise<void> {
  const end = Date.now() + 10_000;
  while (!pred()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** Let every write started so far finish. */
async function settle(): Promise<void> {
  await new Promise((r) => setTimeout(r, 50));
  await writeBack.idle();
}

it('writes a file at once when its content is here, and when its blob arrives when it is not', async () => {
  peer.addFile('now.txt', bytes('here already\n'), DISK);
  arrive(bytes('here already\n'));
  peer.addFile('later.txt', bytes('on the way\n'), DISK);
  const pending = writeBack.pendingContent;
  await pending.write('now.txt');
  await pending.write('later.txt');
  expect(onDisk('now.txt')).toBe('here already\n');
  expect(onDisk('later.txt')).toBeUndefined();
  expect(pending.waiting()).toBe(1);
  arrive(bytes('on the way\n'));
  await until(() => onDisk('later.txt') === 'on the way\n', 'later.txt written when its blob arrived');
  expect(pending.waiting()).toBe(0);
});

it('a file renamed while it waits is written at its new path only', async () => {
  const id = peer.addFile('old/name.txt', bytes('moving\n'), DISK);
  await writeBack.pendingContent.write('old/name.txt');
  peer.rename('old/name.txt', 'new/place.txt', DISK);
  expect(here.index.idOf('new/place.txt')).toBe(id);
  expect(writeBack.pendingContent.isWaiting(id)).toBe(true);
  arrive(bytes('moving\n'));
  await until(() => onDisk('new/place.txt') === 'moving\n', 'the file at its new path');
  await settle();
  expect(onDisk('old/name.txt')).toBeUndefined();
  expect(fs.existsSync(path.join(root, 'old'))).toBe(false);
});

it('a file deleted while it waits is not written, and no longer counts as waiting', async () => {
  const id = peer.addFile('gone.txt', bytes('short-lived\n'), DISK);
  await writeBack.pendingContent.write('gone.txt');
  expect(writeBack.pendingContent.waiting()).toBe(1);
  peer.remove('gone.txt', DISK);
  expect(writeBack.pendingContent.isWaiting(id)).toBe(false);
  expect(writeBack.pendingContent.waiting()).toBe(0); // a join does not wait for it
  arrive(bytes('short-lived\n'));
  await settle();
  expect(onDisk('gone.txt')).toBeUndefined();
});

it('a file opened live while it waits is written by the write-back with its live text, not the older blob', async () => {
  const id = peer.addFile('open.txt', bytes('first\n'), DISK);
  await writeBack.pendingContent.write('open.txt');
  // On the peer an editor opens it and types; its text document arrives here before the blob.
  await peer.open('open.txt', false, { kind: 'editor', editorId: 'e' });
  peer.edit(id, diffToOp('first\n', 'first\ntyped\n'), { kind: 'editor', editorId: 'e', editId: 'e-1' });
  here.applySnapshot(id, peer.savedForm(id)!.data, PEER);
  expect(here.isLive(id)).toBe(true);
  expect(writeBack.pendingContent.waiting()).toBe(0);
  await until(() => onDisk('open.txt') === 'first\ntyped\n', 'the live text in the folder');
  arrive(bytes('first\n'));
  await settle();
  expect(onDisk('open.txt')).toBe('first\ntyped\n');
});

it('a file whose content changes again while it waits waits for the newer blob and is written with it', async () => {
  const id = peer.addFile('data.bin', binary(1), DISK);
  await writeBack.pendingContent.write('data.bin');
  peer.contentChanged('data.bin', binary(2), DISK);
  expect(here.index.entry(id)!.hash).toBe(hashBytes(binary(2)));
  arrive(binary(1)); // the old content arrives: not what the file has any more
  await settle();
  expect(fs.existsSync(path.join(root, 'data.bin'))).toBe(false);
  expect(writeBack.pendingContent.isWaiting(id)).toBe(true);
  arrive(binary(2));
  await until(() => fs.existsSync(path.join(root, 'data.bin')), 'data.bin written');
  expect(new Uint8Array(fs.readFileSync(path.join(root, 'data.bin')))).toEqual(binary(2));
});

it('a file made in the folder at a waiting path meanwhile is left as the person made it', async () => {
  peer.addFile('mine.txt', bytes('from the peer\n'), DISK);
  await writeBack.pendingContent.write('mine.txt');
  fs.writeFileSync(path.join(root, 'mine.txt'), 'typed here meanwhile\n');
  arrive(bytes('from the peer\n'));
  await until(() => lines.some((l) => l.startsWith('left mine.txt as the folder has it')), 'the log line');
  await settle();
  expect(onDisk('mine.txt')).toBe('typed here meanwhile\n');
});

it('a file over the size limit made at a waiting path meanwhile is left, and the log does not say it is taken in', async () => {
  peer.addFile('huge.bin', bytes('from the peer\n'), DISK);
  await writeBack.pendingContent.write('huge.bin');
  // Sparse: 49 MiB on paper, next to nothing on the disk.
  fs.writeFileSync(path.join(root, 'huge.bin'), '');
  fs.truncateSync(path.join(root, 'huge.bin'), 49 * 1024 * 1024);
  arrive(bytes('from the peer\n'));
  await until(() => lines.some((l) => l.startsWith('left huge.bin as the folder has it')), 'the log line');
  await settle();
  const line = lines.find((l) => l.startsWith('left huge.bin as the folder has it'))!;
  expect(line).toMatch(/not shared/);
  expect(line).not.toMatch(/taken in/);
  expect(fs.statSync(path.join(root, 'huge.bin')).size).toBe(49 * 1024 * 1024);
});

it("a file the daemon wrote earlier is replaced when a peer's newer content arrives", async () => {
  const id = peer.addFile('doc.bin', binary(1), DISK);
  arrive(binary(1));
  await writeBack.pendingContent.write('doc.bin');
  expect(new Uint8Array(fs.readFileSync(path.join(root, 'doc.bin')))).toEqual(binary(1));
  peer.contentChanged('doc.bin', binary(3), DISK);
  await writeBack.pendingContent.write('doc.bin');
  expect(writeBack.pendingContent.isWaiting(id)).toBe(true);
  arrive(binary(3));
  await until(() => new Uint8Array(fs.readFileSync(path.join(root, 'doc.bin'))).every((b, i) => b === binary(3)[i]), 'the newer content');
});

it('one blob awaited by two files and by both callers (a restart scan and a peer change) writes each file once', async () => {
  const a = peer.addFile('a.txt', bytes('same\n'), DISK);
  const b = peer.addFile('copy/b.txt', bytes('same\n'), DISK);
  const pending = writeBack.pendingContent;
  // FolderSync on start and the Materializer for a peer's change both ask for a.txt.
  await pending.write('a.txt');
  await pending.write('a.txt');
  await pending.write('copy/b.txt');
  expect(pending.waiting()).toBe(2);
  expect(pending.isWaiting(a) && pending.isWaiting(b)).toBe(true);
  const written: string[] = [];
  const writeNow = writeBack.writeNow.bind(writeBack);
  writeBack.writeNow = (p, d, o) => {
    written.push(p);
    return writeNow(p, d, o);
  };
  arrive(bytes('same\n'));
  await until(() => onDisk('a.txt') === 'same\n' && onDisk('copy/b.txt') === 'same\n', 'both files');
  await settle();
  expect(written.sort()).toEqual(['a.txt', 'copy/b.txt']);
  expect(pending.waiting()).toBe(0);
});

it('a path the writer refuses is never written nor waited for, and its refusal is logged once', async () => {
  const outside = tempDir('chorus-outside-');
  fs.symlinkSync(outside, path.join(root, 'out'));
  peer.addFile('out/evil.txt', bytes('pwned\n'), DISK);
  const pending = writeBack.pendingContent;
  await pending.write('out/evil.txt');
  await pending.write('out/evil.txt');
  expect(pending.waiting()).toBe(0);
  arrive(bytes('pwned\n'));
  await pending.write('out/evil.txt');
  await settle();
  expect(fs.readdirSync(outside)).toEqual([]);
  expect(lines.filter((l) => l.includes('out/evil.txt'))).toHaveLength(1);
  expect(lines[0]).toMatch(/^refused to write "out\/evil.txt"/);
});
