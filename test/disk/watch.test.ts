// One daemon and its folder, with the real chokidar watcher: outside edits, creates, renames and
// deletes (of files and folders) become changes to the shared state; the daemon's own writes do
// not echo; ignored files, binary, oversized and symlinked files are handled as decided in
// docs/decisions/disk-whole-files.md; a `git checkout` of 200 files lands as few coherent changes
// and an editor open on a changed file sees it change in place.
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import * as P from '@chorus/protocol';
import { afterEach, expect, it } from 'vitest';
import type { Origin } from '../../daemon/src/workspace/workspace.js';
import { editor, startPeer, stopAllPeers, until } from '../support/disk-peers.js';
import { tempDir, tempProject, waitForFile } from '../support/project-dir.js';

afterEach(stopAllPeers);

it('takes in outside edits as changes, and never echoes its own writes', async () => {
  const dir = tempProject({ 'a.txt': 'one\ntwo\nthree\n' });
  const p = await startPeer(dir, 'solo');
  const ws = p.daemon.workspace;
  const origins: Origin['kind'][] = [];
  ws.on('text', (e) => origins.push(e.origin.kind));
  const e = await editor(p.daemon.project.socketPath);
  await e.open('a.txt');
  await e.edit('a.txt', 0, 0, '> ');
  await waitForFile(path.join(dir, 'a.txt'), (t) => t === '> one\ntwo\nthree\n', 'the editor edit on disk');
  // another tool rewrites the middle line
  fs.writeFileSync(path.join(dir, 'a.txt'), '> one\nTWO\nthree\n');
  await e.waitFor(() => e.text('a.txt') === '> one\nTWO\nthree\n', 'the outside edit in the editor');
  await p.daemon.folder.settled();
  // exactly one editor change and one disk change: the daemon's own writes came back as nothing
  expect(origins).toEqual(['editor', 'disk']);
});

it('creates, renames, moves and deletes files and folders; a rename keeps the file id', async () => {
  const dir = tempProject({ 'src/a.ts': 'export const a = 1;\n', 'src/lib/b.ts': 'export const b = 2;\n', 'doc.md': '# doc\n' });
  const p = await startPeer(dir, 'solo');
  const index = p.daemon.workspace.index;
  const idA = index.idOf('src/a.ts')!;
  const idB = index.idOf('src/lib/b.ts')!;
  const idDoc = index.idOf('doc.md')!;
  const e = await editor(p.daemon.project.socketPath);
  await e.open('doc.md');

  fs.writeFileSync(path.join(dir, 'new.txt'), 'new file\n');
  fs.renameSync(path.join(dir, 'doc.md'), path.join(dir, 'README.md'));
  fs.renameSync(path.join(dir, 'src'), path.join(dir, 'source')); // a folder rename
  await until(() => index.idOf('new.txt') !== undefined && index.idOf('README.md') !== undefined && index.idOf('source/lib/b.ts') !== undefined, 'the creates and renames');
  expect(index.idOf('README.md')).toBe(idDoc);
  expect(index.idOf('source/a.ts')).toBe(idA);
  expect(index.idOf('source/lib/b.ts')).toBe(idB);
  expect(index.idOf('src/a.ts')).toBeUndefined();
  // the editor open on the renamed file heard of it
  await e.waitFor(() => e.notes.some((n) => n.method === P.WorkspaceDidChange.method && n.params.renamed.some((r: { to: string }) => r.to === 'README.md')), 'workspace/didChange for the rename');

  fs.mkdirSync(path.join(dir, 'moved'));
  fs.renameSync(path.join(dir, 'new.txt'), path.join(dir, 'moved', 'new.txt')); // a move
  fs.rmSync(path.join(dir, 'source'), { recursive: true }); // a folder delete
  await until(() => index.idOf('moved/new.txt') !== undefined && index.idOf('source/a.ts') === undefined && index.idOf('source/lib/b.ts') === undefined, 'the move and the folder delete');
  expect(index.entries().map(([, x]) => x.path).sort()).toEqual(['README.md', 'moved/new.txt']);
});

it('skips ignored files, keeps binary and oversized files whole, never follows symlinks', async () => {
  const outside = tempDir('chorus-outside-');
  fs.writeFileSync(path.join(outside, 'secret.txt'), 'secret\n');
  const dir = tempProject({
    '.gitignore': 'build/\n*.log\n',
    'sub/.gitignore': 'local.txt\n',
    'sub/local.txt': 'ignored by a nested .gitignore\n',
    'sub/kept.txt': 'kept\n',
    'build/out.js': 'ignored\n',
    'debug.log': 'ignored\n',
    'node_modules/x/index.js': 'ignored\n',
    '.chorus/ignore': 'private/\n',
    'private/notes.txt': 'ignored by .chorus/ignore\n',
    'src/main.c': 'int main() {}\n',
  });
  fs.writeFileSync(path.join(dir, 'logo.png'), Buffer.from([0x89, 0x50, 0x4e, 0x47, 0, 1, 2, 3, 255]));
  fs.writeFileSync(path.join(dir, 'big.txt'), 'x'.repeat(1024 * 1024 + 10));
  fs.symlinkSync(path.join(outside, 'secret.txt'), path.join(dir, 'link.txt'));
  fs.symlinkSync(outside, path.join(dir, 'linkdir'));
  const p = await startPeer(dir, 'solo');
  const ws = p.daemon.workspace;
  const paths = () => ws.index.entries().map(([, e]) => e.path).sort();
  expect(paths()).toEqual(['.gitignore', 'big.txt', 'logo.png', 'src/main.c', 'sub/.gitignore', 'sub/kept.txt']);
  expect(ws.index.entry(ws.index.idOf('logo.png')!)!.opaque).toBe(true);
  expect(ws.index.entry(ws.index.idOf('big.txt')!)!.opaque).toBe(true);

  // while running: new ignored files and new symlinks stay out; a binary change is taken whole
  fs.writeFileSync(path.join(dir, 'build', 'more.js'), 'ignored\n');
  fs.writeFileSync(path.join(dir, 'trace.log'), 'ignored\n');
  fs.symlinkSync(path.join(outside, 'secret.txt'), path.join(dir, 'src', 'link2.txt'));
  const png2 = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0, 9, 9, 9]);
  fs.writeFileSync(path.join(dir, 'logo.png'), png2);
  fs.writeFileSync(path.join(dir, 'src', 'util.c'), 'int util;\n'); // a marker that the batch was taken
  await until(() => ws.index.idOf('src/util.c') !== undefined, 'the new source file');
  await p.daemon.folder.settled();
  expect(paths()).toEqual(['.gitignore', 'big.txt', 'logo.png', 'src/main.c', 'src/util.c', 'sub/.gitignore', 'sub/kept.txt']);
  expect(Buffer.from(ws.content(ws.index.idOf('logo.png')!)!)).toEqual(png2);

  // an editor cannot open a binary or oversized file as text, nor a path through a symlink out
  const e = await editor(p.daemon.project.socketPath);
  await expect(e.open('logo.png')).rejects.toThrow(/binary|limit/);
  await expect(e.open('big.txt')).rejects.toThrow(/binary|limit/);
  await expect(e.open('linkdir/secret.txt')).rejects.toThrow(/outside|symbolic/);
  expect(fs.readFileSync(path.join(outside, 'secret.txt'), 'utf8')).toBe('secret\n');
  expect(fs.readFileSync(path.join(dir, 'logo.png'))).toEqual(png2); // never rewritten, never corrupted
});

it('a git checkout of 200 files lands as a few coherent changes; an open editor follows in place', async () => {
  const dir = tempProject({}, 'chorus-git-');
  const git = (...args: string[]) => execFileSync('git', ['-c', 'user.email=t@example.com', '-c', 'user.name=t', ...args], { cwd: dir, stdio: 'pipe' });
  git('init', '-q', '-b', 'main');
  for (let i = 0; i < 200; i++) fs.mkdirSync(path.join(dir, `pkg${i % 10}`), { recursive: true });
  for (let i = 0; i < 200; i++) fs.writeFileSync(path.join(dir, `pkg${i % 10}`, `f${i}.ts`), `export const v${i} = 'main';\n`);
  fs.writeFileSync(path.join(dir, 'only-on-main.txt'), 'main\n');
  git('add', '-A');
  git('commit', '-q', '-m', 'main');
  git('checkout', '-q', '-b', 'feature');
  for (let i = 0; i < 200; i++) fs.writeFileSync(path.join(dir, `pkg${i % 10}`, `f${i}.ts`), `export const v${i} = 'feature';\n// changed\n`);
  fs.rmSync(path.join(dir, 'only-on-main.txt'));
  fs.writeFileSync(path.join(dir, 'only-on-feature.txt'), 'feature\n');
  git('add', '-A');
  git('commit', '-q', '-m', 'feature');
  git('checkout', '-q', 'main');

  const p = await startPeer(dir, 'solo');
  const ws = p.daemon.workspace;
  expect(ws.index.entries().length).toBe(201); // .git/ is never shared
  const e = await editor(p.daemon.project.socketPath);
  await e.open('pkg7/f7.ts');
  let indexChanges = 0;
  ws.on('localChange', (doc) => {
    if (doc === 'index') indexChanges++;
  });

  git('checkout', '-q', 'feature');
  await e.waitFor(() => e.text('pkg7/f7.ts') === "export const v7 = 'feature';\n// changed\n", 'the open editor to follow the checkout');
  await until(() => ws.index.idOf('only-on-feature.txt') !== undefined && ws.index.idOf('only-on-main.txt') === undefined, 'the checkout in the index');
  await p.daemon.folder.settled();
  for (let i = 0; i < 200; i++) expect(Buffer.from(ws.content(ws.index.idOf(`pkg${i % 10}/f${i}.ts`)!)!).toString()).toBe(`export const v${i} = 'feature';\n// changed\n`);
  // grouped, not a storm of 200+ file-list changes
  expect(indexChanges).toBeLessThan(10);

  git('checkout', '-q', 'main');
  await e.waitFor(() => e.text('pkg7/f7.ts') === "export const v7 = 'main';\n", 'the open editor to follow back');
  await until(() => ws.index.idOf('only-on-main.txt') !== undefined && ws.index.idOf('only-on-feature.txt') === undefined, 'the checkout back').catch((err: Error) => {
    console.log(p.lines.join('\n'), fs.readdirSync(dir));
    throw err;
  });
  await p.daemon.folder.settled();
  // the daemon wrote nothing back over git's files: the working tree is clean
  expect(execFileSync('git', ['status', '--porcelain'], { cwd: dir }).toString()).toBe('');
});

it('a file a path rule refuses is logged once by its own name, whatever the watcher reports', async () => {
  const dir = tempProject({ 'ok.txt': 'ok\n' });
  fs.writeFileSync(path.join(dir, 'back\\slash.txt'), 'one\n');
  const p = await startPeer(dir, 'solo');
  for (const more of ['two\n', 'three\n']) {
    fs.appendFileSync(path.join(dir, 'back\\slash.txt'), more);
    await new Promise((r) => setTimeout(r, 300));
    await p.daemon.folder.settled();
  }
  fs.writeFileSync(path.join(dir, 'ok.txt'), 'ok, changed\n');
  const okId = p.daemon.workspace.index.idOf('ok.txt')!;
  await until(() => p.daemon.workspace.isLive(okId) && p.daemon.workspace.text(okId) === 'ok, changed\n', 'a later change taken in');
  const about = p.lines.filter((l) => l.includes('slash.txt'));
  expect(about).toEqual(['not sharing back\\slash.txt: it has a backslash or a control character']);
});

it('a file whose name is not UTF-8 is logged as not shared, once, by the name Node reads (user trial)', async () => {
  const dir = tempProject({ 'ok.txt': 'ok\n', 'odd/keep.txt': 'k\n' });
  // The bytes FF FE are no UTF-8: Node reads the name as two U+FFFD, a name no file has.
  fs.writeFileSync(Buffer.concat([Buffer.from(path.join(dir, 'odd') + '/'), Buffer.from([0xff, 0xfe]), Buffer.from('.txt')]), 'latin-1 name\n');
  fs.writeFileSync(path.join(dir, 'real-\ufffd.txt'), 'a name really with U+FFFD\n');
  const p = await startPeer(dir, 'solo');
  await p.daemon.folder.settled();
  const ws = p.daemon.workspace;
  expect(ws.index.idOf('real-\ufffd.txt')).toBeDefined(); // valid UTF-8: shared as any file
  expect(ws.index.idOf('odd/\ufffd\ufffd.txt')).toBeUndefined();
  // One made while the daemon watches is told of too.
  fs.writeFileSync(Buffer.concat([Buffer.from(path.join(dir, 'odd') + '/new-'), Buffer.from([0xfd]), Buffer.from('.txt')]), 'made later\n');
  await until(() => p.lines.some((l) => l.startsWith('not sharing odd/new-\ufffd.txt')), 'the new one told of');
  fs.writeFileSync(path.join(dir, 'ok.txt'), 'ok, changed\n');
  const okId = ws.index.idOf('ok.txt')!;
  await until(() => ws.isLive(okId) && ws.text(okId) === 'ok, changed\n', 'a later change taken in');
  expect(p.lines.filter((l) => l.includes('.txt: its name'))).toEqual([
    'not sharing odd/\ufffd\ufffd.txt: its name is not valid UTF-8 (rename it to share it)',
    'not sharing odd/new-\ufffd.txt: its name is not valid UTF-8 (rename it to share it)',
  ]);
});
