/**
 * Running the `chorus` command as a person or script does (a child process, its exit code,
 * stdout and stderr), and looking at what it leaves in the process table.
 */
import { spawnSync, type SpawnSyncReturns } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { afterEach, expect } from 'vitest';
import { CLI } from './paths.js';
import { tempDir, tempProject } from './project-dir.js';

export interface RunOptions {
  cwd?: string;
  /** Kill it after this long: a bound that tells a quick failure from a minute-long wait. */
  timeoutMs?: number;
  env?: NodeJS.ProcessEnv;
  /** Written to its standard input, which is then closed. */
  input?: string;
}

/** Run the built `chorus` with `args`. */
export function chorus(args: string[], opts: RunOptions = {}): SpawnSyncReturns<string> {
  return spawnSync(process.execPath, [CLI, ...args], {
    encoding: 'utf8',
    timeout: opts.timeoutMs ?? 60_000,
    ...(opts.cwd ? { cwd: opts.cwd } : {}),
    ...(opts.env ? { env: opts.env } : {}),
    ...(opts.input !== undefined ? { input: opts.input } : {}),
  });
}

/** Pids of running `chorus daemon` processes whose command line names `dir` (Linux /proc). */
export function daemonsFor(dir: string): number[] {
  const out: number[] = [];
  for (const entry of fs.readdirSync('/proc')) {
    if (/^\d+$/.test(entry) && daemonArgsName(Number(entry), dir)) out.push(Number(entry));
  }
  return out;
}

/** The join code `chorus share --json` prints for `dir` (on loopback). */
export function shareCode(dir: string, extra: string[] = []): string {
  const r = chorus(['share', dir, '--json', '--host', '127.0.0.1', ...extra]);
  if (r.status !== 0) throw new Error(`chorus share failed (${r.status}): ${r.stderr}`);
  return (JSON.parse(r.stdout) as { code: string }).code;
}

/** A copy of join code `code` with its JSON body changed by `edit`. */
export function editedCode(code: string, edit: (body: Record<string, unknown>) => void): string {
  const body = JSON.parse(Buffer.from(code.slice('chorus2.'.length), 'base64url').toString('utf8')) as Record<string, unknown>;
  edit(body);
  return 'chorus2.' + Buffer.from(JSON.stringify(body)).toString('base64url');
}

/** Folders registered here have their daemon stopped after each test (stopIfRunning). */
export function stopAfterEach(): string[] {
  const dirs: string[] = [];
  afterEach(() => {
    for (const d of dirs.splice(0)) stopIfRunning(d);
  });
  return dirs;
}

/**
 * Stop daemons as a suspended terminal or a `kill -STOP` leaves them (`freeze`), and resume them
 * (`thaw`); any still stopped when a test ends is resumed then. Call it after registering the
 * clean-up that stops daemons: after-each hooks run last-registered first, and a stopped process
 * takes no SIGTERM in.
 */
export function frozenAfterEach(): { freeze(pid: number): void; thaw(pid: number): void } {
  const frozen = new Set<number>();
  const resume = (pid: number) => {
    try {
      process.kill(pid, 'SIGCONT');
    } catch {
      // gone already
    }
  };
  afterEach(() => {
    for (const pid of frozen) resume(pid);
    frozen.clear();
  });
  return {
    freeze: (pid) => {
      process.kill(pid, 'SIGSTOP');
      frozen.add(pid);
    },
    thaw: (pid) => {
      resume(pid);
      frozen.delete(pid);
    },
  };
}

/**
 * Stop the daemon of `dir` after a test, as `chorus stop dir` does (SIGTERM: it writes its files
 * and exits; wait until the process is gone, not only its lock, so the folder can be removed
 * without racing its last writes; SIGKILL after `chorus stop`'s 10 s), but from this process: a
 * `chorus stop` process costs ~0.3 s of CPU, and test/cli alone ran ~130 of them a run only to
 * clean up. Tests that test `chorus stop` run the command itself.
 *
 * Nothing is done when `dir` has neither a daemon's lock nor its socket (`chorus stop` finds
 * nothing to stop either: it looks for a daemon by those two). The daemon is the process its lock
 * names, if that process's command line is `… daemon dir …`, and any other daemon process started
 * for `dir` (one still starting has no lock yet). When none is found that way (a daemon inside a
 * test's process, a folder named another way on its command line), `chorus stop dir` is run, which
 * judges such cases itself.
 */
export function stopIfRunning(dir: string): void {
  const dot = path.join(dir, '.chorus');
  const lockPath = path.join(dot, 'daemon.lock');
  if (!fs.existsSync(lockPath) && !fs.existsSync(path.join(dot, 'daemon.sock'))) return;
  const pids = new Set(daemonsFor(dir));
  const locked = lockPid(lockPath);
  if (locked !== undefined && daemonArgsName(locked, dir)) pids.add(locked);
  pids.delete(process.pid); // never this test's own process, whatever its command line says
  if (pids.size === 0) {
    chorus(['stop', dir]);
    return;
  }
  for (const pid of pids) signal(pid, 'SIGTERM');
  const deadline = Date.now() + STOP_WAIT_MS;
  for (let left = [...pids]; left.length > 0; left = left.filter(alive)) {
    // Killed then, as `chorus stop` kills it (a cleanup, like the command's, fails no test).
    if (Date.now() > deadline) left.forEach((pid) => signal(pid, 'SIGKILL'));
    // A synchronous pause (the callers are synchronous, as spawnSync of `chorus stop` was).
    Atomics.wait(PAUSE, 0, 0, 20);
  }
}

/** `chorus stop`'s bound on a daemon's stopping (daemon/src/lifecycle/daemon-process.ts STOP_WAIT_MS), in ms. */
const STOP_WAIT_MS = 10_000;
const PAUSE = new Int32Array(new SharedArrayBuffer(4));

/** The pid a daemon's lock file names, or undefined (no file, or not a lock). */
function lockPid(lockPath: string): number | undefined {
  try {
    const pid = (JSON.parse(fs.readFileSync(lockPath, 'utf8')) as { pid?: unknown }).pid;
    return typeof pid === 'number' && Number.isInteger(pid) && pid > 0 ? pid : undefined;
  } catch {
    return undefined;
  }
}

/** The process `pid`'s command line (Linux /proc), or undefined when it is gone or has exited (a zombie). */
function processArgs(pid: number): string[] | undefined {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    if (stat.slice(stat.lastIndexOf(')') + 2).startsWith('Z')) return undefined; // exited, not yet reaped
    return fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0');
  } catch {
    return undefined; // gone
  }
}

/** Is `pid` a `chorus daemon` process whose command line names `dir`? */
function daemonArgsName(pid: number, dir: string): boolean {
  const argv = processArgs(pid);
  const i = argv?.indexOf('daemon') ?? -1;
  return argv !== undefined && i > 0 && argv.slice(i + 1).includes(dir);
}

function alive(pid: number): boolean {
  return processArgs(pid) !== undefined;
}

function signal(pid: number, sig: NodeJS.Signals): void {
  try {
    process.kill(pid, sig);
  } catch {
    // gone already
  }
}

/**
 * Project-relative paths of the files (`kind` 'file') or folders under `dir`, sorted, without
 * `.chorus/`. A folder a daemon removes while it is read (readdirSync's recursive walk then
 * throws ENOENT) is read again: the caller polls for a state, and this is one moment of it.
 */
export function listTree(dir: string, kind: 'file' | 'folder' = 'file'): string[] {
  for (let attempt = 1; ; attempt++) {
    try {
      return readTree(dir, kind);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'ENOENT' || attempt >= 20 || !fs.existsSync(dir)) throw e;
    }
  }
}

function readTree(dir: string, kind: 'file' | 'folder'): string[] {
  return fs
    .readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((e) => (kind === 'file' ? e.isFile() : e.isDirectory()))
    .map((e) => path.relative(dir, path.join(e.parentPath, e.name)).split(path.sep).join('/'))
    .filter((p) => p !== '.chorus' && !p.startsWith('.chorus/'))
    .sort();
}

/** Poll until `cond` holds (a generous bound, never a timing assertion; every 50 ms: each `cond` here is a cheap look at files or processes). */
export async function waitUntil(what: string, cond: () => boolean, ms = 60_000): Promise<void> {
  for (const end = Date.now() + ms; !cond(); ) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/**
 * Poll until `chorus status dir` succeeds (its daemon answers) or `gaveUp()` holds (say, the
 * process that was to start the daemon exited). `chorus status` only runs once the daemon's socket
 * exists: before that it can only fail, and each run is a Node process (~0.3 s of CPU) started
 * every 50 ms while the daemon is still loading.
 */
export async function waitUntilAnswers(what: string, dir: string, gaveUp: () => boolean = () => false, ms = 60_000): Promise<void> {
  const socket = path.join(dir, '.chorus', 'daemon.sock');
  await waitUntil(what, () => gaveUp() || (fs.existsSync(socket) && chorus(['status', dir]).status === 0), ms);
}

/**
 * A folder made from `files`, shared, and a second folder joined to it (both registered in `used`
 * so `stopAfterEach` stops their daemons): `a` the sharer's, `b` the joiner's, and `code` the
 * join code `a` gave (for more joiners: another `chorus share` would only print it again).
 */
export function joinedPair(files: Record<string, string>, used: string[]): { a: string; b: string; code: string } {
  const a = tempProject(files);
  used.push(a);
  const code = shareCode(a);
  return { a, b: joinedFolder(code, used), code };
}

/** A new folder `b` joined with `code` on loopback (registered in `used`); returns its path. */
export function joinedFolder(code: string, used: string[]): string {
  const b = path.join(tempDir(), 'b');
  used.push(b);
  const join = chorus(['join', code, b, '--host', '127.0.0.1']);
  expect(join.status, join.stderr).toBe(0);
  return b;
}
