/**
 * What is not shared: VCS metadata and `.chorus/` at any depth and in any spelling (path-rules.ts),
 * folders that are Chorus projects of their own (nested-projects.ts), `node_modules/` and
 * well-known secret files (`BUILT_IN`), the daemon's own temporary files, and whatever
 * `.gitignore` files (at any depth), the repository's `.git/info/exclude`, the person's global git
 * excludes file and `.chorus/ignore` exclude. Rules are read with the `ignore` package, which
 * implements gitignore's matching.
 */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import ignore, { type Ignore } from 'ignore';
import { reservedIn } from '../workspace/path-rules.js';
import { isWriteTemp } from './files.js';
import { holdsProject, nestedProjectOf } from './nested-projects.js';

/**
 * Never shared unless `.chorus/ignore` says so (`!.env`): `node_modules/`, and files that by
 * their well-known names hold secrets — environment files (their committed templates are
 * shared), private keys and certificates' keys, and credential files. A `.env` that no
 * `.gitignore` mentions was copied to every peer, with nothing said (a new-user trial); nothing
 * secret may leave the machine by default.
 */
export const BUILT_IN = [
  'node_modules/',
  '.env',
  '.env.*',
  '!.env.example',
  '!.env.sample',
  '!.env.template',
  '!.env.dist',
  '*.pem',
  '*.key',
  'id_rsa',
  'id_dsa',
  'id_ecdsa',
  'id_ed25519',
  '.netrc',
];

/** The largest `.gitignore` read as rules (1 MiB): a larger one is no file anyone wrote by hand, nor the daemon. */
export const MAX_IGNORE_FILE_BYTES = 1 << 20;

/** Is this project path a `.gitignore` (whose rules apply to its folder and below)? */
export function isIgnoreFile(rel: string): boolean {
  return rel === '.gitignore' || rel.endsWith('/.gitignore');
}

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

/** `e`, read again if its file changed since (a rule added while the daemon runs applies at once). */
function fresh(e: ExcludeFile): ExcludeFile {
  const now = stampOf(e.file);
  if (now !== e.stamp) {
    e.stamp = now;
    e.rules = rulesFile(e.file);
  }
  return e;
}

/**
 * How long the exclude files' stamps are trusted (ms): a burst of questions (a scan of thousands
 * of paths) looks at them once; a rule written more than this before a file is asked about holds.
 */
const EXCLUDES_TRUSTED_MS = 2;
/** How long a folder found to be no repository is trusted to stay none (ms). */
const NO_REPO_TRUSTED_MS = 1000;

export class IgnoreRules {
  /** Rules per folder (project-relative, '' for the root), from that folder's .gitignore. */
  private byDir = new Map<string, Ignore | null>();
  /** The text of each folder's .gitignore as read into `byDir` (null: it has none). */
  private texts = new Map<string, string | null>();
  private root: Ignore;
  /** The lines of `.chorus/ignore`: a built-in pattern written there too is the person's rule. */
  private readonly ownRules = new Set<string>();

  /**
   * What git itself keeps out besides `.gitignore` files: the repository's `.git/info/exclude` and
   * the person's global excludes file. A trial: an `.envrc` ignored only there was copied to peers.
   */
  private readonly excludes: ExcludeFile[] = [];
  /**
   * Folders of the project that are git repositories of their own (a nested clone, a submodule),
   * with their `.git/info/exclude`, which git applies inside them (a trial: files only that file
   * named were shared, 3 of 3); null for a folder that is none. A new rule there applies at once
   * (EXCLUDES_TRUSTED_MS), a new repository within NO_REPO_TRUSTED_MS.
   */
  private nestedRepos = new Map<string, ExcludeFile | null>();
  private excludesCheckedAt = -Infinity;
  /** Whether the project is in a git repository, whose `.git/info/exclude` is among `excludes`. */
  private inRepository = false;
  private noneCheckedAt = -Infinity;

  /**
   * Rules for the project at `rootDir`. `globalExcludes`: the global git excludes file to read
   * (default: `globalExcludesFile()`; null: none). `.chorus/ignore` is read once: a change
   * applies from the daemon's next start. Git's exclude files are looked at again as they change
   * (the watcher never sees inside `.git/`).
   */
  constructor(
    private readonly rootDir: string,
    globalExcludes: string | null = globalExcludesFile(),
  ) {
    const withSlash = this.findRepository();
    if (globalExcludes !== null) this.excludes.push(excludeFile(globalExcludes, `your global git excludes file (${globalExcludes})`, withSlash));
    this.root = ignore().add(BUILT_IN);
    for (const file of [path.join(rootDir, '.chorus', 'ignore')]) {
      try {
        const text = fs.readFileSync(file, 'utf8');
        this.root.add(text);
        for (const line of text.split(/\r?\n/)) this.ownRules.add(line.trim());
      } catch {
        // no such file
      }
    }
  }

  private rulesOf(dir: string): Ignore | null {
    let rules = this.byDir.get(dir);
    if (rules === undefined) {
      let text: string | null = null;
      try {
        text = fs.readFileSync(path.join(this.rootDir, dir, '.gitignore'), 'utf8');
        rules = ignore().add(text);
      } catch {
        rules = null;
        text = null;
      }
      this.byDir.set(dir, rules);
      this.texts.set(dir, text);
    }
    return rules;
  }

  /** The text of the `.gitignore` of `dir` (project-relative, '' for the root) these rules hold; null when it has none. */
  textOf(dir: string): string | null {
    this.rulesOf(dir);
    return this.texts.get(dir) ?? null;
  }

  /** Forget cached rules (a .gitignore changed). */
  reset(): void {
    this.byDir.clear();
    this.texts.clear();
  }

  /**
   * These rules as they are now, unaffected by a later `reset`: what the folders' `.gitignore`
   * files said when last read (a folder not read yet is read when asked).
   */
  snapshot(): IgnoreRules {
    const copy = Object.create(IgnoreRules.prototype) as IgnoreRules;
    Object.assign(copy, this, { byDir: new Map(this.byDir), texts: new Map(this.texts), projects: this.projects });
    return copy;
  }

  /**
   * These rules with the `.gitignore` of `dir` (project-relative, '' for the root) saying `text`
   * instead (null: none there), unaffected by a later `reset`: what this folder's own version of
   * that file would keep out (decision 164).
   */
  withText(dir: string, text: string | null): IgnoreRules {
    const copy = this.snapshot();
    copy.byDir.set(dir, text === null ? null : ignore().add(text));
    copy.texts.set(dir, text);
    return copy;
  }

  /**
   * Keep `paths` on this machine from now on: they are added to `.chorus/ignore` (this folder's
   * own rules, never shared) under a comment saying why, and ignored at once.
   */
  keepLocal(paths: string[], why: string): void {
    // Anchored at the root ('/'), so a leading '!' or '#' is no longer first; gitignore's
    // wildcards and a trailing space are escaped, so each line names exactly one path.
    this.addOwnRules(paths.map((p) => '/' + p.replace(/[\\*?[\]]/g, '\\$&').replace(/ $/, '\\ ')), why);
  }

  /**
   * Add gitignore `rules` (patterns relative to the project root) to `.chorus/ignore` under a
   * comment saying why, and apply them at once; a rule the file has already is not added again.
   * Returns the rules added.
   */
  addOwnRules(rules: string[], why: string): string[] {
    const lines = [...new Set(rules)].filter((r) => !this.ownRules.has(r));
    if (lines.length === 0) return [];
    const file = path.join(this.rootDir, '.chorus', 'ignore');
    let before = '';
    try {
      before = fs.readFileSync(file, 'utf8');
    } catch {
      // none yet
    }
    const block = `${before && !before.endsWith('\n') ? '\n' : ''}# ${why}\n${lines.join('\n')}\n`;
    fs.appendFileSync(file, block, { mode: 0o600 });
    this.root.add(lines);
    for (const line of lines) this.ownRules.add(line);
    return lines;
  }

  /** Per folder: is it a Chorus project of its own (holds `.chorus/`)? Cached; see `projectsChanged`. */
  private projects = new Map<string, boolean>();

  /** Told of each folder found to be a project of its own that it was not told of (see `tellNewProjects`). */
  private tellProject: ((dir: string) => void) | undefined;
  /** The folders known to be projects of their own: told, or found before `tellNewProjects`. */
  private readonly toldProjects = new Set<string>();
  /** Folders to ask again, soon, because a `.chorus/` appeared or went somewhere (see `projectsChanged`). */
  private recheck: Set<string> | undefined;

  private holds = (dir: string): boolean => {
    let yes = this.projects.get(dir);
    if (yes === undefined) {
      yes = holdsProject(this.rootDir, dir);
      if (this.projects.size >= 100_000) this.projects.clear(); // a bound, not a history
      this.projects.set(dir, yes);
      if (this.tellProject) this.noticeProject(dir, yes);
    }
    return yes;
  };

  private noticeProject(dir: string, yes: boolean): void {
    if (!yes) this.toldProjects.delete(dir); // a later .chorus/ there is told again
    else if (!this.toldProjects.has(dir)) {
      this.toldProjects.add(dir);
      this.tellProject?.(dir);
    }
  }

  /**
   * A `.chorus/` folder appeared or went somewhere below the root: ask the folder again. Once
   * someone is to be told (`tellNewProjects`), the folders asked about so far are asked again at
   * once, not when a file below one is next looked at: the folder a `.chorus/` appeared in (a
   * `chorus share` there) may see no other change for hours, and was told of only at the next start.
   */
  projectsChanged(): void {
    const known = [...this.projects.keys()];
    this.projects.clear();
    if (!this.tellProject) return;
    if (this.recheck) {
      for (const dir of known) this.recheck.add(dir);
      return;
    }
    // Soon, once for a burst: the watcher reports one .chorus/ several times.
    this.recheck = new Set(known);
    setImmediate(() => {
      const dirs = this.recheck ?? new Set<string>();
      this.recheck = undefined;
      for (const dir of dirs) this.holds(dir);
    });
  }

  /**
   * From now on, call `tell` once for each folder found to be a project of its own (a `.chorus/`
   * appeared in it), as soon as it is seen. Not for those found so far: the start's scan says them.
   */
  tellNewProjects(tell: (dir: string) => void): void {
    for (const dir of this.nestedProjects()) this.toldProjects.add(dir);
    this.tellProject = tell;
  }

  /** The folders found so far that are projects of their own (not shared), sorted. */
  nestedProjects(): string[] {
    return [...this.projects].filter(([, yes]) => yes).map(([dir]) => dir).sort();
  }

  /** Is this project-relative path (with a trailing `/` for folders) excluded? */
  ignores(rel: string): boolean {
    return this.why(rel) !== undefined;
  }

  /**
   * Why this project-relative path (with a trailing `/` for folders) is excluded, naming the rule
   * and the file it is in ('.gitignore has the rule "*.log"'); undefined when it is shared.
   */
  why(rel: string): string | undefined {
    const fixed = this.fixedWhy(rel);
    if (fixed) return fixed;
    const root = this.root.test(rel).rule;
    if (root) {
      return BUILT_IN.includes(root.pattern) && !this.ownRules.has(root.pattern)
        ? `Chorus never shares ${root.pattern === 'node_modules/' ? 'node_modules/' : 'files that usually hold secrets'} by default (built-in rule "${root.pattern}"; a line "!${rel.replace(/\/$/, '')}" in .chorus/ignore shares it)`
        : `.chorus/ignore has the rule "${root.pattern}"`;
    }
    const nested = nestedProjectOf(rel, this.holds);
    if (nested !== undefined) return `it is inside ${nested}/, a Chorus project of its own`;
    const parts = rel.replace(/\/$/, '').split('/');
    for (let i = 0; i < parts.length; i++) {
      const dir = parts.slice(0, i).join('/');
      const rule = this.rulesOf(dir)?.test(rel.slice(dir ? dir.length + 1 : 0)).rule;
      if (rule) return `${dir ? `${dir}/` : ''}.gitignore has the rule "${rule.pattern}"`;
    }
    // After every .gitignore, as git ranks them (a .gitignore's `!x` may share what these keep;
    // here they keep it still: the safe side).
    this.refreshExcludes();
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
  private refreshExcludes(): void {
    const now = performance.now();
    if (now - this.excludesCheckedAt < EXCLUDES_TRUSTED_MS) return;
    this.excludesCheckedAt = now;
    for (const e of this.excludes) fresh(e);
    // Folders that were no repository are asked again less often (each is a stat of its `.git`).
    const forgetNone = now - this.noneCheckedAt >= NO_REPO_TRUSTED_MS;
    if (forgetNone) this.noneCheckedAt = now;
    // The project made a repository while the daemon runs (`git init`: a re-check, 3 of 3 shared).
    if (forgetNone && !this.inRepository) this.findRepository();
    for (const [dir, e] of this.nestedRepos) {
      if (e !== null) fresh(e);
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

  /**
   * Is this path kept out by something no ignore rule decides: a reserved folder, the daemon's
   * temporary file, a Chorus project of its own? A file shared already stays shared when a rule
   * later matches it (decision 163); these never are.
   */
  outsideRules(rel: string): boolean {
    return this.fixedWhy(rel) !== undefined || nestedProjectOf(rel, this.holds) !== undefined;
  }

  /** Why `rel` is never shared, by the names Chorus reserves (not by any rule); undefined if not so. */
  private fixedWhy(rel: string): string | undefined {
    const reserved = reservedIn(rel.replace(/\/$/, ''));
    if (reserved) return `it is inside ${reserved}/, which Chorus never shares`;
    // FolderWriter's temporary files, by the one rule that knows their names (files.ts).
    if (!rel.endsWith('/') && isWriteTemp(rel.slice(rel.lastIndexOf('/') + 1))) return 'it is a temporary file of Chorus';
    return undefined;
  }
}
