// Races between tools and the daemons' own writes, with real daemon processes (`chorus share` /
// `chorus join` on loopback), as the tester ran them (decision 148).
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { expect, it } from 'vitest';
import { joinedPair, stopAfterEach, waitUntil } from '../support/cli.js';

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
