// Two real daemons sharing a session over loopback, each with its own folder and watcher: outside
// edits merge with a peer's typing, file operations on each side reach the other, concurrent
// conflicting ones resolve the same way on both, a git checkout reaches the other folder and its
// open editor, and paths from a hostile peer are refused.
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { afterEach, expect, it } from 'vitest';
import { FileIndex, newFileId } from '../../daemon/src/workspace/file-index.js';
import { converged, editor, folderFiles, sharedPair, stopAllPeers, until } from '../support/disk-peers.js';
import { tempDir, waitForFile } from '../support/project-dir.js';

afterEach(stopAllPeers);

const LINES = Array.from({ length: 100 }, (_, i) => `line ${i}`).join('\n') + '\n';

it('an outside edit on one side merges with typing on the other', async () => {
  const { a, b } = await sharedPair({ 'notes.txt': LINES });
  await waitForFile(path.join(b.dir, 'notes.txt'), (t) => t === LINES, 'notes.txt on B');
  const eb = await editor(b.daemon.project.socketPath);
  await eb.open('notes.txt');
  const typing = (async () => {
    for (const ch of 'typed on B') {
      const t = eb.text('notes.txt');
      await eb.edit('notes.txt', t.length, t.length, ch);
      await new Promise((r) => setTimeout(r, 15));
    }
  })();
  await new Promise((r) => setTimeout(r, 50));
  // a tool on A rewrites line 10 from whatever A's file holds at that moment
  const fa = path.join(a.dir, 'notes.txt');
  fs.writeFileSync(fa, fs.readFileSync(fa, 'utf8').replace('line 10\n', 'line ten, by a tool on A\n'));
  await typing;
  const want = LINES.replace('line 10\n', 'line ten, by a tool on A\n') + 'typed on B';
  await waitForFile(fa, (t) => t === want, 'A to have the tool edit and all of B typing');
  await waitForFile(path.join(b.dir, 'notes.txt'), (t) => t === want, 'B to have both');
  await eb.waitFor(() => eb.text('notes.txt') === want, "B's editor to have both");
});

it('creates, renames and deletes of files and folders on each side reach the other', async () => {
  const { a, b } = await sharedPair({ 'src/old.ts': 'export const x = 1;\n', 'docs/a.md': '# a\n', 'docs/b.md': '# b\n', 'gone.txt': 'bye\n' });
  await converged(a, b, 'the first sync');
  const ea = await editor(a.daemon.project.socketPath);
  await ea.open('src/old.ts');
  const id = b.daemon.workspace.index.idOf('src/old.ts');

  fs.renameSync(path.join(b.dir, 'src', 'old.ts'), path.join(b.dir, 'src', 'new.ts')); // rename on B
  fs.renameSync(path.join(a.dir, 'docs'), path.join(a.dir, 'guide')); // folder rename on A
  fs.writeFileSync(path.join(b.dir, 'made-on-b.md'), '# from B\n');
  fs.mkdirSync(path.join(a.dir, 'lib', 'deep'), { recursive: true });
  fs.writeFileSync(path.join(a.dir, 'lib', 'deep', 'made-on-a.ts'), 'export {};\n');
  fs.rmSync(path.join(b.dir, 'gone.txt'));
  const files = await converged(a, b, 'every operation on both sides', 30000).then(async () => {
    await until(() => folderFiles(a.dir)['made-on-b.md'] !== undefined && folderFiles(b.dir)['lib/deep/made-on-a.ts'] !== undefined && folderFiles(a.dir)['src/new.ts'] !== undefined && !folderFiles(b.dir)['docs/a.md'] && !folderFiles(a.dir)['gone.txt'], 'all five operations');
    return converged(a, b);
  });
  expect(Object.keys(files).sort()).toEqual(['guide/a.md', 'guide/b.md', 'lib/deep/made-on-a.ts', 'made-on-b.md', 'src/new.ts']);
  // the rename kept the file's id on both peers, and the editor on A heard of it
  expect(a.daemon.workspace.index.idOf('src/new.ts')).toBe(id);
  expect(b.daemon.workspace.index.idOf('src/new.ts')).toBe(id);
  expect(fs.existsSync(path.join(b.dir, 'docs'))).toBe(false); // emptied folders go too
  await ea.waitFor(() => ea.notes.some((n) => n.method === 'workspace/didChange' && n.params.renamed.some((r: { to: string }) => r.to === 'src/new.ts')), 'the rename to reach the editor on A');
});

it('concurrent conflicting operations resolve the same way on both peers, losing no text', async () => {
  const { a, b } = await sharedPair({ 'shared.txt': LINES, 'both-edit.txt': 'base\n' });
  await converged(a, b, 'the first sync');
  // Cut the link by stopping nothing: make the conflicting operations at once on both sides.
  fs.writeFileSync(path.join(a.dir, 'same.txt'), 'created on A\n');
  fs.writeFileSync(path.join(b.dir, 'same.txt'), 'created on B\n');
  fs.writeFileSync(path.join(a.dir, 'twin.txt'), 'identical\n');
  fs.writeFileSync(path.join(b.dir, 'twin.txt'), 'identical\n');
  // one deletes a file while the other edits it
  const eb = await editor(b.daemon.project.socketPath);
  await eb.open('shared.txt');
  fs.rmSync(path.join(a.dir, 'shared.txt'));
  for (const ch of 'kept!') {
    const t = eb.text('shared.txt');
    await eb.edit('shared.txt', t.length, t.length, ch);
  }
  await until(() => {
    const fa = folderFiles(a.dir);
    return Object.keys(fa).some((p) => p.startsWith('same (conflict')) && fa['shared.txt']?.endsWith('kept!') === true;
  }, 'the conflicts to resolve on A').catch((e: Error) => {
    console.log(JSON.stringify(folderFiles(a.dir)).slice(0, 500), JSON.stringify(folderFiles(b.dir)).slice(0, 500), a.lines.filter((l) => !l.startsWith('net')), b.lines.filter((l) => !l.startsWith('net')));
    throw e;
  });
  const files = await converged(a, b, 'both folders to settle identically');
  const same = Object.entries(files).filter(([p]) => p.startsWith('same'));
  expect(same.map(([, t]) => t).sort()).toEqual(['created on A\n', 'created on B\n']);
  expect(Object.keys(files).filter((p) => p.startsWith('twin'))).toEqual(['twin.txt']); // same content: one file
  expect(files['shared.txt']).toBe(LINES + 'kept!'); // the edited file someone deleted is kept
  expect(a.lines.concat(b.lines).some((l) => /kept shared\.txt/.test(l))).toBe(true);
  // both indexes agree
  const paths = (x: typeof a) => x.daemon.workspace.index.entries().map(([id, e]) => `${id}:${e.path}`).sort();
  await until(() => JSON.stringify(paths(a)) === JSON.stringify(paths(b)), 'both indexes to agree');
});

it('a git checkout of 200 files on one peer reaches the other folder and its open editor', async () => {
  const files: Record<string, string> = {};
  for (let i = 0; i < 200; i++) files[`m${i % 8}/f${i}.ts`] = `export const v${i} = 'main';\n`;
  const { a, b } = await sharedPair(files);
  const git = (...args: string[]) => execFileSync('git', ['-c', 'user.email=t@example.com', '-c', 'user.name=t', ...args], { cwd: a.dir, stdio: 'pipe' });
  git('init', '-q', '-b', 'main');
  git('add', '-A', '--', '.', ':!.chorus');
  git('commit', '-q', '-m', 'main');
  git('checkout', '-q', '-b', 'feature');
  for (let i = 0; i < 200; i++) fs.writeFileSync(path.join(a.dir, `m${i % 8}`, `f${i}.ts`), `export const v${i} = 'feature';\n`);
  git('commit', '-q', '-am', 'feature');
  git('checkout', '-q', 'main');
  await converged(a, b, 'the first sync', 60000);
  const eb = await editor(b.daemon.project.socketPath);
  await eb.open('m3/f3.ts');
  let indexChanges = 0;
  b.daemon.workspace.on('files', (e) => {
    if (e.origin.kind === 'peer') indexChanges++;
  });
  git('checkout', '-q', 'feature');
  await eb.waitFor(() => eb.text('m3/f3.ts') === "export const v3 = 'feature';\n", "B's editor to follow the checkout");
  const after = await converged(a, b, 'B to follow the checkout', 60000);
  expect(Object.values(after).every((t) => t.includes("'feature'"))).toBe(true);
  expect(indexChanges).toBeLessThan(10); // a few coherent steps, not a storm of 200
});

it('refuses hostile paths from a peer and never writes outside the root', async () => {
  const { a, b } = await sharedPair({ 'ok.txt': 'fine\n' });
  await converged(a, b, 'the first sync');
  const outside = tempDir('chorus-victim-');
  fs.symlinkSync(outside, path.join(b.dir, 'escape')); // a symlink on B that leads out
  const bad = [
    '/tmp/chorus-absolute-evil.txt',
    '../evil.txt',
    'a/../../evil.txt',
    '.git/hooks/post-checkout',
    '.chorus/session.json',
    'x//y.txt',
    './dot.txt',
    'escape/evil.txt',
  ];
  // A hostile peer: A's daemon sends index changes it made with its own FileIndex, through the
  // real link, as if they were its own edits.
  const hash = a.daemon.workspace.blobs.put(new TextEncoder().encode('#!/bin/sh\necho pwned\n'));
  // Each on the state B has: a change with an invalid path is refused whole (issue 10, item 4), so
  // one built on top of it could never apply.
  const saved = a.daemon.workspace.index.save();
  bad.forEach((p, i) => {
    const evil = new FileIndex(saved, [], `e${i}`.repeat(16));
    a.daemon.workspace.emit('localChange', 'index', evil.add(newFileId(), { path: p, hash, size: 21 })!);
  });
  const honest = new FileIndex(saved, [], 'dd'.repeat(16));
  a.daemon.workspace.emit('localChange', 'index', honest.add(newFileId(), { path: 'legit.txt', hash, size: 21 })!);
  await waitForFile(path.join(b.dir, 'legit.txt'), (t) => t.includes('pwned'), 'the legitimate file after the hostile ones');
  expect(fs.existsSync('/tmp/chorus-absolute-evil.txt')).toBe(false);
  expect(fs.existsSync(path.join(b.dir, '..', 'evil.txt'))).toBe(false);
  expect(fs.readdirSync(outside)).toEqual([]);
  expect(fs.existsSync(path.join(b.dir, '.git'))).toBe(false);
  expect(JSON.parse(fs.readFileSync(path.join(b.dir, '.chorus', 'session.json'), 'utf8')).sessionId).toBeTypeOf('string');
  expect(fs.existsSync(path.join(b.dir, 'dot.txt'))).toBe(false);
  // invisible to editors, logged
  const listed = b.daemon.files().files.map((f) => f.path);
  // a path that escapes only through B's own symlink is a fine name elsewhere: listed, never written here
  expect(listed.sort()).toEqual(['escape/evil.txt', 'legit.txt', 'ok.txt']);
  await until(() => b.lines.filter((l) => l.startsWith('refused')).length >= 7, 'the refusals in the log');
  await until(() => b.lines.some((l) => l.includes('escape/evil.txt') && /refused/.test(l)), 'the symlink escape refused');
  expect(fs.readdirSync(outside)).toEqual([]);
});

it('a binary file written on both peers at once keeps both versions once, and the index then stays still', async () => {
  const bytes = (seed: number) => Buffer.from(Array.from({ length: 50_000 }, (_, i) => (i * 31 + seed * 17 + (i >> 7)) & 0xff));
  const { a, b } = await sharedPair({ 'bin.dat': bytes(1) as unknown as string, 'small.txt': 'hi\n' });
  await converged(a, b, 'the first sync');
  // Truly at once: each peer takes its own write in before it hears of the other's.
  a.net.hold(b.daemon.identity.id);
  b.net.hold(a.daemon.identity.id);
  fs.writeFileSync(path.join(a.dir, 'bin.dat'), bytes(2));
  fs.writeFileSync(path.join(b.dir, 'bin.dat'), bytes(3));
  const hashOf = (x: typeof a) => x.daemon.workspace.index.entry(x.daemon.workspace.index.idOf('bin.dat')!)?.hash;
  const sha = (x: Buffer) => createHash('sha256').update(x).digest('hex');
  await until(() => hashOf(a) === sha(bytes(2)) && hashOf(b) === sha(bytes(3)), 'each peer to take in its own write');
  a.net.release(b.daemon.identity.id);
  b.net.release(a.daemon.identity.id);
  const digests = (dir: string) =>
    fs.readdirSync(dir).filter((n) => n.startsWith('bin')).map((n) => createHash('sha256').update(fs.readFileSync(path.join(dir, n))).digest('hex')).sort();
  const want = [bytes(2), bytes(3)].map((x) => createHash('sha256').update(x).digest('hex')).sort();
  await until(() => JSON.stringify(digests(a.dir)) === JSON.stringify(want) && JSON.stringify(digests(b.dir)) === JSON.stringify(want), 'both versions on both peers').catch((e: Error) => {
    console.log(fs.readdirSync(a.dir), fs.readdirSync(b.dir), digests(a.dir), digests(b.dir), want, a.lines.filter((l) => !l.startsWith('net')).slice(-20), b.lines.filter((l) => !l.startsWith('net')).slice(-20));
    throw e;
  });
  const heads = (x: typeof a) => x.daemon.workspace.index.heads.join(',');
  await until(() => heads(a) === heads(b), 'the indexes to agree');
  // Settled: the race is not settled again and again (each peer settling the other's settlement
  // kept both daemons busy, growing, until they ran out of memory).
  const settled = heads(a);
  await new Promise((r) => setTimeout(r, 2000));
  expect(heads(a)).toBe(settled);
  expect(heads(b)).toBe(settled);
  // and the session goes on
  fs.writeFileSync(path.join(a.dir, 'after.txt'), 'after\n');
  await waitForFile(path.join(b.dir, 'after.txt'), (t) => t === 'after\n', 'a new file on B');
});

it('two tools appending to one file on both peers at once lose no line', async () => {
  const { a, b } = await sharedPair({ 'app.txt': 'start\n' });
  await converged(a, b, 'the first sync');
  const append = async (dir: string, who: string) => {
    for (let i = 1; i <= 30; i++) {
      fs.appendFileSync(path.join(dir, 'app.txt'), `${who} ${i}\n`);
      await new Promise((r) => setTimeout(r, 50));
    }
  };
  await Promise.all([append(a.dir, 'A'), append(b.dir, 'B')]);
  const files = await converged(a, b, 'both folders to settle identically');
  const all = Object.values(files).join('');
  const missing = ['A', 'B'].flatMap((who) => Array.from({ length: 30 }, (_, i) => `${who} ${i + 1}`)).filter((l) => !all.split('\n').includes(l));
  expect(missing, `lines lost; A's log:\n${a.lines.filter((l) => !l.startsWith('net')).join('\n')}\nB's log:\n${b.lines.filter((l) => !l.startsWith('net')).join('\n')}`).toEqual([]);
});

it("a text file's second outside edit keeps what a peer added after the first (the folder's base is kept when the file becomes live)", async () => {
  const { a, b } = await sharedPair({ 'app.txt': 'start\n' });
  await converged(a, b, 'the first sync');
  const textOn = (x: typeof a) => {
    const id = x.daemon.workspace.index.idOf('app.txt')!;
    return x.daemon.workspace.isLive(id) ? x.daemon.workspace.text(id) : '';
  };
  // A's first outside edit makes the file live on A.
  b.net.hold(a.daemon.identity.id);
  fs.appendFileSync(path.join(a.dir, 'app.txt'), 'A 1\n');
  await until(() => textOn(a).includes('A 1'), 'A to take in its first edit');
  // B's edit reaches A; A's folder then gets another outside edit before A writes B's line there.
  fs.appendFileSync(path.join(b.dir, 'app.txt'), 'B 1\n');
  await until(() => textOn(b).includes('B 1'), 'B to take in its edit');
  b.net.release(a.daemon.identity.id);
  await until(() => textOn(a).includes('B 1'), "B's line to reach A's document");
  fs.appendFileSync(path.join(a.dir, 'app.txt'), 'A 2\n');
  const files = await converged(a, b, 'both folders to settle identically');
  for (const line of ['start', 'A 1', 'A 2', 'B 1']) expect(files['app.txt']?.split('\n'), line).toContain(line);
});


it("a binary file changed in a folder while a peer's change of it is on the way keeps both versions", async () => {
  const bytes = (seed: number) => Buffer.from(Array.from({ length: 20_000 }, (_, i) => (i * 7 + seed * 13 + (i >> 5)) & 0xff));
  const sha = (x: Uint8Array) => createHash('sha256').update(x).digest('hex');
  const { a, b } = await sharedPair({ 'pic.bin': bytes(1) as unknown as string });
  await converged(a, b, 'the first sync');
  // A's new version reaches B's file list, its content is held back: B's folder still has the old one.
  b.net.holdBlobs();
  fs.writeFileSync(path.join(a.dir, 'pic.bin'), bytes(2));
  const id = b.daemon.workspace.index.idOf('pic.bin')!;
  await until(() => b.daemon.workspace.index.entry(id)?.hash === sha(bytes(2)), "A's version in B's file list");
  // A tool on B writes its own version over the old one.
  fs.writeFileSync(path.join(b.dir, 'pic.bin'), bytes(3));
  await until(() => b.daemon.workspace.index.entries().some(([, e]) => e.hash === sha(bytes(3))), "B's version taken in");
  b.net.releaseBlobs();
  const digests = (dir: string) => Object.fromEntries(fs.readdirSync(dir).filter((n) => n.startsWith('pic')).map((n) => [n, sha(fs.readFileSync(path.join(dir, n)))]));
  await until(() => JSON.stringify(digests(a.dir)) === JSON.stringify(digests(b.dir)) && Object.keys(digests(a.dir)).length === 2, 'both folders to hold both versions').catch((e: Error) => {
    console.log(digests(a.dir), digests(b.dir), [bytes(1), bytes(2), bytes(3)].map(sha), a.lines.filter((l) => !l.startsWith('net')), b.lines.filter((l) => !l.startsWith('net')));
    throw e;
  });
  const on = digests(a.dir);
  expect(on['pic.bin']).toBe(sha(bytes(2))); // the shared version keeps the path
  expect(Object.entries(on).find(([n]) => n !== 'pic.bin')).toEqual([`pic (conflict ${sha(bytes(3)).slice(0, 8)}).bin`, sha(bytes(3))]);
  expect(b.lines.some((l) => l.includes("pic.bin was changed in this folder while a peer's change of it was on the way"))).toBe(true);
});

it('a conflict copy is told to the editors of both peers, not only written in the log (decision 224)', async () => {
  const { a, b } = await sharedPair({ 'readme.md': 'r\n' });
  await converged(a, b, 'the first sync');
  const ea = await editor(a.daemon.project.socketPath);
  const eb = await editor(b.daemon.project.socketPath);
  fs.writeFileSync(path.join(a.dir, 'plan.md'), 'alice plan\n');
  fs.writeFileSync(path.join(b.dir, 'plan.md'), 'bob plan\n');
  const files = await converged(a, b, 'the clash settled the same way in both folders');
  const copy = Object.keys(files).find((p) => p.startsWith('plan (conflict'));
  expect(copy, JSON.stringify(files)).toBeDefined();
  const told = (e: typeof ea) => e.notes.filter((n) => n.method === 'session/notice').map((n) => n.params as { type: string; message: string });
  // Each person is told where their own version went (trial s53, N1: "the other version" named
  // the person's own file to the one whose file was moved aside).
  const alicesAside = files[copy!] === 'alice plan\n';
  const aside = `plan.md was created on two peers at once, here and on another; the other peer's version keeps the path, yours is kept as ${copy}. Compare the two versions, keep what you want and delete the other`;
  const kept = `plan.md was created on two peers at once, here and on another; yours keeps the path, the other peer's version is kept as ${copy}. Compare the two versions, keep what you want and delete the other`;
  for (const [e, mine] of [[ea, alicesAside], [eb, !alicesAside]] as const) {
    await e.waitFor(() => told(e).length > 0, 'the notice');
    expect(told(e)).toEqual([{ type: 'warning', message: mine ? aside : kept }]);
  }
});
