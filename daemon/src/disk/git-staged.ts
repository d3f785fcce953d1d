/**
 * Whether a file's new content is the version Git has staged for it: what `git checkout -- f`,
 * `git stash`, `git reset --hard` or `git restore` put back (decision 223). Such a write puts a
 * whole stored version in place; it did not read the file and change what it read, so an outside
 * edit it makes is diffed from the folder's newest content, never from an older one (WriteBack's
 * base for a tool racing a write-back, decision 148).
 */
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';

/**
 * Git's object id of `bytes` as a blob: SHA-1 of `blob <length>\0<bytes>` (40 hex digits), or
 * SHA-256 (64) for a repository in that format (`git hash-object`).
 */
export function gitBlobId(bytes: Uint8Array, format: 'sha1' | 'sha256' = 'sha1'): string {
  return createHash(format).update(`blob ${bytes.length}\0`).update(bytes).digest('hex');
}

/**
 * Is `bytes` the version of project file `rel` that Git's index of the repository holding `root`
 * has? Asks `git ls-files --stage -- rel` in `root` (a few ms: called only for a rewrite a base
 * older than the folder's newest would be chosen for). False with no Git, outside a repository,
 * for a file Git does not track or that is mid-merge (several stages), and when git fails or takes
 * over 2 s. Git is run without a shell, the path after `--`. It reads the person's own repository
 * (the folder's `.git`, or one above it), which peers cannot write into (path rules, decision 214).
 */
export function isStagedVersion(root: string, rel: string, bytes: Uint8Array): boolean {
  // -z: paths as they are (unquoted), each entry ended by NUL.
  const out = git(root, ['ls-files', '--stage', '-z', '--', rel], 64 * 1024)?.toString('utf8');
  if (out === undefined) return false;
  const entries = out.split('\0').filter((l) => l !== '');
  // `<mode> <object id> <stage>\t<path>`, the path relative to `root`: the file itself, not a
  // folder's files (a pathspec matches those too).
  if (entries.length !== 1 || entries[0]!.slice(entries[0]!.indexOf('\t') + 1) !== rel) return false;
  const id = entries[0]!.split(/\s+/)[1] ?? '';
  if (id.length !== 40 && id.length !== 64) return false;
  return gitBlobId(bytes, id.length === 64 ? 'sha256' : 'sha1') === id;
}

/**
 * What the newest `git stash` saved of project file `rel` (its bytes), when that stash was made
 * within `withinMs` of `atMs` (ms since the epoch; git records whole seconds). `git stash` reads
 * the file, saves it in the stash, then puts the staged version back: so this is the content its
 * reset replaced, whatever was written there after git read it (decision 261). Undefined with no
 * Git, no repository or stash, a path the stash lacks, an older stash, or git failing or taking
 * over 2 s. Asks git twice, without a shell: `show -s --format=%ct refs/stash`, then `cat-file
 * blob refs/stash:./rel` (`./`: relative to `root`, which may be a folder inside the repository).
 */
export function recentlyStashed(root: string, rel: string, atMs: number, withinMs: number): Uint8Array | undefined {
  const seconds = Number(git(root, ['show', '-s', '--format=%ct', 'refs/stash', '--'], 1024)?.toString('utf8').trim());
  if (!Number.isFinite(seconds) || seconds <= 0) return undefined;
  // Whole seconds: the stash was made up to 1 s after the time git wrote down.
  if (seconds * 1000 + 1000 < atMs - withinMs || seconds * 1000 > atMs + withinMs) return undefined;
  const blob = git(root, ['cat-file', 'blob', `refs/stash:./${rel}`], 64 * 1024 * 1024);
  return blob === undefined ? undefined : new Uint8Array(blob.buffer, blob.byteOffset, blob.length);
}

/**
 * `git ARGS` in `root`, without a shell: its output, or undefined when git is missing, fails,
 * writes more than `maxBytes` or takes over 2 s (its errors are not read).
 */
function git(root: string, args: string[], maxBytes: number): Buffer | undefined {
  try {
    return execFileSync('git', args, { cwd: root, stdio: ['ignore', 'pipe', 'ignore'], timeout: 2000, maxBuffer: maxBytes });
  } catch {
    return undefined;
  }
}
