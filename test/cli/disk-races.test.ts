// Races between tools and the daemons' own writes, with real daemon processes (`chorus share` /
// `chorus join` on loopback), as the tester ran them (decision 148).
import { execFileSync, spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { expect, it } from 'vitest';
import { chorus, joinedPair, listTree, stopAfterEach, waitUntil } from '../support/cli.js';
import { tempDir } from '../support/project-dir.js';

const used = stopAfterEach();

/** Run a shell script, resolving when it ends (a real `sed -i` and real `>>`). */
function sh(script: string, cwd: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const p = spawn('sh', ['-c', script], { cwd, stdio: 'ignore' });
    p.on('exit', (code) => (code === 0 ? resolve() : reject(new Error(`sh exited ${code}: ${script}`))));
    p.on('error', reject);
  });
}

const read = (f: string) => (fs.existsSync(f) ? fs.readFileSync(f, 'utf8') : '');

it('a sed -i rewrite on one peer racing appends on the other loses, duplicates and reorders no line', async () => {
  const { a, b } = joinedPair({ 'f.txt': 'top\n' }, used);
  const fa = path.join(a, 'f.txt');
  const fb = path.join(b, 'f.txt');
  await waitUntil('f.txt on B', () => read(fb) === 'top\n');
  // Several rounds: the race needs a write-back to land inside a tool's read-modify-write.
  const rounds = 4;
  for (let round = 1; round <= rounds; round++) {
    const tag = `r${round}`;
    const appends = sh(`for i in $(seq 1 30); do echo "${tag}B$i" >> f.txt; sleep 0.1; done`, b);
    const rewrites = sh(`for k in 1 2 3 4 5 6; do sleep 0.4; sed -i "1s/.*/${tag}top$k/" f.txt; done`, a);
    await Promise.all([appends, rewrites]);
    // Settled: both folders agree and stay so for a while (a late write-back would change them).
    let last = '';
    let since = Date.now();
    await waitUntil(`round ${round}: both folders to settle`, () => {
      const now = read(fa) + '\u0000' + read(fb);
      if (now !== last) {
        last = now;
        since = Date.now();
      }
      return read(fa) === read(fb) && Date.now() - since > 3000;
    }, 120_000);
    const lines = read(fa).split('\n').filter((l) => l !== '');
    const want = [`${tag}top6`, ...Array.from({ length: round }, (_, r) => Array.from({ length: 30 }, (_, i) => `r${r + 1}B${i + 1}`)).flat()];
    const logs = `A's log:\n${read(path.join(a, '.chorus', 'daemon.log')).split('\n').filter((l) => !/ net /.test(l)).slice(-25).join('\n')}\nB's log:\n${read(path.join(b, '.chorus', 'daemon.log')).split('\n').filter((l) => !/ net /.test(l)).slice(-25).join('\n')}`;
    expect(lines, `round ${round}\n${logs}`).toEqual(want);
  }
}, 600_000);

it('a quick branch switch on the sharer leaves every peer with exactly the sharer\'s files', async () => {
  const { a, b, code } = joinedPair({ 'readme.txt': 'hello\n' }, used);
  const others = [b];
  for (let i = 0; i < 2; i++) {
    const dir = path.join(tempDir(), `p${i}`);
    used.push(dir);
    const join = chorus(['join', code, dir, '--host', '127.0.0.1']);
    expect(join.status, join.stderr).toBe(0);
    others.push(dir);
  }
  const git = (...args: string[]) => execFileSync('git', ['-c', 'user.email=t@example.com', '-c', 'user.name=t', ...args], { cwd: a, stdio: 'pipe' });
  git('init', '-q', '-b', 'master');
  git('add', 'readme.txt');
  git('commit', '-q', '-m', 'master');
  git('checkout', '-q', '-b', 'big');
  for (let i = 1; i <= 50; i++) fs.writeFileSync(path.join(a, `big${i}.txt`), `big file ${i}\n`);
  git('add', '-A', '--', '.', ':!.chorus');
  git('commit', '-q', '-m', 'big');
  git('checkout', '-q', 'master');
  const files = (dir: string) => listTree(dir).filter((p) => !p.startsWith('.git/')).join('\n');
  for (const d of others) await waitUntil(`${d} to have the sharer's files`, () => files(d) === files(a));
  await sh('for k in 1 2 3; do git checkout -q big && sleep 0.6 && git checkout -q master; sleep 0.6; done', a);
  // Settled: every folder holds the sharer's files and stays so for a while.
  let last = '';
  let since = Date.now();
  await waitUntil('every peer to settle on the sharer\'s files', () => {
    const now = [a, ...others].map(files).join('\u0000');
    if (now !== last) {
      last = now;
      since = Date.now();
    }
    return others.every((d) => files(d) === files(a)) && Date.now() - since > 4000;
  }, 120_000).catch(() => undefined);
  expect(files(a)).toBe('readme.txt');
  for (const d of others) expect(files(d), `${d}'s files`).toBe('readme.txt');
}, 600_000);
