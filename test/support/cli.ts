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
    if (!/^\d+$/.test(entry)) continue;
    let argv: string[];
    try {
      argv = fs.readFileSync(`/proc/${entry}/cmdline`, 'utf8').split('\0');
      const stat = fs.readFileSync(`/proc/${entry}/stat`, 'utf8');
      if (stat.slice(stat.lastIndexOf(')') + 2).startsWith('Z')) continue; // exited, not yet reaped
    } catch {
      continue; // gone meanwhile
    }
    const i = argv.indexOf('daemon');
    if (i > 0 && argv.slice(i + 1).includes(dir)) out.push(Number(entry));
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
 * `chorus stop dir`, unless `dir` has neither a daemon's lock nor its socket: then `chorus stop`
 * finds nothing to stop either (it looks for a daemon by those two), and a Node process less is
 * started for each folder a test left without a daemon (a failed join, a daemon already stopped).
 */
export function stopIfRunning(dir: string): void {
  const dot = path.join(dir, '.chorus');
  if (fs.existsSync(path.join(dot, 'daemon.lock')) || fs.existsSync(path.join(dot, 'daemon.sock'))) chorus(['stop', dir]);
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
