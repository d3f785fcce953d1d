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

/** What the mark holds: which daemon was stopped, and when (ms since the epoch). */
interface StopMark {
  pid: number;
  at: number;
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
