// Faults a tester found in `chorus join`: a view-mode join shared the joining folder's own files,
// a join whose daemon died waited for ever, an interrupted join went on writing, and join output
// named conflicts this join had nothing to do with. Real daemons, run by the built CLI.
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { afterEach, expect, it } from 'vitest';
import { chorus, daemonsFor, joinedPair, listTree, shareCode, stopAfterEach, waitUntil } from '../support/cli.js';
import { CLI } from '../support/paths.js';
import { tempDir, tempProject } from '../support/project-dir.js';
import { ScriptedEditor } from '../support/scripted-editor.js';
import { silentPeerCode, startSilentPeer, type SilentPeer } from '../support/silent-peer.js';

const used = stopAfterEach();
const RAW_NODE_ERROR = /\bE[A-Z]{3,}\b:|\bat .*\.js:\d+|Cannot read properties|TypeError/;

const children: ChildProcess[] = [];
const peers: SilentPeer[] = [];
afterEach(async () => {
  for (const c of children.splice(0)) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
  await Promise.all(peers.splice(0).map((p) => p.close()));
});

function project(files: Record<string, string> = {}): string {
  const d = tempProject(files);
  used.push(d);
  return d;
}

/** The paths in the file index of the daemon serving `dir` (`workspace/files`), sorted as `listTree` sorts. */
async function indexOf(dir: string): Promise<string[]> {
  const editor = await ScriptedEditor.socket(path.join(dir, '.chorus', 'daemon.sock'), { name: 'index check' });
  try {
    await editor.init();
    const { files } = (await editor.raw('workspace/files', {})) as { files: Array<{ path: string }> };
    return files.map((f) => f.path).sort();
  } finally {
    editor.close();
  }
}

/** A `chorus join` run in the background: its output so far, and its exit. */
function joinInBackground(args: string[], env: NodeJS.ProcessEnv = {}): { child: ChildProcess; out: () => string; exited: Promise<number | null> } {
  const child = spawn(process.execPath, [CLI, 'join', ...args], { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ...env } });
  children.push(child);
  let out = '';
  child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (out += d.toString()));
  const exited = new Promise<number | null>((r) => child.on('exit', (code) => r(code)));
  return { child, out: () => out, exited };
}

it('a view-mode join never takes in or shares the joining folder\'s own files', () => {
  const a = project({ 'a.txt': 'shared\n' });
  const code = shareCode(a);
  const v = project({ 'diary.txt': 'my private diary\n' });
  const join = chorus(['join', code, v, '--no-disk', '--host', '127.0.0.1', '--json']);
  expect(join.status, join.stderr).toBe(0);
  // The session has the sharer's one file: before the fix the diary was taken in and joined it.
  expect((JSON.parse(join.stdout) as { files: number }).files).toBe(1);
  expect(fs.readFileSync(path.join(v, '.chorus', 'daemon.log'), 'utf8')).not.toMatch(/took in .*diary/);
  // A later joiner gets the whole session from both: the diary is not in it.
  const c = path.join(tempDir(), 'c');
  used.push(c);
  const third = chorus(['join', code, c, '--host', '127.0.0.1', '--json']);
  expect(third.status, third.stderr).toBe(0);
  expect(listTree(c)).toEqual(['a.txt']);
  expect(listTree(a)).toEqual(['a.txt']);
  expect(fs.readFileSync(path.join(v, 'diary.txt'), 'utf8')).toBe('my private diary\n');
  // A restart of the view-mode daemon does not read the folder either.
  expect(chorus(['stop', v]).status).toBe(0);
  expect(chorus(['share', v, '--json']).status).toBe(0); // starts it again (and gives a code)
  const fourth = path.join(tempDir(), 'd');
  used.push(fourth);
  const again = chorus(['join', code, fourth, '--host', '127.0.0.1', '--json']);
  expect(again.status, again.stderr).toBe(0);
  expect(listTree(fourth)).toEqual(['a.txt']);
  expect(listTree(v)).toEqual(['diary.txt']);
});

it('a view-mode join refuses a daemon that already read the folder, and changes nothing', () => {
  const a = project({ 'a.txt': 'shared\n' });
  const code = shareCode(a);
  const v = project({ 'diary.txt': 'my private diary\n' });
  // A daemon already runs for the folder (an editor started it): it has taken the diary in.
  const editorDaemon = spawn(process.execPath, [CLI, 'daemon', v], { stdio: 'ignore', detached: true });
  children.push(editorDaemon);
  return waitUntil('the daemon', () => fs.existsSync(path.join(v, '.chorus', 'daemon.sock'))).then(() => {
    const join = chorus(['join', code, v, '--no-disk', '--host', '127.0.0.1']);
    expect(join.status).toBe(1);
    expect(join.stderr).toMatch(/view-mode join .* never shares this folder's own files.*chorus stop/);
    expect(join.stderr).not.toMatch(RAW_NODE_ERROR);
    expect(listTree(a)).toEqual(['a.txt']);
  });
});

it('a join whose daemon is killed mid-way says so within seconds, exits non-zero and leaves the folder as it was', async () => {
  // A "peer" that accepts connections and never answers: the join waits for it. (The code once
  // came from a real share with its addresses edited under a name codes do not use, so the join
  // reached the real sharer and raced the kill below.)
  const silent = await startSilentPeer('tcp');
  peers.push(silent);
  const code = silentPeerCode(silent.port);
  const b = path.join(tempDir(), 'b');
  used.push(b);
  const run = joinInBackground([code, b, '--host', '127.0.0.1']);
  await waitUntil('the join to start', () => /connecting to the session/.test(run.out()), 60_000);
  const [pid] = daemonsFor(b);
  expect(pid).toBeDefined();
  process.kill(pid!, 'SIGKILL');
  // Bounded well below the minute of silence a join waits for a peer: before the fix it never ended.
  const exit = await Promise.race([run.exited, new Promise<'hung'>((r) => setTimeout(() => r('hung'), 40_000))]);
  expect(exit, run.out()).toBe(1);
  expect(run.out()).toMatch(/daemon for .* stopped during the join .*run the join again/);
  expect(run.out()).not.toMatch(RAW_NODE_ERROR);
  expect(fs.existsSync(b)).toBe(false); // it created the folder: removed again, empty
  const kept = /daemon log is kept as (\S+\.log)\)/.exec(run.out())?.[1];
  if (kept) fs.rmSync(kept, { force: true });
  expect(daemonsFor(b)).toEqual([]);
});

it("a joining folder's file equal to the session's is no conflict, and a join tells only of this folder's files", async () => {
  const { a, b, code } = joinedPair({ 'f.txt': 'base\n' }, used);
  // Both change f.txt while apart, and both create new.txt: an old conflict, between a and b only.
  expect(chorus(['stop', b]).status).toBe(0);
  fs.appendFileSync(path.join(a, 'f.txt'), 'A\n');
  fs.appendFileSync(path.join(b, 'f.txt'), 'B\n');
  fs.writeFileSync(path.join(a, 'new.txt'), 'from a\n');
  fs.writeFileSync(path.join(b, 'new.txt'), 'from b\n');
  expect(chorus(['share', b, '--json']).status).toBe(0); // starts b's daemon again: it rejoins
  const read = (d: string) => fs.readFileSync(path.join(d, 'f.txt'), 'utf8');
  await waitUntil('a and b to converge', () => {
    const fa = read(a);
    return fa.includes('A\n') && fa.includes('B\n') && fa === read(b) && listTree(a).length === 3 && listTree(b).length === 3;
  });
  const before = listTree(a);
  // A third folder holds the converged f.txt, byte for byte.
  const c = project({ 'f.txt': read(a) });
  const join = chorus(['join', code, c, '--host', '127.0.0.1', '--json']);
  expect(join.status, join.stderr).toBe(0);
  const r = JSON.parse(join.stdout) as { notices?: string[] };
  expect(r.notices ?? []).toEqual([]);
  // Once c's files are written (the join returns after its first write), no copy anywhere.
  try {
    await waitUntil('c to have the session', () => listTree(c).length === before.length);
    expect(listTree(c)).toEqual(before);
    expect(read(c)).toBe(read(a));
    // The sharer ends with no copy either. Not at this very moment: the joiner settles the
    // meeting of its f.txt and the session's before it has the session's text (decision 137,
    // "Still open"), and a sharer that hears that move before its own settling keeps the copy
    // until the joiner's removal of it arrives (a full run under load, 2026-12-03, saw it here).
    await waitUntil('a and b to have no copy', () => JSON.stringify(listTree(a)) === JSON.stringify(before) && JSON.stringify(listTree(b)) === JSON.stringify(before));
    expect(listTree(a)).toEqual(before);
  } catch (e) {
    // What each daemon did with f.txt (a failure under load in a full run, 2026-12-03, left no trace).
    const logOf = (d: string) => fs.readFileSync(path.join(d, '.chorus', 'daemon.log'), 'utf8').split('\n').filter((l) => /\bf[. ]|conflict|settl|join/.test(l)).join('\n');
    throw new Error(`${(e as Error).message}\na ${JSON.stringify(listTree(a))}, b ${JSON.stringify(listTree(b))}, c ${JSON.stringify(listTree(c))}\nJOINER c\n${logOf(c)}\nSHARER a\n${logOf(a)}\nB\n${logOf(b)}`);
  }
  // An empty folder joining hears nothing of old conflicts either.
  const d = path.join(tempDir(), 'd');
  used.push(d);
  const empty = chorus(['join', code, d, '--host', '127.0.0.1', '--json']);
  expect(empty.status, empty.stderr).toBe(0);
  expect((JSON.parse(empty.stdout) as { notices?: string[] }).notices ?? []).toEqual([]);
});
it('a join into a folder that holds an old conflict copy of the session does not tell that old conflict again (trial)', async () => {
  const { a, b, code } = joinedPair({ 'f.txt': 'base\n' }, used);
  // An old event between a and b: both.txt made a file on a and a folder on b while apart; the
  // folder keeps the path, a's file is kept as `both (conflict …).txt`, and a's log says so.
  expect(chorus(['stop', b]).status).toBe(0);
  fs.writeFileSync(path.join(a, 'both.txt'), 'a file\n');
  fs.mkdirSync(path.join(b, 'both.txt'));
  fs.writeFileSync(path.join(b, 'both.txt', 'inner.txt'), 'in a folder\n');
  expect(chorus(['share', b, '--json']).status).toBe(0); // b's daemon again: it rejoins
  const copy = () => listTree(a).find((p) => /^both \(conflict [0-9a-f]+\)\.txt$/.test(p));
  await waitUntil('the old conflict to settle on a and b', () => copy() !== undefined && JSON.stringify(listTree(a)) === JSON.stringify(listTree(b)));
  // The session as it is now: both daemons' file indexes (`workspace/files`), not only their
  // disks, list the settled conflict. Its failures under load come after this wait, so they are
  // the join's own: the logs in the message below say what each daemon did with both.txt.
  const same = (x: string[], y: string[]) => JSON.stringify(x) === JSON.stringify(y);
  for (const end = Date.now() + 60_000; ; await new Promise((r) => setTimeout(r, 100))) {
    const tree = listTree(a);
    if (same(tree, listTree(b)) && same(await indexOf(a), tree) && same(await indexOf(b), tree)) break;
    if (Date.now() > end) throw new Error(`timed out waiting for the old conflict to settle in a's and b's indexes: disk ${JSON.stringify(tree)}, a's index ${JSON.stringify(await indexOf(a))}, b's ${JSON.stringify(await indexOf(b))}`);
  }
  // A folder with the session's files as they are now (a copy of the project, say): the old copy too.
  const files: Record<string, string> = {};
  for (const p of listTree(a)) files[p] = fs.readFileSync(path.join(a, p), 'utf8');
  const c = project(files);
  const join = chorus(['join', code, c, '--host', '127.0.0.1', '--json']);
  expect(join.status, join.stderr).toBe(0);
  // Nothing happened to this folder's files in this join: it had the session's very files.
  const about = (d: string) => fs.readFileSync(path.join(d, '.chorus', 'daemon.log'), 'utf8').split('\n').filter((l) => /both/.test(l)).join('\n');
  expect((JSON.parse(join.stdout) as { notices?: string[] }).notices ?? [], `JOINER\n${about(c)}\nSHARER\n${about(a)}\nB\n${about(b)}`).toEqual([]);
  expect(listTree(c)).toEqual(listTree(a));
});

it('a join interrupted while it writes stops writing at once, and names the folders it made and what they hold', async () => {
  const files: Record<string, string> = {};
  // Many files (8 MB), large enough that a write cut short could leave one half written.
  for (let i = 0; i < 800; i++) files[`d${i % 8}/f${i}.txt`] = `file ${i} `.repeat(1000);
  const a = project(files);
  const code = shareCode(a);
  // Two folders the join makes: it names both when it stops.
  const outer = path.join(tempDir(), 'new');
  const b = path.join(outer, 'b');
  used.push(b);
  // Each write held 2 s before it starts (a file's write starts as its content arrives), so the
  // interrupt lands while the join writes: unheld, a fast run wrote all 800 files before the
  // interrupt took effect (a targeted run), and the test proved nothing. A stopping daemon starts
  // no held write (WriteBack.writeNow's `wanted`).
  const held = { CHORUS_TEST_WRITE_DELAY_MS: '2000' };
  const run = joinInBackground([code, b, '--host', '127.0.0.1'], held);
  await waitUntil('the join to write its first files', () => fs.existsSync(b) && listTree(b).length > 0, 120_000);
  const interruptedAt = Date.now();
  run.child.kill('SIGINT');
  const exit = await run.exited;
  const took = Date.now() - interruptedAt;
  expect(exit, run.out()).toBe(130); // interrupted, not finished: else this test proves nothing
  // Not a timing measurement: the fault was waiting out the 10 s a stopping daemon is given
  // (trial); the daemon of an interrupted join gets 1.5 s. Anything under 10 s is the fix.
  expect(took, run.out()).toBeLessThan(9500);
  expect(daemonsFor(b)).toEqual([]);
  const left = listTree(b);
  expect(left.length, run.out()).toBeLessThan(800);
  expect(run.out()).toMatch(
    new RegExp(
      `chorus: join interrupted; stopped the daemon it started \\(pid \\d+\\), removed .*/new/b/\\.chorus, ` +
        `left the folder .*/new/b it created \\(as are the folders around it that it created: .*/new\\): ` +
        `it holds ${left.length} files? of the session, written before the join stopped; delete the folder if you do not want (it|them), or run the join again into it\\n$`,
    ),
  );
  expect(fs.existsSync(path.join(b, '.chorus'))).toBe(false);
  // Nothing half-written is left by a daemon cut short, and once it said it stopped, nothing more is written.
  expect(fs.readdirSync(b, { recursive: true }).map(String).filter((f) => /\.tmp$|\.chorus-[0-9a-f]{8}$/.test(f))).toEqual([]);
  await new Promise((r) => setTimeout(r, 3000));
  expect(listTree(b)).toEqual(left);

  // Into a folder with a file of its own: a join sends the folder's own files only once the
  // session's are in (decision 228), so one stopped while it writes has sent none, and says so
  // (a user trial: a person who picked the wrong folder feared they had gone; until decision
  // 228 they might have, and the message said that).
  // And with a file the session has too: the join moves the folder's aside for the session's
  // version (decision 228), and a join stopped after that says where it is (it was counted as a
  // file of the session).
  const own = project({ 'mine.txt': 'my own notes\n', 'd0/f0.txt': 'my own f0\n' });
  const again = joinInBackground([code, own, '--host', '127.0.0.1'], held);
  const copyOf = () => listTree(own).find((f) => f.startsWith('d0/f0 (conflict'));
  await waitUntil('the second join to move the folder\'s d0/f0.txt aside', () => copyOf() !== undefined, 120_000);
  again.child.kill('SIGINT');
  expect(await again.exited, again.out()).toBe(130);
  const copy = copyOf()!;
  expect(fs.readFileSync(path.join(own, copy), 'utf8')).toBe('my own f0\n');
  const where = fs.existsSync(path.join(own, 'd0/f0.txt'))
    ? `d0/f0.txt met the session's version of it: this folder's is kept as ${copy} (compare the two and keep what you want)`
    : `this folder's d0/f0.txt is now ${copy}: the join moved it aside for the session's version and stopped before writing that (rename it back if you want it there)`;
  const said = `${where}, none of this folder's own 2 files reached the session: a join sends them only once the session's files are in\n`;
  expect(again.out()).toMatch(/join interrupted; /);
  expect(again.out().endsWith(`, ${said}`), again.out()).toBe(true);
  expect(fs.readFileSync(path.join(own, 'mine.txt'), 'utf8')).toBe('my own notes\n');
  await new Promise((r) => setTimeout(r, 2000));
  expect(fs.existsSync(path.join(a, 'mine.txt'))).toBe(false);
  expect(fs.readFileSync(path.join(a, 'd0/f0.txt'), 'utf8')).toBe(files['d0/f0.txt']);
});

it("a joining folder's folder where the session has a file is set aside on every peer, all its files kept; the session's file keeps its path (decision 147)", async () => {
  const session: Record<string, string> = { 'conly.txt': 'the session file\n' };
  for (let i = 0; i < 40; i++) session[`s/s${i}.txt`] = `session ${i}\n`;
  const a = project(session);
  const code = shareCode(a);
  // The joiner's folder at the session file's path: many files (the sharer writes them while the
  // join settles, which is when its watcher shared the folder again), one nested folder, and a
  // file never shared (a built-in secret rule) that must move with the folder on the joiner.
  const mine: Record<string, string> = { 'conly.txt/deeper/x.txt': 'x\n', 'conly.txt/.env': 'SECRET=1\n', 'own.txt': 'own\n' };
  for (let i = 0; i < 60; i++) mine[`conly.txt/m${i}.txt`] = `mine ${i}\n`;
  const c = project(mine);
  const join = chorus(['join', code, c, '--host', '127.0.0.1', '--json']);
  expect(join.status, join.stderr).toBe(0);
  const notices = (JSON.parse(join.stdout) as { notices?: string[] }).notices ?? [];
  const said = notices.join('\n');
  const kept = /conly\.txt: this folder had a folder there, the session a file; the session's file keeps the path, this folder's folder \(all its files\) is kept as (conly \(conflict [0-9a-f]+\)\.txt)/.exec(said)?.[1];
  expect(kept, said).toBeDefined();
  const shared = [
    'conly.txt',
    'own.txt',
    `${kept}/deeper/x.txt`,
    ...Object.keys(mine).filter((p) => /^conly\.txt\/m\d+\.txt$/.test(p)).map((p) => p.replace('conly.txt/', `${kept}/`)),
    ...Object.keys(session).filter((p) => p.startsWith('s/')),
  ].sort();
  const wantA = shared;
  const wantC = [...shared, `${kept}/.env`].sort();
  const logOf = (d: string) => fs.readFileSync(path.join(d, '.chorus', 'daemon.log'), 'utf8').split('\n').filter((l) => /conly/.test(l)).join('\n');
  const settled = () => JSON.stringify(listTree(a)) === JSON.stringify(wantA) && JSON.stringify(listTree(c)) === JSON.stringify(wantC);
  await waitUntil('both folders to settle', settled).catch((e: Error) => {
    throw new Error(`${e.message}:\nsharer lacks ${JSON.stringify(wantA.filter((p) => !listTree(a).includes(p)))}, has extra ${JSON.stringify(listTree(a).filter((p) => !wantA.includes(p)))}\njoiner lacks ${JSON.stringify(wantC.filter((p) => !listTree(c).includes(p)))}, has extra ${JSON.stringify(listTree(c).filter((p) => !wantC.includes(p)))}\nJOINER\n${logOf(c)}\nSHARER\n${logOf(a)}`);
  });
  // A change made after it on the sharer, once on the joiner, comes after everything the join
  // set off: the trees must still be the same then (the file was moved aside again, before).
  fs.writeFileSync(path.join(a, 'after.txt'), 'after\n');
  await waitUntil('the later change to reach the joiner', () => fs.existsSync(path.join(c, 'after.txt')));
  fs.writeFileSync(path.join(c, 'after2.txt'), 'after\n');
  await waitUntil('the joiner\'s later change to reach the sharer', () => fs.existsSync(path.join(a, 'after2.txt')));
  expect(listTree(a)).toEqual([...wantA, 'after.txt', 'after2.txt'].sort());
  expect(listTree(c)).toEqual([...wantC, 'after.txt', 'after2.txt'].sort());
  for (const d of [a, c]) {
    expect(fs.readFileSync(path.join(d, 'conly.txt'), 'utf8')).toBe('the session file\n');
    expect(fs.readFileSync(path.join(d, kept!, 'deeper', 'x.txt'), 'utf8')).toBe('x\n');
    for (let i = 0; i < 60; i++) expect(fs.readFileSync(path.join(d, kept!, `m${i}.txt`), 'utf8')).toBe(`mine ${i}\n`);
    expect(fs.readFileSync(path.join(d, '.chorus', 'daemon.log'), 'utf8')).not.toMatch(RAW_NODE_ERROR);
  }
  expect(fs.readFileSync(path.join(c, kept!, '.env'), 'utf8')).toBe('SECRET=1\n');
});

it("a joining folder's file where the session has an empty folder is kept beside it; the session's folder keeps its path (decision 147)", async () => {
  const a = project({ 'a.txt': 'a\n' });
  fs.mkdirSync(path.join(a, 'emptydir'));
  const code = shareCode(a);
  const c = project({ emptydir: 'my file\n' });
  const join = chorus(['join', code, c, '--host', '127.0.0.1', '--json']);
  expect(join.status, join.stderr).toBe(0);
  const said = ((JSON.parse(join.stdout) as { notices?: string[] }).notices ?? []).join('\n');
  const kept = /emptydir: this folder had a file there, the session an empty folder; the session's folder keeps the path, this folder's file is kept as (emptydir \(conflict [0-9a-f]+\))/.exec(said)?.[1];
  expect(kept, said).toBeDefined();
  const want = JSON.stringify({ files: ['a.txt', kept].sort(), folders: ['emptydir'] });
  const tree = (d: string) => JSON.stringify({ files: listTree(d), folders: listTree(d, 'folder') });
  await waitUntil('both folders to settle', () => tree(a) === want && tree(c) === want).catch((e: Error) => {
    throw new Error(`${e.message}: want ${want}, sharer has ${tree(a)}, joiner ${tree(c)}`);
  });
  for (const d of [a, c]) expect(fs.readFileSync(path.join(d, kept!), 'utf8')).toBe('my file\n');
});

/** Every file under `dir` (`.chorus/` too) whose bytes hold `text`; one gone meanwhile (a daemon's temporary file) held nothing. */
function filesHolding(dir: string, text: string): string[] {
  const holds = (f: string) => {
    try {
      return fs.readFileSync(f).includes(text);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return false;
      throw e;
    }
  };
  return fs
    .readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((e) => e.isFile())
    .map((e) => path.join(e.parentPath, e.name))
    .filter(holds);
}

it("a joining folder's folder that holds only an unshared .env, where the session has a file, is set aside whole; the session's file keeps its path (decision 147)", async () => {
  const a = project({ x: 'the session file\n', 'a.txt': 'a\n' });
  const code = shareCode(a);
  const c = project({ 'x/.env': 'SECRET=joiner-only\n', 'own.txt': 'own\n' });
  const join = chorus(['join', code, c, '--host', '127.0.0.1', '--json']);
  expect(join.status, join.stderr).toBe(0);
  const said = ((JSON.parse(join.stdout) as { notices?: string[] }).notices ?? []).join('\n');
  const kept = /x: this folder had a folder there, the session a file; the session's file keeps the path, this folder's folder \(all its files\) is kept as (x \(conflict [0-9a-f]+\))/.exec(said)?.[1];
  expect(kept, `${said}\n${join.stdout}`).toBeDefined();
  const want = ['a.txt', 'own.txt', 'x'];
  // The folder itself was shared (empty, as every folder is): it is set aside on the sharer too.
  const wantA = JSON.stringify({ files: want, folders: [kept] });
  const wantC = JSON.stringify({ files: [...want, `${kept}/.env`].sort(), folders: [kept] });
  const tree = (d: string) => JSON.stringify({ files: listTree(d), folders: listTree(d, 'folder') });
  const log = (d: string) => fs.readFileSync(path.join(d, '.chorus', 'daemon.log'), 'utf8');
  await waitUntil('both folders to settle', () => tree(a) === wantA && tree(c) === wantC).catch((e: Error) => {
    throw new Error(`${e.message}: sharer has ${tree(a)}, joiner ${tree(c)}\nJOINER\n${log(c)}`);
  });
  // A change made after it, each way, comes after everything the join set off: the trees hold.
  fs.writeFileSync(path.join(a, 'after.txt'), 'after\n');
  await waitUntil('the later change to reach the joiner', () => fs.existsSync(path.join(c, 'after.txt')));
  fs.writeFileSync(path.join(c, 'after2.txt'), 'after\n');
  await waitUntil("the joiner's later change to reach the sharer", () => fs.existsSync(path.join(a, 'after2.txt')));
  const later = ['after.txt', 'after2.txt'];
  expect(tree(a)).toBe(JSON.stringify({ files: [...want, ...later].sort(), folders: [kept] }));
  expect(tree(c)).toBe(JSON.stringify({ files: [...want, ...later, `${kept}/.env`].sort(), folders: [kept] }));
  for (const d of [a, c]) expect(fs.readFileSync(path.join(d, 'x'), 'utf8')).toBe('the session file\n');
  expect(fs.readFileSync(path.join(c, kept!, '.env'), 'utf8')).toBe('SECRET=joiner-only\n');
  // The secret never left the joiner: not in the sharer's folder, its state or its log.
  expect(filesHolding(a, 'joiner-only')).toEqual([]);
  expect(log(c)).not.toMatch(RAW_NODE_ERROR);
});
