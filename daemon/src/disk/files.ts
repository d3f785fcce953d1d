/** Reading project files, and what their names and modes mean (FolderWriter writes them). */
import fs from 'node:fs';

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

/** The size in bytes of what is at `file` now (a link's own, not followed), or 0 when nothing is. */
export async function sizeOf(file: string): Promise<number> {
  return (await fs.promises.lstat(file).catch(() => undefined))?.size ?? 0;
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
