// What a change to the shared `.gitignore` does to files already shared and to rules this folder
// had (decisions 163 and 164), on three real daemons on loopback: A shares, B and C join with
// editing codes.
import fs from 'node:fs';
import path from 'node:path';
import { expect, it } from 'vitest';
import { chorus, joinedPair, listTree, shareCode, stopAfterEach, waitUntil } from '../support/cli.js';
import { tempDir, tempProject } from '../support/project-dir.js';
import { ScriptedEditor } from '../support/scripted-editor.js';

const used = stopAfterEach();
const read = (dir: string, rel: string) => (fs.existsSync(path.join(dir, rel)) ? fs.readFileSync(path.join(dir, rel), 'utf8') : undefined);
const logOf = (dir: string) => read(dir, '.chorus/daemon.log') ?? '';

/** A shared folder made from `files` and two folders joined to it. */
function threePeers(files: Record<string, string>): { a: string; b: string; c: string } {
  const a = tempProject(files);
  used.push(a);
  const code = shareCode(a);
  const [b, c] = ['b', 'c'].map((name) => {
    const dir = path.join(tempDir(), name);
    used.push(dir);
    const join = chorus(['join', code, dir, '--host', '127.0.0.1']);
    expect(join.status, join.stderr).toBe(0);
    return dir;
  });
  return { a, b: b!, c: c! };
}

// A user trial: B's person wrote `*` into the .gitignore; from then on nobody's edits on disk to the
// files already shared reached anyone (while typing in an editor still did), and no daemon said a word.
it('keeps shared files shared when a peer makes the .gitignore match them: disk edits sync both ways and the log says so', async () => {
  const { a, b, c } = threePeers({ '.gitignore': '*.log\n', 'a.txt': 'a\n', 'big.txt': 'big\n' });
  expect(listTree(b)).toEqual(['.gitignore', 'a.txt', 'big.txt']);

  fs.writeFileSync(path.join(b, '.gitignore'), '*\n!.gitignore\n');
  for (const dir of [a, c]) await waitUntil(`the new .gitignore on ${dir}`, () => read(dir, '.gitignore') === '*\n!.gitignore\n');

  // Edits on disk to shared files the rule now matches still reach everyone (the trial: none did).
  fs.appendFileSync(path.join(a, 'a.txt'), 'A edit after star\n');
  fs.appendFileSync(path.join(c, 'big.txt'), 'C edit after star\n');
  for (const dir of [b, c]) await waitUntil(`A's edit on ${dir}`, () => read(dir, 'a.txt') === 'a\nA edit after star\n');
  for (const dir of [a, b]) await waitUntil(`C's edit on ${dir}`, () => read(dir, 'big.txt') === 'big\nC edit after star\n');
  // Each daemon said so, naming the rule and how many shared files it matches.
  for (const dir of [a, b, c]) {
    await waitUntil(`the log of ${dir} to name the rule`, () => /\.gitignore has the rule "\*", which matches 2 shared files here \(a\.txt, big\.txt\): they stay shared/.test(logOf(dir)));
  }
  // A file made after the rule is not shared yet: the rule keeps it on A. (An edit after it: once
  // that is on B and C, the new file had its chance.)
  fs.writeFileSync(path.join(a, 'new.txt'), 'only on A\n');
  fs.appendFileSync(path.join(a, 'a.txt'), 'again\n');
  for (const dir of [b, c]) await waitUntil(`A's second edit on ${dir}`, () => read(dir, 'a.txt') === 'a\nA edit after star\nagain\n');
  expect(read(b, 'new.txt')).toBeUndefined();
  expect(read(c, 'new.txt')).toBeUndefined();

  // Disk and editor agree: B's editor has the file as shared, with A's edit from disk in it.
  const onB = await ScriptedEditor.socket(path.join(b, '.chorus', 'daemon.sock'), { name: 'b' });
  try {
    await onB.init();
    expect(await onB.open('a.txt')).toBe('a\nA edit after star\nagain\n');
    await onB.edit('a.txt', 0, 0, 'typed on B\n');
    await waitUntil("B's typing on A", () => read(a, 'a.txt') === 'typed on B\na\nA edit after star\nagain\n');
  } finally {
    onB.close();
  }

  // B reverts: a rule of B's that came and went never becomes A's or C's (a `*` kept in their
  // .chorus/ignore would keep every file they make later to themselves).
  fs.writeFileSync(path.join(b, '.gitignore'), '*.log\n');
  for (const dir of [a, c]) await waitUntil(`the revert on ${dir}`, () => read(dir, '.gitignore') === '*.log\n');
  fs.writeFileSync(path.join(a, 'later.txt'), 'later\n');
  await waitUntil('later.txt on B', () => read(b, 'later.txt') === 'later\n');
  for (const dir of [a, c]) expect(read(dir, '.chorus/ignore') ?? '').not.toMatch(/^\*$/m);
  // Nor does it keep on A what only B's `*` kept out: new.txt, made while it stood, is shared now
  // (a trial: it was added to A's .chorus/ignore, "kept on this machine", for good).
  for (const dir of [b, c]) await waitUntil(`new.txt on ${dir}`, () => read(dir, 'new.txt') === 'only on A\n');
  expect(read(a, '.chorus/ignore') ?? '').not.toMatch(/new\.txt/);
  expect(logOf(a)).not.toMatch(/stopped ignoring 1 file here \(new\.txt\)/);
});

// A user trial: a guest wrote `!*.log` into the shared .gitignore; the host's logs present then were
// kept (decision 136), but a log the host made afterwards was on every peer within seconds.
it("keeps applying the rules a peer's .gitignore change removes or negates here, for files made later too", async () => {
  const { a, b, c } = threePeers({ '.gitignore': '*.log\n', 'ok.txt': 'ok\n', 'x.log': 'old secret log\n', '.env': 'KEY=1\n' });
  expect(listTree(b)).toEqual(['.gitignore', 'ok.txt']);

  fs.writeFileSync(path.join(b, '.gitignore'), '!*.log\n!.env\n!x.log\n');
  for (const dir of [a, c]) {
    await waitUntil(`the new .gitignore on ${dir}`, () => read(dir, '.gitignore') === '!*.log\n!.env\n!x.log\n');
    await waitUntil(`${dir} keeping its rules`, () => logOf(dir).includes(`a peer's change to .gitignore stopped applying the rules "*.log", "x.log" of this folder`));
    expect(read(dir, '.chorus/ignore')).toMatch(/stopped applying these rules of this folder.*\n\*\.log\nx\.log\n/);
  }
  // The file present then, as before (decision 136); the whole file and A's log lines about it if not.
  expect(read(a, '.chorus/ignore'), `${read(a, '.chorus/ignore')}\n--- A's log: ${logOf(a).split('\n').filter((l) => /ignore/.test(l)).join(' / ')}`).toMatch(/\n\/x\.log\n$/);
  // B's own change is B's: what it stops ignoring on B is shared, as asked.
  expect(logOf(b)).not.toContain('stopped applying');
  fs.writeFileSync(path.join(b, 'b.log'), 'B shares this\n');
  await waitUntil('b.log on C', () => read(c, 'b.log') === 'B shares this\n');

  // Made by the host afterwards: stays on A. A marker made after it: once it is on B and C, the log had its chance.
  fs.writeFileSync(path.join(a, 'y.log'), 'new secret log\n');
  fs.writeFileSync(path.join(c, 'z.log'), "C's new log\n");
  fs.writeFileSync(path.join(a, 'marker.txt'), 'after\n');
  fs.writeFileSync(path.join(c, 'marker-c.txt'), 'after\n');
  for (const dir of [b, c]) await waitUntil(`marker.txt on ${dir}`, () => read(dir, 'marker.txt') === 'after\n');
  for (const dir of [a, b]) await waitUntil(`marker-c.txt on ${dir}`, () => read(dir, 'marker-c.txt') === 'after\n');
  for (const dir of [b, c]) expect(read(dir, 'y.log')).toBeUndefined();
  for (const dir of [a, b]) expect(read(dir, 'z.log')).toBeUndefined();
  for (const dir of [b, c]) expect(read(dir, 'x.log')).toBeUndefined();
  for (const dir of [b, c]) expect(read(dir, '.env')).toBeUndefined();
});

// A security review: a peer's change of two .gitignore files at once measured the second against
// the peer's own version (the first had cleared the rules read so far, and the second was read
// again from disk after the daemon had written it), so a rule it removed there was kept nowhere.
it("keeps this folder's rules of every .gitignore a peer's change rewrites at once, and the files they kept out", async () => {
  const { a, b } = joinedPair({ 'a/.gitignore': '*.tmp\n', 'a/x.txt': 'x\n', 'config/.gitignore': 'secrets.json\n', 'config/app.txt': 'app\n', 'config/secrets.json': '{"key":"A only"}\n' }, used);
  await waitUntil('the shared files on B', () => read(b, 'config/app.txt') === 'app\n' && read(b, 'a/x.txt') === 'x\n');
  expect(read(b, 'config/secrets.json')).toBeUndefined();
  fs.writeFileSync(path.join(b, 'a/.gitignore'), '*.bak\n');
  fs.writeFileSync(path.join(b, 'config/.gitignore'), '# nothing to ignore\n');
  await waitUntil('both new .gitignore files on A', () => read(a, 'a/.gitignore') === '*.bak\n' && read(a, 'config/.gitignore') === '# nothing to ignore\n');
  await waitUntil("A keeping config's rule", () => logOf(a).includes(`a peer's change to config/.gitignore stopped applying the rule "/config/**/secrets.json" of this folder`), 30_000).catch((e: Error) => {
    throw new Error(`${e.message}; A's log: ${logOf(a).split('\n').filter((l) => /gitignore|secrets/.test(l)).join(' / ')}`);
  });
  // A marker made after: once it is on B, secrets.json had its chance to travel.
  fs.writeFileSync(path.join(a, 'config/secrets.json'), '{"key":"A only, edited"}\n');
  fs.writeFileSync(path.join(a, 'marker.txt'), 'after\n');
  await waitUntil('marker.txt on B', () => read(b, 'marker.txt') === 'after\n');
  expect(read(b, 'config/secrets.json')).toBeUndefined();
  expect(read(a, '.chorus/ignore')).toMatch(/secrets\.json/);
});

// The review of decision 213: a .gitignore a peer's change moved away (its folder renamed) was
// taken for one the person deleted, so the file it kept out here was shared at its next change.
it("keeps this folder's rules of a .gitignore a peer's folder rename takes away, and the file they kept out", async () => {
  const { a, b } = joinedPair({ 'config/.gitignore': 'secrets.json\n', 'config/app.txt': 'app\n', 'config/secrets.json': '{"key":"A only"}\n' }, used);
  await waitUntil('the shared files on B', () => read(b, 'config/app.txt') === 'app\n');
  fs.renameSync(path.join(b, 'config'), path.join(b, 'cfg'));
  await waitUntil('the rename on A', () => read(a, 'cfg/app.txt') === 'app\n' && read(a, 'cfg/.gitignore') === 'secrets.json\n');
  // Wherever A's secrets.json is now (left in config/, or moved with its folder), it changes, and
  // a marker made after it reaches B: by then the secret had its chance to travel.
  const secret = ['config/secrets.json', 'cfg/secrets.json'].find((f) => read(a, f) !== undefined)!;
  expect(secret).toBeDefined();
  fs.writeFileSync(path.join(a, secret), '{"key":"A only, edited"}\n');
  fs.writeFileSync(path.join(a, 'marker.txt'), 'after\n');
  await waitUntil('marker.txt on B', () => read(b, 'marker.txt') === 'after\n');
  expect(listTree(b).filter((f) => f.endsWith('secrets.json'))).toEqual([]);
});
