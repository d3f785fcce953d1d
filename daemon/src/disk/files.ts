/** Reading and writing project files: text detection, and atomic writes that keep the mode. */
import fs from 'node:fs';
import path from 'node:path';
import { randomBytes } from 'node:crypto';

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

/** The temporary file `writeAtomic` writes `file` to before renaming it into place. */
function tempFor(file: string): string {
  return path.join(path.dirname(file), `.${path.basename(file)}.chorus-${randomBytes(4).toString('hex')}`);
}

/**
 * Is this file name one of `writeAtomic`'s temporary files? (Never shared; the watcher drops
 * them by name, without a system call. `.*.chorus-*` in ignore-rules.ts says the same for scans.)
 */
export function isWriteTemp(name: string): boolean {
  return /^\..+\.chorus-[0-9a-f]{8}$/.test(name);
}

/** Is a file with this mode executable (the owner's execute bit, as git decides)? */
export function isExecutable(mode: number): boolean {
  return (mode & 0o100) !== 0;
}

/** `mode` with execute bits wherever it has read bits (`exec`), or with none. */
export function withExec(mode: number, exec: boolean): number {
  return exec ? mode | ((mode & 0o444) >> 2) : mode & ~0o111;
}

/**
 * Write via a temporary file and a rename, so readers never see half a file; keeps the mode, with
 * the execute bits set or cleared when `exec` says. `create`: the file must not exist; if another
 * tool created it meanwhile, nothing is written and the error has code EEXIST (a hard link, not a
 * rename, puts the file in place: it never replaces one). Returns the file's identity as written
 * (taken from the temporary file before it moved: a rename keeps inode and times), so a tool's
 * write right after ours is never mistaken for ours.
 */
export async function writeAtomic(file: string, data: string | Uint8Array, exec?: boolean, create = false): Promise<fs.Stats> {
  await fs.promises.mkdir(path.dirname(file), { recursive: true });
  let mode = 0o644;
  try {
    mode = (await fs.promises.stat(file)).mode & 0o7777;
  } catch {
    // new file
  }
  if (exec !== undefined) mode = withExec(mode, exec);
  const tmp = tempFor(file);
  try {
    await fs.promises.writeFile(tmp, data, { mode });
    await fs.promises.chmod(tmp, mode);
    const written = await fs.promises.lstat(tmp);
    let linked = false;
    if (create) {
      linked = await fs.promises.link(tmp, file).then(
        () => true,
        (e: NodeJS.ErrnoException) => {
          if (e.code === 'EEXIST') throw e;
          return false; // a file system without hard links: a plain rename
        },
      );
    }
    if (linked) await fs.promises.rm(tmp, { force: true });
    else await fs.promises.rename(tmp, file);
    return written;
  } catch (e) {
    await fs.promises.rm(tmp, { force: true });
    throw e;
  }
}
