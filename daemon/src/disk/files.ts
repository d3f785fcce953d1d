/** Reading project files, and what their names and modes mean (FolderWriter writes them). */
import fs from 'node:fs';
import { hashBytes } from '../workspace/blob-store.js';
import { birthTimesRead } from './birth-times.js';

/** Files larger than this are not shared at all (a peer message carries at most 64 MiB). */
export const MAX_SHARED_FILE = 48 * 1024 * 1024;

/** The file's bytes, or `undefined` if it does not exist (or is a folder). */
export async function readBytes(file: string): Promise<Uint8Array | undefined> {
  try {
    return new Uint8Array(await fs.promises.readFile(file));
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'EISDIR' || code === 'ENOTDIR') return undefined;
    throw e;
  }
}

/**
 * Up to this size a file is read with a synchronous call where a peer's change touches
 * many files at once (FolderWriter.renameNow says why); larger ones go through libuv's thread
 * pool, so one big file does not hold up the event loop.
 */
export const SMALL_FILE_BYTES = 1024 * 1024;

/**
 * Which file `st` is: its inode number and its birth time. The number alone is not enough: a file
 * system gives a freed inode number to the next file made (ext4 did, within a take-in: a `sed -i`
 * renamed over the daemon's file, and the next one's new file got its number), and that file was
 * taken for the daemon's file changed in place (WriteBack.baseFor). Where the file system keeps no
 * birth time (0), or Node cannot read it (see `birthTimesRead`), the number alone, as before.
 */
export function fileIdentity(st: fs.Stats): string {
  return birthTimesRead() ? `${st.ino}:${st.birthtimeMs}` : `${st.ino}`;
}

/** What is at `file` (a link's own entry, not followed), looked at now; undefined if nothing is. */
export function lstatNow(file: string): fs.Stats | undefined {
  try {
    return fs.lstatSync(file, { throwIfNoEntry: false });
  } catch {
    return undefined; // a file where a folder on the way should be, a name too long: nothing there
  }
}

/** The bytes of the regular file at `file` (a small one read now), or undefined when there is none. */
export async function bytesOfFile(file: string): Promise<Uint8Array | undefined> {
  const st = lstatNow(file);
  if (!st?.isFile()) return undefined;
  try {
    return st.size <= SMALL_FILE_BYTES ? fs.readFileSync(file) : await fs.promises.readFile(file);
  } catch {
    return undefined; // gone meanwhile
  }
}

/** The content hash (hashBytes) of the regular file at `file`, or undefined when there is none. */
export async function hashOfFile(file: string): Promise<string | undefined> {
  const bytes = await bytesOfFile(file);
  return bytes && hashBytes(bytes);
}

/**
 * Is this file name one of FolderWriter's temporary files (folder-writer.ts)? (Never shared; the
 * watcher drops them by name, without a system call, and IgnoreRules asks this too, for scans.)
 * Today's shape is `.chorus-<16 hex>.tmp`, the same length whatever the file's
 * name (a name near the file system's 255-byte limit must still get one); the older
 * `.<name>.chorus-<8 hex>` is still recognised, as a crash of an older version may have left one.
 */
export function isWriteTemp(name: string): boolean {
  return /^\.chorus-[0-9a-f]{16}\.tmp$/.test(name) || /^\..+\.chorus-[0-9a-f]{8}$/.test(name);
}

/** Is a file with this mode executable (the owner's execute bit, as git decides)? */
export function isExecutable(mode: number): boolean {
  return (mode & 0o100) !== 0;
}

/** `mode` with execute bits wherever it has read bits (`exec`), or with none. */
export function withExec(mode: number, exec: boolean): number {
  return exec ? mode | ((mode & 0o444) >> 2) : mode & ~0o111;
}
