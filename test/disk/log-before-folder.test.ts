// Decision 217: a live text reaches the folder only once the log records of the changes it holds
// are fsynced. A power loss loses what the last fsync batch had not synced; text of such changes
// already in the folder was taken in at the next start as new edits, and doubled on every peer
// that had them (a trial: "B1 B1 line one"). Here the fsyncs of a real Storage are held, as a slow
// disk would, and the folder must not get ahead of them.
import fs from 'node:fs';
import path from 'node:path';
import { afterEach, beforeEach, expect, it, vi } from 'vitest';
import { DiskLedger } from '../../daemon/src/disk/disk-ledger.js';
import { WriteBack } from '../../daemon/src/disk/write-back.js';
import { Project } from '../../daemon/src/project.js';
import { diffToOp } from '../../daemon/src/text/diff-op.js';
import { MemoryBlobStore } from '../../daemon/src/workspace/blob-store.js';
import { Storage } from '../../daemon/src/workspace/storage.js';
import { Workspace } from '../../daemon/src/workspace/workspace.js';
import { tempProject } from '../support/project-dir.js';

const DISK = { kind: 'disk' } as const;
const bytes = (s: string) => new TextEncoder().encode(s);

let root: string;
let storage: Storage;
let here: Workspace;
let ledger: DiskLedger;
let writeBack: WriteBack;
/** fsyncs the store asked for and the test holds back (a slow disk): `release` lets them run. */
let held: Array<() => void>;
let editNo = 0;

beforeEach(() => {
  root = tempProject({});
  storage = new Storage(path.join(root, '.chorus', 'state'));
  here = new Workspace(storage, new MemoryBlobStore(), 'ab'.repeat(16), { read: async () => undefined });
  ledger = new DiskLedger(path.join(root, '.chorus', 'disk'));
  writeBack = new WriteBack(new Project(root), here, ledger, () => undefined);
  writeBack.durable = storage; // as the daemon sets it
  here.on('text', (c) => writeBack.schedule(c.fileId));
  held = [];
  heldFiles = [];
});

afterEach(async () => {
  vi.restoreAllMocks();
  release();
  await writeBack.flush();
  ledger.close();
  here.close();
  fs.rmSync(root, { recursive: true, force: true });
});

/** The file each held fsync is for (its log), by the held entry's index. */
let heldFiles: string[] = [];

function holdFsyncs(): void {
  const real = fs.fsync.bind(fs);
  vi.spyOn(fs, 'fsync').mockImplementation(((fd: number, cb: (e: NodeJS.ErrnoException | null) => void) => {
    heldFiles.push(fs.readlinkSync(`/proc/self/fd/${fd}`));
    held.push(() => real(fd, cb));
  }) as typeof fs.fsync);
}

function release(): void {
  heldFiles = [];
  for (const run of held.splice(0)) run();
}

/** Let the held fsyncs of the logs whose file name holds `id` run; the others stay held. */
function releaseOf(id: string): void {
  const keep: Array<() => void> = [];
  const keepFiles: string[] = [];
  held.forEach((run, i) => {
    if (heldFiles[i]!.includes(id)) run();
    else {
      keep.push(run);
      keepFiles.push(heldFiles[i]!);
    }
  });
  held = keep;
  heldFiles = keepFiles;
}

const onDisk = () => fs.readFileSync(path.join(root, 'f.txt'), 'utf8');
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function until(check: () => boolean, ms = 3000): Promise<boolean> {
  for (const end = Date.now() + ms; Date.now() < end; await sleep(20)) if (check()) return true;
  return check();
}

/** A file in the folder (`f.txt` unless named), live, with `text` written and synced. */
async function liveFile(text: string, name = 'f.txt'): Promise<string> {
  const id = here.addFile(name, bytes(text), DISK);
  await here.open(name, false, { kind: 'editor', editorId: 'e' });
  await writeBack.writeNow(name, bytes(text), { force: true, text, liveId: id });
  expect(fs.readFileSync(path.join(root, name), 'utf8')).toBe(text);
  return id;
}

function type(id: string, text: string): void {
  here.edit(id, diffToOp(here.text(id), text), { kind: 'editor', editorId: 'e', editId: `e-${++editNo}` });
}

it('an edit is in the folder only once its log record is fsynced, and then soon (the batch is started, not waited for)', async () => {
  const id = await liveFile('one\n');
  holdFsyncs();
  type(id, 'one\ntwo\n');
  // Saved (written synchronously, decision 004) before anything else...
  expect(storage.load(id).changes.length).toBeGreaterThan(0);
  expect(storage.synced(id)).toBe(false);
  // ...and the write-back, due after 100 ms, started the fsync batch early and waits for it.
  expect(await until(() => held.length > 0, 1000)).toBe(true);
  await sleep(400);
  expect(onDisk()).toBe('one\n');
  release();
  expect(await until(() => onDisk() === 'one\ntwo\n')).toBe(true);
  expect(storage.synced(id)).toBe(true);
});

// A peer's batch of twenty files held an editor's save of another file until all twenty logs
// were fsynced (trial s56a, F3: VS Code's save waited past its bound).
it("a file's write waits for its own log's fsync, not for another file's", async () => {
  const f = await liveFile('one\n');
  const g = await liveFile('g one\n', 'g.txt');
  holdFsyncs();
  type(g, 'g one\ng two\n');
  type(f, 'one\ntwo\n');
  expect(await until(() => heldFiles.some((p) => p.includes(f)) && heldFiles.some((p) => p.includes(g)), 1000)).toBe(true);
  releaseOf(f);
  expect(await until(() => onDisk() === 'one\ntwo\n')).toBe(true);
  // g's log is not synced yet: g.txt waits for it.
  expect(fs.readFileSync(path.join(root, 'g.txt'), 'utf8')).toBe('g one\n');
  release();
  expect(await until(() => fs.readFileSync(path.join(root, 'g.txt'), 'utf8') === 'g one\ng two\n')).toBe(true);
});

it('a change made while its batch is syncing is not written with it: the folder gets the text as it was, and the newer one after the next batch', async () => {
  const id = await liveFile('one\n');
  holdFsyncs();
  type(id, 'one\ntwo\n');
  expect(await until(() => held.length > 0, 1000)).toBe(true);
  // Appended while the batch's fsync is in flight: not covered by it.
  type(id, 'one\ntwo\nthree\n');
  release();
  expect(await until(() => onDisk() === 'one\ntwo\n')).toBe(true);
  // The newer text waits for the next batch.
  expect(await until(() => held.length > 0, 2000)).toBe(true);
  await sleep(300);
  expect(onDisk()).toBe('one\ntwo\n');
  release();
  expect(await until(() => onDisk() === 'one\ntwo\nthree\n')).toBe(true);
});
