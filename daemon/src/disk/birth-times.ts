// Whether this process reads files' real birth times (files.ts fileIdentity). Its own module: it
// writes one probe file, in the system's temporary folder, never in the project.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

let birthTimes: boolean | undefined;

/**
 * Does this process read files' real birth times? Where the system call that gives them (statx)
 * is missing or refused (an older kernel, a container whose seccomp profile blocks it), libuv
 * gives the change time (ctime) as the birth time, and that moves with every write, chmod and
 * rename: an identity made of it would never match again and turn decision 148's "changed in
 * place" off. Probed once: a file's birth time read before and after a chmod.
 */
export function birthTimesRead(): boolean {
  if (birthTimes === undefined) {
    let dir: string | undefined;
    try {
      dir = fs.mkdtempSync(path.join(os.tmpdir(), 'chorus-birth-'));
      const f = path.join(dir, 'probe');
      fs.writeFileSync(f, '');
      const born = fs.statSync(f).birthtimeMs;
      fs.chmodSync(f, 0o600);
      fs.chmodSync(f, 0o644);
      birthTimes = fs.statSync(f).birthtimeMs === born;
    } catch {
      birthTimes = false; // cannot tell: the number alone, as before
    } finally {
      if (dir !== undefined) fs.rmSync(dir, { recursive: true, force: true });
    }
  }
  return birthTimes;
}
