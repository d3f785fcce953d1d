/**
 * The mark `chorus stop` leaves in `.chorus/stopped` (decision 174): the person stopped this
 * project's daemon, and editors must not start it again on their own. `chorus stop` writes it
 * before it signals the daemon; an editor's automatic reconnect (`chorus connect --reconnect`, the
 * LSP server's retry) finds it and gives up instead of starting a daemon; the next daemon that
 * starts (because the person asked: `chorus daemon`, `share`, `join`, an editor opened anew, an
 * editor's own reconnect command) removes it. A daemon that crashes or is killed leaves no mark,
 * so editors bring it back as before.
 */
import fs from 'node:fs';
import type { Project } from '../project.js';

/**
 * What the mark holds: which daemon was stopped, and when (ms since the epoch); and, once that
 * daemon has stopped, how many editors were attached to it then (absent from a mark an older
 * version wrote, or when the daemon could not add it: then some may have been).
 */
interface StopMark {
  pid: number;
  at: number;
  editors?: number;
}

/**
 * Mark `project` as stopped with `chorus stop`, naming the daemon `pid` about to be signalled.
 * Best effort: a `.chorus/` that cannot be written only means editors may start it again, as
 * before; returns false then.
 */
export function markStopped(project: Project, pid: number): boolean {
  try {
    fs.writeFileSync(project.stoppedPath, JSON.stringify({ pid, at: Date.now() } satisfies StopMark) + '\n', { mode: 0o600 });
    return true;
  } catch {
    return false;
  }
}

/** Was the project's daemon stopped with `chorus stop`, with no daemon started since? */
export function stoppedByCommand(project: Project): boolean {
  return fs.existsSync(project.stoppedPath);
}

/** The mark as written, or undefined when there is none or it cannot be read. */
function readMark(project: Project): Partial<StopMark> | undefined {
  try {
    return JSON.parse(fs.readFileSync(project.stoppedPath, 'utf8')) as Partial<StopMark>;
  } catch {
    return undefined;
  }
}

/**
 * A daemon stopped with `chorus stop` (this process, named by the mark) notes how many editors
 * were attached to it, so that the command that starts it again tells of offline editors only
 * when there are some (a trial: the warning came after stopping a daemon no editor had used).
 * Best effort: a mark left without the count keeps the warning.
 */
export function noteEditorsAtStop(project: Project, editors: number): void {
  const mark = readMark(project);
  if (mark?.pid !== process.pid || typeof mark.at !== 'number') return;
  try {
    fs.writeFileSync(project.stoppedPath, JSON.stringify({ pid: mark.pid, at: mark.at, editors } satisfies StopMark) + '\n', { mode: 0o600 });
  } catch {
    // the count is only for the warning's sake
  }
}

/**
 * Were editors attached to the daemon when it was stopped with `chorus stop` (none started
 * since)? They stay offline until reconnected (decision 174). True when the mark does not say.
 */
export function editorsLeftOffline(project: Project): boolean {
  if (!stoppedByCommand(project)) return false;
  const editors = readMark(project)?.editors;
  return typeof editors !== 'number' || editors > 0;
}

/**
 * A daemon (this process) that holds the project's lock takes the mark away: the person asked for
 * it. A mark naming this process, written since it started, is kept: `chorus stop` wrote it for
 * this very daemon in the moment after it took the lock, and that stop must still hold (a mark
 * from before, naming a pid this process now has again, is an old one).
 */
export function clearStopMark(project: Project, log: (m: string) => void): void {
  let mark: Partial<StopMark>;
  try {
    mark = JSON.parse(fs.readFileSync(project.stoppedPath, 'utf8')) as Partial<StopMark>;
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return;
    mark = {}; // unreadable or cut short: not this daemon's
  }
  const startedAt = Date.now() - process.uptime() * 1000;
  if (mark.pid === process.pid && typeof mark.at === 'number' && mark.at >= startedAt) return;
  try {
    fs.rmSync(project.stoppedPath, { force: true });
  } catch (e) {
    log(`could not remove ${project.stoppedPath} (${(e as NodeJS.ErrnoException).code ?? String(e)}): editors will not reconnect on their own to this daemon until it is removed`);
  }
}

/**
 * What an editor's connection says when it gives up because of the mark: what happened and what
 * starts the daemon again (the editor adds its own reconnect command).
 */
export function stoppedMessage(project: Project): string {
  return `the daemon for ${project.root} was stopped with \`chorus stop\`; not starting it again on its own. Your buffers stay editable; reconnect from your editor (or open the project anew) to start it and share again`;
}
