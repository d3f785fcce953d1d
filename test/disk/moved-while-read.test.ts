// A watcher batch that read a file the daemon was writing, then decided after the daemon had moved
// that file for a peer's rename (WriteBack.moved forgets the old path): the read was taken for a
// new file at the old path and shared, which is no file at all. A CI run of join-faults showed it:
// the joiner's folder, set aside for the session's file, came back at the file's path on the
// sharer for a moment, and the session's file was moved aside as a conflict copy for it, for good.
// Real folder and watcher (FolderSync over the write-back fixture); the peer's rename is made as
// the Materializer makes it. The batch is held between its read and its decision by an empty new
// file in it, which a take-in lets settle first (decision 205).
import fs from 'node:fs';
import path from 'node:path';
import { afterEach, beforeEach, expect, it } from 'vitest';
import { FolderSync } from '../../daemon/src/disk/folder-sync.js';
import { Project } from '../../daemon/src/project.js';
import { writeBackFixture, type WriteBackFixture } from '../support/write-back-fixture.js';
import { waitUntil } from '../support/cli.js';

const PEER = { kind: 'peer', peerId: 'p'.repeat(16) } as const;
const bytes = (s: string) => new TextEncoder().encode(s);

let fixture: WriteBackFixture;
let sync: FolderSync | undefined;
beforeEach(() => (fixture = writeBackFixture()));
afterEach(async () => {
  await sync?.stop();
  sync = undefined;
  await fixture.close();
});

it('a file the daemon moves for a peer between a batch\'s read and its decision is not shared again at its old path', async () => {
  const { root, here, writeBack, lines } = fixture;
  sync = new FolderSync(new Project(root), here, writeBack, (m) => lines.push(m));
  await sync.start();
  const shared: string[] = [];
  here.on('files', (e) => {
    if (e.origin.kind === 'disk') shared.push(...e.created);
  });

  // The peer's new file d/m.txt: its write lands in the folder and is held there before the
  // daemon notes it landed (as a loaded machine holds it in the write's last steps).
  let release!: () => void;
  const held = new Promise<void>((r) => (release = r));
  const write = writeBack.folder.writeFile.bind(writeBack.folder);
  writeBack.folder.writeFile = (async (...args: Parameters<typeof write>) => {
    const st = await write(...args);
    if (args[0] === 'd/m.txt') await held;
    return st;
  }) as typeof write;
  let readStarted!: () => void;
  const reading = new Promise<void>((r) => (readStarted = r));
  const since = writeBack.since.bind(writeBack);
  writeBack.since = (p: string) => {
    if (p === 'd/m.txt') readStarted();
    return since(p);
  };

  here.addFile('d/m.txt', bytes('mine\n'), PEER);
  const writing = writeBack.writeNow('d/m.txt', bytes('mine\n'), { force: true });
  await waitUntil('the write to land in the folder', () => fs.existsSync(path.join(root, 'd', 'm.txt')));
  // A person's new empty file in the same batch: the take-in lets it settle (500 ms) before it decides.
  fs.writeFileSync(path.join(root, 'new.txt'), '');
  await reading;
  await new Promise((r) => setTimeout(r, 50)); // its read is done; the batch waits for new.txt
  release();
  await writing;
  // The peer's rename, as the Materializer makes it: the index, then the file, then the ledger.
  here.rename('d/m.txt', 'e/m.txt', PEER);
  writeBack.folder.renameNow('d/m.txt', 'e/m.txt');
  writeBack.moved('d/m.txt', 'e/m.txt');

  await waitUntil('the new empty file to be taken in', () => here.index.idOf('new.txt') !== undefined);
  await sync.settled();
  // Before the fix d/m.txt was taken in as a new file at the old path (shared with every peer,
  // then deleted by the next batch): at a path the session has a file, that file moved aside.
  expect(shared).toEqual(['new.txt']);
  expect(here.index.entries().map(([, e]) => e.path).sort()).toEqual(['e/m.txt', 'new.txt']);
  expect(fs.existsSync(path.join(root, 'd', 'm.txt'))).toBe(false);
  expect(fs.readFileSync(path.join(root, 'e', 'm.txt'), 'utf8')).toBe('mine\n');
});
