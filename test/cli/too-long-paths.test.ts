// A folder holding a path longer than the system allows (4096 bytes, Linux PATH_MAX): chokidar's
// listing of the folder that held it stopped at its ENAMETOOLONG, so the watcher never became
// ready and the daemon never finished starting: `chorus share` printed nothing for ever, the first
// SIGTERM was only noted, and `chorus stop` had to kill it. A running daemon's folder renamed so
// that a deep tree passes the limit left the next start hanging the same way (decision 162).
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { expect, it } from 'vitest';
import { chorus, joinedPair, shareCode, stopAfterEach, waitUntil } from '../support/cli.js';
import { tempDir, tempProject } from '../support/project-dir.js';

const used = stopAfterEach();

/**
 * Make `levels` folders named `name` one inside the other under `dir/top`, with `file` in the
 * deepest (a child process `chdir`s down: a path handed to a system call stops at the limit).
 * Returns the absolute paths of the folders, however long.
 */
function deepTree(dir: string, top: string, name: string, levels: number, file?: string): string[] {
  const script = `const fs = require('fs'); const [dir, top, name, levels, file] = process.argv.slice(1);
    process.chdir(dir); fs.mkdirSync(top); process.chdir(top);
    for (let i = 0; i < Number(levels); i++) { fs.mkdirSync(name); process.chdir(name); }
    if (file) fs.writeFileSync(file, 'deepest\\n');`;
  const r = spawnSync(process.execPath, ['-e', script, dir, top, name, String(levels), file ?? ''], { encoding: 'utf8' });
  expect(r.status, r.stderr).toBe(0);
  const out = [path.join(dir, top)];
  for (let i = 0; i < levels; i++) out.push(path.join(out[out.length - 1]!, name));
  return out;
}

/** Remove `dir` and everything in it, however deep (GNU rm walks down by file descriptors; Node's rmSync stops at the limit). */
function removeDeep(dir: string): void {
  spawnSync('rm', ['-rf', dir]);
}

/** `chorus stop` stops the daemon of `dir` on its SIGTERM, without having to kill it. */
function stopsCleanly(dir: string): void {
  const stop = chorus(['stop', dir]);
  expect(stop.status, stop.stderr).toBe(0);
  expect(stop.stderr + stop.stdout).not.toContain('killed');
}

const tooLong = (abs: string) => Buffer.byteLength(abs) > 4095;
const logOf = (dir: string) => fs.readFileSync(path.join(dir, '.chorus', 'daemon.log'), 'utf8');

it('a folder with a path too long for the system starts, shares and watches the rest, says so once, and stops cleanly', async () => {
  const a = tempProject({ 'a.txt': 'hi\n' });
  used.push(a);
  try {
    const levels = deepTree(a, 'deep', 'd'.repeat(200), 25, 'f.txt');
    const over = levels.findIndex(tooLong);
    expect(over).toBeGreaterThan(1);
    const holder = levels[over - 1]!; // the last folder the system can name, holding the first it cannot
    const b = path.join(tempDir(), 'b');
    used.push(b);
    const join = chorus(['join', shareCode(a), b, '--host', '127.0.0.1']);
    expect(join.status, join.stderr).toBe(0);
    expect(fs.readFileSync(path.join(b, 'a.txt'), 'utf8')).toBe('hi\n');
    // The rest is watched: at the top, and beside the entry that is too long.
    fs.writeFileSync(path.join(a, 'new.txt'), 'new\n');
    fs.writeFileSync(path.join(holder, 'beside.txt'), 'beside\n');
    const besideOnB = path.join(b, path.relative(a, holder), 'beside.txt');
    await waitUntil('new.txt on B', () => fs.existsSync(path.join(b, 'new.txt')));
    await waitUntil('beside.txt on B', () => fs.existsSync(besideOnB));
    expect(fs.readFileSync(besideOnB, 'utf8')).toBe('beside\n');
    // The path that is too long is not shared, and is said once.
    expect(fs.readdirSync(path.dirname(besideOnB))).toEqual(['beside.txt']);
    const said = logOf(a).split('\n').filter((l) => l.includes('longer than this system allows'));
    expect(said.length, logOf(a)).toBe(1);
    expect(said[0]).toContain('not sharing deep/');
    expect(logOf(a)).not.toContain('ENAMETOOLONG');
    stopsCleanly(a);
  } finally {
    chorus(['stop', a]);
    removeDeep(path.join(a, 'deep'));
  }
});

it('a rename that takes a deep tree past the limit while the daemon runs leaves it watching, and it starts again', async () => {
  const { a, b } = joinedPair({ 'a.txt': 'hi\n' }, used);
  // 19 folders of 200 bytes with one of 180 in the last: within the limit until `c` is renamed
  // to a name 100 bytes longer.
  try {
    const levels = deepTree(a, 'c', 'e'.repeat(200), 19);
    const last = levels[levels.length - 1]!;
    fs.writeFileSync(path.join(last, 'f.txt'), 'f\n');
    fs.mkdirSync(path.join(last, 'g'.repeat(180)));
    fs.writeFileSync(path.join(last, 'g'.repeat(180), 'g.txt'), 'g\n');
    const onB = (abs: string) => path.join(b, path.relative(a, abs));
    await waitUntil('g.txt on B', () => fs.existsSync(onB(path.join(last, 'g'.repeat(180), 'g.txt'))));
    const renamed = 'c' + 'Z'.repeat(100);
    fs.renameSync(path.join(a, 'c'), path.join(a, renamed));
    const lastNow = path.join(a, renamed, path.relative(path.join(a, 'c'), last));
    expect(tooLong(path.join(lastNow, 'g'.repeat(180)))).toBe(true);
    await waitUntil('f.txt renamed on B', () => fs.existsSync(onB(path.join(lastNow, 'f.txt'))));
    // Still watching: at the top, and in the folder that now holds a path too long.
    fs.writeFileSync(path.join(a, 'later.txt'), 'later\n');
    fs.writeFileSync(path.join(lastNow, 'beside.txt'), 'beside\n');
    await waitUntil('later.txt on B', () => fs.existsSync(path.join(b, 'later.txt')));
    await waitUntil('beside.txt on B', () => fs.existsSync(onB(path.join(lastNow, 'beside.txt'))));
    expect(logOf(a)).toContain('longer than this system allows');
    expect(logOf(a)).not.toContain('ENAMETOOLONG');
    // The next start finishes, and that daemon stops cleanly too.
    stopsCleanly(a);
    shareCode(a);
    stopsCleanly(a);
  } finally {
    chorus(['stop', a]);
    removeDeep(path.join(a, 'c'));
    removeDeep(path.join(a, 'c' + 'Z'.repeat(100)));
  }
});
