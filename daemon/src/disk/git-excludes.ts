/**
 * What git keeps out besides `.gitignore` files: the `.git/info/exclude` of the repository the
 * project is in, that of each repository inside the project (a nested clone, a submodule), and
 * the person's global excludes file (decision 218, point 4). The watcher never sees inside
 * `.git/`, so these files are looked at again by their stat as they are asked (a trial: a rule
 * added while the daemon ran, and a nested repository's rules, let secrets reach peers).
 */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import ignore, { type Ignore } from 'ignore';

/** The largest `.gitignore` read as rules (1 MiB): a larger one is no file anyone wrote by hand, nor the daemon. */
export const MAX_IGNORE_FILE_BYTES = 1 << 20;

/** Rules git reads besides `.gitignore` files, with what to call their file and the prefix a project path takes in them. */
interface ExcludeFile {
  /** Undefined while the file is missing, unreadable or too large. */
  rules: Ignore | undefined;
  /** Where it is, and what it was when read (size, mtime, inode): read again once that changes. */
  file: string;
  stamp: string;
  /** How the reason names the file (`.git/info/exclude`, `your global git excludes file (…)`). */
  name: string;
  /** The project root's path from the repository's root ('' when they are one), with a trailing '/'. */
  prefix: string;
}

let globalExcludesPath: string | null | undefined;

/**
 * The person's global git excludes file, as git finds it: `core.excludesFile` (from `git config`,
 * `~/` expanded), else `$XDG_CONFIG_HOME/git/ignore`, else `~/.config/git/ignore`; null when git
 * is not installed and none of those is set. Asked once per process (one `git config` run).
 */
export function globalExcludesFile(): string | null {
  if (globalExcludesPath !== undefined) return globalExcludesPath;
  let configured = '';
  try {
    configured = execFileSync('git', ['config', '--global', '--get', 'core.excludesFile'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'], timeout: 2000 }).trim();
  } catch {
    // not set (git exits 1), or no git: git's default below
  }
  if (configured.startsWith('~/')) configured = path.join(os.homedir(), configured.slice(2));
  const xdg = process.env.XDG_CONFIG_HOME;
  globalExcludesPath = configured || path.join(xdg ? xdg : path.join(os.homedir(), '.config'), 'git', 'ignore');
  return globalExcludesPath;
}

/**
 * The repository `rootDir` is in (the nearest folder at or above it with a `.git`), and that
 * repository's git folder (`.git` itself, or where a `.git` file points: a worktree, a
 * submodule); undefined when it is in none.
 */
function repositoryOf(rootDir: string): { root: string; gitDir: string } | undefined {
  for (let dir = rootDir; ; dir = path.dirname(dir)) {
    const repo = repositoryAt(dir);
    if (repo) return repo;
    if (path.dirname(dir) === dir) return undefined;
  }
}

/** The repository whose work tree's root is `dir` (it has a `.git` folder, or a `.git` file naming one), else undefined. */
function repositoryAt(dir: string): { root: string; gitDir: string } | undefined {
  const dotGit = path.join(dir, '.git');
  try {
    const st = fs.statSync(dotGit);
    if (st.isDirectory()) return { root: dir, gitDir: dotGit };
    const m = /^gitdir:\s*(.+?)\s*$/m.exec(fs.readFileSync(dotGit, 'utf8'));
    if (m?.[1]) return { root: dir, gitDir: path.resolve(dir, m[1]) };
  } catch {
    // none here
  }
  return undefined;
}

/** What identifies a version of `file` on disk ('' when it is not there). */
function stampOf(file: string): string {
  const st = fs.statSync(file, { throwIfNoEntry: false });
  return st ? `${st.size}:${st.mtimeMs}:${st.ino}` : '';
}

/** The rules of `file` (a gitignore-syntax file), or undefined when it is missing, unreadable or over MAX_IGNORE_FILE_BYTES. */
function rulesFile(file: string): Ignore | undefined {
  try {
    if (fs.statSync(file).size > MAX_IGNORE_FILE_BYTES) return undefined;
    return ignore().add(fs.readFileSync(file, 'utf8'));
  } catch {
    return undefined;
  }
}

/** An exclude file as it is now on disk (read again by `fresh` when it changes). */
function excludeFile(file: string, name: string, prefix: string): ExcludeFile {
  return { file, name, prefix, stamp: stampOf(file), rules: rulesFile(file) };
}

/** Read `e` again if its file changed since (a rule added while the daemon runs applies at once). */
function refresh(e: ExcludeFile): void {
  const now = stampOf(e.file);
  if (now === e.stamp) return;
  e.stamp = now;
  e.rules = rulesFile(e.file);
}

/**
 * How long the exclude files' stamps are trusted (ms): a burst of questions (a scan of thousands
 * of paths) looks at them once; a rule written more than this before a file is asked about holds.
 */
const EXCLUDES_TRUSTED_MS = 2;
/** How long a folder found to be no repository is trusted to stay none (ms). */
const NO_REPO_TRUSTED_MS = 1000;

/**
 * The exclude files that apply to one project, kept current. `why` answers as `IgnoreRules.why`
 * does, after every `.gitignore`: the rule and its file, or undefined.
 */
export class GitExcludes {
  /** The repository's (first, once found) and the global excludes file. */
  private readonly excludes: ExcludeFile[] = [];
  /**
   * Folders of the project that are git repositories of their own, with their exclude file; null
   * for a folder that is none. A new rule there applies at once (EXCLUDES_TRUSTED_MS), a new
   * repository within NO_REPO_TRUSTED_MS.
   */
  private readonly nestedRepos = new Map<string, ExcludeFile | null>();
  private checkedAt = -Infinity;
  private noneCheckedAt = -Infinity;
  /** Whether the project is in a repository, whose exclude file is in `excludes`. */
  private inRepository = false;

  /** `globalExcludes`: the global excludes file to read (null: none). */
  constructor(
    private readonly rootDir: string,
    globalExcludes: string | null,
  ) {
    const prefix = this.findRepository();
    if (globalExcludes !== null) this.excludes.push(excludeFile(globalExcludes, `your global git excludes file (${globalExcludes})`, prefix));
  }

  /** Why `rel` (project path, `parts` its segments) is excluded by an exclude file, or undefined. */
  why(rel: string, parts: readonly string[]): string | undefined {
    this.refresh();
    for (const e of this.excludes) {
      const rule = e.rules?.test(e.prefix + rel).rule;
      if (rule && !rule.negative) return `${e.name} has the rule "${rule.pattern}"`;
    }
    // A repository inside the project applies its own exclude file to what is in it.
    for (let i = 1; i < parts.length; i++) {
      const dir = parts.slice(0, i).join('/');
      const e = this.nestedRepo(dir);
      const rule = e?.rules?.test(rel.slice(dir.length + 1)).rule;
      if (rule && !rule.negative) return `${e!.name} has the rule "${rule.pattern}"`;
    }
    return undefined;
  }

  /**
   * Look for the repository the project is in; if there is one, its exclude file goes first in
   * `excludes`. Returns the prefix a project path takes in the repository's rules ('' or 'a/b/').
   */
  private findRepository(): string {
    const repo = repositoryOf(this.rootDir);
    if (!repo) return '';
    const prefix = path.relative(repo.root, this.rootDir).split(path.sep).join('/');
    const withSlash = prefix ? `${prefix}/` : '';
    this.excludes.unshift(excludeFile(path.join(repo.gitDir, 'info', 'exclude'), prefix ? `the repository's .git/info/exclude (in ${repo.root})` : '.git/info/exclude', withSlash));
    this.inRepository = true;
    return withSlash;
  }

  /** Look at the exclude files again, at most once per EXCLUDES_TRUSTED_MS. */
  private refresh(): void {
    const now = performance.now();
    if (now - this.checkedAt < EXCLUDES_TRUSTED_MS) return;
    this.checkedAt = now;
    for (const e of this.excludes) refresh(e);
    // Folders that were no repository are asked again less often (each is a stat of its `.git`).
    const forgetNone = now - this.noneCheckedAt >= NO_REPO_TRUSTED_MS;
    if (forgetNone) this.noneCheckedAt = now;
    // The project made a repository while the daemon runs (`git init`: a re-check, 3 of 3 shared).
    if (forgetNone && !this.inRepository) this.findRepository();
    for (const [dir, e] of this.nestedRepos) {
      if (e !== null) refresh(e);
      else if (forgetNone) this.nestedRepos.delete(dir); // it may be one now (`git init`)
    }
  }

  /** The exclude file of the repository whose work tree is the project folder `dir`, or null when `dir` is none. */
  private nestedRepo(dir: string): ExcludeFile | null {
    let e = this.nestedRepos.get(dir);
    if (e === undefined) {
      const repo = repositoryAt(path.join(this.rootDir, dir));
      e = repo ? excludeFile(path.join(repo.gitDir, 'info', 'exclude'), `${dir}/.git/info/exclude`, '') : null;
      if (this.nestedRepos.size >= 100_000) this.nestedRepos.clear(); // a bound, not a history
      this.nestedRepos.set(dir, e);
    }
    return e;
  }
}
