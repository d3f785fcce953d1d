// Making .chorus/ private walks it while other `chorus` commands may be writing there: editors
// started at once each record the daemon they start (a temporary file renamed into place), so a
// file listed can be gone a moment later. That is no failure; any other error still is. (One of
// four `chorus connect`s started at once ended with "… daemon.starting.<pid>-<hex>.tmp does not
// exist", and its editor waited for a daemon until the test timed out.)
import fs from 'node:fs';
import path from 'node:path';
import { afterEach, expect, it, vi } from 'vitest';
import { tightenPrivate } from '../../daemon/src/project.js';
import { tempDir } from '../support/project-dir.js';

afterEach(() => {
  vi.restoreAllMocks();
});

/** A folder with loose modes: a.txt, b.tmp and sub/c.txt, all 0644, the folders 0755. */
function looseFolder(): string {
  const dir = tempDir('chorus-tighten-');
  fs.mkdirSync(path.join(dir, 'sub'));
  for (const f of ['a.txt', 'b.tmp', 'sub/c.txt']) fs.writeFileSync(path.join(dir, f), 'x', { mode: 0o644 });
  fs.chmodSync(dir, 0o755);
  fs.chmodSync(path.join(dir, 'sub'), 0o755);
  return dir;
}

const mode = (p: string) => fs.statSync(p).mode & 0o777;

it('a file or folder gone between the listing and its look is passed over; the rest is made private', () => {
  const dir = looseFolder();
  const real = fs.lstatSync.bind(fs);
  // Another process takes b.tmp away, and then sub/, right after the listing saw them.
  const taken = new Set<string>();
  vi.spyOn(fs, 'lstatSync').mockImplementation(((p: fs.PathLike, o?: fs.StatSyncOptions) => {
    const name = path.basename(String(p));
    if ((name === 'b.tmp' || name === 'sub') && !taken.has(name)) {
      taken.add(name); // once: removing looks at it too
      fs.rmSync(p, { recursive: true, force: true });
    }
    return real(p, o);
  }) as typeof fs.lstatSync);
  expect(() => tightenPrivate(dir)).not.toThrow();
  expect(mode(dir)).toBe(0o700);
  expect(mode(path.join(dir, 'a.txt'))).toBe(0o600);
  expect(fs.readdirSync(dir)).toEqual(['a.txt']);
  expect([...taken].sort()).toEqual(['b.tmp', 'sub']);
});

it('any other failure still stops it', () => {
  const dir = looseFolder();
  const real = fs.lstatSync.bind(fs);
  vi.spyOn(fs, 'lstatSync').mockImplementation(((p: fs.PathLike, o?: fs.StatSyncOptions) => {
    if (String(p).endsWith('a.txt')) throw Object.assign(new Error(`EACCES: permission denied, lstat '${String(p)}'`), { code: 'EACCES' });
    return real(p, o);
  }) as typeof fs.lstatSync);
  expect(() => tightenPrivate(dir)).toThrow(/EACCES/);
});
