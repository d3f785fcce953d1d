/** Where a project's things live, and how an outside path becomes a project path (or is refused). */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { MAX_NAME_BYTES, MAX_PATH_BYTES, tooLongForSystem } from './disk/long-paths.js';
import { CHORUS_DIR, pathProblem, reservedIn } from './workspace/path-rules.js';

export class PathError extends Error {}


/**
 * Does `rel`, a result of `path.relative(folder, p)`, lead out of the folder (`..`, `../x`, or
 * another drive)? A name that only starts with two dots (`..notes.txt`) stays inside.
 */
export function leavesFolder(rel: string): boolean {
  return rel === '..' || rel.startsWith(`..${path.sep}`) || path.isAbsolute(rel);
}
/**
 * Make a folder of Chorus's own private to this user (0700), and the files in it 0600: another
 * local user must not read the session secret or the saved state (issue 10, Low).
 */
export function tightenPrivate(dir: string): void {
  const st = fs.lstatSync(dir);
  if (!st.isDirectory()) throw new PathError(`${dir} is not a folder`);
  if ((st.mode & 0o077) !== 0) fs.chmodSync(dir, 0o700);
  if (path.basename(dir) === 'blobs') return; // written 0600 one by one; a large folder to walk
  for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
    const f = path.join(dir, e.name);
    try {
      if (e.isDirectory()) tightenPrivate(f);
      else if (e.isFile() && (fs.lstatSync(f).mode & 0o077) !== 0) fs.chmodSync(f, 0o600);
    } catch (err) {
      // Gone since the listing: another `chorus` command's temporary file renamed into place
      // (editors starting at once each record the daemon they start), or a file a daemon removed.
      // Nothing is left to tighten; failing here ended a `chorus connect` with "… .tmp does not
      // exist" and left its editor waiting for a daemon.
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
    }
  }
}

/**
 * What is at `abs` (not following a link), or undefined when nothing is: also when a file sits
 * where a folder on the way should be (ENOTDIR), e.g. `x/y.txt` while `x` is a file. Nothing is
 * there to follow or escape through then; whoever writes that path is told by its own check.
 */
function lstatOrNone(abs: string): fs.Stats | undefined {
  try {
    return fs.lstatSync(abs, { throwIfNoEntry: false });
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOTDIR') return undefined;
    throw e;
  }
}

/** The name of the session file in a project's `.chorus/`. */
export const SESSION_FILE = 'session.json';

/**
 * Why `dir` is too broad to be a project, or undefined: the file system's root or the home
 * folder itself, also when reached through a symbolic link (`chorus join <code> homelink`, a
 * trial). Sharing one would read (and offer peers) everything under it, and joining into one
 * would mix a project into it; a person who types `chorus share ~` meant a project in it. Asked
 * by the CLI before anything starts, and by the daemon before a share or join (an editor's
 * Share runs `chorus connect --create` in its working folder, which may be the home folder).
 */
export function tooBroad(dir: string): string | undefined {
  const resolved = path.resolve(dir);
  let real = resolved;
  try {
    real = fs.realpathSync(resolved);
  } catch {
    // not there yet (a join's folder is made later): the path as given
  }
  const shown = real === resolved ? resolved : `${resolved} (${real})`;
  if (real === path.parse(real).root) return `${shown} is the root of the file system`;
  let home: string | undefined;
  try {
    home = fs.realpathSync(os.homedir());
  } catch {
    home = undefined; // no home folder: nothing to guard
  }
  if (home !== undefined && (real === home || resolved === os.homedir())) return `${shown} is your home folder`;
  return undefined;
}

export class Project {
  readonly root: string;
  readonly dotDir: string;

  constructor(dir: string) {
    this.root = fs.realpathSync(path.resolve(dir));
    this.dotDir = path.join(this.root, CHORUS_DIR);
  }

  get socketPath(): string {
    return path.join(this.dotDir, 'daemon.sock');
  }
  get lockPath(): string {
    return path.join(this.dotDir, 'daemon.lock');
  }
  /**
   * The daemon process a command started and that may not hold the lock yet (`{pid, root,
   * procStart}`, as the lock), so `chorus stop` sees a daemon that is starting (decision 183).
   */
  get startingPath(): string {
    return path.join(this.dotDir, 'daemon.starting');
  }
  get logPath(): string {
    return path.join(this.dotDir, 'daemon.log');
  }
  /** Left by `chorus stop` until a daemon starts again (lifecycle/stop-mark.ts, decision 174). */
  get stoppedPath(): string {
    return path.join(this.dotDir, 'stopped');
  }
  get blobDir(): string {
    return path.join(this.dotDir, 'blobs');
  }
  /** The session this folder belongs to, if any (session/session-file.ts reads and writes it). */
  get sessionPath(): string {
    return path.join(this.dotDir, SESSION_FILE);
  }
  get stateDir(): string {
    return path.join(this.dotDir, 'state');
  }

  /**
   * Create `.chorus/` private to this user (one left with looser modes is tightened), with a
   * `.gitignore` so git and the tools that read it leave the daemon's own folder alone.
   */
  ensureDotDir(): void {
    fs.mkdirSync(this.dotDir, { recursive: true, mode: 0o700 });
    tightenPrivate(this.dotDir);
    const own = path.join(this.dotDir, '.gitignore');
    if (!fs.existsSync(own)) fs.writeFileSync(own, '# the Chorus daemon\'s state: never commit it\n*\n', { mode: 0o600 });
  }

  /**
   * A path from outside (an editor, a peer) as a project-relative path with `/` separators.
   * Refuses anything that leaves the root or names, at any depth, a reserved folder (see
   * `workspace/path-rules.ts`).
   */
  relative(input: string): string {
    const parts = this.lexicalParts(input);
    // A symlinked folder on the way must not lead outside the root. One lstat per folder on
    // the way (none for a file at the root): only a symbolic link is resolved, and a folder that
    // is not one lies inside the root by construction. (This ran a realpath per parent, itself a
    // walk from the root: O(depth²) system calls on every edit and cursor move.)
    let dir = this.root;
    let linked = false;
    for (const part of parts.slice(0, -1)) {
      dir = path.join(dir, part);
      let st: fs.Stats | undefined;
      try {
        st = fs.lstatSync(dir);
      } catch {
        break; // does not exist yet: nothing to escape through
      }
      if (!st.isSymbolicLink()) continue;
      linked = true;
      let real: string;
      try {
        real = fs.realpathSync(dir);
      } catch {
        break; // a dangling link: nothing there to escape to (yet); writers check again
      }
      if (real !== this.root && !real.startsWith(this.root + path.sep)) {
        throw new PathError(`${input} leads outside the project folder through a symbolic link`);
      }
    }
    // A link on the way, or the file itself a link: the path of the file it names (one file).
    if (!linked) linked = !!lstatOrNone(path.join(this.root, ...parts))?.isSymbolicLink();
    return linked ? this.canonical(parts, input) : parts.join('/');
  }

  /**
   * The checks that depend on the path's spelling alone (inside the root, no reserved folder),
   * remembered for the last inputs: an editor names the same few paths on every edit and cursor
   * move. The folders on the way are looked at on every call (see `relative`).
   */
  private lexical = new Map<string, string[]>();

  private lexicalParts(input: string): string[] {
    const hit = this.lexical.get(input);
    if (hit) return hit;
    if (input.includes('\0')) throw new PathError('path contains a NUL character');
    const abs = path.isAbsolute(input) ? path.normalize(input) : path.resolve(this.root, input);
    const rel = path.relative(this.root, abs);
    if (rel === '') throw new PathError(`${input} is the project folder itself, not a file in it`);
    if (leavesFolder(rel)) {
      throw new PathError(`${input} is outside the project folder ${this.root}; open files inside it`);
    }
    const parts = rel.split(path.sep);
    const reserved = reservedIn(parts.join('/'));
    if (reserved) {
      throw new PathError(`${input} is inside ${reserved}/, which Chorus never reads, shares or edits`);
    }
    const problem = pathProblem(parts.join('/'));
    if (problem) throw new PathError(`${input} cannot be a project path: ${problem}`);
    // File systems count bytes (NAME_MAX, PATH_MAX): a clear error, not ENAMETOOLONG.
    if (parts.some((s) => Buffer.byteLength(s) > MAX_NAME_BYTES) || tooLongForSystem(abs)) {
      throw new PathError(`${input.slice(0, 80)}… is too long for the file system (a name may have at most ${MAX_NAME_BYTES} bytes, a path ${MAX_PATH_BYTES})`);
    }
    if (this.lexical.size >= 256) this.lexical.clear();
    this.lexical.set(input, parts);
    return parts;
  }

  /**
   * The path a file is known by: symbolic links on the way (inside the project) resolved, so
   * `node_modules/ui/x.ts` through `node_modules/ui -> ../packages/ui` is `packages/ui/x.ts`, the
   * one shared file, never a second one. The part that does not exist yet is kept as given.
   */
  private canonical(parts: string[], input: string): string {
    for (let n = parts.length; n > 0; n--) {
      let real: string;
      try {
        real = fs.realpathSync.native(path.join(this.root, ...parts.slice(0, n)));
      } catch {
        continue; // not there (yet): look at the folder above
      }
      if (real !== this.root && !real.startsWith(this.root + path.sep)) {
        throw new PathError(`${input} leads outside the project folder through a symbolic link`);
      }
      const resolved = [...path.relative(this.root, real).split(path.sep).filter(Boolean), ...parts.slice(n)].join('/');
      if (!resolved) throw new PathError(`${input} is the project folder itself, not a file in it`);
      const reserved = reservedIn(resolved);
      if (reserved) throw new PathError(`${input} leads into ${reserved}/ through a symbolic link, which Chorus never reads, shares or edits`);
      return resolved;
    }
    return parts.join('/');
  }

  absolute(rel: string): string {
    return path.join(this.root, ...rel.split('/'));
  }
}
