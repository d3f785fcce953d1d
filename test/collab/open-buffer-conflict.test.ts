// A file open in an editor whose file goes and comes back at its path (decision 155). The user
// trial's fault: `git checkout` to a branch without the open file and back, with a peer in the
// session, left the buffer bound to the file that went; the next keystroke brought that file back
// beside the one at the path, as `name (conflict …)`, silently (no buffer/didRename), and each
// round trip made another copy. The buffer must stay with the path the person sees.
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import * as P from '@chorus/protocol';
import { afterEach, expect, it } from 'vitest';
import { editor, folderFiles, sharedPair, startPeer, stopAllPeers, until, type Peer } from '../support/disk-peers.js';
import { tempProject } from '../support/project-dir.js';
import type { ScriptedEditor } from '../support/scripted-editor.js';

afterEach(stopAllPeers);

const MAIN = 'export const v = "main";\n';
const FEATURE = 'export const v = "feature";\n// changed on feature\n';

function gitIn(dir: string) {
  return (...args: string[]) => execFileSync('git', ['-c', 'user.email=t@example.com', '-c', 'user.name=t', ...args], { cwd: dir, stdio: 'pipe' }).toString();
}

/** A repository on `main` with a.ts and other.txt; `feature` changes a.ts (`FEATURE`) or removes it (`undefined`). */
function repo(feature: string | undefined) {
  return (dir: string) => {
    const git = gitIn(dir);
    git('init', '-q', '-b', 'main');
    fs.writeFileSync(path.join(dir, 'a.ts'), MAIN);
    fs.writeFileSync(path.join(dir, 'other.txt'), 'o\n');
    git('add', '-A');
    git('commit', '-q', '-m', 'main');
    git('checkout', '-q', '-b', 'feature');
    if (feature === undefined) git('rm', '-q', 'a.ts');
    else fs.writeFileSync(path.join(dir, 'a.ts'), feature);
    git('commit', '-q', '-am', 'feature');
    git('checkout', '-q', 'main');
  };
}

const read = (p: Peer, rel: string) => fs.readFileSync(path.join(p.dir, rel), 'utf8');
const copies = (p: Peer) => Object.keys(folderFiles(p.dir)).filter((f) => f.includes('(conflict'));
const renames = (e: ScriptedEditor) => e.notes.filter((n) => n.method === P.BufferDidRename.method);

/** Type `text` at the top of a.ts and wait until both folders have it there. */
async function typeAtTop(e: ScriptedEditor, a: Peer, b: Peer, text: string, base: string): Promise<void> {
  await e.edit('a.ts', 0, 0, text);
  const want = text + base;
  await until(() => read(a, 'a.ts') === want && read(b, 'a.ts') === want, 'the typing in a.ts on both peers').catch((err: Error) => {
    throw new Error(`${err.message}; A has ${JSON.stringify(folderFiles(a.dir))}, B has ${JSON.stringify(folderFiles(b.dir))}`);
  });
}

it.each(['the peer running git', 'the other peer'])('git checkout to a branch without the open file and back, open on %s: the buffer stays on the path, typing lands there, no copies', async (where) => {
  const { a, b } = await sharedPair({}, { prepareSharer: repo(undefined) });
  const git = gitIn(a.dir);
  await until(() => fs.existsSync(path.join(b.dir, 'a.ts')), 'the first sync');
  const e = await editor((where === 'the other peer' ? b : a).daemon.project.socketPath);
  await e.open('a.ts');
  for (let round = 1; round <= 2; round++) {
    git('checkout', '-q', 'feature');
    await until(() => !fs.existsSync(path.join(a.dir, 'a.ts')) && !fs.existsSync(path.join(b.dir, 'a.ts')), `a.ts gone on both peers (round ${round})`);
    git('checkout', '-q', 'main');
    await until(() => fs.existsSync(path.join(b.dir, 'a.ts')) && a.daemon.workspace.index.idOf('a.ts') !== undefined, `a.ts back on both peers (round ${round})`);
    await a.daemon.folder.settled();
    await e.waitFor(() => e.text('a.ts') === MAIN, 'the buffer to hold a.ts');
    await typeAtTop(e, a, b, '// round\n', MAIN);
    expect(copies(a)).toEqual([]);
    expect(copies(b)).toEqual([]);
    // Typed away again, so the next checkout finds a clean tree.
    await e.edit('a.ts', 0, '// round\n'.length, '');
    await until(() => read(a, 'a.ts') === MAIN && read(b, 'a.ts') === MAIN, 'the typing undone on both peers');
    await a.daemon.folder.settled();
    expect(git('status', '--porcelain')).toBe('');
  }
  expect(renames(e)).toEqual([]);
  expect(Object.keys(folderFiles(b.dir)).sort()).toEqual(['a.ts', 'other.txt']);
});

it('a removal and a re-creation of the open file seen apart (a large checkout): the buffer takes the new content in place', async () => {
  const { a, b } = await sharedPair({}, { prepareSharer: repo(FEATURE) });
  await until(() => fs.existsSync(path.join(b.dir, 'a.ts')), 'the first sync');
  const e = await editor(a.daemon.project.socketPath);
  await e.open('a.ts');
  // What git does to a changed file (unlink, then create), seen by the watcher in two batches.
  fs.rmSync(path.join(a.dir, 'a.ts'));
  await until(() => a.daemon.workspace.index.idOf('a.ts') === undefined, 'the removal taken in');
  fs.writeFileSync(path.join(a.dir, 'a.ts'), FEATURE);
  await e.waitFor(() => e.text('a.ts') === FEATURE, 'the buffer to take the new a.ts');
  await typeAtTop(e, a, b, '// typed\n', FEATURE);
  expect(copies(a)).toEqual([]);
  expect(copies(b)).toEqual([]);
  expect(renames(e)).toEqual([]);
});

/** A shares `a.ts` (`MAIN`); B, whose folder has its own `a.ts` (`mine`) open in an editor, joins. */
async function joinWithOpenFile(mine: string) {
  const a = await startPeer(tempProject({ 'a.ts': MAIN, 'other.txt': 'o\n' }, 'chorus-disk-a-'), 'alice');
  const code = await a.daemon.share({ host: '127.0.0.1', webrtc: false });
  const b = await startPeer(tempProject({ 'a.ts': mine }, 'chorus-disk-b-'), 'bob');
  const e = await editor(b.daemon.project.socketPath);
  await e.open('a.ts');
  await b.daemon.join(code, { disk: true, host: '127.0.0.1', webrtc: false }, () => {});
  await until(() => fs.existsSync(path.join(b.dir, 'other.txt')) && read(b, 'a.ts') === MAIN, 'the session on B');
  return { a, b, e };
}

it('joining with another version of the open file: the session keeps the path, the buffer keeps its text and is told its new path', async () => {
  const { a, b, e } = await joinWithOpenFile('mine\n');
  await until(() => copies(b).length === 1 && copies(a).length === 1, 'the folder\'s version kept as a copy on both peers');
  const [copy] = copies(b);
  await e.waitFor(() => renames(e).length === 1, 'buffer/didRename');
  expect(renames(e)[0]!.params).toEqual({ from: 'a.ts', to: copy });
  // The editor follows, as the real ones do (the scripted one keeps buffers by path).
  e.buffers.set(copy!, e.buffers.get('a.ts')!);
  e.buffers.delete('a.ts');
  expect(e.text(copy!)).toBe('mine\n');
  await e.edit(copy!, 0, 0, '// mine\n');
  await until(() => read(a, copy!) === '// mine\nmine\n' && read(b, copy!) === '// mine\nmine\n', 'the typing in the copy on both peers');
  // The sharer's folder may still be settling the swap (its resolve may have moved the other one).
  await until(() => read(a, 'a.ts') === MAIN && read(b, 'a.ts') === MAIN, "the session's a.ts on both peers");
  expect(copies(a)).toEqual([copy]);
});

it('joining with the very same version of the open file: the buffer stays on the path, typing lands there, no copy', async () => {
  const { a, b, e } = await joinWithOpenFile(MAIN);
  await b.daemon.folder.settled();
  await typeAtTop(e, a, b, '// joined\n', MAIN);
  expect(copies(a)).toEqual([]);
  expect(copies(b)).toEqual([]);
  expect(renames(e)).toEqual([]);
});
