// Joining a session into a folder that holds the sharing folder, or into a folder inside it, must
// not share files into themselves. Before: the joiner at T shared the sharer's folder T/inner as
// `inner/…`, the sharer wrote that into T/inner/inner/…, the joiner shared it again, and so on —
// twenty levels on every peer within seconds. A folder that holds a `.chorus/` of its own is a
// project of its own (daemon/src/disk/nested-projects.ts): never shared or written from around it.
// Real daemons on loopback, real folders.
import fs from 'node:fs';
import path from 'node:path';
import { afterEach, expect, it } from 'vitest';
import type { Daemon } from '../../daemon/src/daemon.js';
import { logsOf, startDaemon } from '../support/in-process.js';
import { tempDir, waitForFile } from '../support/project-dir.js';
import { stopAll } from './peer-helpers.js';

let daemons: Daemon[] = [];
afterEach(async () => ([daemons] = await stopAll(daemons, [])));

const paths = (d: Daemon) => d.workspace.index.entries().map(([, e]) => e.path).sort();

/** Every file under `dir`, project-relative, outside `.chorus/` folders. */
function filesUnder(dir: string): string[] {
  const out: string[] = [];
  const walk = (rel: string) => {
    for (const e of fs.readdirSync(path.join(dir, rel), { withFileTypes: true })) {
      if (e.name === '.chorus') continue;
      const r = rel ? `${rel}/${e.name}` : e.name;
      if (e.isDirectory()) walk(r);
      else out.push(r);
    }
  };
  walk('');
  return out.sort();
}

/** Share `sharerDir`, join `joinerDir`, then make an edit on the sharer travel to the joiner (so both watchers have run). */
async function shareJoinAndEdit(sharerDir: string, joinerDir: string): Promise<[Daemon, Daemon]> {
  const sharer = await startDaemon(sharerDir, 'sharer');
  daemons.push(sharer);
  const code = await sharer.share({ host: '127.0.0.1', webrtc: false });
  fs.mkdirSync(joinerDir, { recursive: true }); // as `chorus join` makes it
  const joiner = await startDaemon(joinerDir, 'joiner');
  daemons.push(joiner);
  await joiner.join(code, { disk: true, host: '127.0.0.1', webrtc: false }, () => undefined);
  fs.writeFileSync(path.join(sharerDir, 'one.txt'), 'one, edited\n');
  await waitForFile(path.join(joinerDir, 'one.txt'), (t) => t === 'one, edited\n', 'the edit on the joiner');
  fs.writeFileSync(path.join(joinerDir, 'two.txt'), 'two\n');
  await waitForFile(path.join(sharerDir, 'two.txt'), (t) => t === 'two\n', "the joiner's new file on the sharer");
  await Promise.all([sharer.folder.settled(), joiner.folder.settled()]);
  return [sharer, joiner];
}

it('joining into a folder that holds the sharing folder shares only the session: nothing nests', async () => {
  const outer = tempDir('chorus-nest-');
  fs.mkdirSync(path.join(outer, 'inner'));
  fs.writeFileSync(path.join(outer, 'inner', 'one.txt'), 'one\n');
  fs.writeFileSync(path.join(outer, 'own.txt'), 'the outer folder had this\n');
  const [sharer, joiner] = await shareJoinAndEdit(path.join(outer, 'inner'), outer);

  expect(paths(sharer)).toEqual(['one.txt', 'own.txt', 'two.txt']);
  expect(paths(joiner)).toEqual(['one.txt', 'own.txt', 'two.txt']);
  expect(filesUnder(path.join(outer, 'inner'))).toEqual(['one.txt', 'own.txt', 'two.txt']);
  expect(filesUnder(outer)).toEqual(['inner/one.txt', 'inner/own.txt', 'inner/two.txt', 'one.txt', 'own.txt', 'two.txt']);
  expect(joiner.workspace.index.dirs()).toEqual([]);
  expect(logsOf(joiner).filter((l) => l.startsWith('not sharing inner/: it is a Chorus project of its own'))).toHaveLength(1);
});

it('joining into a folder inside the sharing folder: the sharer leaves it alone', async () => {
  const outer = tempDir('chorus-nest-');
  fs.writeFileSync(path.join(outer, 'one.txt'), 'one\n');
  const [sharer, joiner] = await shareJoinAndEdit(outer, path.join(outer, 'sub'));

  expect(paths(sharer)).toEqual(['one.txt', 'two.txt']);
  expect(paths(joiner)).toEqual(['one.txt', 'two.txt']);
  expect(filesUnder(outer)).toEqual(['one.txt', 'sub/one.txt', 'sub/two.txt', 'two.txt']);
  expect(sharer.workspace.index.dirs()).toEqual([]);
});
