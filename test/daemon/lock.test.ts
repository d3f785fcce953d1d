// Who holds `.chorus/daemon.lock` (decision 138): only a process confirmed to be the project's
// daemon; a reused pid, an ended process or a damaged file is stale, and taking it over says why.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { afterEach, expect, it } from 'vitest';
import { acquireLock, inspectLock, namesDaemonOf, processStart, releaseLock } from '../../daemon/src/lifecycle/lock.js';
import { tempDir } from '../support/project-dir.js';

const children: ChildProcess[] = [];
afterEach(() => {
  for (const c of children.splice(0)) c.kill('SIGKILL');
});

function lockIn(): { root: string; lock: string } {
  const root = tempDir();
  fs.mkdirSync(path.join(root, '.chorus'));
  return { root, lock: path.join(root, '.chorus', 'daemon.lock') };
}

const never = { serving: async () => false, log: () => undefined };

it('holds a lock only for the process that wrote it, for its own folder', async () => {
  const { root, lock } = lockIn();
  expect(inspectLock(lock, root)).toEqual({ state: 'free' });
  expect(await acquireLock(lock, root, never)).toEqual({ ok: true });
  expect(JSON.parse(fs.readFileSync(lock, 'utf8'))).toMatchObject({ pid: process.pid, root, procStart: processStart(process.pid) });
  expect(inspectLock(lock, root)).toMatchObject({ state: 'held', pid: process.pid });
  expect(await acquireLock(lock, root, never)).toEqual({ ok: false, pid: process.pid });
  // Copied along with its folder: another folder's lock, which only the socket could confirm.
  expect(inspectLock(lock, path.join(root, 'copy'))).toMatchObject({ state: 'unconfirmed', pid: process.pid });
  releaseLock(lock, path.join(root, 'copy'));
  expect(fs.existsSync(lock)).toBe(true); // not that folder's lock
  releaseLock(lock, root);
  expect(fs.existsSync(lock)).toBe(false);
});

it('judges an ended process, a reused pid, another program and a damaged file stale, and takes them over with a log line', async () => {
  const { root, lock } = lockIn();
  const ended = Number(spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))'], { encoding: 'utf8' }).stdout);
  const sleeper = spawn('sleep', ['1000'], { stdio: 'ignore' });
  children.push(sleeper);
  const cases: [unknown, RegExp][] = [
    [{ pid: ended }, /has ended/],
    [{ pid: sleeper.pid, root, procStart: '1' }, /now belongs to another program/],
    [{ pid: sleeper.pid, started: '2026-01-01T00:00:00Z' }, /is not a chorus daemon for this folder \(it runs `sleep 1000`\)/],
    ['{"pid":', /damaged/],
  ];
  for (const [content, why] of cases) {
    fs.writeFileSync(lock, typeof content === 'string' ? content : JSON.stringify(content));
    const holder = inspectLock(lock, root);
    expect(holder.state, JSON.stringify(content)).toBe('stale');
    expect((holder as { why: string }).why).toMatch(why);
    const said: string[] = [];
    expect(await acquireLock(lock, root, { serving: async () => false, log: (m) => said.push(m) })).toEqual({ ok: true });
    expect(said.join('\n')).toMatch(why);
    releaseLock(lock, root);
  }
  expect(sleeper.exitCode).toBeNull();
});

it('an unidentified live holder keeps the lock only while a daemon answers on the socket', async () => {
  const { root, lock } = lockIn();
  // The daemon of another folder (this very process): only the socket can tell.
  fs.writeFileSync(lock, JSON.stringify({ pid: process.pid, root: '/elsewhere', procStart: processStart(process.pid) }));
  expect(await acquireLock(lock, root, { serving: async () => true, log: () => undefined })).toEqual({ ok: false, pid: process.pid });
  expect(await acquireLock(lock, root, never)).toEqual({ ok: true });
  releaseLock(lock, root);
});

it('recognises the command line of a daemon for the folder (locks without a start time)', () => {
  const root = tempDir();
  fs.mkdirSync(path.join(root, 'sub'));
  fs.mkdirSync(path.join(root, '.chorus'));
  expect(namesDaemonOf(['node', '--expose-gc', '/x/daemon/dist/cli.js', 'daemon', root], '/', root)).toBe(true);
  expect(namesDaemonOf(['node', '/usr/bin/chorus', 'daemon', '--name', 'daemon', '.'], root, root)).toBe(true);
  expect(namesDaemonOf(['node', '/usr/bin/chorus', 'daemon'], path.join(root, 'sub'), root)).toBe(true);
  expect(namesDaemonOf(['node', '/usr/bin/chorus', 'daemon', '/elsewhere'], root, root)).toBe(false);
  expect(namesDaemonOf(['sleep', '1000'], root, root)).toBe(false);
  expect(namesDaemonOf(['node', 'evil.js', 'daemon', root], root, root)).toBe(false);
});
