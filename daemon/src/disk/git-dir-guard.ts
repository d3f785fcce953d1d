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
 * Does `text` (a file's start) pass Git's check of a repository's HEAD (setup.c,
 * validate_headref): `ref: refs/…`, or starting with an object id (40 hex digits: Git reads those
 * and ignores what follows)?
 */
export function isHeadText(text: string): boolean {
  return /^ref:\s*refs\//.test(text) || /^[0-9a-fA-F]{40}/.test(text);
}

/** Is the last name of the project path `rel` `HEAD` (without case)? Only such a write's content matters here. */
export function namesHead(rel: string): boolean {
  return rel.slice(rel.lastIndexOf('/') + 1).toLowerCase() === 'head';
}

/** `a/b` under `dir` ('' for the root). */
const join = (dir: string, name: string): string => (dir ? `${dir}/${name}` : name);

/**
 * The paths being put in place now (between a write's check and its rename into place), each
 * with every folder above it, lower-cased: `has(p)` says in one look whether one of them is `p`
 * or lies under it. Asked on every write, for every folder on its way, so it must not grow with
 * the number of writes in flight (a join writes hundreds at once).
 */
export class WritesInFlight {
  readonly #count = new Map<string, number>();

  /** `rel` and the folders above it, lower-cased. */
  static #prefixes(rel: string): string[] {
    const parts = rel.toLowerCase().split('/');
    return parts.map((_, i) => parts.slice(0, i + 1).join('/'));
  }

  add(rel: string): void {
    for (const p of WritesInFlight.#prefixes(rel)) this.#count.set(p, (this.#count.get(p) ?? 0) + 1);
  }

  delete(rel: string): void {
    for (const p of WritesInFlight.#prefixes(rel)) {
      const n = (this.#count.get(p) ?? 0) - 1;
      if (n > 0) this.#count.set(p, n);
      else this.#count.delete(p);
    }
  }

  /** Is a path being written `lowerPath`, or under it? */
  has(lowerPath: string): boolean {
    return this.#count.has(lowerPath);
  }
}

/**
 * The folder (project path, '' for the project folder itself) that a daemon's write putting
 * something at `rel` (a file, a folder, a move's destination, execute bits) is inside of, or
 * would complete, as a Git repository; undefined when there is none. `content`: the text a file
 * write puts at `rel` (what a `HEAD` would say; undefined otherwise). `writing`: the paths other
 * writes are putting in place now, counted as there (a `HEAD` among them as one naming a ref), so
 * two writes at once cannot complete one between them. Names are compared without case (a
 * case-insensitive file system finds `head` as `HEAD`). `objects` and `refs` count whatever they
 * are: Git asks only that it may enter them, which an executable file passes. A removal makes no
 * repository and is not asked about.
 */
export function repositoryOn(rel: string, look: FolderLook, content?: string, writing: { has(lowerPath: string): boolean } = new WritesInFlight()): string | undefined {
  const parts = rel.split('/');
  const written = (p: string): boolean => writing.has(p.toLowerCase());
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
    const has = (name: string): boolean => next === name || look.kind(join(dir, name)) !== undefined || written(join(dir, name));
    if ((has('objects') && has('refs')) || has('commondir')) return dir;
  }
  return undefined;
}
