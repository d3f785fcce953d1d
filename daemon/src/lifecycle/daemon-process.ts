/**
 * Finding and starting a project's daemon from the CLI: connect to its socket, or start one in
 * the background (output to `.chorus/daemon.log`) and wait until it serves.
 */
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Project } from '../project.js';
import { CliError } from './human-error.js';
import { stoppedByCommand, stoppedMessage } from './stop-mark.js';
import { ExitCodes } from '@chorus/protocol/handles';
import { daemonProcessesOf, inspectLock, lockOwner, processAlive, processStart, recordProcess, type LockHolder } from './lock.js';
import { testTimings } from '../session/test-timings.js';

/** The project folder for `dir`, or, when none is given, the nearest folder up with a `.chorus/`. */
export function findProject(dir: string | undefined): Project {
  if (dir !== undefined) {
    if (!fs.existsSync(dir)) throw new CliError(`${dir} does not exist; give a folder that does`);
    if (!fs.statSync(dir).isDirectory()) throw new CliError(`${dir} is a file, not a folder; give the project's folder`);
    const project = new Project(dir);
    // The kernel's own file systems are not folders of files anyone edits, and walking /proc
    // never ends (a trial's `chorus share /proc/self` spun for ten minutes).
    if (/^\/(proc|sys|dev)(\/|$)/.test(project.root)) throw new CliError(`${project.root} is part of the system's own file systems (/proc, /sys, /dev), not a folder of files to share; give a project folder`);
    return dotDirUsable(project);
  }
  return dotDirUsable(projectAbove(process.cwd()) ?? new Project(process.cwd()));
}

/**
 * `project`, unless its `.chorus` is something other than a folder (a file of the person's, a
 * link): Chorus keeps its state in a folder of that name, so it can neither start nor find a
 * daemon there. Said in words, with what to do (a trial got "no daemon running" from `status`,
 * and "already exists and is in the way" from `share`).
 */
function dotDirUsable(project: Project): Project {
  let st: fs.Stats | undefined;
  try {
    st = fs.lstatSync(project.dotDir);
  } catch {
    return project; // none yet
  }
  if (!st.isDirectory()) {
    throw new CliError(`${project.dotDir} is ${st.isSymbolicLink() ? 'a link' : 'a file'}, not the folder Chorus keeps its state in, so Chorus cannot work in ${project.root}; it is not Chorus's: rename or move it, then run the command again`);
  }
  return project;
}

/** The nearest folder at or above `dir` that holds a `.chorus/` folder (not a file of that name), as a Project; undefined when there is none. */
export function projectAbove(dir: string): Project | undefined {
  let cur = path.resolve(dir);
  for (;;) {
    // A file of that name is someone's file, not a project (a `.chorus` link is one: dotDirUsable says so).
    if (fs.statSync(path.join(cur, '.chorus'), { throwIfNoEntry: false })?.isDirectory()) return new Project(cur);
    const up = path.dirname(cur);
    if (up === cur) return undefined;
    cur = up;
  }
}

export function connectSocket(socketPath: string): Promise<net.Socket> {
  return new Promise((resolve, reject) => {
    const s = net.connect(socketPath);
    s.once('connect', () => {
      s.off('error', reject);
      resolve(s);
    });
    s.once('error', reject);
  });
}

/** Who holds the project's lock, as far as can be told (see lock.ts). */
export function lockHolder(project: Project): LockHolder {
  return inspectLock(project.lockPath, project.root);
}

/** The pid of the project's daemon, when its lock confirms it; undefined otherwise. */
export function runningPid(project: Project): number | undefined {
  return lockOwner(project.lockPath, project.root);
}

/** Does something accept connections on `socketPath` (a daemon serving, not a left-over file)? */
export async function socketAnswers(socketPath: string): Promise<boolean> {
  try {
    (await connectSocket(socketPath)).destroy();
    return true;
  } catch {
    return false;
  }
}

/** A daemon process, confirmed to be a project's: its pid and start time (see processStart). */
export interface DaemonProcess {
  pid: number;
  /** Undefined where the system does not tell; then the pid alone identifies it. */
  procStart: string | undefined;
}

/** Is `p` still that very process (not gone, not a zombie, its pid not taken by another)? */
function stillRunning(p: DaemonProcess): boolean {
  return processAlive(p.pid) && (p.procStart === undefined || processStart(p.pid) === p.procStart);
}

/** How long `stopDaemon` waits for a daemon to stop before it kills it. */
export const STOP_WAIT_MS = 10_000;

/**
 * Stop the daemon `target` of `project` (SIGTERM: it writes its files first) and wait until it is
 * gone; after STOP_WAIT_MS it is killed, if it is still that same process. Resolves false when it had to
 * be killed. The caller must have confirmed `target` to be the project's daemon.
 */
export async function stopDaemon(project: Project, target: DaemonProcess, timeoutMs = STOP_WAIT_MS): Promise<boolean> {
  try {
    process.kill(target.pid, 'SIGTERM');
  } catch {
    return true; // gone already
  }
  const deadline = Date.now() + timeoutMs;
  // Until the process is gone, not only its lock: it releases the lock a moment before it exits,
  // and a caller that stops a daemon and then removes its folder must not race its last writes.
  while (runningPid(project) === target.pid || stillRunning(target)) {
    if (Date.now() > deadline) {
      if (stillRunning(target)) process.kill(target.pid, 'SIGKILL');
      return false;
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  return true;
}

const CLI = path.join(path.dirname(fileURLToPath(import.meta.url)), '..', 'cli.js');

/**
 * Node options of a daemon process (issue 13, memory):
 * - V8's young generation grows to 3 × 16 MiB by default and a daemon that took in a folder or a
 *   join keeps it; semi-spaces of 4 MiB cap it at 12 MiB, about 30 MB less resident memory for
 *   the benchmark's project at the cost of more (cheap) scavenges (decision 070). V8 reads this
 *   only at start: `v8.setFlagsFromString` cannot do it.
 * - The old generation may grow to 1.5 × what the last full collection kept before the next one
 *   (V8 picks up to 4× on a machine with memory to spare): a scan or a join leaves ~20–25 MB live
 *   and otherwise ended with 50–80 MB of garbage committed until some later collection (decision 100).
 * - `gc` for one full collection when a scan or a join is over (settle-memory.ts, decision 100).
 */
export const DAEMON_NODE_OPTIONS: readonly string[] = ['--max-semi-space-size=4', '--heap-growing-percent=50', '--expose-gc'];

/**
 * glibc malloc settings for a daemon process, as environment variables (mallopt(3) reads them at
 * start; other C libraries ignore them). Decision 100:
 * - MALLOC_MMAP_THRESHOLD_: a buffer of 8 KiB or more (a file's bytes, a blob, a frame) is its
 *   own mapping, returned to the system when freed. Otherwise the thousands of such buffers of a
 *   scan or a join are carved from the heap between long-lived small allocations, and the heap
 *   keeps their 30–45 MB resident after they are freed (glibc returns only its top). Fixing the
 *   threshold also turns off glibc's raising of it, which is what let them in there.
 * - MALLOC_ARENA_MAX: two arenas instead of one per thread (V8's and libuv's helper threads each
 *   kept an arena of a few MB resident, ~10 MB in all, with well under 1 MB in use).
 */
export const DAEMON_MALLOC_ENV: Readonly<Record<string, string>> = { MALLOC_MMAP_THRESHOLD_: '8192', MALLOC_ARENA_MAX: '2' };

/** The environment a daemon process starts with: `env` plus DAEMON_MALLOC_ENV where `env` sets none itself. */
export function daemonEnv(env: NodeJS.ProcessEnv = process.env): NodeJS.ProcessEnv {
  return { ...DAEMON_MALLOC_ENV, ...env };
}

/**
 * The daemon processes this process started (ensureDaemon), by project root, while they may be
 * starting: one that does not hold its project's lock yet is known to be the project's only here,
 * and a command interrupted that early must stop it too (else it would run on, unseen).
 */
const started = new Map<string, DaemonProcess>();

/** The daemon this process started for `project`, if it is still that running process. */
export function daemonStartedHere(project: Project): DaemonProcess | undefined {
  const p = started.get(project.root);
  return p && stillRunning(p) ? p : undefined;
}

/**
 * A daemon process of `project` that may not hold the lock yet, confirmed as a lock's holder is
 * (a live `chorus daemon` of this folder): the one `.chorus/daemon.starting` names (written by
 * ensureDaemon for a daemon it spawns, and by `chorus daemon` itself before it takes the lock:
 * recordStartingHere), or else, where the system lists processes with their folders (Linux), one
 * whose command line says so, which it does from the moment it is exec'd, before it has written
 * anything (even `.chorus/`). An editor that restarts a killed daemon leaves the dead one's lock
 * in place until the new one, a moment later, takes it over, and `chorus daemon .` run by hand
 * has no lock for a moment: `chorus stop` then found no daemon and said "nothing to stop" while
 * one was starting (decisions 183, 195). Undefined otherwise.
 */
export function startingDaemon(project: Project): DaemonProcess | undefined {
  const h = inspectLock(project.startingPath, project.root);
  if (h.state === 'held') return { pid: h.pid, procStart: h.procStart };
  return daemonProcessesOf(project.root)[0];
}

/**
 * This process is `chorus daemon` for `project` and is about to take its lock: record it in
 * `.chorus/daemon.starting` (creating `.chorus/`, which the daemon's start does a moment later
 * anyway), as ensureDaemon records a daemon it spawns, so that `chorus stop` sees a daemon
 * started by hand too (decision 195). Best effort: a folder that cannot be written fails the
 * start itself a moment later, with the start's own message. Returns the function that removes
 * the record once the start is over (the lock taken, or the start failed); it is removed at exit
 * too.
 */
export function recordStartingHere(project: Project): () => void {
  try {
    project.ensureDotDir();
  } catch {
    return () => undefined;
  }
  recordProcess(project.startingPath, process.pid, project.root);
  const forget = (): void => forgetStarting(project, process.pid);
  process.once('exit', forget);
  return () => {
    process.off('exit', forget);
    forget();
  };
}

/** Remove `.chorus/daemon.starting` if it still names `pid` (its start is over, one way or the other). */
function forgetStarting(project: Project, pid: number): void {
  try {
    if ((JSON.parse(fs.readFileSync(project.startingPath, 'utf8')) as { pid?: unknown }).pid === pid) fs.rmSync(project.startingPath, { force: true });
  } catch {
    // gone already, or another command's: left to it
  }
}

/** ensureDaemon found no daemon and did not start one: it was stopped with `chorus stop` (decision 174). */
export class StoppedByCommand extends CliError {
  constructor(project: Project) {
    super(stoppedMessage(project), ExitCodes.StoppedByCommand);
  }
}

/**
 * A socket to the project's daemon, starting the daemon in the background if none runs. With
 * `unlessStopped` (an editor's automatic reconnect), a daemon stopped with `chorus stop` is not
 * started again: throws StoppedByCommand.
 */
export async function ensureDaemon(project: Project, extraArgs: string[] = [], timeoutMs = 30000, opts: { unlessStopped?: boolean } = {}): Promise<net.Socket> {
  try {
    return await connectSocket(project.socketPath);
  } catch {
    // not running (or a stale socket): start one
  }
  if (opts.unlessStopped && stoppedByCommand(project)) throw new StoppedByCommand(project);
  // A test-only setting the daemon would refuse (it stops at start, decision 151) is named here,
  // before anything starts: a share or join that fails removes the log that would have said so.
  testTimings();
  project.ensureDotDir();
  const out = fs.openSync(project.logPath, 'a', 0o600);
  const child = spawn(process.execPath, [...DAEMON_NODE_OPTIONS, CLI, 'daemon', project.root, ...extraArgs], { detached: true, stdio: ['ignore', out, out], env: daemonEnv() });
  fs.closeSync(out);
  // Its exit code, or the signal that ended it (a `chorus stop` before it handles signals).
  let exited: number | string | null = null;
  child.on('exit', (code, signal) => (exited = code ?? signal));
  const pid = child.pid;
  if (pid !== undefined) {
    started.set(project.root, { pid, procStart: processStart(pid) });
    // Until it holds the lock only this says a daemon is starting: `chorus stop` looks here (decision 183).
    recordProcess(project.startingPath, pid, project.root);
  }
  child.unref();
  const deadline = Date.now() + timeoutMs;
  try {
    for (;;) {
      try {
        return await connectSocket(project.socketPath);
      } catch {
        // Exit code 3 means another daemon won the race to start: keep waiting for its socket.
        if (exited !== null && exited !== 3) {
          // `chorus stop` stopped it while it started: said as for a daemon stopped once it ran.
          if (stoppedByCommand(project)) throw new StoppedByCommand(project);
          throw new Error(`the chorus daemon for ${project.root} ${typeof exited === 'string' ? `was ended by ${exited}` : `exited (code ${exited})`} while starting; see ${project.logPath}`);
        }
        if (Date.now() > deadline) throw new Error(`the chorus daemon for ${project.root} did not start within ${timeoutMs / 1000} s; see ${project.logPath}`);
        await new Promise((r) => setTimeout(r, 50));
      }
    }
  } finally {
    if (pid !== undefined) forgetStarting(project, pid);
  }
}
