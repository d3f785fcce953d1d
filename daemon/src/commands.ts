/**
 * What each CLI command does. Exit codes (the README's table, declared in protocol/'s ExitCodes):
 * 0 done, 1 failed (the message says why), 3 a daemon already runs for that folder, 4 no daemon
 * runs for it, 5 (`connect`) its daemon was stopped with `chorus stop`. A command that fails
 * puts back what it set up: the daemon it started, the `.chorus/` and folders it created.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type * as Schemas from '@chorus/protocol';
// The protocol's handles and constants without its schemas: `chorus status`, `stop` and `connect`
// load neither zod nor the join code's cryptography, which only `share` and `join` use, loaded
// there (joinCodes below; decision 203).
import * as P from '@chorus/protocol/handles';
import { escapeControls, logLine, shown } from './log-line.js';
import { tooBroad, type Project } from './project.js';
import { CliError, describeError } from './lifecycle/human-error.js';
import { CLI_CLIENT, cliConnection, editorConnection } from './lifecycle/rpc-client.js';
import { connectSocket, daemonStartedHere, ensureDaemon, findProject, lockHolder, projectAbove, recordStartingHere, runningPid, startingDaemon, STOP_WAIT_MS, stopDaemon, type DaemonProcess } from './lifecycle/daemon-process.js';
import { isWriteTemp } from './disk/files.js';
import { tidyKeptCopies } from './lifecycle/kept-copies.js';
import { untagged } from './net/host-addrs.js';
import { editorsLeftOffline, markStopped, stoppedByCommand, stoppedMessage } from './lifecycle/stop-mark.js';
import { processStart, type LockHolder } from './lifecycle/lock.js';
import { testTimings } from './session/test-timings.js';
import { nameProblem } from './presence/person-name.js';

/**
 * The join code's module, and its link for a browser, for `share` and `join` only. A join code
 * is checked here before any daemon runs (its writer key derived): with node:crypto's Ed25519
 * rather than @noble/curves' first-use table, ~0.2 s of CPU per `chorus join` (decision 166).
 */
async function joinCodes() {
  const [codes, links, platform] = await Promise.all([import('./net/join-code.js'), import('./net/page-link.js'), import('./node-platform.js')]);
  platform.useNodeSignatures();
  return { ...codes, pageLink: links.pageLink };
}

export const EXIT_FAILED = P.ExitCodes.Failed;
export const EXIT_ALREADY_RUNNING = P.ExitCodes.AlreadyRunning;
export const EXIT_NOT_RUNNING = P.ExitCodes.NotRunning;

/**
 * Said after a `share` or `join` that started a daemon stopped with `chorus stop`: the editors
 * attached then do not come back on their own (decision 174), and the command's own output said
 * nothing of them (a trial's Neovim stayed offline after a join, the person unaware).
 */
const STILL_OFFLINE = 'Editors that were attached when this daemon was stopped with `chorus stop` are still offline: reconnect each one (Neovim :ChorusReconnect, Emacs M-x chorus-reconnect, VS Code "Chorus: Reconnect", an LSP editor the command chorus.reconnect, or restart its language server) to share its buffers again.\n';

function fail(message: string, code: number = EXIT_FAILED): never {
  throw new CliError(message, code);
}

/**
 * The `--name` of `chorus daemon`, `share` and `join`, checked by the one rule for names
 * (person-name.ts) before anything starts or changes; undefined when none was given. Fails (exit
 * code 1) saying what is wrong with it. The daemon keeps it for the project (decision 178).
 */
function checkedName(name: string | undefined): string | undefined {
  if (name === undefined) return undefined;
  const problem = nameProblem(name);
  const quoted = JSON.stringify(name.length > 60 ? `${name.slice(0, 60)}…` : name);
  if (problem !== undefined) fail(`--name ${quoted}: ${problem}; nothing was started or changed`);
  return name;
}

/** What was there before a command set things up, so a failure can leave the folder as it was. */
interface Footprint {
  project: Project;
  daemonWasRunning: boolean;
  dotDirExisted: boolean;
  /** Folders this command created, deepest first. */
  createdDirs: string[];
  /** A join's: the files the folder had before (project-relative), to tell which the join wrote. */
  filesBefore?: Set<string>;
  /**
   * A join's, a writer's into a folder on disk: how far it got. `syncing` once a peer answered;
   * `settling` once the session's files are written, when the join settles where the folder's own
   * meet them and then sends those to the session (decision 228): before that, nothing of the
   * folder's own has left it.
   */
  merging?: 'syncing' | 'settling';
}

/** Files under `root` (project-relative, `.chorus/` left out), up to `limit` of them. */
function filesUnder(root: string, limit = 200_000): Set<string> {
  const out = new Set<string>();
  const walk = (dir: string, rel: string) => {
    let entries: fs.Dirent[];
    try {
      entries = fs.readdirSync(dir, { withFileTypes: true });
    } catch {
      return;
    }
    for (const e of entries) {
      if (out.size >= limit) return;
      const r = rel ? `${rel}/${e.name}` : e.name;
      if (!rel && e.name === '.chorus') continue;
      if (e.isDirectory()) walk(path.join(dir, e.name), r);
      else out.add(r);
    }
  };
  walk(root, '');
  return out;
}

function footprint(project: Project, createdDirs: string[] = []): Footprint {
  // A live process the lock names but that cannot be identified counts as running: what a failure
  // puts back must never include a daemon (or a .chorus/) that was there before.
  const holder = lockHolder(project).state;
  return { project, daemonWasRunning: holder === 'held' || holder === 'unconfirmed', dotDirExisted: fs.existsSync(project.dotDir), createdDirs };
}

/** The daemon a command talked to went away before answering (killed or crashed). */
class DaemonGone extends CliError {}

/**
 * How long an interrupted command gives the daemon it started to stop before it is killed. Only
 * a daemon whose `.chorus/` is removed after (it holds nothing worth keeping) is cut short: mid-join
 * it went on writing the session's files for up to 10 s after Ctrl-C (a user trial).
 */
const INTERRUPTED_STOP_MS = 1500;

/**
 * Undo what a failed command set up; returns what was done, for the message. `interrupted`: the
 * person pressed Ctrl-C (or the command got SIGTERM) and is waiting; be quick.
 */
async function putBack(fp: Footprint, opts: { keepLog?: boolean; interrupted?: boolean } = {}): Promise<string[]> {
  const done: string[] = [];
  if (!fp.daemonWasRunning) {
    // One still starting holds no lock yet: the one this command started is stopped all the same.
    const pid = runningPid(fp.project) ?? daemonStartedHere(fp.project)?.pid;
    if (pid !== undefined) {
      const dropsState = !fp.dotDirExisted;
      const stopped = await stopDaemon(fp.project, { pid, procStart: processStart(pid) }, opts.interrupted && dropsState ? INTERRUPTED_STOP_MS : undefined).catch(() => true);
      // Killed mid-write: a temporary file of a write it had begun may be left (the file itself is whole).
      if (!stopped) removeWriteTemps(fp.project.root);
      done.push(`stopped the daemon it started (pid ${pid})`);
    }
    if (!fp.dotDirExisted && fs.existsSync(fp.project.dotDir)) {
      // The daemon's log says why a command failed: keep it where the message can point to.
      let log: string | undefined;
      try {
        if (!opts.keepLog) throw new Error('not asked for');
        log = path.join(os.tmpdir(), `chorus-${path.basename(fp.project.root)}-${Date.now()}.log`);
        fs.copyFileSync(fp.project.logPath, log);
      } catch {
        log = undefined;
      }
      fs.rmSync(fp.project.dotDir, { recursive: true, force: true });
      done.push(`removed ${fp.project.dotDir}${log ? ` (its daemon log is kept as ${log})` : ''}`);
    }
  } else if (opts.interrupted) {
    done.push(`left the daemon for ${fp.project.root} running, as it was before (\`chorus status ${fp.project.root}\` shows what it is doing; \`chorus stop ${fp.project.root}\` stops it)`);
  }
  const removed: string[] = [];
  let left: string[] = [];
  for (const [i, dir] of fp.createdDirs.entries()) {
    try {
      fs.rmdirSync(dir); // only if still empty: never remove anything someone put there since
      removed.push(dir);
    } catch {
      left = fp.createdDirs.slice(i);
      break;
    }
  }
  if (removed.length) done.push(`removed the folder${removed.length > 1 ? 's' : ''} it created (${removed.join(', ')})`);
  const added = fp.filesBefore ? [...filesUnder(fp.project.root)].filter((f) => !fp.filesBefore!.has(f)) : [];
  // A file the folder had that met the session's version: the join moved the folder's aside as a
  // conflict copy (decision 228), which stays when the join stops; not "a file of the session".
  const aside = added.flatMap((f) => {
    const m = / \(conflict [0-9a-f]{6}\)((?:\.[^./]*)?)$/.exec(f);
    const base = m ? f.slice(0, m.index) + m[1]! : undefined;
    return base !== undefined && fp.filesBefore!.has(base) ? [{ base, copy: f }] : [];
  });
  const written = added.length - aside.length;
  const files = `${written} file${written === 1 ? '' : 's'} of the session`;
  if (left[0] !== undefined) {
    // A folder the command made, not empty now: left, and said, so nobody takes it for theirs.
    const around = left.length > 1 ? ` (as are the folders around it that it created: ${left.slice(1).join(', ')})` : '';
    done.push(
      written
        ? `left the folder ${left[0]} it created${around}: it holds ${files}, written before the join stopped; delete the folder if you do not want ${written === 1 ? 'it' : 'them'}, or run the join again into it`
        : `left the folder ${left[0]} it created${around}: it is not empty (${entriesOf(left[0])}, made since the join began); delete it if you do not want it`,
    );
  } else if (written) {
    // The session's files written before the join stopped are left: removing them risks a file
    // the person made or changed meanwhile (decision 147). Said, so nobody takes them for theirs.
    done.push(`${files} ${written === 1 ? 'was' : 'were'} written to ${fp.project.root} before it stopped; ${written === 1 ? 'it is' : 'they are'} left there (delete ${written === 1 ? 'it' : 'them'} if you do not want ${written === 1 ? 'it' : 'them'}, or run the join again)`);
  }
  for (const { base, copy } of aside.slice(0, 5)) {
    done.push(
      fs.existsSync(path.join(fp.project.root, base))
        ? `${base} met the session's version of it: this folder's is kept as ${copy} (compare the two and keep what you want)`
        : `this folder's ${base} is now ${copy}: the join moved it aside for the session's version and stopped before writing that (rename it back if you want it there)`,
    );
  }
  if (aside.length > 5) done.push(`${aside.length - 5} more of this folder's files were kept the same way, as "name (conflict …)"`);
  const n = fp.filesBefore?.size ?? 0;
  if (opts.interrupted && fp.merging === 'settling' && n > 0 && !fp.daemonWasRunning) {
    // Stopping the join does not take back what it sent: said, so nobody thinks the folder's
    // files stayed on this machine (a user trial: a person who picked the wrong folder).
    done.push(
      `this folder's own ${n} file${n === 1 ? ' was' : 's were'} being merged into the session when the join stopped: its members may have ${n === 1 ? 'it' : 'some of them'} already (where the session had another version, as a conflict copy), all but those the folder's ignore rules keep here; stopping does not take them back, so ask whoever shared the session to delete what should not be there`,
    );
  } else if (opts.interrupted && fp.merging === 'syncing' && n > 0 && !fp.daemonWasRunning) {
    // The person may fear the opposite (a trial's person who picked the wrong folder): said too.
    done.push(`none of this folder's own ${n} file${n === 1 ? '' : 's'} reached the session: a join sends them only once the session's files are in`);
  } else if (opts.interrupted && fp.merging && n > 0) {
    // The daemon was running before and goes on with the join (only this command stopped).
    done.push(`that daemon goes on with the join, and sends this folder's own ${n} file${n === 1 ? '' : 's'} to the session once the session's files are in (stop it now to keep ${n === 1 ? 'it' : 'them'} here)`);
  }
  return done;
}

/** A few of the names in `dir`, for a message: "a/, b.txt and 3 more". */
function entriesOf(dir: string): string {
  let names: string[];
  try {
    names = fs.readdirSync(dir, { withFileTypes: true }).map((e) => `${e.name}${e.isDirectory() ? '/' : ''}`).sort();
  } catch {
    return 'it could not be read';
  }
  return names.length > 3 ? `${names.slice(0, 3).join(', ')} and ${names.length - 3} more` : names.join(', ');
}

/** Remove the temporary files of writes a killed daemon had begun under `root` (`.chorus/` left out). */
function removeWriteTemps(root: string): void {
  for (const rel of filesUnder(root)) {
    if (isWriteTemp(path.posix.basename(rel))) fs.rmSync(path.join(root, rel), { force: true });
  }
}

/** Run `body`; if it fails (or is interrupted), put back what it set up and say so. */
async function undoneOnFailure<T>(what: string, fp: Footprint, body: () => Promise<T>): Promise<T> {
  let interrupting = false;
  const interrupted = (signal: NodeJS.Signals) => {
    interrupting = true;
    void putBack(fp, { interrupted: true }).then((done) => {
      process.stderr.write(shown`chorus: ${what} interrupted${done.length ? `; ${done.join(', ')}` : '; nothing was changed'}\n`);
      process.exit(128 + (signal === 'SIGINT' ? 2 : 15));
    });
  };
  process.once('SIGINT', interrupted);
  process.once('SIGTERM', interrupted);
  try {
    return await body();
  } catch (e) {
    // Interrupted: stopping the daemon ends the body too (its socket closes); the signal's handler
    // puts things back, says so and exits, not this.
    if (interrupting) await new Promise<never>(() => undefined);
    const done = await putBack(fp, { keepLog: e instanceof DaemonGone });
    const after = done.length ? `\nchorus: the ${what} left things as they were: ${done.join(', ')}` : '';
    throw new CliError(`${describeError(e)}${after}`, e instanceof CliError ? e.exitCode : EXIT_FAILED);
  } finally {
    process.off('SIGINT', interrupted);
    process.off('SIGTERM', interrupted);
  }
}

/** How long a daemon signalled while starting waits for its start to end before it stops at once (half of `chorus stop`'s wait). */
const START_STOP_GRACE_MS = STOP_WAIT_MS / 2;

/** Exit codes of a process ended by a signal, as a shell reports them. */
const SIGNAL_EXIT: Record<string, number> = { SIGHUP: 129, SIGINT: 130, SIGTERM: 143 };

export async function daemon(dir: string | undefined, opts: { name?: string; view?: boolean }): Promise<void> {
  const name = checkedName(opts.name);
  const project = findProject(dir);
  // First, before the daemon's code loads: until it holds the lock only this record says a
  // daemon is starting here, and `chorus stop` looks for it (decision 195).
  const started = recordStartingHere(project);
  const { AlreadyRunning, Daemon } = await import('./daemon.js');
  // The signals are handled from before the daemon starts. It serves editors, and acknowledges
  // their edits, while it still takes the folder in; with the handlers installed only once that
  // was done, a SIGTERM (`chorus stop`) or Ctrl-C in that time ended the process on the spot, as a
  // crash: no files written, no state compacted (the crash test's SIGTERM case sometimes tested a
  // crash). A signal during the start now stops the daemon as soon as it has started; a second one
  // ends the process at once, as before, for a person who will not wait.
  let d: import('./daemon.js').Daemon | undefined;
  let signalled: string | undefined;
  const stopAtOnce = (why: string, sig: string) => {
    process.stderr.write(logLine(`${why}: stopping at once; the folder is brought up to date at the next start`));
    process.exit(SIGNAL_EXIT[sig] ?? EXIT_FAILED);
  };
  const stop = (sig: string) => {
    if (signalled !== undefined) {
      if (d === undefined) stopAtOnce(`received ${sig} again while starting`, sig);
      return;
    }
    signalled = sig;
    if (d === undefined) {
      process.stderr.write(logLine(`received ${sig} while starting: stopping as soon as the daemon has started (send it again to stop at once)`));
      // A start that does not end (decision 162) must not outlast `chorus stop`'s wait, which
      // then kills the daemon: stopped at once within half of that wait.
      setTimeout(() => {
        if (d === undefined) stopAtOnce(`still starting ${START_STOP_GRACE_MS / 1000} s after ${sig}`, sig);
      }, START_STOP_GRACE_MS).unref();
      return;
    }
    d.log(`received ${sig}`);
    void d.stop().then(() => process.exit(0));
  };
  for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) process.on(sig, () => stop(sig));
  const delay = testTimings().startDelayMs;
  if (delay !== undefined) {
    process.stderr.write(logLine(`test-only: waiting ${delay} ms before taking the lock (CHORUS_TEST_START_DELAY_MS)`));
    await new Promise((r) => setTimeout(r, delay));
  }
  try {
    d = await Daemon.start({ dir: project.root, ...(name !== undefined ? { name } : {}), ...(opts.view ? { view: true } : {}) });
  } catch (e) {
    if (e instanceof AlreadyRunning) fail(`${e.message}; stop it with \`chorus stop ${project.root}\``, EXIT_ALREADY_RUNNING);
    throw e;
  } finally {
    // It holds the lock now (or will not run): the lock says the rest.
    started();
  }
  const running = d;
  watchDotDir(project, () => void running.stopAsDotDirGone().finally(() => process.exit(0)));
  if (signalled !== undefined) {
    running.log(`stopping: ${signalled} arrived while it started`);
    void running.stop().then(() => process.exit(0));
    return;
  }
  // Once it holds the lock (no other daemon tidies at the same time), and after this start's own
  // recoveries have kept their copies aside.
  tidyKeptCopies(project, (m) => running.log(m));
}

/** How often a running daemon looks whether its project's `.chorus/` is still the one it started with (ms). */
const DOT_DIR_LOOK_MS = 2000;

/**
 * Call `gone` once when the project's `.chorus/` folder is no longer the one there now: deleted
 * (`git clean -x`), or deleted and made again by something else (its inode differs).
 */
function watchDotDir(project: Project, gone: () => void): void {
  const inode = (): number | undefined => {
    try {
      return fs.statSync(project.dotDir).ino;
    } catch {
      return undefined;
    }
  };
  const first = inode();
  if (first === undefined) return;
  const timer = setInterval(() => {
    if (inode() === first) return;
    clearInterval(timer);
    gone();
  }, DOT_DIR_LOOK_MS);
  timer.unref();
}

export interface ShareFlags {
  json?: boolean;
  host?: string;
  port?: number;
  relay?: string;
  readOnly?: boolean;
  webrtc: boolean;
  /** The person's name for others (`--name`); kept for the project. */
  name?: string;
}

export async function share(dir: string | undefined, flags: ShareFlags): Promise<void> {
  const name = checkedName(flags.name);
  if (flags.relay !== undefined) {
    const { RelayUrl } = await import('@chorus/protocol');
    const relay = RelayUrl.safeParse(flags.relay);
    // Before anything starts: a session saved with an address no relay answers at stays broken.
    if (!relay.success) fail(`--relay ${JSON.stringify(flags.relay).slice(0, 200)}: ${relay.error.issues[0]?.message ?? 'not a relay address'}; nothing was shared`);
  }
  const project = findProject(dir);
  const broad = tooBroad(project.root);
  if (broad) fail(`${broad}: sharing it would offer everything under it; share a project folder inside it instead (\`chorus share <folder>\`); nothing was shared`);
  const params: Schemas.ParamsOf<typeof Schemas.SessionShare> = {};
  if (flags.host !== undefined) params.host = flags.host;
  if (flags.port !== undefined) params.port = flags.port;
  if (flags.relay !== undefined) params.relay = flags.relay;
  if (flags.readOnly) params.readOnly = true;
  if (!flags.webrtc) params.webrtc = false;
  if (name !== undefined) params.name = name;
  const editorsOffline = editorsLeftOffline(project);
  // A folder inside a project becomes a project of its own: the one around it stops sharing it
  // (README, "What is not shared"). Said here, where the person looks (a trial: a `chorus share
  // src` in a shared project, meant to give its code, silently took src/ out of the session).
  const around = fs.existsSync(project.dotDir) ? undefined : projectAbove(path.dirname(project.root));
  const { code, readOnly, ignored, notices } = await undoneOnFailure('share', footprint(project), async () => {
    const socket = await ensureDaemon(project);
    const said = sayIfStopped(project, 'share');
    try {
      const conn = await cliConnection(socket);
      try {
        return await conn.sendRequest(P.SessionShare.type, params);
      } finally {
        conn.dispose();
      }
    } finally {
      clearTimeout(said);
      socket.destroy();
    }
  });
  // The same daemon serves the browser page on its peer port: the link opens the session in a tab.
  const { pageLink } = await joinCodes();
  const url = pageLink(code);
  // The link others open is a LAN address; on this machine a loopback one makes the page a secure
  // context (one offline copy for all its tabs) and quiets Chrome's warning about its headers (a trial).
  const here = pageLink(code, 'here');
  if (ignored?.length) {
    const flag = { host: '--host', port: '--port', relay: '--relay', webrtc: '--no-webrtc' };
    process.stderr.write(shown`${project.root} is already shared: ${ignored.map((k) => flag[k]).join(', ')} ${ignored.length === 1 ? 'applies' : 'apply'} only when sharing starts, so the session keeps the settings it started with (chorus status shows them).\n`);
  }
  for (const n of notices ?? []) process.stderr.write(shown`Note: ${n}\n`);
  if (around) process.stderr.write(nestedNote(project, around, 'share'));
  if (editorsOffline) process.stderr.write(STILL_OFFLINE);
  if (flags.json) process.stdout.write(JSON.stringify({ code, url, root: project.root, readOnly: readOnly === true }) + '\n');
  else {
    const who = readOnly ? 'Guests with this code can read but not write' + (flags.readOnly ? '' : ' (this folder holds a read-only code, so it can give no other)') : 'Guests with this code can edit';
    process.stdout.write(shown`Sharing ${project.root}. ${who}.\nOthers join with:\n\n  chorus join ${code} <folder>\n\nor in a browser:\n\n  ${url}\n\n`);
    if (here !== url) process.stdout.write(shown`In a browser on this machine, open this one instead (a secure context, so its tabs share one offline copy):\n\n  ${here}\n\n`);
  }
}

export interface JoinFlags {
  json?: boolean;
  disk: boolean;
  host?: string;
  port?: number;
  webrtc: boolean;
  /** The person's name for others (`--name`); kept for the project. */
  name?: string;
}

/** Make `target` a folder; returns the folders created, deepest first. */
function makeFolder(target: string): string[] {
  if (fs.existsSync(target)) {
    if (!fs.statSync(target).isDirectory()) fail(`${target} is a file, not a folder; give \`chorus join\` a folder to join into (it is created if missing)`);
    return [];
  }
  let first: string | undefined;
  try {
    first = fs.mkdirSync(target, { recursive: true });
  } catch (e) {
    fail(`cannot create the folder ${target}: ${describeError(e)}`);
  }
  const created: string[] = [];
  for (let d = target; first !== undefined; d = path.dirname(d)) {
    created.push(d);
    if (d === first || d === path.dirname(d)) break;
  }
  return created;
}

/** A join code is a few hundred characters: more than this on standard input is not one. */
const MAX_STDIN_CODE = 16 * 1024;

/**
 * The join code given on standard input (`chorus join - <dir>`): its first line, trimmed. The code
 * holds the session's secret, and a command line is readable by every local user (`ps`) for as long
 * as the join runs; standard input is not. Empty when standard input ends before any text.
 */
export async function readCodeFromStdin(input: NodeJS.ReadStream = process.stdin): Promise<string> {
  const { pastedCodeLength } = await joinCodes();
  return new Promise((resolve, reject) => {
    if (input.isTTY) process.stderr.write('paste the join code, then press Enter: ');
    let text = '';
    const finish = () => {
      input.off('data', onData);
      input.off('end', finish);
      input.off('error', onError);
      // Read no further: an open pipe or terminal would otherwise keep this process alive after the join.
      input.pause();
      input.destroy();
      resolve(text.slice(0, pastedCodeLength(text) ?? text.length).trim());
    };
    const onData = (chunk: string) => {
      text += chunk;
      if (pastedCodeLength(text) !== undefined || text.length > MAX_STDIN_CODE) finish();
    };
    const onError = (e: unknown) => reject(e instanceof Error ? e : new Error(String(e)));
    input.setEncoding('utf8');
    input.on('data', onData);
    input.once('end', finish);
    input.once('error', onError);
  });
}

/**
 * The note a `share` or `join` prints when it made `project`, a folder inside the project
 * `around`, a project of its own (README, "What is not shared"): what `around` no longer does
 * with it (its session no longer shares it; or, not shared, its daemon no longer takes it in),
 * where the folder's files went, and how to undo it. A trial read "…'s session no longer shares"
 * of a project that had no session.
 */
function nestedNote(project: Project, around: Project, command: 'share' | 'join'): string {
  const rel = path.relative(around.root, project.root);
  // The file, not its parsed form: the CLI does not load the session module for a note.
  const shared = fs.existsSync(around.sessionPath);
  const here = command === 'share' ? 'this new session' : 'the session just joined';
  const what = shared
    ? `${around.root}'s session no longer shares ${rel}/ (its members keep the files they have, but changes made here reach only ${here})`
    : `${around.root}'s daemon no longer takes ${rel}/ in (that project is not shared; if it is shared later, ${rel}/ stays out of it)`;
  const files = command === 'join' ? `, and the files ${rel}/ had are in ${here}` : '';
  const instead = command === 'share' && shared ? ` To give the code of ${around.root}'s session instead, run \`chorus share ${around.root}\`;` : '';
  const keep = command === 'join' ? `; the members of ${here} keep the files they got` : '';
  return shown`Note: ${project.root} is inside the project ${around.root}, and is a project of its own now: ${what}${files}.${instead} To undo this, \`chorus stop ${project.root}\` and delete ${path.join(project.root, '.chorus')}${keep}.\n`;
}

/**
 * `chorus join <code> [dir]`: join a shared session into a folder. `code` is the join code, or `-`
 * to read it from standard input (so that it never appears on a command line).
 */
export async function join(codeArg: string, dir: string | undefined, flags: JoinFlags): Promise<void> {
  const name = checkedName(flags.name);
  const code = codeArg === '-' ? await readCodeFromStdin() : codeArg;
  if (codeArg === '-' && code === '') {
    fail('no join code on standard input (`chorus join -` reads the code from there, as one line); nothing was changed');
  }
  // The code is checked before anything starts or any folder is made.
  const { decodeJoinCode, isReadOnly, JoinCodeError } = await joinCodes();
  let readOnly: boolean;
  try {
    readOnly = isReadOnly(decodeJoinCode(code));
  } catch (e) {
    if (e instanceof JoinCodeError) fail(`${e.message}; nothing was changed`);
    throw e;
  }
  const target = path.resolve(dir ?? process.cwd());
  const broad = tooBroad(target);
  if (broad) fail(`${broad}: join into a folder of its own instead (\`chorus join <code> <folder>\`, the folder is made if need be); nothing was changed`);
  const createdDirs = makeFolder(target);
  const project = findProject(target);
  const params: Schemas.ParamsOf<typeof Schemas.SessionJoin> = { code, disk: flags.disk };
  if (!flags.webrtc) params.webrtc = false;
  if (flags.host !== undefined) params.host = flags.host;
  if (flags.port !== undefined) params.port = flags.port;
  if (name !== undefined) params.name = name;
  const started = Date.now();
  const fp = { ...footprint(project, createdDirs), filesBefore: filesUnder(project.root) };
  const editorsOffline = editorsLeftOffline(project);
  // A folder with files inside a project becomes a project of its own, as with `share`: said
  // where the person looks (a trial: `chorus join` into a shared project's src/ copied its files
  // into the other session and took src/ out of the project's, with a word in the log only).
  const around = fs.existsSync(project.dotDir) || fp.filesBefore.size === 0 || !flags.disk ? undefined : projectAbove(path.dirname(project.root));
  const r = await undoneOnFailure('join', fp, async () => {
    // View mode: the daemon it starts must not read the folder at start-up, as it otherwise does
    // (its files would be taken in and shared with every peer once the join starts).
    const socket = await ensureDaemon(project, flags.disk ? [] : ['--view']);
    const conn = await cliConnection(socket);
    let last = 0;
    let connecting = true;
    conn.onNotification(P.SessionProgress.type, (p) => {
      connecting = p.phase === 'connecting';
      // Read-only and view-mode joins share nothing of the folder.
      if (!connecting && flags.disk && !readOnly) fp.merging = p.phase === 'done' ? 'settling' : 'syncing';
      // At most four lines a second, but always the last: a join's progress ended at "writing:
      // 1/304 files" when its "done" came within 250 ms of that (trial s54a).
      if (flags.json || (p.phase !== 'done' && Date.now() - last < 250)) return;
      last = Date.now();
      process.stderr.write(`${P.progressWords(p)}\n`);
    });
    // A peer that stays silent is waited for (up to a minute of silence); say so as time passes.
    const waiting = setInterval(() => {
      if (connecting && !flags.json) process.stderr.write(`still waiting for a peer of the session to answer (${Math.round((Date.now() - started) / 1000)} s)…\n`);
    }, 10_000);
    // The daemon may die mid-join (killed, out of memory): its socket closes and no answer will
    // ever come, so stop waiting at once and say what happened (the join was left waiting for ever).
    let daemonGone: () => void = () => undefined;
    const gone = new Promise<never>((_, reject) => {
      daemonGone = () =>
        reject(
          new DaemonGone(
            `the chorus daemon for ${project.root} stopped during the join (it was killed or crashed), so the join did not finish; ` +
              `its log says why; run the join again`,
          ),
        );
    });
    gone.catch(() => undefined);
    socket.once('close', daemonGone);
    try {
      return await Promise.race([conn.sendRequest(P.SessionJoin.type, params), gone]);
    } finally {
      socket.off('close', daemonGone);
      clearInterval(waiting);
      conn.dispose();
      socket.destroy();
    }
  });
  const secs = ((Date.now() - started) / 1000).toFixed(1);
  if (flags.json) process.stdout.write(JSON.stringify({ ...r, readOnly, root: project.root, seconds: Number(secs) }) + '\n');
  else {
    process.stdout.write(shown`Joined${readOnly ? ' read-only' : ''}: ${r.files} file${r.files === 1 ? '' : 's'}, ${(r.bytes / 1e6).toFixed(1)} MB in ${project.root}${flags.disk ? '' : ' (view mode: nothing written to disk)'} after ${secs} s.\n`);
    if (readOnly) process.stdout.write(`${P.SessionWords.readOnly[0]!.toUpperCase()}${P.SessionWords.readOnly.slice(1)}.\n`);
    for (const n of r.notices ?? []) process.stdout.write(shown`  ${n}\n`);
    if (r.waiting) {
      process.stdout.write(shown`${r.waiting} of them ${r.waiting === 1 ? 'is' : 'are'} not written yet: no connected peer has ${r.waiting === 1 ? 'its' : 'their'} content. Each appears when a peer that has it connects or the file changes (names in ${path.join(project.root, '.chorus', 'daemon.log')}).\n`);
    }
  }
  if (around) process.stderr.write(nestedNote(project, around, 'join'));
  if (editorsOffline) process.stderr.write(STILL_OFFLINE);
}

export async function relay(opts: { host: string; port: number }): Promise<void> {
  const { startRelay } = await import('./net/relay-server.js');
  const handle = await startRelay({ host: opts.host, port: opts.port, log: (m) => process.stderr.write(logLine(m)) });
  process.stderr.write(`chorus relay listening on ${handle.url}; share with --relay ${handle.url}\n`);
  const stop = () => void handle.close().then(() => process.exit(0));
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
}

/**
 * `chorus connect [dir]`: bridge stdio to the daemon of the project at `dir`, starting it if
 * needed; a folder that is no project yet becomes one (the editor protocol's way in for a script
 * or a new plugin: ../shared/checks drive it so). A folder inside a project is refused, naming
 * the project, and makes nothing (it would nest a second project in the first), unless `create`
 * says to make it one anyway: the editors' Share in a folder that is not a project yet.
 * `reconnect` (an editor's automatic retry) does not start a daemon stopped with `chorus stop`:
 * exits with ExitCodes.StoppedByCommand instead, as it does when the daemon it bridges to is
 * stopped that way (decision 174).
 */
export async function connect(dir: string | undefined, opts: { create?: boolean; reconnect?: boolean } = {}): Promise<void> {
  const project = findProject(dir);
  if (!fs.existsSync(project.dotDir)) {
    // An editor reconnecting on its own to a folder whose `.chorus/` went (`git clean -x`): making
    // it a new project would leave the person in a session of their own without a word (a trial).
    if (opts.reconnect) fail(`${project.root} is not a Chorus project any more (its .chorus/ folder is gone: \`git clean -x\` deletes it, or it was removed by hand), so it is no longer in its session; an editor's reconnect does not make it a new project. To get back in, ask a member for a join code and run \`chorus join <code> ${project.root}\`; to share it as a new session, \`chorus share ${project.root}\``);
    // Never made a project (an editor's Share in its working folder, which may be the home folder:
    // a trial's Neovim shared ~/.aws/credentials so). One made before this check stays reachable.
    const broad = tooBroad(project.root);
    if (broad) fail(`${broad}, which cannot be a project (sharing it would offer everything under it); open a file of a project folder inside it, or give one (\`chorus connect <folder>\`); nothing was started or created`);
  }
  const inside = opts.create ? undefined : insideAProject(project, 'connect');
  if (inside) fail(`${inside}; nothing was started or created`);
  const socket = await ensureDaemon(project, [], undefined, { unlessStopped: opts.reconnect === true });
  process.stdin.pipe(socket);
  socket.pipe(process.stdout);
  process.stdin.on('end', () => socket.end());
  // `chorus stop` marks the project before it signals the daemon: the editor hears why it went.
  const wentAway = (what: string) => {
    if (stoppedByCommand(project)) {
      process.stderr.write(shown`chorus: ${stoppedMessage(project)}\n`);
      process.exit(P.ExitCodes.StoppedByCommand);
    }
    process.stderr.write(`chorus: ${what}\n`);
    process.exit(EXIT_FAILED);
  };
  socket.on('close', () => {
    if (process.stdin.readableEnded) process.exit(0);
    wentAway(shown`the daemon for ${project.root} went away`);
  });
  // An event handler: print and exit here (a throw would not reach the CLI's handler).
  socket.on('error', (e) => wentAway(shown`lost the daemon for ${project.root}: ${describeError(e)}`));
}

/**
 * Why a folder `status`, `start`, `stop` or `connect` was given is no project, with where to go instead; undefined
 * when it is one. Telling it to start a daemon there would make any folder (even /tmp) a project.
 */
function notAProject(project: Project, command: 'status' | 'stop' | 'start'): string | undefined {
  if (fs.existsSync(project.dotDir)) return undefined;
  const inside = insideAProject(project, command);
  if (inside) return inside;
  const what = `${project.root} is not a Chorus project (it has no .chorus/ folder)`;
  // The root or the home folder is never one: no advice to share it (see tooBroad).
  if (tooBroad(project.root)) return `${what}; give the folder of a project (\`chorus ${command} <folder>\`)`;
  return `${what}; to make it one, share it with \`chorus share ${project.root}\` or join a session into it with \`chorus join <code> ${project.root}\``;
}

/** When `project` is no project itself but a folder inside one: what to say, naming that one. */
function insideAProject(project: Project, command: 'status' | 'stop' | 'start' | 'connect'): string | undefined {
  if (fs.existsSync(project.dotDir)) return undefined;
  const above = projectAbove(path.dirname(project.root));
  return above && `${project.root} is not a Chorus project itself but a folder inside the project ${above.root}; try \`chorus ${command} ${above.root}\``;
}

async function connectExisting(dir: string | undefined) {
  const project = findProject(dir);
  try {
    return { project, socket: await connectSocket(project.socketPath) };
  } catch {
    // nothing answers: say why below
  }
  const elsewhere = notAProject(project, 'status');
  if (elsewhere) fail(elsewhere, EXIT_NOT_RUNNING);
  const holder = lockHolder(project);
  // `chorus daemon` would refuse to start (a daemon holds the lock): say that, not "start one".
  if (holder.state === 'held') {
    fail(`the daemon for ${project.root} (pid ${holder.pid}) is running but does not answer on ${project.socketPath}; it may still be starting: try again in a moment, or stop it with \`chorus stop ${project.root}\``);
  }
  // `chorus daemon` runs in the foreground, so it is not what to offer (a trial took "start one
  // with `chorus daemon`" as the way back, and then had no terminal): `chorus start` starts it in
  // the background, as an editor does.
  const how = `start it with \`chorus start ${project.root}\` (or open the project in an editor with Chorus)`;
  if (stoppedByCommand(project)) {
    const editors = editorsLeftOffline(project) ? ', and editors attached to it stay offline until you reconnect one' : '';
    fail(`no daemon running for ${project.root}: it was stopped with \`chorus stop\`${editors}; ${how}`, EXIT_NOT_RUNNING);
  }
  fail(`no daemon running for ${project.root}; ${how}`, EXIT_NOT_RUNNING);
}

/**
 * `chorus start [dir]`: start the project's daemon in the background, as an editor opening the
 * project does; it serves editors and, if the project is in a session, rejoins it. A daemon
 * already running is left as it is (exit 0). A folder that is no project is refused: `share` or
 * `join` makes one.
 */
export async function start(dir: string | undefined): Promise<void> {
  const project = findProject(dir);
  const elsewhere = notAProject(project, 'start');
  if (elsewhere) fail(`nothing was started: ${elsewhere}`);
  let silent = false;
  const running = await askDaemon(project, () => (silent = true));
  if (running) {
    process.stderr.write(shown`chorus: the daemon for ${project.root} is already running (pid ${running.pid}); \`chorus status ${project.root}\` shows what it is doing\n`);
    return;
  }
  // A daemon that holds the lock and does not answer runs already, stopped or busy: its socket
  // still accepts, so starting one would start nothing, and "started" was said over it. Said at
  // once when it took the connection (as `status` says it, within its 5 s); else after a daemon
  // still starting has had its time.
  const stuck = () => lockHolder(project).state === 'held' && fail(`nothing was started: ${notAnswering(project, ASK_WAIT_MS / 1000)}`);
  if (silent) stuck();
  const editorsOffline = editorsLeftOffline(project);
  (await ensureDaemon(project)).destroy();
  const started = await askDaemon(project);
  if (!started) stuck();
  const pid = started ? ` (pid ${started.pid})` : '';
  process.stderr.write(shown`chorus: started the daemon for ${project.root}${pid} in the background; it rejoins the project's session, if it has one (\`chorus status ${project.root}\` shows it), and \`chorus stop ${project.root}\` stops it\n`);
  for (const m of started?.problems ?? []) process.stderr.write(shown`chorus: ${m}\n`);
  if (editorsOffline) process.stderr.write(STILL_OFFLINE);
}

/** How long `askDaemon` waits for an answer on a connection the daemon took (ms). */
const ASK_WAIT_MS = 5000;

/**
 * The pid, root and start problems a daemon answering on the project's socket gives, within
 * ASK_WAIT_MS; undefined if none answers. `silent` is called when the socket took the connection
 * and nothing answered in that time (a daemon stopped with `kill -STOP`, or stuck).
 */
async function askDaemon(project: Project, silent?: () => void): Promise<{ pid: number; root: string; problems?: string[] } | undefined> {
  let socket: import('node:net').Socket;
  try {
    socket = await connectSocket(project.socketPath);
  } catch {
    return undefined;
  }
  let timer: NodeJS.Timeout | undefined;
  try {
    const asked = (async () => {
      const { conn } = await editorConnection(socket, CLI_CLIENT);
      try {
        return await conn.sendRequest(P.SessionStatus.type, undefined);
      } finally {
        conn.dispose();
      }
    })();
    const waited = new Promise<undefined>((r) => (timer = setTimeout(() => r(undefined), ASK_WAIT_MS)));
    const st = await Promise.race([asked, waited]);
    if (!st) silent?.();
    return st ? { pid: st.pid, root: st.root, ...(st.problems ? { problems: st.problems } : {}) } : undefined;
  } catch {
    return undefined; // it went away while asked
  } finally {
    clearTimeout(timer);
    socket.destroy();
  }
}

/**
 * The project's daemon process, confirmed: by its lock (the process it names is this project's
 * daemon, see lock.ts), or else by the daemon answering on the project's socket with its pid.
 * Otherwise what the lock says, for the message; nothing unconfirmed is ever signalled.
 */
async function confirmedDaemon(project: Project): Promise<(DaemonProcess & { starting?: true }) | Exclude<LockHolder, { state: 'held' }>> {
  const holder = lockHolder(project);
  if (holder.state === 'held') return { pid: holder.pid, procStart: holder.procStart };
  const answer = await askDaemon(project);
  if (answer && answer.root === project.root) return { pid: answer.pid, procStart: processStart(answer.pid) };
  // No lock held, or a dead daemon's: one started a moment ago (an editor restarting a killed
  // daemon) may not have taken it over yet (decision 183).
  if (holder.state === 'free' || holder.state === 'stale') {
    const starting = startingDaemon(project);
    if (starting) return { ...starting, starting: true };
  }
  return holder;
}

/**
 * How long `chorus status` waits for the daemon's answer before saying it is still waiting, and
 * before it gives up (ms). A daemon catching up a tree-wide rewrite answers within seconds; one
 * stopped (`kill -STOP`, a suspended terminal) or wedged never does, and `status` hung silent for
 * as long as anyone waited (trial s55a F1), where `chorus stop` says what it did within 10 s.
 */
const STATUS_SLOW_MS = 5_000;
const STATUS_GIVE_UP_MS = 60_000;

/** Whether process `pid` is stopped (Linux: state T in /proc; false where that cannot be read). */
function isStopped(pid: number): boolean {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    // `pid (comm) state …`: the name may hold spaces and parentheses, the state follows the last ')'.
    const state = stat.charAt(stat.lastIndexOf(')') + 2);
    return state === 'T' || state === 't';
  } catch {
    return false;
  }
}

/**
 * For a command waiting on the daemon's answer that may rightly take long (`share` of a large
 * folder): after STATUS_SLOW_MS, if the daemon process is stopped (`kill -STOP`, a suspended
 * terminal), say so once on stderr, with how to resume it; a busy daemon is left to finish.
 * The command goes on waiting (Ctrl-C stops it). Returns the timer, to clear once answered.
 */
function sayIfStopped(project: Project, command: string): NodeJS.Timeout {
  return setTimeout(() => {
    const pid = runningPid(project);
    if (pid === undefined || !isStopped(pid)) return;
    process.stderr.write(shown`chorus: ${command}: ${notAnswering(project, STATUS_SLOW_MS / 1000)}; still waiting (Ctrl-C stops waiting)\n`);
  }, STATUS_SLOW_MS);
}

/** What to tell a person whose daemon has not answered for `seconds`. */
function notAnswering(project: Project, seconds: number): string {
  const pid = runningPid(project);
  const who = pid === undefined ? `the daemon for ${project.root}` : `the daemon for ${project.root} (pid ${pid})`;
  if (pid !== undefined && isStopped(pid)) {
    return `${who} has not answered for ${seconds} s: it is stopped (suspended: a \`kill -STOP\`, or Ctrl-Z in the terminal it runs in); \`kill -CONT ${pid}\` resumes it, with everything it holds, or \`chorus stop ${project.root}\` ends it (no acknowledged edit is lost)`;
  }
  return `${who} has not answered for ${seconds} s: it is very busy (catching up a large change) or stuck; wait, or end it with \`chorus stop ${project.root}\` (no acknowledged edit is lost) and start it again with \`chorus start ${project.root}\``;
}

export async function status(dir: string | undefined, opts: { json?: boolean }): Promise<void> {
  const { project, socket } = await connectExisting(dir);
  const asked = (async () => {
    const { conn, init } = await editorConnection(socket, CLI_CLIENT);
    const answer = await conn.sendRequest(P.SessionStatus.type, undefined);
    conn.dispose();
    return { answer, init };
  })();
  let timer: NodeJS.Timeout | undefined;
  const waited = new Promise<undefined>((resolve) => {
    timer = setTimeout(() => {
      process.stderr.write(shown`chorus: ${notAnswering(project, STATUS_SLOW_MS / 1000)}; still waiting, for up to ${STATUS_GIVE_UP_MS / 1000} s in all (Ctrl-C stops waiting)\n`);
      timer = setTimeout(() => resolve(undefined), STATUS_GIVE_UP_MS - STATUS_SLOW_MS);
    }, STATUS_SLOW_MS);
  });
  const got = await Promise.race([asked, waited]);
  clearTimeout(timer);
  socket.destroy();
  if (got === undefined) fail(`no answer: ${notAnswering(project, STATUS_GIVE_UP_MS / 1000)}`);
  const { answer, init } = got;
  // The connection asking is this command, not an editor the person has open.
  const st = { ...answer, editors: answer.editors.filter((e) => e.id !== init.editorId) };
  if (opts.json) {
    process.stdout.write(JSON.stringify(st) + '\n');
    return;
  }
  process.stdout.write(statusText(st));
}

/** `chorus status`'s text for the daemon's answer (editors: the person's own, this command left out). */
export function statusText(st: Schemas.ResultOf<typeof Schemas.SessionStatus>): string {
  // The most files syncing with one peer: each file is level with every peer in the end, and
  // the same file syncing with two peers is one file to wait for.
  const syncing = Math.max(0, ...st.peers.map((p) => p.syncing ?? 0));
  const lines = [
    `project   ${st.root}`,
    `daemon    chorus ${st.version}, pid ${st.pid}, protocol ${st.protocolVersion}`,
    `you       ${st.peer.name} (${st.peer.color})`,
    `session   ${st.session ? sessionLine(st.session) : 'not shared (chorus share to invite others)'}`,
    ...(st.problems ?? []).map((m) => `problem   ${m}`),
    // Only while there are any: a join, or a peer's change of many files, is still filling the folder.
    ...(st.writing > 0 ? [`writing   ${count(st.writing, 'file')} to disk (the folder is not complete until they are written)`] : []),
    ...(st.waitingForContent > 0 ? [`waiting   for the content of ${count(st.waitingForContent, 'file')} from peers (each is written to disk when it arrives)`] : []),
    // A link up after time apart (a member started again, a network back) exchanges what each
    // side changed meanwhile: until that ends, the folder lacks some of the others' changes.
    ...(syncing > 0 ? [`syncing   ${count(syncing, 'file')} with peers (changes made while apart; each file here is up to date once it is level)`] : []),
    `editors   ${st.editors.length ? st.editors.map((e) => `${e.name} [${e.positionEncoding}]`).join(', ') : 'none'}`,
    `buffers   ${st.buffers.length ? st.buffers.map((b) => `${b.path} (${b.editors} editor${b.editors === 1 ? '' : 's'})`).join(', ') : 'none'}`,
    `peers     ${st.peers.length ? String(st.peers.length) : 'none'}`,
    ...st.peers.map(
      (p) =>
        `  ${[
          p.name,
          p.id.slice(0, 8),
          p.path && `via ${p.path}`,
          // Refused for good: the state's "unreachable for now" would send the person looking at the network.
          p.refused !== undefined ? `not linked: ${p.refused}` : (PEER_STATES[p.state ?? ''] ?? p.state),
          p.syncing && `(syncing ${count(p.syncing, 'file')})`,
          // Measured by pings, which wait while either daemon is busy taking changes in.
          p.rttMs !== undefined && `rtt ${p.rttMs.toFixed(1)} ms`,
        ]
          .filter((w) => typeof w === 'string' && w !== '')
          .join(' ')}`,
    ),
  ];
  // Every line whole through escapeControls: a name (this person's own too, from --name or the
  // config), a path or an editor's name with control characters prints them as escapes.
  return lines.map(escapeControls).join('\n') + '\n';
}

/** `n` things, in words: "1 file", "1,234 files". */
function count(n: number, thing: string): string {
  return `${n.toLocaleString('en-US')} ${thing}${n === 1 ? '' : 's'}`;
}

/** `chorus status`'s session line: role, what limits the person (read-only, view mode), and the settings sharing started with. */
function sessionLine(s: NonNullable<Schemas.ResultOf<typeof Schemas.SessionStatus>['session']>): string {
  const parts = P.sessionClauses(s);
  // Without the host ids peers use to pick addresses (`?host=…`): the person reads addresses.
  if (s.listening?.length) parts.push(`listening on ${s.listening.map(untagged).join(', ')}`);
  if (s.relay) {
    const state = s.relayState;
    const how = state === undefined ? '' : state.connected ? ' (connected)' : ` (not reached: ${state.problem ?? 'connecting'}; retrying; peers who can only meet through it cannot join meanwhile)`;
    parts.push(`relay ${s.relay}${how}`);
  }
  if (s.webrtc === false) parts.push('no WebRTC');
  return parts.join('; ');
}

/** How `chorus status` words a peer's state (Overlay's PeerInfo.state); others are shown as they are. */
const PEER_STATES: Record<string, string> = {
  reconnecting: 'reconnecting (unreachable for now)',
  relayed: 'connected through other peers',
  left: 'left (stopped its daemon or left the session; reconnects when it is back)',
};

export async function stop(dir: string | undefined): Promise<void> {
  const project = findProject(dir);
  const elsewhere = notAProject(project, 'stop');
  // No `.chorus/` yet, and yet a daemon may be starting there (`chorus daemon .` a moment ago,
  // still loading): it is stopped, not called "not a Chorus project" (decision 195).
  const starting = elsewhere ? startingDaemon(project) : undefined;
  if (elsewhere && !starting) fail(`no daemon running for ${project.root}; nothing to stop: ${elsewhere}`, EXIT_NOT_RUNNING);
  const found = starting ? { ...starting, starting: true as const } : await confirmedDaemon(project);
  if (!('state' in found)) {
    // Before the signal: the editors attached see the mark when their connection drops, and do
    // not start the daemon again (decision 174).
    markStopped(project, found.pid);
    if (!(await stopDaemon(project, found))) {
      // Said in full: "killed" alone left the person wondering whether their work went with it.
      fail(
        `the daemon for ${project.root} (pid ${found.pid}) did not finish stopping within ${STOP_WAIT_MS / 1000} s, so it was ended at once. ` +
          `No acknowledged edit is lost: each was saved in ${path.join(project.root, '.chorus')} when it was made. ` +
          `Files it had not yet written to the folder are written, and the folder brought up to date, when the daemon next starts (open the project or reconnect an editor). ` +
          `Why it was slow may be in ${path.join(project.root, '.chorus', 'daemon.log')}`,
      );
    }
    // One signalled while starting stops as soon as it has started, or at once before it handles
    // signals (it has taken nothing over then); stopDaemon waits for it to be gone either way.
    const which = found.starting ? `pid ${found.pid}, which was starting` : `pid ${found.pid}`;
    process.stderr.write(shown`chorus: stopped the daemon for ${project.root} (${which}); editors that were connected to it stay offline until you reconnect one or open the project again, which starts it (\`chorus start ${project.root}\` starts it too)\n`);
    return;
  }
  if (found.state === 'free') fail(`no daemon running for ${project.root}; nothing to stop`, EXIT_NOT_RUNNING);
  // A program that is no daemon (its command line says so) and no daemon answering: stale too.
  if (found.state === 'stale' || (found.state === 'unconfirmed' && found.otherProgram)) {
    fail(`no daemon running for ${project.root}; nothing to stop (its lock ${project.lockPath} is stale: ${found.why}; it was left alone, and the next daemon for the folder takes it over)`, EXIT_NOT_RUNNING);
  }
  // Alive, unidentified, and nothing answers on the socket: signalling it could hit any program.
  fail(`${project.lockPath} names process ${found.pid}, but it could not be confirmed to be the chorus daemon for ${project.root} (${found.why}; nothing answers on its socket), so it was not signalled. If no chorus daemon runs for this folder, remove ${project.lockPath}; if one does, stop it yourself`);
}
