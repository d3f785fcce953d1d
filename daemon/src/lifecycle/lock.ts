/**
 * One daemon per project folder: the daemon holds `.chorus/daemon.lock` (created exclusively,
 * holding its pid). A lock whose process is gone is stale; taking it over happens under a second,
 * short-lived lock so two daemons starting at once over a stale lock cannot both win.
 */
import fs from 'node:fs';

/** A killed daemon whose parent never reaps it stays a zombie: it exists but is not running. */
function zombie(pid: number): boolean {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2).startsWith('Z');
  } catch {
    return false; // no /proc (not Linux): trust kill(0)
  }
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'EPERM') return false;
  }
  return !zombie(pid);
}

export function lockOwner(lockPath: string): number | undefined {
  try {
    const pid = Number(JSON.parse(fs.readFileSync(lockPath, 'utf8')).pid);
    return Number.isInteger(pid) && pid > 0 && alive(pid) ? pid : undefined;
  } catch {
    return undefined;
  }
}

function tryCreate(lockPath: string): boolean {
  try {
    fs.writeFileSync(lockPath, JSON.stringify({ pid: process.pid, started: new Date().toISOString() }), { flag: 'wx', mode: 0o600 });
    return true;
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw e;
  }
}

/** Take the lock, or return the pid of the live daemon that holds it. */
export function acquireLock(lockPath: string): { ok: true } | { ok: false; pid: number } {
  for (let attempt = 0; attempt < 20; attempt++) {
    if (tryCreate(lockPath)) return { ok: true };
    const pid = lockOwner(lockPath);
    if (pid !== undefined) return { ok: false, pid };
    const steal = `${lockPath}.steal`;
    if (tryCreate(steal)) {
      try {
        if (lockOwner(lockPath) === undefined) fs.rmSync(lockPath, { force: true });
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
      Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 25);
    }
  }
  const pid = lockOwner(lockPath);
  if (pid !== undefined) return { ok: false, pid };
  throw new Error(`could not take ${lockPath}; remove it if no chorus daemon is running`);
}

export function releaseLock(lockPath: string): void {
  try {
    if (Number(JSON.parse(fs.readFileSync(lockPath, 'utf8')).pid) === process.pid) fs.rmSync(lockPath, { force: true });
  } catch {
    // already gone
  }
}
