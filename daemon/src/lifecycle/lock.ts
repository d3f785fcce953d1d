/**
 * One daemon per project folder: the daemon holds `.chorus/daemon.lock`, created exclusively.
 *
 * A lock counts as held only when the process it names is confirmed to be this project's daemon
 * (decision 138): a pid alone proves nothing, since after a crash or a reboot the pid in a left-over
 * lock may belong to any program, and `chorus stop` must never signal that program. The lock
 * records the project's folder and the process's start time as the system reports it; on reading,
 * a live process with another start time is a reused pid, so the lock is stale. The start time
 * alone does not make the process a daemon, though: a hand-written lock, or a crash's lock whose pid
 * was reused by a program that happens to be read with the start time written beside it, names a
 * live process with its real start time. So the process's command line must also name the daemon
 * (see judge). A lock without a start time (written by an older Chorus) is judged by the command
 * line alone.
 *
 * Taking over a stale lock happens under a second, short-lived lock so two daemons starting at
 * once over a stale lock cannot both win.
 */
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';

/** What `.chorus/daemon.lock` holds. */
export interface LockRecord {
  pid: number;
  /** When the daemon took the lock (ISO 8601), for a person reading the file. */
  started?: string;
  /** The project folder (real path) the daemon serves: a lock copied with its folder names another. */
  root?: string;
  /** The process's start time as the system reports it (see processStart); absent in older locks. */
  procStart?: string;
}

/** Who holds a lock, as far as can be told. */
export type LockHolder =
  /** No lock file. */
  | { state: 'free' }
  /** The process is confirmed to be this project's daemon. */
  | { state: 'held'; pid: number; procStart: string | undefined }
  /** Nobody holds it: the process is gone, the pid now belongs to another program, or the file is damaged. */
  | { state: 'stale'; pid: number | undefined; why: string }
  /**
   * A live process that could not be confirmed to be the daemon (no /proc, no `ps`; or its command
   * line is another program's, which a daemon running inside a test or an editor also has): only
   * its socket can tell. `otherProgram`: its command line was read and is not a daemon's, so it is
   * stale unless a daemon answers on the socket.
   */
  | { state: 'unconfirmed'; pid: number; why: string; otherProgram?: boolean };

const HAS_PROC = fs.existsSync('/proc/self/stat');

/**
 * The locks this process took and holds (their paths). A daemon running inside another program
 * (a test's worker, an editor) has that program's command line, so for its own process the lock's
 * judge asks this instead: a lock naming this process that this process never took was written by
 * someone else.
 */
const heldHere = new Set<string>();

/** The fields of /proc/PID/stat after the command name (which may itself hold spaces and parentheses). */
function statFields(pid: number): string[] | undefined {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  } catch {
    return undefined;
  }
}

/** `ps -o <field>= -p PID` where there is no /proc (macOS, BSD); undefined when ps cannot say. */
function ps(pid: number, field: string): string | undefined {
  try {
    const out = execFileSync('ps', ['-o', `${field}=`, '-p', String(pid)], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'], timeout: 2000 }).trim();
    return out || undefined;
  } catch {
    return undefined;
  }
}

/**
 * When process `pid` started, as the system reports it: Linux's /proc/PID/stat field 22 (clock
 * ticks after boot), elsewhere `ps -o lstart=`. Two processes that share a pid never share this,
 * which is how a reused pid is told from the daemon that wrote a lock. Undefined when unknown.
 */
export function processStart(pid: number): string | undefined {
  if (HAS_PROC) return statFields(pid)?.[19]; // field 22; the slice starts at field 3
  return ps(pid, 'lstart');
}

/** Does process `pid` exist and run? A killed daemon whose parent never reaps it stays a zombie. */
export function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'EPERM') return false;
  }
  if (!HAS_PROC) return true; // the signal check is all there is
  const state = statFields(pid)?.[0];
  return state !== undefined && state !== 'Z';
}

/** The command line of process `pid` and its working folder, where the system tells them. */
function commandOf(pid: number): { argv: string[]; cwd: string | undefined } | undefined {
  if (HAS_PROC) {
    try {
      const argv = fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').filter((a) => a !== '');
      let cwd: string | undefined;
      try {
        cwd = fs.readlinkSync(`/proc/${pid}/cwd`);
      } catch {
        // another user's process: its arguments are all there is
      }
      return { argv, cwd };
    } catch {
      return undefined;
    }
  }
  const args = ps(pid, 'args');
  return args === undefined ? undefined : { argv: args.split(/\s+/), cwd: undefined };
}

function realOrSame(p: string): string {
  try {
    return fs.realpathSync(p);
  } catch {
    return p;
  }
}

/**
 * Is `argv` (run in `cwd`) `chorus daemon` for the project at `root`? The folder argument is
 * resolved as the command resolved it; with none, the command served the project at or above its
 * working folder.
 */
export function namesDaemonOf(argv: string[], cwd: string | undefined, root: string): boolean {
  const i = argv.indexOf('daemon');
  if (i < 1 || !/^(cli\.[cm]?[jt]s|chorus(\.[cm]?js)?)$/.test(path.basename(argv[i - 1]!))) return false;
  const positional: string[] = [];
  for (let j = i + 1; j < argv.length; j++) {
    const a = argv[j]!;
    if (a === '--name') j++; // its value
    else if (!a.startsWith('-')) positional.push(a);
  }
  const dir = positional[0];
  if (dir !== undefined) {
    if (!path.isAbsolute(dir) && cwd === undefined) return false;
    return realOrSame(path.resolve(cwd ?? '/', dir)) === root;
  }
  if (cwd === undefined) return false;
  for (let cur = realOrSame(cwd); ; cur = path.dirname(cur)) {
    if (fs.existsSync(path.join(cur, '.chorus'))) return cur === root;
    if (path.dirname(cur) === cur) return realOrSame(cwd) === root;
  }
}

/**
 * The processes running `chorus daemon` for the project at `root` (namesDaemonOf), other than this
 * one, found by their command lines in /proc: a daemon is visible there from the moment it is
 * exec'd, before it can write anything. Linux only (elsewhere the command lines of all processes
 * come without their working folders, so a relative folder argument cannot be resolved): empty
 * there. Zombies (ended, not yet reaped) are left out.
 */
export function daemonProcessesOf(root: string): { pid: number; procStart: string | undefined }[] {
  if (!HAS_PROC) return [];
  let entries: string[];
  try {
    entries = fs.readdirSync('/proc');
  } catch {
    return [];
  }
  const found: { pid: number; procStart: string | undefined }[] = [];
  for (const entry of entries) {
    if (!/^\d+$/.test(entry)) continue;
    const pid = Number(entry);
    if (pid === process.pid) continue;
    const cmd = commandOf(pid);
    if (cmd && namesDaemonOf(cmd.argv, cmd.cwd, root) && processAlive(pid)) found.push({ pid, procStart: processStart(pid) });
  }
  return found;
}

function parseLock(text: string): LockRecord | undefined {
  try {
    const rec = JSON.parse(text) as Partial<LockRecord> | null;
    const pid = Number(rec?.pid);
    if (!Number.isInteger(pid) || pid <= 0) return undefined;
    return {
      pid,
      ...(typeof rec!.started === 'string' ? { started: rec!.started } : {}),
      ...(typeof rec!.root === 'string' ? { root: rec!.root } : {}),
      ...(typeof rec!.procStart === 'string' ? { procStart: rec!.procStart } : {}),
    };
  } catch {
    return undefined;
  }
}

/** The first 120 characters of a command line, for a message. */
function shown(argv: string[]): string {
  return argv.join(' ').slice(0, 120);
}

/**
 * Judge the lock at `lockPath`, holding `text`, for the project at `root` (see LockHolder).
 *
 * A matching start time proves only that the pid was not reused since the lock was written, not
 * that whoever wrote the lock was a daemon: a lock written by hand (or by a crash, its pid since
 * taken by a program whose start time is then written into a lock by hand) names a live program
 * with its real start time, and was trusted, so `chorus daemon` refused to start and the CLI
 * waited on a socket nobody served. So the process must also be a daemon for this folder:
 * - this very process: only if it took the lock itself (heldHere);
 * - another process: its command line (Linux's /proc/PID/cmdline and cwd; elsewhere `ps -o
 *   args=`, without the working folder, so a relative folder argument cannot be resolved) names
 *   `cli.js|chorus daemon` for this folder (namesDaemonOf);
 * - anything else, and wherever neither /proc nor `ps` tells, is unconfirmed, and only a daemon
 *   answering on the project's socket keeps the lock held (a daemon running inside another
 *   program, a test's or an editor's, has that program's command line and still answers).
 */
function judge(text: string, root: string, lockPath: string): Exclude<LockHolder, { state: 'free' }> {
  const rec = parseLock(text);
  if (!rec) return { state: 'stale', pid: undefined, why: 'the lock file is damaged (no pid in it)' };
  const { pid } = rec;
  if (!processAlive(pid)) return { state: 'stale', pid, why: `its process (pid ${pid}) has ended` };
  const now = processStart(pid);
  const otherFolder = rec.root !== undefined && rec.root !== root;
  if (rec.procStart !== undefined && now !== undefined) {
    if (now !== rec.procStart) return { state: 'stale', pid, why: `pid ${pid} now belongs to another program (it started after the daemon that wrote the lock)` };
    // The very process that wrote it, but for another folder: a lock copied along with its
    // folder, or a folder moved while its daemon ran. Only the socket can tell which.
    if (otherFolder) return { state: 'unconfirmed', pid, why: `the lock was written by the daemon of ${rec.root}` };
    if (pid === process.pid) {
      if (heldHere.has(lockPath)) return { state: 'held', pid, procStart: now };
      return { state: 'unconfirmed', pid, why: `it names this process (pid ${pid}), which did not take it` };
    }
  }
  const cmd = commandOf(pid);
  if (cmd && namesDaemonOf(cmd.argv, cmd.cwd, root)) return { state: 'held', pid, procStart: now };
  if (cmd && rec.procStart !== undefined && now !== undefined) {
    return { state: 'unconfirmed', pid, otherProgram: true, why: `pid ${pid} runs \`${shown(cmd.argv)}\`, which is not a chorus daemon for this folder` };
  }
  // A lock without a start time and a command line that is not the daemon's: another program. (With
  // a start time recorded but unreadable now, the daemon may run inside another program, a test's
  // or an editor's: that cannot be told.)
  if (cmd && rec.procStart === undefined) {
    return { state: 'stale', pid, why: `pid ${pid} is not a chorus daemon for this folder (it runs \`${shown(cmd.argv)}\`)` };
  }
  return { state: 'unconfirmed', pid, why: `cannot tell whether process ${pid} is a chorus daemon on this system` };
}

/** Who holds the lock at `lockPath` for the project at `root` (its real path). */
export function inspectLock(lockPath: string, root: string): LockHolder {
  let text: string;
  try {
    text = fs.readFileSync(lockPath, 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return { state: 'free' };
    return { state: 'stale', pid: undefined, why: `the lock file cannot be read` };
  }
  return judge(text, root, lockPath);
}

/** The pid of the confirmed daemon of the project at `root`, or undefined. */
export function lockOwner(lockPath: string, root: string): number | undefined {
  const h = inspectLock(lockPath, root);
  return h.state === 'held' ? h.pid : undefined;
}

/**
 * Create `file` holding `content`, only if it does not exist. Written aside and hard-linked into
 * place, so a reader never sees it empty or half written (and takes it for a damaged, stale lock).
 */
function tryCreate(file: string, content: string): boolean {
  const tmp = `${file}.${process.pid}-${randomBytes(4).toString('hex')}.tmp`;
  fs.writeFileSync(tmp, content, { mode: 0o600 });
  try {
    fs.linkSync(tmp, file);
    return true;
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'EEXIST') return false;
    if (code !== 'EPERM' && code !== 'ENOTSUP' && code !== 'EOPNOTSUPP' && code !== 'ENOSYS') throw e;
    // A file system without hard links: an exclusive create, with its short empty moment.
    try {
      fs.writeFileSync(file, content, { flag: 'wx', mode: 0o600 });
      return true;
    } catch (e2) {
      if ((e2 as NodeJS.ErrnoException).code === 'EEXIST') return false;
      throw e2;
    }
  } finally {
    fs.rmSync(tmp, { force: true });
  }
}

/**
 * Write `file` as a lock names a process: `pid`, the project folder `root` and the process's start
 * time, so inspectLock judges it as it judges the lock (confirmed only for a live daemon of
 * `root`). Written aside and renamed into place: a reader never sees it half written. Best
 * effort: false when it could not be written.
 */
export function recordProcess(file: string, pid: number, root: string): boolean {
  const tmp = `${file}.${process.pid}-${randomBytes(4).toString('hex')}.tmp`;
  try {
    fs.writeFileSync(tmp, JSON.stringify({ pid, started: new Date().toISOString(), root, procStart: processStart(pid) } satisfies LockRecord), { mode: 0o600 });
    fs.renameSync(tmp, file);
    return true;
  } catch {
    fs.rmSync(tmp, { force: true });
    return false;
  }
}

function readOrUndefined(file: string): string | undefined {
  try {
    return fs.readFileSync(file, 'utf8');
  } catch {
    return undefined;
  }
}

export interface AcquireOptions {
  /** Does a daemon answer on the project's socket? Asked only of a live process that cannot be identified. */
  serving: () => Promise<boolean>;
  /** Where taking over a stale lock is said (the daemon's log). */
  log: (msg: string) => void;
}

/**
 * Take the lock for the project at `root`, or return the pid of its daemon that holds it. A stale
 * lock is taken over (and the log says why it was stale).
 */
export async function acquireLock(lockPath: string, root: string, opts: AcquireOptions): Promise<{ ok: true } | { ok: false; pid: number }> {
  const content = JSON.stringify({ pid: process.pid, started: new Date().toISOString(), root, procStart: processStart(process.pid) } satisfies LockRecord);
  for (let attempt = 0; attempt < 40; attempt++) {
    if (tryCreate(lockPath, content)) {
      heldHere.add(lockPath);
      return { ok: true };
    }
    const seen = readOrUndefined(lockPath);
    if (seen === undefined) continue; // removed meanwhile: try again
    const holder = judge(seen, root, lockPath);
    if (holder.state === 'held') return { ok: false, pid: holder.pid };
    if (holder.state === 'unconfirmed' && (await opts.serving())) return { ok: false, pid: holder.pid };
    const steal = `${lockPath}.steal`;
    if (tryCreate(steal, String(process.pid))) {
      try {
        // Only the lock that was judged: one another daemon wrote since is its, and held.
        if (readOrUndefined(lockPath) === seen) {
          fs.rmSync(lockPath, { force: true });
          opts.log(`took over the stale lock ${lockPath}: ${holder.why}${holder.state === 'unconfirmed' ? ', and no daemon answers on its socket' : ''}`);
        }
      } finally {
        fs.rmSync(steal, { force: true });
      }
    } else {
      // Someone else is taking it over; a steal lock left by a dead process expires.
      try {
        if (Date.now() - fs.statSync(steal).mtimeMs > 5000) fs.rmSync(steal, { force: true });
      } catch {
        // gone already
      }
      await new Promise((r) => setTimeout(r, 25));
    }
  }
  const holder = inspectLock(lockPath, root);
  if (holder.state === 'held' || holder.state === 'unconfirmed') return { ok: false, pid: holder.pid };
  throw new Error(`could not take ${lockPath}; remove it if no chorus daemon is running for ${root}`);
}

/** Remove the lock if this process holds it for the project at `root`. */
export function releaseLock(lockPath: string, root: string): void {
  const rec = parseLock(readOrUndefined(lockPath) ?? '');
  if (rec?.pid === process.pid && (rec.root === undefined || rec.root === root)) {
    fs.rmSync(lockPath, { force: true });
    heldHere.delete(lockPath);
  }
}
