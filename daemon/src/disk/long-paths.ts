/**
 * Paths the operating system cannot take: an absolute path of 4096 bytes or more (Linux PATH_MAX
 * counts the closing NUL) fails every system call with ENAMETOOLONG. A folder can still hold one
 * (made by `cd`-ing down, or by renaming a folder above a deep tree), and a tool that lists such a
 * folder must not stop at it: chokidar's listing (readdirp) ends at the first ENAMETOOLONG, so the
 * watcher never became ready and the daemon's start hung (decision 162). These are never shared.
 */
import fs from 'node:fs';
import path from 'node:path';

/** The longest absolute path, in bytes, that the system takes (Linux PATH_MAX 4096 less the NUL). */
export const MAX_PATH_BYTES = 4095;

/** The longest name of one entry, in bytes, on every common file system (NAME_MAX). */
export const MAX_NAME_BYTES = 255;

/** Is `abs` longer than the system takes? */
export function tooLongForSystem(abs: string): boolean {
  return Buffer.byteLength(abs) > MAX_PATH_BYTES;
}

/**
 * The absolute path of the first entry of folder `dir` that is too long for the system, or
 * undefined. Only a folder near the limit is listed: elsewhere no name can reach it.
 */
export function tooLongEntryIn(dir: string): string | undefined {
  if (Buffer.byteLength(dir) + 1 + MAX_NAME_BYTES <= MAX_PATH_BYTES) return undefined;
  let names: string[];
  try {
    names = fs.readdirSync(dir);
  } catch {
    return undefined; // gone, or unreadable: nothing to list
  }
  for (const name of names) {
    const abs = path.join(dir, name);
    if (tooLongForSystem(abs)) return abs;
  }
  return undefined;
}

/** What a log says about a path the system cannot take (`rel` as the project names it). */
export function tooLongInWords(rel: string, abs: string): string {
  return `not sharing ${rel.length > 120 ? rel.slice(0, 60) + '…' + rel.slice(-40) : rel}: its path is ${Buffer.byteLength(abs)} bytes, longer than this system allows (${MAX_PATH_BYTES}); move it higher up or give its folders shorter names to share it`;
}
