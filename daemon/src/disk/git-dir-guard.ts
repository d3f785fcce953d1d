/**
 * Folders Git takes for a repository though no `.git` is in their name (decision 214). Git, run
 * in a folder (a shell prompt showing the branch runs it on `cd`), looks for `.git` and, where
 * there is none, asks whether the folder itself is a repository: a `HEAD` file naming a ref or
 * an object, beside `objects/` and `refs/` folders (or a `commondir` file pointing to them). It
 * then reads that folder's `config`, which can name commands to run (`core.fsmonitor`,
 * `core.pager`, aliases): the door a nested `.git/config` opens (issue 10), without the name the
 * path rules (path-rules.ts) refuse. So the daemon never writes into such a folder, and never writes the part
 * that would make one. Only the daemon's writes are judged: what a person makes is theirs.
 */

/** What a write may find in the folder, looked at now. */
export interface FolderLook {
  /** What is at the project path `rel`: a file, a folder, or nothing (a symbolic link is neither). */
  kind(rel: string): 'file' | 'dir' | undefined;
  /** The start of the file at `rel` as text (a `HEAD` is one short line), or undefined. */
  start(rel: string): string | undefined;
}

/**
 * Does `text` (a file's start) name what a Git `HEAD` names: `ref: refs/…`, or an object id (40
 * or 64 hex digits)? As Git's own check of a repository's HEAD (setup.c, validate_headref).
 */
export function isHeadText(text: string): boolean {
  return /^ref:\s*refs\//.test(text) || /^[0-9a-fA-F]{40}(?:[0-9a-fA-F]{24})?(?:\s|$)/.test(text);
}

/** `a/b` under `dir` ('' for the root). */
const join = (dir: string, name: string): string => (dir ? `${dir}/${name}` : name);

/**
 * The folder (project path, '' for the project folder itself) that a daemon's write at `rel` is
 * inside of, or would complete, as a Git repository; undefined when there is none. `content`: the
 * text a file write puts at `rel` (what a `HEAD` would say; undefined for a folder made, a move or
 * a removal). `writing`: paths other writes are putting in place right now, counted as there (a
 * `HEAD` among them as one naming a ref), so two writes at once cannot complete one between them.
 * Names are compared without case (a case-insensitive file system finds `head` as `HEAD`).
 */
export function repositoryOn(rel: string, look: FolderLook, content?: string, writing: ReadonlySet<string> = new Set()): string | undefined {
  const parts = rel.split('/');
  const written = (p: string): boolean => {
    const lower = p.toLowerCase();
    for (const w of writing) {
      const l = w.toLowerCase();
      if (l === lower || l.startsWith(`${lower}/`)) return true;
    }
    return false;
  };
  for (let i = 0; i < parts.length; i++) {
    const dir = parts.slice(0, i).join('/');
    // The entry of `dir` on the way to `rel` (or `rel` itself), which this write makes.
    const next = parts[i]!.toLowerCase();
    const last = i === parts.length - 1;
    const head =
      next === 'head' && last && content !== undefined
        ? isHeadText(content)
        : (look.kind(join(dir, 'HEAD')) === 'file' && isHeadText(look.start(join(dir, 'HEAD')) ?? '')) || written(join(dir, 'HEAD'));
    if (!head) continue;
    const has = (name: string, kind: 'file' | 'dir'): boolean =>
      (next === name && (kind === 'dir' ? !last || content === undefined : last)) || look.kind(join(dir, name)) === kind || written(join(dir, name));
    if ((has('objects', 'dir') && has('refs', 'dir')) || has('commondir', 'file')) return dir;
  }
  return undefined;
}
